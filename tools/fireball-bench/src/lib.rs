//! Benchmark-only crate: the harness is `benches/engines.rs`, the kernels are the
//! C sources and prebuilt `.wasm` files in the repository's `benches/kernels/`
//! (rebuilt by `scripts/build-bench-kernels.sh`).
//!
//! ```text
//! cargo bench -p fireball-bench              # full: 11 timed runs per engine and kernel
//! cargo bench -p fireball-bench -- --quick   # smoke test: 3 runs
//! cargo bench -p fireball-bench -- fib nbody # only kernels whose name contains a filter
//! ```
#![no_std]
