//! A guest to debug on the board: `examples/debug/calc.wasm` (C, `-g -O0`) on the
//! kernel with the router, executed in place from flash, assembled by the
//! `fireball` facade as every other firmware is. `FIREBALL_DEBUG_GUEST=trap`
//! at build time embeds `trap.wasm` instead, and `=pair` embeds `ticker.wasm` and
//! runs it twice, as the app (`app.wasm`) and as a service (`service.wasm`, in its
//! own P4 sub-heap): two modules for one lldb. With the `gdb` feature
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
// No unsafe here but the promise that build.rs validated the guest (`Prevalidated::new`,
// allowed where it is made); `deny` rather than `forbid` so it, and cortex-m's
// `singleton!`, may allow their own.
#![deny(unsafe_code)]

use core::fmt;

use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use fireball::coos::plan::Config;
use fireball::wasm::Prevalidated;
use fireball::{Builder, Guest, Parts, Ram, Stop};
use fireball_qemu_m4::exit;

/// The guest, validated and packed with its side table by build.rs (DWARF included: lldb reads it from here).
// SAFETY: build.rs wrote this file with `write_packed` of the guest after it loaded (was
// validated) with this engine and the default features, which the facade loads it with;
// it is linked into this firmware's flash and comes from nowhere else.
#[allow(unsafe_code)]
static GUEST: Prevalidated<'static> =
    unsafe { Prevalidated::new(include_bytes!(concat!(env!("OUT_DIR"), "/", env!("FIREBALL_DEBUG_GUEST_FILE")))) };

/// The modules to run: the name lldb sees, and whether it is a service.
#[cfg(not(debug_pair))]
const GUESTS: &[Guest<'static>] = &[Guest::prevalidated_app(env!("FIREBALL_DEBUG_GUEST_NAME"), GUEST)];
#[cfg(debug_pair)]
const GUESTS: &[Guest<'static>] = &[Guest::prevalidated_app("app.wasm", GUEST), Guest::prevalidated_service("service.wasm", GUEST)];

/// The device the memory plan is for.
const RAM_BYTES: usize = 96 * 1024;

/// The logger's text backend and the guests' stdout: semihosting.
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
    let Some(ram) = cortex_m::singleton!(: Ram<RAM_BYTES> = Ram::new()) else { return false };
    let (mut log, mut stdout) = (Console, Console);
    let mut parts = Parts::new();
    let mut builder = Builder::new(ram.bytes()).log_to(&mut log).console(&mut stdout).max_table_elems(16);
    // The pair's service (ticker.wasm with its DWARF: 4 KiB of metadata and memory)
    // needs a bigger sub-heap than the plan row's 2 KiB: the plan says so.
    if cfg!(debug_pair) {
        builder = builder.plan(Config { n_svc: 1, max_service_size: 4 * 1024, ..Config::row(RAM_BYTES) });
    }
    for g in GUESTS {
        builder = builder.guest(*g);
    }
    #[allow(unused_mut)] // reassigned when the debugger hands it back
    let mut system = match builder.build(&mut parts) {
        Ok(s) => s,
        Err(e) => {
            hprintln!("fireball: {}", e);
            return false;
        }
    };

    #[cfg(feature = "gdb")]
    let mut buf = [0u8; 1024];
    #[cfg(feature = "gdb")]
    let mut session = {
        let Some(uart) = fireball_qemu_m4::uart::Uart::take() else { return false };
        let Ok(mut d) = fireball::sys::gdb::Debugger::new(link::Link(uart), &mut buf) else { return false };
        for m in system.modules() {
            d.set_name(m.task, m.name);
        }
        // The session holds the system only while it serves lldb between steps.
        hprintln!(
            "gdb: waiting for lldb on UART0 (debugger RAM: session {} B + packet buffer {} B, half of it the framing check's)",
            core::mem::size_of_val(&d) - core::mem::size_of_val(&system),
            1024
        );
        let Some((s, _)) = d.attach(system) else { return false };
        system = s;
        d
    };

    loop {
        let tick = system.step();
        #[cfg(feature = "gdb")]
        {
            let Some((s, flow)) = session.after_step(system, tick.step) else { return false };
            system = s;
            if flow == fireball::sys::gdb::Flow::Kill {
                // The session ended as lldb asked: not a failure of the firmware.
                hprintln!("gdb: killed by lldb");
                exit(true);
            }
        }
        match tick.stop {
            None => {}
            // wasi-libc's `_start` calls `proc_exit` only for a non-zero status.
            Some(Stop::Finished) => {
                return system.modules().all(|m| {
                    if let Some(f) = m.fault {
                        hprintln!("{}: {}", m.name, f);
                    }
                    m.fault.is_none() && m.exit_code.unwrap_or(0) == 0
                })
            }
            Some(stop) => {
                hprintln!("stopped: {}", stop);
                return false;
            }
        }
    }
}
