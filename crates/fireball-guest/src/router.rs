//! router: typed key-value requests to the runtime's endpoints.
//! guest ──► **[`request`]** ──► `sys_request` import ──► runtime: router (URI,
//! access control by the module's manifest) ──► endpoint (`hal/adc/0`, …) ──► reply.
//!
//! Messages are in the runtime's key-value format (`fireball_sys::keyval`,
//! `include/fireball_kv.h`): a count byte, then entries of key, type and
//! payload. Key [`op::KEY`] holds the operation as a `u32`: [`op::GET`]
//! (the reply carries the values of the other keys asked for) or
//! [`op::SET`] (each other entry configures its key). For the HAL the keys
//! are in [`key`].

use crate::{sys, Error};

/// The operation entry of a request message.
pub mod op {
    /// The key that holds the operation (a `u32` entry).
    pub const KEY: u8 = 0x00;
    /// Read: the reply carries the values of the message's other keys.
    pub const GET: u32 = 1;
    /// Write: each other entry configures its key.
    pub const SET: u32 = 2;
}

/// The HAL's configuration keys (`hal::key` in the runtime, `FB_KEY_*` in C).
/// A device accepts only some ([`Error::NotSupported`] otherwise).
pub mod key {
    /// Number of channels, pins or lines (get; `u32`).
    pub const CHANNELS: u8 = 0x01;
    /// ADC resolution in bits, 1..=16 (get/set; integer).
    pub const BITS: u8 = 0x02;
    /// Largest frame or payload in bytes (get/set; integer).
    pub const MAX_FRAME: u8 = 0x03;
    /// BLE profile in use (get; `u32`).
    pub const PROFILE: u8 = 0x04;
    /// 7-bit I²C address (get/set; integer 0..=127).
    pub const ADDRESS: u8 = 0x05;
    /// Current time in milliseconds (get; `i64`).
    pub const NOW_MS: u8 = 0x06;
    /// Frames sent or transfers done so far (get; `u32`).
    pub const COUNT: u8 = 0x07;
}

/// Sends the key-value message `msg` to the endpoint `uri` (`"hal/adc/0"`)
/// and returns the reply, a key-value message written into `reply`.
///
/// [`Error::Denied`]: the module's manifest does not grant the endpoint (the
/// runtime logs the attempt); [`Error::BadMessage`]: `msg` is malformed;
/// [`Error::TooLong`]: the reply does not fit `reply`.
///
/// ```no_run
/// use fireball_guest::router::{key, op};
/// // 2 entries: key 0, type u32 (0x03), GET; then the key asked for, BITS (a u32 0).
/// let msg = [2, op::KEY, 0x03, op::GET as u8, 0, 0, 0, key::BITS, 0x03, 0, 0, 0, 0];
/// let mut reply = [0u8; 16];
/// let answer: &[u8] = fireball_guest::request("hal/adc/0", &msg, &mut reply)?;
/// // `answer` is a key-value message: the BITS entry and its value.
/// # let _ = answer;
/// # Ok::<(), fireball_guest::Error>(())
/// ```
pub fn request<'r>(uri: &str, msg: &[u8], reply: &'r mut [u8]) -> Result<&'r [u8], Error> {
    let len = Error::check(sys::sys_request(uri, msg, reply))? as usize;
    reply.get(..len).ok_or(Error::TooLong)
}

#[cfg(test)]
mod tests {
    extern crate std;

    /// The same keys as the runtime's `hal::key`, read from its source.
    #[test]
    fn keys_match_the_runtimes() {
        let source = include_str!("../../fireball-sys/src/hal/mod.rs");
        for (name, value) in [
            ("CHANNELS", super::key::CHANNELS),
            ("BITS", super::key::BITS),
            ("MAX_FRAME", super::key::MAX_FRAME),
            ("PROFILE", super::key::PROFILE),
            ("ADDRESS", super::key::ADDRESS),
            ("NOW_MS", super::key::NOW_MS),
            ("COUNT", super::key::COUNT),
        ] {
            let line = std::format!("pub const {name}: u8 = 0x{value:02x};");
            assert!(source.contains(&line), "fireball-sys hal::key lacks {line:?}");
        }
    }
}
