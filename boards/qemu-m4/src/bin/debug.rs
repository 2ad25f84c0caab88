//! A guest to debug on the board: `examples/debug/calc.wasm` (C, `-g -O0`) on the
//! kernel with the router, executed in place from flash. `FIREBALL_DEBUG_GUEST=trap`
//! at build time embeds `trap.wasm` instead, and `=pair` embeds `ticker.wasm` and
//! runs it twice, as the app (`app.wasm`, task 0) and as a service (`service.wasm`,
//! task 1), both in the guest partition: two modules for one lldb. With the `gdb` feature
//! the debugger stub (`fireball-sys`'s `gdb`) serves lldb over UART0 and the
//! firmware waits for lldb before the guest's first instruction:
//!
//! ```text
//! qemu-system-arm … -serial tcp::1234,server=on,wait=off -kernel debug
//! lldb-22 -o 'process connect --plugin wasm connect://127.0.0.1:1234'
//! ```
//!
//! lldb finds the module's DWARF by reading the module through the stub (it is
//! named `calc.wasm`, a file lldb does not have), and the C sources by their
//! paths in the DWARF, relative to the repository root. Without the feature it
//! is the same firmware minus the debugger: `scripts/gdb-qemu.sh` builds both
//! and reports what the debugger adds in flash and RAM.
//! Exits through semihosting: 0 once the guest has returned 0, or lldb killed it.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::cell::RefCell;
use core::fmt;

use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use fireball_coos::mem::{Memory, Partition, PartitionId};
use fireball_coos::plan::{plan, Config};
use fireball_coos::sched::{Core, Kernel, KernelConfig, Step, TaskState};
use fireball_qemu_m4::exit;
use fireball_sys::hal::Registry;
use fireball_sys::log::{Logger, CAPACITY};
use fireball_sys::router::{Grants, Router};
use fireball_wasm::{Features, HostLimits, Module, StackLimits};

/// The guest, packed with its side table by build.rs (DWARF included: lldb reads it from here).
static GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/", env!("FIREBALL_DEBUG_GUEST_FILE")));

/// The modules to spawn: (name lldb sees, entry).
#[cfg(not(debug_pair))]
const TASKS: &[(&str, &str)] = &[(env!("FIREBALL_DEBUG_GUEST_NAME"), "_start")];
#[cfg(debug_pair)]
const TASKS: &[(&str, &str)] = &[("app.wasm", "ticker"), ("service.wasm", "ticker")];

/// The device the memory plan is for.
const RAM_BYTES: usize = 96 * 1024;

#[repr(C, align(16))]
struct Ram([u8; RAM_BYTES]);

/// The logger's text backend: semihosting stdout.
struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        hprint!("{}", s);
        Ok(())
    }
}

#[cfg(feature = "gdb")]
mod link {
    use fireball_qemu_m4::uart::Uart;
    use gdbstub::conn::{Connection, ConnectionExt};

    /// The stub's connection: UART0, polled.
    pub struct Link(pub Uart);

    impl Connection for Link {
        type Error = core::convert::Infallible;
        fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
            self.0.write_byte(byte);
            Ok(())
        }
        fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    impl ConnectionExt for Link {
        fn read(&mut self) -> Result<u8, Self::Error> {
            Ok(self.0.read_byte())
        }
        fn peek(&mut self) -> Result<Option<u8>, Self::Error> {
            Ok(self.0.peek_byte())
        }
    }
}

#[entry]
fn main() -> ! {
    let ok = run();
    hprintln!("{}", if ok { "debug firmware: guest returned 0" } else { "debug firmware FAILED" });
    exit(ok)
}

fn run() -> bool {
    let Ok(layout) = plan(&Config::row(RAM_BYTES)) else { return false };
    let Some(ram) = cortex_m::singleton!(: Ram = Ram([0; RAM_BYTES])) else { return false };
    let Ok(mut mem) = Memory::new(&layout, &mut ram.0) else { return false };
    let Some(slot) = mem.take_stacks().and_then(|mut s| s.next()) else { return false };
    let Ok(stack) = Partition::new(PartitionId::Guest, slot) else { return false };
    let p1 = mem.partition(PartitionId::Kernel);
    let p2 = mem.partition(PartitionId::Runtime);
    let p3 = mem.partition(PartitionId::Subsystems);
    let p5 = mem.partition(PartitionId::Guest);
    let module = match Module::from_packed_in(GUEST, Features::default(), p5) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("{}: {}", env!("FIREBALL_DEBUG_GUEST_NAME"), e);
            return false;
        }
    };
    let kcfg = KernelConfig { tasks: 2, channels: &[], owned: 8, cpu_mhz: 100 };
    let Ok(core) = Core::new_in(&kcfg, p1).map(RefCell::new) else { return false };
    let mut hal: Registry<'_> = Registry::new();
    let Ok(mut logger) = Logger::try_new_in(CAPACITY, p3) else { return false };
    let router = RefCell::new(Router::new(&mut hal, &mut logger, 1));
    let Ok(mut kernel) = Kernel::<'_, '_, &Partition, &Partition, &Partition>::new_in(&core, &kcfg, p2) else { return false };
    kernel.set_syscalls(&router);
    let footprint = u64::from(module.static_footprint().unwrap_or(0));
    let limits = HostLimits { max_memory_bytes: footprint + 1024, max_table_elems: 16 };
    let frames = (stack.region_size() / 128).max(4) as u32 / TASKS.len() as u32;
    let value_slots = ((stack.capacity().saturating_sub(64 + frames as usize * 16) / 8) as u32 / TASKS.len() as u32).saturating_sub(16);
    let task = 0;
    for &(name, entry) in TASKS {
        let Some(t) = kernel.next_task() else { return false };
        router.borrow_mut().admit(t, name, Grants::ALL);
        if kernel.spawn_wasm_with_stack(&module, entry, p5, &stack, limits, StackLimits { value_slots, frames }).is_err() {
            hprintln!("{}: cannot spawn", name);
            return false;
        }
    }

    #[cfg(feature = "gdb")]
    let mut buf = [0u8; 1024];
    #[cfg(feature = "gdb")]
    let mut session = {
        let Some(uart) = fireball_qemu_m4::uart::Uart::take() else { return false };
        let Ok(mut d) = fireball_sys::gdb::Debugger::new(link::Link(uart), &mut buf) else { return false };
        for (t, &(name, _)) in TASKS.iter().enumerate() {
            d.set_name(t as u8, name);
        }
        hprintln!(
            "gdb: waiting for lldb on UART0 (debugger RAM: session {} B + packet buffer {} B)",
            core::mem::size_of_val(&d),
            1024
        );
        let Some((k, _)) = d.attach(kernel) else { return false };
        kernel = k;
        d
    };

    for _ in 0..1_000_000u32 {
        let step = kernel.step();
        let _ = router.borrow_mut().drain_log(&mut Console);
        #[cfg(feature = "gdb")]
        {
            let Some((k, flow)) = session.after_step(kernel, step) else { return false };
            kernel = k;
            if flow == fireball_sys::gdb::Flow::Kill {
                // The session ended as lldb asked: not a failure of the firmware.
                hprintln!("gdb: killed by lldb");
                exit(true);
            }
        }
        match (step, kernel.state(task)) {
            (Step::Fatal(..), _) => return false,
            // wasi-libc's `_start` calls `proc_exit` only for a non-zero status.
            (_, TaskState::Done) => return router.borrow().exit_code(task).unwrap_or(0) == 0,
            (_, TaskState::Terminated) => {
                hprintln!("{}: terminated ({:?})", env!("FIREBALL_DEBUG_GUEST_NAME"), kernel.stats(task).fault);
                return false;
            }
            _ => {}
        }
    }
    false
}
