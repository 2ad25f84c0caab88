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
    /// Read a pin or from a bus ([`crate::pins`]).
    pub const READ: u32 = 3;
    /// Drive a pin or write to a bus.
    pub const WRITE: u32 = 4;
    /// Write then read (I²C), or exchange (SPI).
    pub const TRANSFER: u32 = 5;
    /// Most bytes one I²C or SPI request moves (the runtime's `router::MAX_TRANSFER`).
    pub const MAX_TRANSFER: usize = 96;
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
    /// A GPIO pin number (`READ`/`WRITE` requests; integer 0..=255).
    pub const PIN: u8 = 0x08;
    /// A pin's level, `true` = high (GPIO `WRITE` request, `READ` reply; bool).
    pub const LEVEL: u8 = 0x09;
    /// Bytes written (request) or read (reply) by I²C/SPI (bytes).
    pub const DATA: u8 = 0x0a;
    /// Bytes an I²C/SPI `READ` or `TRANSFER` reads (integer).
    pub const LEN: u8 = 0x0b;
    /// Where a storage device's next `sys_read`/`sys_write` starts (get/set; integer).
    pub const OFFSET: u8 = 0x0c;
}

/// A key-value message being written into a fixed buffer (the runtime's
/// `keyval` format: a count byte, then `key, type, payload` entries).
pub struct Message<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Message<N> {
    /// An empty message (`N` must be at least 1).
    pub const fn new() -> Self {
        Message { buf: [0; N], len: 1 }
    }

    fn put(&mut self, key: u8, ty: u8, payload: &[u8], prefix_len: bool) -> Result<&mut Self, Error> {
        let need = 2 + usize::from(prefix_len) + payload.len();
        let count = *self.buf.first().ok_or(Error::TooLong)?;
        if count == u8::MAX || payload.len() > usize::from(u8::MAX) {
            return Err(Error::TooLong);
        }
        let out = self.buf.get_mut(self.len..self.len + need).ok_or(Error::TooLong)?;
        out[0] = key;
        out[1] = ty;
        let at = if prefix_len {
            out[2] = payload.len() as u8;
            3
        } else {
            2
        };
        out[at..].copy_from_slice(payload);
        self.len += need;
        self.buf[0] = count + 1;
        Ok(self)
    }

    /// A `u32` entry.
    pub fn u32(&mut self, key: u8, v: u32) -> Result<&mut Self, Error> {
        self.put(key, 0x03, &v.to_le_bytes(), false)
    }

    /// A `bool` entry.
    pub fn bool(&mut self, key: u8, v: bool) -> Result<&mut Self, Error> {
        self.put(key, 0x01, &[u8::from(v)], false)
    }

    /// A byte-string entry (at most 255 bytes).
    pub fn bytes(&mut self, key: u8, v: &[u8]) -> Result<&mut Self, Error> {
        self.put(key, 0x06, v, true)
    }

    /// The encoded message.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> Default for Message<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The payload of the first entry of `msg` with key `key` and wire type `ty`
/// (`0x01` bool … `0x06` bytes): for a byte string, its bytes without the length.
pub fn find(msg: &[u8], key: u8, ty: u8) -> Option<&[u8]> {
    let (&count, mut rest) = msg.split_first()?;
    for _ in 0..count {
        let (&k, after) = rest.split_first()?;
        let (&t, after) = after.split_first()?;
        let (payload, after) = match t {
            0x01 => after.split_at_checked(1)?,
            0x02 | 0x03 | 0x05 => after.split_at_checked(4)?,
            0x04 => after.split_at_checked(8)?,
            0x06 | 0x07 => {
                let (&n, after) = after.split_first()?;
                after.split_at_checked(usize::from(n))?
            }
            _ => return None,
        };
        if k == key && t == ty {
            return Some(payload);
        }
        rest = after;
    }
    None
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
            ("PIN", super::key::PIN),
            ("LEVEL", super::key::LEVEL),
            ("DATA", super::key::DATA),
            ("LEN", super::key::LEN),
            ("OFFSET", super::key::OFFSET),
        ] {
            let line = std::format!("pub const {name}: u8 = 0x{value:02x};");
            assert!(source.contains(&line), "fireball-sys hal::key lacks {line:?}");
        }
    }
}
