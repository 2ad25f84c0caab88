//! Fireball's facade: one [`Builder`] that owns the assembly — RAM and memory
//! plan, devices registered by name, the guest app and its services with
//! their manifest, where the log goes, the clock — and a [`System`] whose
//! [`step`](System::step) / [`run_for`](System::run_for) /
//! [`run_until`](System::run_until) loop reports faults, restarts and the
//! partition table. The host simulator (`fireball run`), the QEMU firmware
//! and the STM32 board are all built with it.
//!
//! # A firmware `main`
//!
//! A guest packed into flash (by the board's `build.rs`, like
//! `boards/stm32f401`), the chip's ADC, a SysTick clock and a UART for the
//! log; `boards/stm32f401/src/main.rs` is this, with the chip's set-up:
//!
//! ```rust,ignore
//! #![no_std]
//! #![no_main]
//! use core::fmt::Write;
//! use fireball::{Builder, Guest, Limit, Parts, Ram, Stop};
//!
//! static GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sensor.fbx"));
//!
//! #[cortex_m_rt::entry]
//! fn main() -> ! {
//!     let board = board::init();                       // clocks, pins, peripherals
//!     let (mut adc, mut clock, mut uart) = (board.adc, board.clock, board.uart);
//!     let ram = cortex_m::singleton!(: Ram<{ 64 * 1024 }> = Ram::new()).unwrap().bytes();
//!     let mut log = uart.clone_writer();
//!     let mut parts = Parts::new();                    // where the system lives
//!     let built = Builder::new(ram)                    // the plan for 64 KiB
//!         .device("adc/0", &mut adc)                   // hal_adc_read(0)
//!         .device("clock", &mut clock)                 // hal_get_time_ms, log timestamps
//!         .guest(Guest::app("sensor", GUEST))          // executed in place from flash
//!         .log_to(&mut log)                            // logger lines and notices
//!         .build(&mut parts);
//!     let mut system = match built {
//!         Ok(s) => s,
//!         Err(e) => {
//!             let _ = writeln!(uart, "fireball: {e}");  // what is wrong, and what to change
//!             loop { cortex_m::asm::wfi() }
//!         }
//!     };
//!     loop {
//!         match system.run_for(Limit::Millis(system.millis() + 1000)) {
//!             Stop::Millis(_) => { let _ = write!(uart, "{}", system.partition_table()); }
//!             stop => { let _ = writeln!(uart, "stopped: {stop}"); break; }
//!         }
//!     }
//!     loop { cortex_m::asm::wfi() }
//! }
//! ```
//!
//! # The same on the host, with simulated devices
//!
//! ```
//! use fireball::{Builder, Guest, Limit, Parts, Ram, Stop, Time};
//! use fireball::sys::hal::sim::{Signal, SimAdc, SimClock, SimTime};
//!
//! let guest = wat::parse_str(r#"(module
//!     (import "env" "hal_adc_read" (func $adc (param i32) (result i32)))
//!     (import "env" "ch_send" (func $send (param i32 i32)))
//!     (memory 1)
//!     (func (export "_start") (loop (call $send (i32.const 0) (call $adc (i32.const 0))) (br 0))))"#)?;
//! let ram = Box::leak(Box::new(Ram::<{ 32 * 1024 }>::new())).bytes();
//! let time = SimTime::new();
//! let signals = [Signal::Ramp { from: 0, to: 4000, period_ms: 100 }];
//! let mut adc = SimAdc::new(&time, &signals);
//! let mut clock = SimClock::new(&time);
//! let mut log = String::new();
//! let mut parts = Parts::new();
//! let mut system = Builder::new(ram)
//!     .device("adc/0", &mut adc)
//!     .device("clock", &mut clock)
//!     .guest(Guest::app("sensor", &guest))
//!     .log_to(&mut log)
//!     .time(Time::Simulated { time: &time, instructions_per_ms: 4000 })
//!     .build(&mut parts)
//!     .map_err(|e| e.to_string())?; // BuildError borrows the names: make it a String to leave main
//! assert_eq!(system.run_for(Limit::Millis(20)), Stop::Millis(20));
//! let sink = system.sinks().next().unwrap();
//! assert!(sink.count > 100, "{sink:?}");
//! println!("{}", system.partition_table());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the builder does
//!
//! `build` plans the RAM (P1..P6 and the coroutine stacks), puts the kernel's
//! tables in P1, the task table in P2, the logger ring in P3, registers the
//! devices and admits every module to the router with its manifest grants,
//! loads the app into P5 and each service into its own P4 sub-heap, so every
//! byte a module uses is charged to it alone, and spawns it with its
//! interpreter stacks in one of the plan's coroutine stacks. How it sizes
//! the partitions — from a measurement when there is one ([`Builder::measure`])
//! — is in the [`setup`] module's docs. Nothing here allocates from a global
//! heap, and nothing here is `unsafe`.
//!
//! Errors are typed: [`BuildError`] (each says what to change) when the system
//! cannot be assembled, [`Fault`] when a module ends at run time (the others
//! keep running; a [`Notice`] says so, and the manifest's `restart` brings it
//! back).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

pub mod error;
#[cfg(feature = "gdb")]
mod gdb;
pub mod setup;
pub mod system;
pub mod tap;

pub use error::{describe_fault, BuildError, EntryError, Fault, Need, Stop};
pub use setup::{entry_of, ram_for, thread_limits, Builder, Footprint, Footprints, Guest, Image, Parts, Time};
pub use system::{Ended, Limit, ModuleInfo, Notice, PartitionTable, Peers, Sink, System, Tick, BLOCKED_AFTER};
pub use tap::AdcTap;

pub use fireball_coos as coos;
pub use fireball_sys as sys;
pub use fireball_coos::sched::Wait;
pub use fireball_sys::router::{CommandLine, ConsoleInput};
pub use fireball_wasm as wasm;

/// Most modules (app and services together): the router's table.
pub const MAX_MODULES: usize = fireball_sys::router::MAX_MODULES;

/// Most devices a system registers: the HAL registry's capacity.
pub const MAX_DEVICES: usize = fireball_sys::hal::DEFAULT_CAPACITY;

/// Most kernel channels the manifest may wire.
pub const MAX_CHANNELS: usize = 32;

/// Messages each wired channel buffers.
pub const CHANNEL_CAPACITY: usize = 16;

/// Heap a service gets past its static footprint (bytes of linear memory).
pub const SERVICE_HEAP: u32 = 64;

/// Most entries a module's function table may start with. Each takes 8 B of the
/// module's own partition, which bounds it anyway; Rust `std` programs need more
/// than a C guest (trait-object vtables: 56 for examples/programs/hello-rust,
/// 65 for examples/programs/coremark, against 5 for hello-c).
pub const MAX_TABLE_ELEMS: u32 = 1024;

/// RAM for a system: `N` bytes, aligned as the memory plan needs. Put it in a
/// `static` (e.g. `cortex_m::singleton!`) and hand [`Ram::bytes`] to [`Builder::new`].
#[repr(C, align(16))]
pub struct Ram<const N: usize>(pub [u8; N]);

impl<const N: usize> Ram<N> {
    /// Zeroed RAM.
    pub const fn new() -> Self {
        Ram([0; N])
    }

    /// The bytes, for [`Builder::new`].
    pub fn bytes(&'static mut self) -> &'static mut [u8] {
        &mut self.0
    }
}

impl<const N: usize> Default for Ram<N> {
    fn default() -> Self {
        Ram::new()
    }
}
