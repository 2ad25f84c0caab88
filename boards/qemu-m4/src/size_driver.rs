//! The driver `src/bin/size.rs` and `src/bin/size-packed.rs` share: instantiate a
//! loaded fib module, run `fib(20)` in fuel slices, print the result and exit the
//! way `baseline` does. Each binary loads the module itself, so each links only its
//! loader (`Module::new` or `Module::from_packed`).

use cortex_m_semihosting::hprintln;
use fireball_qemu_m4::exit;
use fireball_wasm::{Exit, HostLimits, Module, StackLimits, Store, Thread, Value};

/// Print `fib(20)` of `module` (loaded, `None` if that failed) and exit: success if it is 6765.
pub fn report(module: Option<Module<'_>>) -> ! {
    // Printed as a u32, as the baseline prints its sum (the same formatting code in both).
    let r = module.and_then(|m| run(&m)).unwrap_or(-1) as u32;
    hprintln!("size: fib(20) = {}", r);
    exit(r == 6765)
}

fn run(module: &Module<'_>) -> Option<i32> {
    let mut store = Store::new(HostLimits { max_memory_bytes: 16 * 1024, max_table_elems: 64 });
    let inst = store.instantiate(module, |_, _, _| None).ok()?;
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
