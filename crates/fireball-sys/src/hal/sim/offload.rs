//! Simulated devices for the offloader (`sys_read`, `sys_write`): transfers a
//! device completes later. registry ──► device ──► [`Offload`] ──► **these**.
//!
//! | device | `no_std` | `sys_write` | `sys_read` |
//! |---|---|---|---|
//! | [`SimCrc32`] | yes | feeds bytes to the STM32 CRC unit's CRC-32 (as the Nucleo's `crc/0` computes it), `delay_ms` per transfer (completes later); an empty write restarts it, at once | the 4-byte CRC so far, at once |
//! | `SimNorFlash` | std | programs at the offset (NOR: bits only go 1 → 0), completes after a page-program time | reads at the offset, at once |
//! | [`SimI2c`](super::SimI2c) | yes | an I²C write (register pointer, then registers), at once | an I²C read from the pointer, at once |
//! | [`SimUart`] | yes | a UART transmitter: completes when the last byte would be on the wire at its baud rate, then writes the bytes out | not supported (transmit only, as the board's `uart/1`) |
//!
//! Each can be told to never complete ([`SimCrc32::stall`]) and counts the
//! transfers abandoned on it ([`SimCrc32::cancelled`]), for the timeout and
//! dead-guest paths.

use core::fmt;

use super::TimeSource;
use crate::hal::{key, Device, HalError, Offload, Progress, Value};

/// The CRC an STM32 CRC calculation unit holds after `data` is written to it from `crc`
/// (its reset value is [`CRC32_STM32_INIT`]), as the Nucleo's `crc/0` writes bytes
/// (stm32f4xx-hal's `update_bytes`): every four bytes one little-endian word, a last
/// partial word zero-padded in its high bytes; each word shifted in most significant
/// bit first with the CRC-32/MPEG-2 polynomial 0x04C11DB7, no reflection, no final XOR.
/// (So "123456789" gives 0xAFF19057, not MPEG-2's byte-wise check value 0x0376E6E7.)
pub fn crc32_stm32_update(mut crc: u32, data: &[u8]) -> u32 {
    for chunk in data.chunks(4) {
        let mut w = [0u8; 4];
        for (d, &b) in w.iter_mut().zip(chunk) {
            *d = b;
        }
        crc ^= u32::from_le_bytes(w);
        for _ in 0..32 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
    }
    crc
}

/// The STM32 CRC unit's value after a reset.
pub const CRC32_STM32_INIT: u32 = 0xFFFF_FFFF;

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`) of `data`, continuing from `crc`.
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

/// A slow accelerator: the board's CRC unit ([`crc32_stm32_update`], so a guest
/// gets the same CRC on the host as on the Nucleo) needing `delay_ms` of
/// (simulated) time per write. The written bytes are read from the guest's buffer
/// when the transfer completes — the buffer is lent to the device until then. A
/// write of nothing restarts the unit, at once, as on the board.
/// Keys: [`key::COUNT`] (get: transfers completed).
pub struct SimCrc32<'a> {
    time: &'a dyn TimeSource,
    delay_ms: u64,
    crc: u32,
    /// The pending write: when it completes.
    due_ms: Option<u64>,
    stalled: bool,
    completed: u32,
    cancelled: u32,
}

impl<'a> SimCrc32<'a> {
    /// An engine on `time` taking `delay_ms` per transfer.
    pub fn new(time: &'a dyn TimeSource, delay_ms: u64) -> Self {
        SimCrc32 { time, delay_ms, crc: CRC32_STM32_INIT, due_ms: None, stalled: false, completed: 0, cancelled: 0 }
    }

    /// Never complete a transfer from now on (a hung device).
    pub fn stall(&mut self) {
        self.stalled = true;
    }

    /// The CRC of everything written so far.
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// Transfers abandoned (timed out, or their caller died).
    pub fn cancelled(&self) -> u32 {
        self.cancelled
    }

    /// Whether a transfer is pending.
    pub fn busy(&self) -> bool {
        self.due_ms.is_some()
    }
}

impl Offload for SimCrc32<'_> {
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
        if self.due_ms.is_some() {
            return Err(HalError::Busy);
        }
        if data.is_empty() {
            self.crc = CRC32_STM32_INIT;
            return Ok(Progress::Done(0));
        }
        self.due_ms = Some(self.time.now_ms().saturating_add(self.delay_ms));
        Ok(Progress::Pending)
    }

    fn start_read(&mut self, buf: &mut [u8]) -> Result<Progress, HalError> {
        let out = buf.get_mut(..4).ok_or(HalError::InvalidArgument)?;
        out.copy_from_slice(&self.crc.to_le_bytes());
        Ok(Progress::Done(4))
    }

    fn poll(&mut self, buf: &mut [u8]) -> Option<Result<usize, HalError>> {
        let due = self.due_ms?;
        if self.stalled || self.time.now_ms() < due {
            return None;
        }
        self.due_ms = None;
        self.crc = crc32_stm32_update(self.crc, buf);
        self.completed += 1;
        Some(Ok(buf.len()))
    }

    fn cancel(&mut self) {
        if self.due_ms.take().is_some() {
            self.cancelled += 1;
        }
    }
}

impl Device for SimCrc32<'_> {
    fn support_offload(&mut self) -> Option<&mut dyn Offload> {
        Some(self)
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::COUNT => Ok(Value::U32(self.completed)),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// A UART transmitter at `baud` (8N1: ten bits a byte), the host's twin of the
/// board's `uart/1`: a write completes when its last byte would be on the wire,
/// in simulated time (81 bytes at 115 200 baud: 8 ms), and its bytes then go to
/// `out` as text (a byte that is not UTF-8 as `\xNN`). The buffer stays lent to
/// it until then. Transmit only: `sys_read` is `NotSupported`.
/// Keys: [`key::COUNT`] (get: writes completed).
pub struct SimUart<'a> {
    time: &'a dyn TimeSource,
    baud: u32,
    out: &'a mut dyn fmt::Write,
    due_ms: Option<u64>,
    completed: u32,
}

impl<'a> SimUart<'a> {
    /// A transmitter on `time` at `baud`, writing what it sends to `out`.
    pub fn new(time: &'a dyn TimeSource, baud: u32, out: &'a mut dyn fmt::Write) -> Self {
        SimUart { time, baud: baud.max(1), out, due_ms: None, completed: 0 }
    }

    /// Writes completed.
    pub fn completed(&self) -> u32 {
        self.completed
    }
}

impl Offload for SimUart<'_> {
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
        if self.due_ms.is_some() {
            return Err(HalError::Busy);
        }
        if data.is_empty() {
            return Ok(Progress::Done(0));
        }
        // Ten bits a byte, rounded up to the next millisecond.
        let bits = data.len() as u64 * 10;
        let ms = (bits * 1000).div_ceil(u64::from(self.baud));
        self.due_ms = Some(self.time.now_ms().saturating_add(ms));
        Ok(Progress::Pending)
    }

    fn start_read(&mut self, _buf: &mut [u8]) -> Result<Progress, HalError> {
        Err(HalError::NotSupported)
    }

    fn poll(&mut self, buf: &mut [u8]) -> Option<Result<usize, HalError>> {
        let due = self.due_ms?;
        if self.time.now_ms() < due {
            return None;
        }
        self.due_ms = None;
        for chunk in buf.utf8_chunks() {
            let _ = self.out.write_str(chunk.valid());
            for b in chunk.invalid() {
                let _ = write!(self.out, "\\x{b:02x}");
            }
        }
        self.completed += 1;
        Some(Ok(buf.len()))
    }

    fn cancel(&mut self) {
        self.due_ms = None;
    }
}

impl Device for SimUart<'_> {
    fn support_offload(&mut self) -> Option<&mut dyn Offload> {
        Some(self)
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::COUNT => Ok(Value::U32(self.completed)),
            _ => Err(HalError::NotSupported),
        }
    }
}

impl Offload for super::SimI2c {
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
        let address = self.address();
        crate::hal::I2c::write(self, address, data)?;
        Ok(Progress::Done(data.len()))
    }

    fn start_read(&mut self, buf: &mut [u8]) -> Result<Progress, HalError> {
        let address = self.address();
        crate::hal::I2c::read(self, address, buf)?;
        Ok(Progress::Done(buf.len()))
    }

    fn poll(&mut self, _buf: &mut [u8]) -> Option<Result<usize, HalError>> {
        None
    }

    fn cancel(&mut self) {}
}

#[cfg(feature = "std")]
pub use flash::SimNorFlash;

#[cfg(feature = "std")]
mod flash {
    use std::fs::{File, OpenOptions};
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::path::Path;

    use super::TimeSource;
    use crate::hal::{key, Device, HalError, Offload, Progress, Value};

    /// A SPI NOR flash backed by a file (created all `0xFF`, erased, if it is
    /// new): `sys_write` programs at the offset ([`key::OFFSET`], set with a
    /// `sys_request`), clearing bits only, as NOR does, and completes after a
    /// page-program time per 256 bytes; `sys_read` reads at the offset at once.
    /// Each transfer moves the offset past what it moved.
    pub struct SimNorFlash<'a> {
        file: File,
        size: u64,
        offset: u64,
        time: &'a dyn TimeSource,
        page_ms: u64,
        due_ms: Option<u64>,
        cancelled: u32,
    }

    impl<'a> SimNorFlash<'a> {
        /// Opens (or creates, erased) the `size`-byte flash at `path`; a page
        /// (256 B) takes `page_ms` to program.
        pub fn open(path: impl AsRef<Path>, size: u64, time: &'a dyn TimeSource, page_ms: u64) -> std::io::Result<Self> {
            let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
            let len = file.metadata()?.len();
            if len < size {
                file.seek(SeekFrom::Start(len))?;
                let erased = std::vec![0xFFu8; (size - len) as usize];
                file.write_all(&erased)?;
            }
            Ok(SimNorFlash { file, size, offset: 0, time, page_ms, due_ms: None, cancelled: 0 })
        }

        /// Transfers abandoned (timed out, or their caller died).
        pub fn cancelled(&self) -> u32 {
            self.cancelled
        }

        fn io<T>(r: std::io::Result<T>) -> Result<T, HalError> {
            r.map_err(|_| HalError::BusError)
        }
    }

    impl Offload for SimNorFlash<'_> {
        fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
            if self.due_ms.is_some() {
                return Err(HalError::Busy);
            }
            if self.offset + data.len() as u64 > self.size {
                return Err(HalError::InvalidArgument);
            }
            let pages = (data.len() as u64).div_ceil(256).max(1);
            self.due_ms = Some(self.time.now_ms().saturating_add(pages * self.page_ms));
            Ok(Progress::Pending)
        }

        fn start_read(&mut self, buf: &mut [u8]) -> Result<Progress, HalError> {
            let n = buf.len().min((self.size.saturating_sub(self.offset)) as usize);
            Self::io(self.file.seek(SeekFrom::Start(self.offset)))?;
            Self::io(self.file.read_exact(&mut buf[..n]))?;
            self.offset += n as u64;
            Ok(Progress::Done(n))
        }

        fn poll(&mut self, buf: &mut [u8]) -> Option<Result<usize, HalError>> {
            let due = self.due_ms?;
            if self.time.now_ms() < due {
                return None;
            }
            self.due_ms = None;
            // NOR programming only clears bits: the new byte is old AND data.
            let mut old = std::vec![0u8; buf.len()];
            let r = Self::io(self.file.seek(SeekFrom::Start(self.offset)))
                .and_then(|_| Self::io(self.file.read_exact(&mut old)))
                .and_then(|()| {
                    for (o, &b) in old.iter_mut().zip(buf.iter()) {
                        *o &= b;
                    }
                    Self::io(self.file.seek(SeekFrom::Start(self.offset)))
                })
                .and_then(|_| Self::io(self.file.write_all(&old)));
            Some(r.map(|()| {
                self.offset += buf.len() as u64;
                buf.len()
            }))
        }

        fn cancel(&mut self) {
            if self.due_ms.take().is_some() {
                self.cancelled += 1;
            }
        }
    }

    impl Device for SimNorFlash<'_> {
        fn support_offload(&mut self) -> Option<&mut dyn Offload> {
            Some(self)
        }

        /// Keys: [`key::OFFSET`] (get/set).
        fn configure(&mut self, k: u8, value: Value<'_>) -> Result<(), HalError> {
            match k {
                key::OFFSET => {
                    self.offset = value.as_int_in(0, self.size as i64)? as u64;
                    Ok(())
                }
                _ => Err(HalError::NotSupported),
            }
        }

        fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
            match k {
                key::OFFSET => Ok(Value::I64(self.offset as i64)),
                _ => Err(HalError::NotSupported),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_unit_is_the_stm32s() {
        // The CRC-32/MPEG-2 check value, fed as words: "1234" then "5678" then "9\0\0\0".
        assert_eq!(crc32_stm32_update(CRC32_STM32_INIT, &[]), CRC32_STM32_INIT);
        // One word, computed by hand from the definition: 0x34333231 shifted in MSB first.
        let by_hand = (0..32).fold(CRC32_STM32_INIT ^ 0x3433_3231, |c, _| if c & 0x8000_0000 != 0 { (c << 1) ^ 0x04C1_1DB7 } else { c << 1 });
        assert_eq!(crc32_stm32_update(CRC32_STM32_INIT, b"1234"), by_hand);
        // Whole words continue across writes; a partial one is padded where it ends.
        let whole = crc32_stm32_update(CRC32_STM32_INIT, b"12345678");
        assert_eq!(crc32_stm32_update(crc32_stm32_update(CRC32_STM32_INIT, b"1234"), b"5678"), whole);
        assert_eq!(crc32_stm32_update(CRC32_STM32_INIT, b"123456789"), crc32_stm32_update(whole, b"9\0\0\0"));
        // Independently: a word shifted in MSB first is its big-endian bytes through the
        // byte-wise CRC-32/MPEG-2, whose check value for "123456789" is 0x0376E6E7.
        let mpeg2 = |data: &[u8]| {
            data.iter().fold(0xFFFF_FFFFu32, |c, &b| {
                (0..8).fold(c ^ (u32::from(b) << 24), |c, _| if c & 0x8000_0000 != 0 { (c << 1) ^ 0x04C1_1DB7 } else { c << 1 })
            })
        };
        assert_eq!(mpeg2(b"123456789"), 0x0376_E6E7);
        assert_eq!(crc32_stm32_update(CRC32_STM32_INIT, b"123456789"), mpeg2(b"43218765\0\0\09"));
    }

    /// Bytes complete after the device's delay; an empty write restarts the unit at once.
    #[test]
    fn the_simulated_unit_restarts_on_an_empty_write() {
        let time = super::super::SimTime::new();
        let mut crc = SimCrc32::new(&time, 5);
        let mut data = *b"1234";
        assert_eq!(crc.start_write(&data), Ok(Progress::Pending));
        assert_eq!(crc.poll(&mut data), None);
        time.advance_to_ms(5);
        assert_eq!(crc.poll(&mut data), Some(Ok(4)));
        assert_eq!(crc.crc(), crc32_stm32_update(CRC32_STM32_INIT, b"1234"));
        assert_eq!(crc.start_write(&[]), Ok(Progress::Done(0)));
        assert_eq!(crc.crc(), CRC32_STM32_INIT);
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32_update(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_update(crc32_update(0, b"1234"), b"56789"), 0xCBF4_3926);
    }

    #[test]
    fn a_uart_write_completes_when_its_last_byte_is_out() {
        let time = super::super::SimTime::new();
        let mut out = std::string::String::new();
        let mut uart = SimUart::new(&time, 115_200, &mut out);
        let mut line = *b"hello\xff\n"; // 0xff: not UTF-8
        // 7 bytes at 115 200 baud: 70 bits, 0.6 ms, so 1 ms.
        assert_eq!(uart.start_write(&line), Ok(Progress::Pending));
        assert_eq!(uart.start_write(&line), Err(HalError::Busy), "one transfer at a time");
        assert_eq!(uart.poll(&mut line), None, "not before its time");
        time.advance_ms(1);
        assert_eq!(uart.poll(&mut line), Some(Ok(7)));
        assert_eq!(uart.poll(&mut line), None, "nothing pending");
        assert_eq!(uart.start_read(&mut line), Err(HalError::NotSupported));
        assert_eq!(uart.start_write(&[]), Ok(Progress::Done(0)));
        assert_eq!(uart.completed(), 1);
        assert_eq!(out, "hello\\xff\n");
    }
}
