//! The host tool's library: the simulator behind `fireball run` (`system`),
//! shared with the integration tests that check the example programs.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

pub mod dwarf;
pub mod gdb;
pub mod system;
