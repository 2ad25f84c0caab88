//! COOS, Fireball's kernel: guests and services as isolated coroutines.
//!
//! ```text
//! plan (RAM layout) → mem (partitions P1..P6, one allocator each)
//!   → sched: tasks (wasm threads resumed with fuel = YIELD_INTERVAL, native futures)
//!   → chan: CSP channels, the only way tasks talk; own: who owns which buffer
//! ```
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

extern crate alloc;

// The allocator glue is the crate's only `unsafe` (UNSAFE.md).
#[allow(unsafe_code)]
pub mod mem;
pub mod plan;
pub mod chan;
pub mod own;
pub mod sched;

/// A task's index in the scheduler's table (at most 254 tasks).
pub type TaskId = u8;

/// "No task": the end of an intrusive task list.
pub const NIL: TaskId = 0xff;
