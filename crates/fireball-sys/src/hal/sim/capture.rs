//! Host-only simulators (std): radios that capture frames, and wall-clock time.
//! registry ──► device ──► **capture ──► `Vec` / stdout / file**.

use std::boxed::Box;
use std::fmt::Write as _;
use std::io::Write;
use std::string::String;
use std::time::Instant;
use std::vec::Vec;

use super::TimeSource;
use crate::hal::device::{Ble, Device, Tx};
use crate::hal::{key, HalError, Value};

/// Real time since the value was made (monotonic, `std::time::Instant`).
#[derive(Debug, Clone, Copy)]
pub struct WallTime {
    start: Instant,
}

impl WallTime {
    /// Time 0 is now.
    pub fn new() -> WallTime {
        WallTime { start: Instant::now() }
    }
}

impl Default for WallTime {
    fn default() -> Self {
        WallTime::new()
    }
}

impl TimeSource for WallTime {
    fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// Captured frames: every frame is kept in a `Vec`, and, if a writer is
/// attached, written to it as one line and flushed:
///
/// ```text
/// tx t=250 len=4 data=0a0b0c0d
/// ble len=2 data=ffee
/// ```
///
/// `<label>`, then ` t=<ms>` when a time source is attached, then the length
/// and the bytes in lowercase hex (`data=` alone for an empty frame).
pub struct FrameLog<'a> {
    label: &'static str,
    frames: Vec<Vec<u8>>,
    writer: Option<Box<dyn Write + 'a>>,
    time: Option<&'a dyn TimeSource>,
}

impl<'a> FrameLog<'a> {
    /// An empty log whose lines start with `label`.
    pub fn new(label: &'static str) -> Self {
        FrameLog { label, frames: Vec::new(), writer: None, time: None }
    }

    /// Also writes every frame to `writer`.
    pub fn set_writer(&mut self, writer: impl Write + 'a) {
        self.writer = Some(Box::new(writer));
    }

    /// Stamps lines with `time`'s milliseconds.
    pub fn set_time(&mut self, time: &'a dyn TimeSource) {
        self.time = Some(time);
    }

    /// The frames so far, oldest first.
    pub fn frames(&self) -> &[Vec<u8>] {
        &self.frames
    }

    /// Takes the frames so far, leaving none.
    pub fn take_frames(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.frames)
    }

    /// The line [`FrameLog::record`] writes for `frame` (without the newline).
    pub fn line(&self, frame: &[u8]) -> String {
        let mut line = String::with_capacity(self.label.len() + 24 + 2 * frame.len());
        line.push_str(self.label);
        if let Some(time) = self.time {
            let _ = write!(line, " t={}", time.now_ms());
        }
        let _ = write!(line, " len={} data=", frame.len());
        for b in frame {
            let _ = write!(line, "{b:02x}");
        }
        // Decoded where the format is known: a frame that is a whole, valid
        // key-value message (Fireball's own codec) is also printed entry by entry.
        if frame.len() > 1 {
            if let Ok(reader) = crate::keyval::Reader::new(frame).and_then(|r| crate::keyval::validate(frame).map(|_| r)) {
                line.push_str(" kv={");
                for (i, (k, v)) in reader.flatten().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    let _ = match v {
                        Value::Bool(b) => write!(line, "{sep}{k}: {b}"),
                        Value::I32(x) => write!(line, "{sep}{k}: {x}"),
                        Value::U32(x) => write!(line, "{sep}{k}: {x}u"),
                        Value::I64(x) => write!(line, "{sep}{k}: {x}i64"),
                        Value::F32(x) => write!(line, "{sep}{k}: {x}f"),
                        Value::Bytes(b) => write!(line, "{sep}{k}: {} bytes", b.len()),
                        Value::Str(t) => write!(line, "{sep}{k}: {t:?}"),
                    };
                }
                line.push('}');
            }
        }
        line
    }

    /// Keeps `frame` and writes its line. A writer that fails is
    /// [`HalError::BusError`], and the frame is then not kept.
    pub fn record(&mut self, frame: &[u8]) -> Result<(), HalError> {
        if self.writer.is_some() {
            let line = self.line(frame);
            if let Some(writer) = self.writer.as_mut() {
                writeln!(writer, "{line}").and_then(|()| writer.flush()).map_err(|_| HalError::BusError)?;
            }
        }
        self.frames.push(frame.to_vec());
        Ok(())
    }
}

/// A simulated radio: [`Tx::send`] captures the frame in a [`FrameLog`]
/// labelled `tx`. Frames longer than `max_frame` (255 unless set) are
/// [`HalError::TooLong`].
///
/// Keys: [`key::MAX_FRAME`] (get/set, 0..=65535), [`key::COUNT`] (get: frames so far).
pub struct SimTx<'a> {
    log: FrameLog<'a>,
    max_frame: usize,
    fault: Option<HalError>,
}

impl<'a> SimTx<'a> {
    /// A radio capturing into a `Vec` only, 255-byte frames.
    pub fn new() -> Self {
        SimTx { log: FrameLog::new("tx"), max_frame: 255, fault: None }
    }

    /// The same, also writing hex lines to `writer` (`std::io::stdout()`, a file…).
    pub fn with_writer(mut self, writer: impl Write + 'a) -> Self {
        self.log.set_writer(writer);
        self
    }

    /// The same, stamping lines with `time`.
    pub fn with_time(mut self, time: &'a dyn TimeSource) -> Self {
        self.log.set_time(time);
        self
    }

    /// The same with frames of at most `max_frame` bytes.
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame;
        self
    }

    /// The frames sent so far, oldest first.
    pub fn frames(&self) -> &[Vec<u8>] {
        self.log.frames()
    }

    /// Takes the frames sent so far.
    pub fn take_frames(&mut self) -> Vec<Vec<u8>> {
        self.log.take_frames()
    }

    /// Makes the next send fail with `error`.
    pub fn fail_next(&mut self, error: HalError) {
        self.fault = Some(error);
    }
}

impl Default for SimTx<'_> {
    fn default() -> Self {
        SimTx::new()
    }
}

impl Tx for SimTx<'_> {
    fn max_frame(&self) -> usize {
        self.max_frame
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), HalError> {
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        if frame.len() > self.max_frame {
            return Err(HalError::TooLong);
        }
        self.log.record(frame)
    }
}

impl Device for SimTx<'_> {
    fn support_tx(&mut self) -> Option<&mut dyn Tx> {
        Some(self)
    }

    fn configure(&mut self, k: u8, value: Value<'_>) -> Result<(), HalError> {
        match k {
            key::MAX_FRAME => {
                self.max_frame = usize::try_from(value.as_int_in(0, 65_535)?).map_err(|_| HalError::InvalidArgument)?;
                Ok(())
            }
            _ => Err(HalError::NotSupported),
        }
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::MAX_FRAME => Ok(Value::U32(u32::try_from(self.max_frame).unwrap_or(u32::MAX))),
            key::COUNT => Ok(Value::U32(u32::try_from(self.log.frames().len()).unwrap_or(u32::MAX))),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// Simulated BLE: [`Ble::init`] accepts any profile id and remembers it;
/// [`Ble::send`] is [`HalError::NotInitialized`] before, and afterwards
/// captures the payload in a [`FrameLog`] labelled `ble`. Payloads longer than
/// `max_payload` (244 unless set: a 247-byte ATT MTU less its header) are
/// [`HalError::TooLong`].
///
/// Keys: [`key::MAX_FRAME`] (get/set), [`key::PROFILE`] (get),
/// [`key::COUNT`] (get: payloads so far).
pub struct SimBle<'a> {
    log: FrameLog<'a>,
    max_payload: usize,
    profile: Option<u32>,
    fault: Option<HalError>,
}

impl<'a> SimBle<'a> {
    /// Uninitialised BLE capturing into a `Vec` only.
    pub fn new() -> Self {
        SimBle { log: FrameLog::new("ble"), max_payload: 244, profile: None, fault: None }
    }

    /// The same, also writing hex lines to `writer`.
    pub fn with_writer(mut self, writer: impl Write + 'a) -> Self {
        self.log.set_writer(writer);
        self
    }

    /// The same, stamping lines with `time`.
    pub fn with_time(mut self, time: &'a dyn TimeSource) -> Self {
        self.log.set_time(time);
        self
    }

    /// The same with payloads of at most `max_payload` bytes.
    pub fn with_max_payload(mut self, max_payload: usize) -> Self {
        self.max_payload = max_payload;
        self
    }

    /// The profile of the last successful init.
    pub fn profile(&self) -> Option<u32> {
        self.profile
    }

    /// The payloads sent so far, oldest first.
    pub fn frames(&self) -> &[Vec<u8>] {
        self.log.frames()
    }

    /// Takes the payloads sent so far.
    pub fn take_frames(&mut self) -> Vec<Vec<u8>> {
        self.log.take_frames()
    }

    /// Makes the next init or send fail with `error`.
    pub fn fail_next(&mut self, error: HalError) {
        self.fault = Some(error);
    }
}

impl Default for SimBle<'_> {
    fn default() -> Self {
        SimBle::new()
    }
}

impl Ble for SimBle<'_> {
    fn init(&mut self, profile: u32) -> Result<(), HalError> {
        self.profile = None;
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        self.profile = Some(profile);
        Ok(())
    }

    fn max_payload(&self) -> usize {
        self.max_payload
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), HalError> {
        if self.profile.is_none() {
            return Err(HalError::NotInitialized);
        }
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        if payload.len() > self.max_payload {
            return Err(HalError::TooLong);
        }
        self.log.record(payload)
    }
}

impl Device for SimBle<'_> {
    fn support_ble(&mut self) -> Option<&mut dyn Ble> {
        Some(self)
    }

    fn configure(&mut self, k: u8, value: Value<'_>) -> Result<(), HalError> {
        match k {
            key::MAX_FRAME => {
                self.max_payload =
                    usize::try_from(value.as_int_in(0, 65_535)?).map_err(|_| HalError::InvalidArgument)?;
                Ok(())
            }
            _ => Err(HalError::NotSupported),
        }
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::MAX_FRAME => Ok(Value::U32(u32::try_from(self.max_payload).unwrap_or(u32::MAX))),
            key::PROFILE => self.profile.map(Value::U32).ok_or(HalError::NotInitialized),
            key::COUNT => Ok(Value::U32(u32::try_from(self.log.frames().len()).unwrap_or(u32::MAX))),
            _ => Err(HalError::NotSupported),
        }
    }
}
