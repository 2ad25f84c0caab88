//! hal: the device registry the guest's `hal_*` imports end in.
//! guest import ──► router (URI `hal/<path>`, access control) ──► **hal
//! [`Registry`]** ──► [`Device`] ──► capability ([`Adc`], [`Tx`], …) ──►
//! board driver ([`board`], on `embedded-hal` 1.0) or simulator ([`sim`]).
//!
//! # Shape
//!
//! A [`Registry`] is a fixed array of slots (16 by default, [`DEFAULT_CAPACITY`];
//! the capacity is a const generic). Each slot borrows one device as a
//! `&mut dyn Device` and remembers its path (`adc/0`, `tx`, `ble`, `gpio/3`,
//! `clock`: what the router addresses as `hal/<path>`), its [`DeviceId`] (the
//! slot index) and the capabilities it answered at registration ([`Caps`], one
//! byte, so routing by capability needs no virtual call).
//!
//! A device offers capabilities the way gdbstub's targets offer protocol
//! extensions: [`Device::support_adc`] and friends return
//! `Option<&mut dyn Adc>`, `None` by default. Every capability is a small,
//! fallible trait; every operation returns `Result<_, HalError>`. A device that
//! fails returns an error; nothing in this module panics.
//!
//! # Guest operations
//!
//! The five HAL imports of FIREBALL.md §4 are methods of [`Registry`], once
//! typed (`adc_read` → `Result<u16, HalError>`) and once with the exact guest
//! signature (`hal_adc_read(i32) -> i32`, a [`HalError::code`] when negative),
//! so the guest-import layer only has to turn `(ptr, len)` into a slice
//! ([`guest_bytes`]) and call one method:
//!
//! | import | registry method | device used | success value |
//! |---|---|---|---|
//! | `int hal_adc_read(int channel)` | [`Registry::hal_adc_read`] | the ADC devices in id order; their channels are numbered on from 0 across devices | the sample, `0..=65535` (a device's raw code) |
//! | `int hal_tx_send(const uint8_t *data, int len)` | [`Registry::hal_tx_send`] | the lowest-id device with [`Caps::TX`] | `len` |
//! | `int hal_get_time_ms(void)` | [`Registry::hal_get_time_ms`] | the lowest-id device with [`Caps::CLOCK`] | milliseconds modulo 2³¹ (wraps after 24.8 days; never negative) |
//! | `int hal_ble_init(int profile_id)` | [`Registry::hal_ble_init`] | the lowest-id device with [`Caps::BLE`] | `0` |
//! | `int hal_ble_send(const uint8_t *data, int len)` | [`Registry::hal_ble_send`] | the same BLE device; fails with `NotInitialized` until an init succeeded | `len` |
//!
//! Errors are the negative codes of [`HalError`] (the table is there).
//!
//! # Typed key-value configuration
//!
//! Configuration and reads of device settings travel as typed key-value
//! messages: [`Device::configure`] takes one `(key, Value)` entry and
//! [`Device::query`] answers one key, with the keys of [`key`]. The router
//! decodes a message with the `keyval` codec and calls
//! [`Registry::configure`] once per entry (and encodes [`Registry::query`]'s
//! answers back). [`Value`] *is* the codec's value and keys are its one-byte
//! keys, so a decoded entry goes to a device as it is.

pub mod board;
mod device;
mod registry;
pub mod sim;

pub use device::{Adc, Ble, Caps, Clock, Device, Gpio, I2c, Offload, Progress, Spi, Tx};
pub use registry::{guest_bytes, DeviceId, DeviceInfo, RegisterError, Registry, DEFAULT_CAPACITY, MAX_PATH};

use core::fmt;

/// Declares [`HalError`] from one table: variant, guest code, description.
/// `code`, `from_code`, `description` and `ALL` are generated from it, so the
/// table below is the only place a code is written down (the C header mirrors
/// it, checked by `tests/hal_registry.rs`).
macro_rules! hal_errors {
    ($( $(#[doc = $doc:literal])* $name:ident = $code:literal, $text:literal; )*) => {
        /// Why a HAL operation failed. Guests see it as a negative return code:
        ///
        /// | code | variant | meaning |
        /// |---|---|---|
        /// | -1 | `NoDevice` | no registered device has the capability (or path, or id) asked for |
        /// | -2 | `NotSupported` | the device lacks that capability, operation or configuration key |
        /// | -3 | `BadChannel` | channel, pin, register or other index out of the device's range |
        /// | -4 | `InvalidArgument` | a value the operation cannot take: negative length, bad pointer range, wrong value type, unknown profile |
        /// | -5 | `NotInitialized` | used before its initialisation (`hal_ble_send` before `hal_ble_init`) |
        /// | -6 | `Busy` | the device (or bus) is busy; retrying later may work |
        /// | -7 | `BusError` | the transfer failed on the wire or in the peripheral |
        /// | -8 | `NoAcknowledge` | an I²C address or byte was not acknowledged |
        /// | -9 | `TooLong` | the frame is longer than the device's maximum |
        /// | -10 | `Timeout` | the device did not answer in time |
        /// | -11 | `Denied` | the module's manifest does not grant that endpoint (the router logs it) |
        /// | -12 | `BadMessage` | a malformed key-value message (an error for its sender only) |
        ///
        /// Codes are stable: new variants get new codes, old ones never move.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HalError {
            $( $(#[doc = $doc])* $name, )*
        }

        impl HalError {
            /// Every variant, in code order (`-1`, `-2`, …).
            pub const ALL: &'static [HalError] = &[$(HalError::$name),*];

            /// The negative code a guest import returns for this error.
            pub const fn code(self) -> i32 {
                match self { $(HalError::$name => $code,)* }
            }

            /// The error a guest-visible code stands for (`None` for codes
            /// that are not errors, including every value `>= 0`).
            pub const fn from_code(code: i32) -> Option<HalError> {
                match code { $($code => Some(HalError::$name),)* _ => None }
            }

            /// One line saying what went wrong.
            pub const fn description(self) -> &'static str {
                match self { $(HalError::$name => $text,)* }
            }
        }
    };
}

hal_errors! {
    /// No registered device has the capability, path or id asked for.
    NoDevice = -1, "no such device";
    /// The device lacks that capability, operation or configuration key.
    NotSupported = -2, "not supported by the device";
    /// Channel, pin, register or other index out of the device's range.
    BadChannel = -3, "channel out of range";
    /// A value the operation cannot take (negative length, a pointer range
    /// outside guest memory, a configuration value of the wrong type or range).
    InvalidArgument = -4, "invalid argument";
    /// Used before its initialisation (for example BLE send before init).
    NotInitialized = -5, "not initialised";
    /// The device or bus is busy (or lost arbitration); retrying may work.
    Busy = -6, "device busy";
    /// The transfer failed on the wire or in the peripheral.
    BusError = -7, "bus error";
    /// An I²C address or data byte was not acknowledged.
    NoAcknowledge = -8, "not acknowledged";
    /// The frame is longer than the device's maximum.
    TooLong = -9, "frame too long";
    /// The device did not answer in time.
    Timeout = -10, "timeout";
    /// The module's manifest does not grant the endpoint (the router logs the attempt).
    Denied = -11, "access denied";
    /// A malformed key-value message; only its sender sees the error.
    BadMessage = -12, "malformed message";
}

impl fmt::Display for HalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description(), self.code())
    }
}

impl core::error::Error for HalError {}

/// A typed configuration or query value: the key-value codec's value, so a
/// configuration message decodes straight into device calls.
pub use crate::keyval::Value;

impl Value<'_> {
    /// The value as an integer, whichever integer variant holds it
    /// ([`HalError::InvalidArgument`] for the other variants).
    pub fn as_i64(&self) -> Result<i64, HalError> {
        match *self {
            Value::I32(v) => Ok(i64::from(v)),
            Value::U32(v) => Ok(i64::from(v)),
            Value::I64(v) => Ok(v),
            _ => Err(HalError::InvalidArgument),
        }
    }

    /// The value as an integer in `lo..=hi` ([`HalError::InvalidArgument`]
    /// if it is not an integer or out of that range).
    pub fn as_int_in(&self, lo: i64, hi: i64) -> Result<i64, HalError> {
        let v = self.as_i64()?;
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(HalError::InvalidArgument)
        }
    }

    /// The value as a flag ([`HalError::InvalidArgument`] otherwise).
    pub fn as_bool(&self) -> Result<bool, HalError> {
        match *self {
            Value::Bool(v) => Ok(v),
            _ => Err(HalError::InvalidArgument),
        }
    }
}

/// The HAL's configuration keys: one byte each, like the codec's keys. A
/// device documents which it accepts in [`Device::configure`] (set) and
/// [`Device::query`] (get); any other key is [`HalError::NotSupported`].
pub mod key {
    /// Number of channels, pins or lines (get; `U32`).
    pub const CHANNELS: u8 = 0x01;
    /// ADC resolution in bits, 1..=16 (get/set; integer).
    pub const BITS: u8 = 0x02;
    /// Largest frame or payload in bytes (get/set; integer).
    pub const MAX_FRAME: u8 = 0x03;
    /// BLE profile in use (get; `U32`; `NotInitialized` before init).
    pub const PROFILE: u8 = 0x04;
    /// 7-bit I²C address (get/set; integer 0..=127).
    pub const ADDRESS: u8 = 0x05;
    /// Current time in milliseconds (get; `I64`).
    pub const NOW_MS: u8 = 0x06;
    /// Frames sent or transfers done so far (get; `U32`).
    pub const COUNT: u8 = 0x07;
    /// A GPIO pin number, in `READ`/`WRITE` requests (integer 0..=255).
    pub const PIN: u8 = 0x08;
    /// A pin's level, `true` = high: in a GPIO `WRITE` request and a `READ` reply (`Bool`).
    pub const LEVEL: u8 = 0x09;
    /// Bytes to write (request) or the bytes read (reply) of an I²C or SPI transfer (`Bytes`).
    pub const DATA: u8 = 0x0a;
    /// How many bytes an I²C or SPI `READ`/`TRANSFER` reads (integer, at most
    /// the router's `MAX_TRANSFER`).
    pub const LEN: u8 = 0x0b;
    /// Where the next `sys_read`/`sys_write` of a storage device starts, in
    /// bytes (get/set; integer): a transfer moves it past what it moved.
    pub const OFFSET: u8 = 0x0c;
}
