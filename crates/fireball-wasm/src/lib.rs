#![doc = include_str!("../README.md")]
#![no_std]
#![warn(missing_docs)]
// `checked`: no unsafe code (a broken validator guarantee traps). `deny`, not `forbid`, for
// one declaration: `Prevalidated::new` is an `unsafe fn` in every build (the promise that
// lets a firmware skip the validator), though its body does nothing unsafe (see UNSAFE.md).
#![cfg_attr(feature = "checked", deny(unsafe_code))]
#![cfg_attr(not(feature = "checked"), deny(unsafe_code))]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo, clippy::unimplemented))]

#[cfg(test)]
extern crate std;

#[cfg(feature = "debug")]
pub mod debug;
pub mod error;
pub mod exec;
mod float;
pub mod module;
pub mod ops;
pub mod pack;
#[cfg_attr(not(feature = "checked"), allow(unsafe_code))]
mod raw;
mod reader;
pub mod sidetable;
pub mod store;
pub mod trap;
pub mod types;
mod validate;
pub mod value;

pub use error::{DecodeError, InstantiateError, LoadError, OutOfMemory, Reason, ValidateError};
pub use exec::{Exit, InvokeError, StackLimits, Thread};
pub use module::{Features, FuncBody, FuncInfo, ImportDesc, Module};
pub use pack::Prevalidated;
pub use store::{Extern, MAX_STORE_INSTANCES, STORE_BYTES_PER_FUNC, FuncAddr, GlobalAddr, HostLimits, Instance, MemoryAddr, Store, TableAddr};
pub use trap::{Trap, TrapCode};
pub use types::{ExternKind, FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
pub use value::Value;

/// The global allocator, for `*_in` constructors.
pub use allocator_api2::alloc::Global;

/// The automatic-yield interval for a CPU clock: 30 000 wasm instructions per
/// 100 MHz, i.e. a constant 300 µs time slice (FIREBALL.md §1).
pub const fn yield_interval(cpu_mhz: u32) -> u64 {
    30_000 * cpu_mhz as u64 / 100
}
