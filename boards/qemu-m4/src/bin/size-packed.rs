//! What scripts/size.sh measures for a firmware whose modules are packed at build
//! time (the boards' case, `fireball pack`): `size.rs` with `Module::from_packed`,
//! which links the loader that checks a packed side table in place instead of the
//! one that builds it. Same module (fib), same driver, same output.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use fireball_qemu_m4::exit;
use fireball_wasm::{Exit, HostLimits, Module, StackLimits, Store, Thread, Value};

/// The guest and its side table, packed by build.rs, executed in place from flash.
static GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fib.fbx"));

#[entry]
fn main() -> ! {
    // Printed as a u32, as the baseline prints its sum (the same formatting code in both).
    let r = run().unwrap_or(-1) as u32;
    hprintln!("size: fib(20) = {}", r);
    exit(r == 6765)
}

fn run() -> Option<i32> {
    let module = Module::from_packed(core::hint::black_box(GUEST)).ok()?;
    let mut store = Store::new(HostLimits { max_memory_bytes: 16 * 1024, max_table_elems: 64 });
    let inst = store.instantiate(&module, |_, _, _| None).ok()?;
    let mut thread = Thread::new(StackLimits { value_slots: 1024, frames: 64 }).ok()?;
    let f = store.export_func(inst, "fib")?;
    thread.invoke(&store, f, &[Value::I32(core::hint::black_box(20))]).ok()?;
    loop {
        match thread.resume(&mut store, 30_000) {
            Exit::Done => break,
            Exit::OutOfFuel => continue,
            _ => return None,
        }
    }
    let r = thread.results(&store).next()?.i32();
    r
}
