//! Benchmark-only crate: the harness is `benches/engines.rs`. It runs Fireball,
//! wasmi, wasm3 and native code on the C kernels of the repository's
//! `benches/kernels/` (prebuilt `.wasm`, rebuilt by `scripts/build-bench-kernels.sh`;
//! build.rs compiles them natively and bundles them into this library) and on the
//! Rust workloads of `benches/workloads/` (prebuilt `.wasm`, rebuilt by
//! `scripts/build-bench-workloads.sh`; linked natively as dev-dependencies).
//!
//! ```text
//! cargo bench -p fireball-bench              # full: 11 timed runs per variant and program
//! cargo bench -p fireball-bench -- --quick   # smoke test: 3 runs
//! cargo bench -p fireball-bench -- fib json  # only programs whose name contains a filter
//! cargo bench -p fireball-bench -- =nbody    # that program alone
//! bash scripts/bench-instructions.sh         # host instructions per call (callgrind), not time
//! ```
#![no_std]
