//! What the tests that compile C guests against `include/` share: where the
//! headers are, a scratch folder per test file, and clang (skipped, with the
//! reason printed, where it is not installed).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's `include/`.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../include")
}

/// `name` in a scratch folder of its own for the test file `test`.
pub fn scratch(test: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// Runs clang; `None` (with the reason printed) if clang cannot be run at all.
/// `header` names what the skipped test would have checked.
pub fn clang(args: &[&str], header: &str) -> Option<std::process::Output> {
    match Command::new("clang").args(args).output() {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!("SKIPPED: clang not found ({e}); install clang and lld (scripts/setup.sh) to test {header}");
            None
        }
    }
}
