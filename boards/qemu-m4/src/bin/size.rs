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
use cortex_m_semihosting::hprintln;
use fireball_qemu_m4::exit;
use fireball_wasm::{Exit, HostLimits, Module, StackLimits, Store, Thread, Value};

/// The guest, executed in place from flash.
static GUEST: &[u8] = include_bytes!("../../guest/fib.wasm");

#[entry]
fn main() -> ! {
    // Printed as a u32, as the baseline prints its sum (the same formatting code in both).
    let r = run().unwrap_or(-1) as u32;
    hprintln!("size: fib(20) = {}", r);
    exit(r == 6765)
}

fn run() -> Option<i32> {
    let module = Module::new(core::hint::black_box(GUEST)).ok()?;
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
