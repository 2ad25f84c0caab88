//! The guest SDK for Rust programs on Fireball: the runtime's imports as safe functions.
//!
//! ```text
//! your guest ──► hal · chan · Buffer · log · request ──► sys (the one `unsafe` module)
//!   ──► wasm imports `env.*` ──► Fireball: kernel (channels, buffers), HAL, logger, router
//! ```
//!
//! A guest is a `#![no_std]` `cdylib` built for `wasm32-unknown-unknown`
//! that exports its entry function; the runtime resumes it in time slices,
//! so a `loop { … }` shares the CPU without knowing it
//! (`examples/rust-sensor` is a complete one, built by
//! `scripts/build-rust-guest.sh`):
//!
//! ```no_run
//! // src/lib.rs of a `#![no_std]` cdylib with fireball-guest's `panic-handler` feature
//! use fireball_guest::{chan, hal, log};
//!
//! #[no_mangle]
//! pub extern "C" fn _start() {
//!     loop {
//!         match hal::adc_read(0) {
//!             Ok(sample) => chan::send(0, i32::from(sample)),
//!             Err(e) => {
//!                 let _ = log::warn(1, e.code());
//!             }
//!         }
//!         chan::yield_now();
//!     }
//! }
//! ```
//!
//! | module | imports | what for |
//! |---|---|---|
//! | [`hal`] | `hal_adc_read`, `hal_tx_send`, `hal_get_time_ms`, `hal_ble_init`, `hal_ble_send` | the board's devices |
//! | [`chan`] | `ch_send`, `ch_recv`, `co_yield` | values over the module's channel ports; ending a slice |
//! | [`Buffer`] | `buf_create`, `buf_send`, `buf_recv`, `buf_read`, `buf_release` | byte buffers the kernel owns, moved between modules |
//! | [`log`] | `log_event` | binary events in the runtime's log ring |
//! | [`request`] | `sys_request` | typed key-value messages to an endpoint (`hal/adc/0`) |
//!
//! Every fallible call returns `Result<_, `[`Error`]`>` (the buffer calls:
//! [`BufferError`]); the codes are the runtime's table, also in
//! `include/fireball.h` for C guests.
//!
//! # Features
//!
//! - `panic-handler`: defines the `#[panic_handler]` (on wasm32 only): it
//!   executes the wasm `unreachable` instruction, so the runtime traps and
//!   ends this module alone. Enable it in the guest binary.
//!
//! # On the host
//!
//! The imports exist only on `wasm32`. Elsewhere the crate still builds (so
//! a guest's logic can be unit-tested on the host), but every function that
//! would call the runtime panics.
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

// The raw imports and the slices handed to them: the crate's only `unsafe`.
#[allow(unsafe_code)]
mod sys;

mod buffer;
pub mod chan;
pub mod hal;
pub mod log;
pub mod offload;
pub mod pins;
pub mod router;

pub use buffer::{Buffer, BufferError, SendError};
pub use router::request;

use core::fmt;

/// Declares an error enum from one table: variant, guest code, description,
/// plus an `Other(i32)` variant for a negative code the table lacks.
/// `code`, `from_code`, `description` and `ALL` are generated from it.
macro_rules! error_codes {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident {
            $( $(#[doc = $doc:literal])* $name:ident = $code:literal, $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        // The discriminants are the codes, so `code` and `from_code` compile
        // to a range check instead of a jump table.
        #[repr(i32)]
        pub enum $ty {
            $( $(#[doc = $doc])* $name = $code, )*
            /// A negative code this version of the SDK does not know (a newer runtime's).
            Other(i32) = i32::MIN,
        }

        impl $ty {
            /// Every variant of the table, in code order (`-1`, `-2`, …); not `Other`.
            pub const ALL: &'static [$ty] = &[$($ty::$name),*];

            /// The negative code the import returns for this error.
            pub const fn code(self) -> i32 {
                match self {
                    $($ty::$name => $code,)*
                    $ty::Other(code) => code,
                }
            }

            /// The error a code stands for: `None` for every value `>= 0`
            /// (a success), `Other` for a negative code not in the table.
            pub const fn from_code(code: i32) -> Option<$ty> {
                match code {
                    $($code => Some($ty::$name),)*
                    c if c < 0 => Some($ty::Other(c)),
                    _ => None,
                }
            }

            /// One line saying what went wrong.
            pub const fn description(self) -> &'static str {
                match self {
                    $($ty::$name => $text,)*
                    $ty::Other(_) => "unknown error",
                }
            }

            /// An import's result: `Ok` with the value if `>= 0`, else the error.
            pub(crate) const fn check(rc: i32) -> Result<u32, $ty> {
                match $ty::from_code(rc) {
                    Some(e) => Err(e),
                    None => Ok(rc as u32),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} ({})", self.description(), self.code())
            }
        }

        impl core::error::Error for $ty {}
    };
}
pub(crate) use error_codes;

error_codes! {
    /// Why an import failed: the runtime's one error table (the HAL's
    /// `HalError` plus the router's two), the `FB_ERR_*` codes of
    /// `include/fireball.h`. The buffer calls have their own, [`BufferError`].
    ///
    /// | code | variant | meaning |
    /// |---|---|---|
    /// | -1 | `NoDevice` | no device has the capability, path or id asked for |
    /// | -2 | `NotSupported` | the device lacks that operation or configuration key |
    /// | -3 | `BadChannel` | channel, pin or index out of the device's range |
    /// | -4 | `InvalidArgument` | a value the operation cannot take |
    /// | -5 | `NotInitialized` | used before its initialisation (BLE send before init) |
    /// | -6 | `Busy` | the device or bus is busy; retrying later may work |
    /// | -7 | `BusError` | the transfer failed on the wire or in the peripheral |
    /// | -8 | `NoAcknowledge` | an I²C address or byte was not acknowledged |
    /// | -9 | `TooLong` | the frame is longer than the device's maximum |
    /// | -10 | `Timeout` | the device did not answer in time |
    /// | -11 | `Denied` | the module's manifest does not grant that endpoint (the access is logged) |
    /// | -12 | `BadMessage` | a malformed key-value message |
    ///
    /// Codes are stable: new errors get new codes, old ones never move.
    pub enum Error {
        /// No device has the capability, path or id asked for.
        NoDevice = -1, "no such device";
        /// The device lacks that capability, operation or configuration key.
        NotSupported = -2, "not supported by the device";
        /// Channel, pin, register or other index out of the device's range.
        BadChannel = -3, "channel out of range";
        /// A value the operation cannot take (a negative length, a range
        /// outside the guest's memory, a configuration value of the wrong type).
        InvalidArgument = -4, "invalid argument";
        /// Used before its initialisation (BLE send before init).
        NotInitialized = -5, "not initialised";
        /// The device or bus is busy; retrying later may work.
        Busy = -6, "device busy";
        /// The transfer failed on the wire or in the peripheral.
        BusError = -7, "bus error";
        /// An I²C address or data byte was not acknowledged.
        NoAcknowledge = -8, "not acknowledged";
        /// The frame is longer than the device's maximum.
        TooLong = -9, "frame too long";
        /// The device did not answer in time.
        Timeout = -10, "timeout";
        /// The module's manifest does not grant that endpoint; the runtime logs the attempt.
        Denied = -11, "access denied";
        /// A malformed key-value message.
        BadMessage = -12, "malformed message";
    }
}

/// Ends the module with a wasm trap: the runtime terminates this module only
/// and the others keep running.
#[cfg(all(feature = "panic-handler", target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::string::ToString;

    #[test]
    fn codes_are_one_table_in_order() {
        assert_eq!(Error::ALL.len(), 12);
        for (i, &e) in Error::ALL.iter().enumerate() {
            assert_eq!(e.code(), -(i as i32) - 1, "{e:?}");
            assert_eq!(Error::from_code(e.code()), Some(e));
            assert!(!e.description().is_empty());
        }
        assert_eq!(Error::Denied.code(), -11);
        assert_eq!(Error::BadMessage.code(), -12);
    }

    #[test]
    fn from_code_splits_success_known_and_unknown() {
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::from_code(65535), None);
        assert_eq!(Error::from_code(i32::MAX), None);
        assert_eq!(Error::from_code(-3), Some(Error::BadChannel));
        assert_eq!(Error::from_code(-13), Some(Error::Other(-13)));
        assert_eq!(Error::from_code(i32::MIN), Some(Error::Other(i32::MIN)));
        assert_eq!(Error::Other(-13).code(), -13);
    }

    #[test]
    fn check_turns_results_into_values_or_errors() {
        assert_eq!(Error::check(0), Ok(0));
        assert_eq!(Error::check(4095), Ok(4095));
        assert_eq!(Error::check(i32::MAX), Ok(i32::MAX as u32));
        assert_eq!(Error::check(-10), Err(Error::Timeout));
        assert_eq!(Error::check(-99), Err(Error::Other(-99)));
    }

    #[test]
    fn display_says_what_and_which_code() {
        assert_eq!(Error::BadChannel.to_string(), "channel out of range (-3)");
        assert_eq!(Error::Other(-40).to_string(), "unknown error (-40)");
        assert_eq!(format!("{}", Error::Denied), "access denied (-11)");
    }

    /// The same codes and texts as the runtime's `HalError` table, read from
    /// its source (the guest crate cannot depend on fireball-sys).
    #[test]
    fn codes_match_the_runtimes_table() {
        let source = include_str!("../../fireball-sys/src/hal/mod.rs");
        for &e in Error::ALL {
            let line = format!("    {:?} = {}, \"{}\";", e, e.code(), e.description());
            assert!(source.contains(&line), "fireball-sys hal_errors! lacks {line:?}");
        }
    }
}
