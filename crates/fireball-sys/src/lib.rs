//! Fireball's subsystems, the native side guests reach through checked imports:
//!
//! ```text
//! guest import ──► router (URI, access control) ──► log | hal (devices) | services
//!                      └── messages encoded with keyval
//! ```
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "gdb")]
pub mod gdb;
pub mod hal;
pub mod keyval;
pub mod log;
pub mod manifest;
pub mod router;
