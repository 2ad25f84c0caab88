//! What scripts/size.sh measures: the engine's flash cost. This firmware does
//! what any embedder must — decode and validate a module that stays in flash,
//! instantiate it, run an export in fuel slices, read its result — and prints
//! one integer and exits the way `baseline` does, so that the difference between
//! the two binaries is the engine (decode + validate + interpret + instantiate)
//! and nothing else: no error messages, no `core::fmt` beyond the baseline's.
//! `src/main.rs` is the engine demo (it prints more).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use fireball_wasm::Module;

#[path = "../size_driver.rs"]
mod driver;

/// The guest, executed in place from flash.
static GUEST: &[u8] = include_bytes!("../../guest/fib.wasm");

#[entry]
fn main() -> ! {
    driver::report(Module::new(core::hint::black_box(GUEST)).ok())
}
