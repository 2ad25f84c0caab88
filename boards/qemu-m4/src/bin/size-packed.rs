//! What scripts/size.sh measures for a firmware whose modules are packed at build
//! time (the boards' case, `fireball pack`): `size.rs` with `Module::from_packed`,
//! which links the loader that checks a packed side table in place instead of the
//! one that builds it. Same module (fib), same driver, same output.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use fireball_wasm::Module;

#[path = "../size_driver.rs"]
mod driver;

/// The guest and its side table, packed by build.rs, executed in place from flash.
static GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fib.fbx"));

#[entry]
fn main() -> ! {
    driver::report(Module::from_packed(core::hint::black_box(GUEST)).ok())
}
