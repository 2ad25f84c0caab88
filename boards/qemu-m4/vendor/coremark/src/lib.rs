//! CoreMark 1.0's algorithms from the crates.io crate `coremark` 1.0.0
//! (MIT, https://github.com/ahaoboy/coremark, commit 50270446), made `no_std`
//! for the Cortex-M firmware `coremark-native` (see ../README.md): the five
//! algorithm modules are the crate's own files plus one `use alloc::…` line
//! each where they name `Vec` or `vec!`; the crate's driver (`bench.rs`, which
//! times itself with `std::time::Instant`), its CLI and its build script are
//! left out. `benches/workloads/coremark` drives these modules the same way on
//! every target.
#![no_std]

extern crate alloc;

pub mod list;
pub mod matrix;
pub mod state;
pub mod types;
pub mod util;
