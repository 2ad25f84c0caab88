//! CoreMark 1.0 as an ordinary Rust `std` program for wasm32-wasip1, run
//! unmodified by `fireball run examples/programs/coremark/coremark.wasm`.
//!
//! The benchmark is the `coremark` crate (=1.0.0, MIT): a Rust port of EEMBC
//! CoreMark 1.0 whose CRCs match the C reference bit for bit. This `main` runs
//! the 2K performance run (seeds 0, 0, 0x66) for a fixed number of iterations
//! and prints the crate's report, which is the reference report.
//!
//!     coremark.wasm [ITERATIONS]      # default: DEFAULT_ITERATIONS
//!
//! CoreMark counts a run shorter than 10 seconds as an error ("Must execute for
//! at least 10 secs"), by the clock it reads: `std::time::Instant`, which is
//! WASI `clock_time_get`. Under `fireball run` that clock is simulated time
//! (4 000 wasm instructions per millisecond; one iteration is about 1.1 M wasm
//! instructions, 281 ms), so the default count lasts 16.9 simulated seconds
//! there, with room to spare, and a fraction of a second of real time.
//! Natively it lasts a few milliseconds and the report says so: pass a larger
//! count to validate (about 300 000 for 12 s on a current x86-64).

use std::process::ExitCode;

/// Iterations when no argument is given (see the module docs).
const DEFAULT_ITERATIONS: u32 = 60;

fn main() -> ExitCode {
    let iterations = match std::env::args().nth(1) {
        None => DEFAULT_ITERATIONS,
        Some(arg) => match arg.parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("usage: coremark [ITERATIONS]   (a positive integer; default {DEFAULT_ITERATIONS})");
                return ExitCode::from(2);
            }
        },
    };
    println!("CoreMark 1.0 (Rust port, coremark crate 1.0.0): {iterations} iterations");
    let results = coremark::run(&coremark::Config { iterations, ..coremark::Config::default() });
    print!("{results}");
    if results.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
