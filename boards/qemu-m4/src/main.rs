//! Fireball on QEMU: decode and validate a wasm module that stays in flash,
//! instantiate it, and run `fib(20)` in 30 000-instruction time slices, the
//! engine's automatic yield. Exits through semihosting: 0 if every result is
//! right, 1 otherwise (errors are printed, never panicked on).
//!
//! The guest is `guest/fib.wat`; rebuild `guest/fib.wasm` after editing it with
//! (from boards/qemu-m4): `wat2wasm guest/fib.wat -o guest/fib.wasm`
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use fireball_qemu_m4::{exit, ARENA_BYTES, HEAP};
use fireball_wasm::{Exit, HostLimits, InvokeError, Module, StackLimits, Store, Thread, Value};

/// The guest, executed in place from flash.
static GUEST: &[u8] = include_bytes!("../guest/fib.wasm");

/// Instructions per time slice: `fireball_wasm::yield_interval(100)`, 300 µs at 100 MHz.
const SLICE: u64 = 30_000;

#[entry]
fn main() -> ! {
    hprintln!(
        "fireball: guest {} bytes at {:p} (flash)",
        GUEST.len(),
        GUEST.as_ptr()
    );
    let ok = run();
    hprintln!("fireball: {}", if ok { "PASS" } else { "FAIL" });
    exit(ok)
}

fn run() -> bool {
    let module = match Module::new(GUEST) {
        Ok(m) => m,
        Err(e) => {
            // The offset, not the message: `Display` would link core::fmt's padding into the size figure.
            hprintln!("load failed at offset {}", e.offset().unwrap_or(0));
            return false;
        }
    };
    let mut store = Store::new(HostLimits {
        max_memory_bytes: 16 * 1024,
        max_table_elems: 64,
    });
    let inst = match store.instantiate(&module, |_module, _name, _desc| None) {
        Ok(i) => i,
        Err(_) => {
            hprintln!("instantiate failed");
            return false;
        }
    };
    let mut thread = match Thread::new(StackLimits {
        value_slots: 1024,
        frames: 64,
    }) {
        Ok(t) => t,
        Err(_) => {
            hprintln!("thread: out of memory");
            return false;
        }
    };

    let mut ok = true;
    for &(name, arg, expected) in &[("fib", 20, 6765), ("sum", 10_000, 49_995_000)] {
        let Some(f) = store.export_func(inst, name) else {
            hprintln!("{}: no such exported function", name);
            ok = false;
            continue;
        };
        if let Err(e) = thread.invoke(&store, f, &[Value::I32(arg)]) {
            // Matched rather than `{:?}`-printed, to keep Debug formatting out of the size figures.
            let why = match e {
                InvokeError::Signature => "signature mismatch",
                InvokeError::UnknownFunction => "unknown function",
                _ => "thread not ready",
            };
            hprintln!("{}: invoke failed: {}", name, why);
            ok = false;
            continue;
        }
        let before = thread.instructions();
        let mut slices: u32 = 1;
        let done = loop {
            match thread.resume(&mut store, SLICE) {
                Exit::Done => break true,
                // The slice is spent: a scheduler would switch tasks here.
                Exit::OutOfFuel => slices += 1,
                Exit::Trap(t) => {
                    hprintln!("{}({}): trap at offset {} (function {})", name, arg, t.offset, t.func);
                    for (func, pc) in thread.backtrace() {
                        hprintln!("  at function {} offset {:#x}", func.0, pc);
                    }
                    break false;
                }
                Exit::HostCall { id, .. } => {
                    hprintln!("{}({}): unexpected host call {}", name, arg, id);
                    break false;
                }
                Exit::Breakpoint { offset } => {
                    hprintln!("{}({}): unexpected debugger stop at {:#x}", name, arg, offset);
                    break false;
                }
            }
        };
        if !done {
            ok = false;
            continue;
        }
        let executed = thread.instructions() - before;
        match thread.results(&store).next() {
            Some(Value::I32(r)) => {
                let good = r == expected;
                hprintln!(
                    "{}({}) = {} (expected {}: {}), {} instructions in {} slices of {} ({} yields)",
                    name,
                    arg,
                    r,
                    expected,
                    if good { "ok" } else { "WRONG" },
                    executed as u32,
                    slices,
                    SLICE as u32,
                    slices - 1
                );
                ok &= good;
            }
            other => {
                hprintln!(
                    "{}({}): unexpected result (of type {})",
                    name,
                    arg,
                    other.map_or("none", |v| v.ty().name())
                );
                ok = false;
            }
        }
    }

    hprintln!(
        "RAM: module metadata {} B, thread stacks {} B, store heap {} B; talc heap peak {} B (live {} B) of {} B arena",
        module.metadata_bytes(),
        thread.ram_bytes(),
        store.heap_bytes(),
        HEAP.peak_bytes(),
        HEAP.live_bytes(),
        ARENA_BYTES
    );
    ok
}
