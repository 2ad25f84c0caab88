//! The differential fuzzer as a test (`harness = false`: it prints its seed and summary
//! whether or not `--nocapture` is given). Environment:
//!
//! - `FIREBALL_DIFF_SECS` — how long to generate (default 90 s; 10 s in a debug build); `3600` for a long local run.
//! - `FIREBALL_DIFF_SEED` — the seed (decimal or 0x hex); default: today's UTC date, `yyyymmdd`.
//! - `FIREBALL_DIFF_MODULE` — run only this module of the seed, printing every call.
//! - `FIREBALL_DIFF_REPLAY` — a `.wat` (a divergence report) or `.wasm` to run alone, printing every call.
//! - `FIREBALL_DIFF_FUEL` — Fireball's instructions per call (default 100 000; wasmi gets 10× as much fuel).
//! - `FIREBALL_DIFF_OUT` — where divergences go (default `target/diff-divergences`).
//!
//! Fails (exit 1) on a divergence that is Fireball's fault or undecided.

use std::time::Duration;

use fireball_diff::{parse_u64, Fault, Options};

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match parse_u64(&v) {
        Some(x) => Some(x),
        None => {
            eprintln!("fireball-diff: {name}={v:?} is not a number");
            std::process::exit(2);
        }
    }
}

fn main() {
    // `cargo test -- --list` (IDEs, nextest) expects a listing, not a run.
    if std::env::args().any(|a| a == "--list") {
        println!("diff: test");
        return;
    }
    let out_dir = std::env::var_os("FIREBALL_DIFF_OUT")
        .map(Into::into)
        .unwrap_or_else(|| fireball_diff::target_dir().join("diff-divergences"));
    let replay = std::env::var_os("FIREBALL_DIFF_REPLAY");
    let only_module = env_u64("FIREBALL_DIFF_MODULE");
    let seed = env_u64("FIREBALL_DIFF_SEED");
    let opts = Options {
        seed: seed.unwrap_or_else(fireball_diff::utc_day_seed),
        // A debug build (`cargo test --workspace`) gets a short smoke run; the real one is --release.
        duration: Duration::from_secs(env_u64("FIREBALL_DIFF_SECS").unwrap_or(if cfg!(debug_assertions) { 10 } else { 90 })),
        fuel: env_u64("FIREBALL_DIFF_FUEL").unwrap_or(100_000),
        out_dir,
        only_module,
        verbose: only_module.is_some() || replay.is_some(),
        max_reports: 20,
    };
    // A big stack: the engines and tools under test may recurse on deep nesting (wasm-smith
    // modules nest blocks deeply), and the main thread's 8 MiB is not always enough.
    let worker = std::thread::Builder::new().stack_size(512 << 20).spawn(move || session(opts, seed, replay));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => std::process::exit(code),
        _ => std::process::exit(2),
    }
}

fn session(opts: Options, seed: Option<u64>, replay: Option<std::ffi::OsString>) -> i32 {
    let t0 = std::time::Instant::now();
    let sum = if let Some(path) = replay {
        println!("fireball-diff: replaying {}", std::path::Path::new(&path).display());
        match fireball_diff::replay(std::path::Path::new(&path), &opts) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("fireball-diff: {e}");
                return 2;
            }
        }
    } else {
        println!(
            "fireball-diff: seed {} ({}), {} s, Fireball fuel {} per call (FIREBALL_DIFF_SEED={} reproduces this run)",
            opts.seed,
            if seed.is_some() { "from FIREBALL_DIFF_SEED" } else { "today's UTC date" },
            opts.duration.as_secs(),
            opts.fuel,
            opts.seed
        );
        fireball_diff::run(&opts)
    };
    println!("fireball-diff: {:.0} s: {}", t0.elapsed().as_secs_f64(), sum.line());
    let bad = sum.faults(Fault::Fireball) + sum.faults(Fault::Undecided);
    if bad > 0 {
        println!("fireball-diff: FAILED: {bad} divergence(s) are Fireball's fault or undecided; reports in {}", opts.out_dir.display());
        return 1;
    }
    0
}
