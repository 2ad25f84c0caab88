//! Simulated devices: what the HAL's devices are on the host simulator (and,
//! for the `no_std` ones, in QEMU firmware that has no real sensors).
//! registry ──► device ──► **simulator**.
//!
//! | device | capability | `no_std` | what it does |
//! |---|---|---|---|
//! | [`SimAdc`] | ADC | yes | one [`Signal`] per channel, sampled at the current time |
//! | [`SimClock`] | clock | yes | reads a [`TimeSource`]: [`SimTime`] (driven by the caller) or `WallTime` (std) |
//! | [`SimGpio`] | GPIO | yes | up to 32 pins; the test drives inputs with [`SimGpio::drive`] |
//! | [`SimI2c`] | I²C | yes | one target with a 256-byte register map and an auto-incrementing register pointer |
//! | [`SimSpi`] | SPI | yes | loopback: what is written is read back |
//! | `SimTx` | TX | std | captures frames into a `Vec`, optionally as hex lines to a writer |
//! | `SimBle` | BLE | std | the same, plus the init state and profile |
//! | `CsvTable` | — | std | loads a CSV file into [`Signal::Table`]s |
//!
//! Determinism: a sample is a pure function of the channel's configuration
//! (its [`Signal`] and the ADC's resolution) and the time in milliseconds,
//! [`Signal::at`]; nothing else (no hidden generator state), so a test can
//! recompute every value from the same inputs.
//!
//! Every simulator can be told to fail its next operation with a given
//! [`HalError`] (`fail_next`), to exercise error paths.

use core::cell::Cell;

use super::device::{Adc, Clock, Device, Gpio, I2c, Spi};
use super::{key, HalError, Value};

mod offload;
pub use offload::{crc32_stm32_update, crc32_update, SimCrc32, SimUart, CRC32_STM32_INIT};
#[cfg(feature = "std")]
pub use offload::SimNorFlash;

#[cfg(feature = "std")]
mod capture;
#[cfg(feature = "std")]
mod csv;

#[cfg(feature = "std")]
pub use capture::{FrameLog, SimBle, SimTx, WallTime};
#[cfg(feature = "std")]
pub use csv::{CsvError, CsvTable};

/// Where simulated devices read the time from.
pub trait TimeSource {
    /// Microseconds since the source's zero; never goes back.
    fn now_us(&self) -> u64;

    /// Milliseconds (`now_us() / 1000`).
    fn now_ms(&self) -> u64 {
        self.now_us() / 1000
    }
}

/// Simulated time, starting at 0 and moved only by the caller, so a test
/// decides exactly when each sample is taken. Shared by reference between the
/// devices that read it.
#[derive(Debug, Default)]
pub struct SimTime {
    us: Cell<u64>,
}

impl SimTime {
    /// Time 0.
    pub const fn new() -> SimTime {
        SimTime { us: Cell::new(0) }
    }

    /// Moves time forward by `ms` milliseconds (saturating).
    pub fn advance_ms(&self, ms: u64) {
        self.advance_us(ms.saturating_mul(1000));
    }

    /// Moves time forward by `us` microseconds (saturating).
    pub fn advance_us(&self, us: u64) {
        self.us.set(self.us.get().saturating_add(us));
    }

    /// Moves time forward to `ms` milliseconds; does nothing if that is in
    /// the past (time never goes back).
    pub fn advance_to_ms(&self, ms: u64) {
        self.us.set(self.us.get().max(ms.saturating_mul(1000)));
    }
}

impl TimeSource for SimTime {
    fn now_us(&self) -> u64 {
        self.us.get()
    }
}

/// What a simulated ADC channel produces, as a function of time `t` in
/// milliseconds ([`Signal::at`]). Results are clamped to `0..=65535`; the ADC
/// then clamps them to its resolution. A period or step of 0 counts as 1 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal<'a> {
    /// Always `value`.
    Constant(u16),
    /// `offset + amplitude · sin(2π · (t mod period_ms) / period_ms)`, in
    /// integers only (the same on every target, no floating point): the sine
    /// is [`SINE_QUARTER`] interpolated linearly at 1/1024 of a turn,
    /// and the result is within 1 of the exactly rounded value. Precisely, with
    /// `P = period_ms`:
    ///
    /// ```text
    /// p = ((t mod P) · 2^26) / P                 position in the turn, 1/2^26 units
    /// k = p >> 16,  f = p & 0xFFFF               step (1/1024 turn) and fraction
    /// s(k) = +Q[k mod 256]        (k mod 1024 in   0..256)     Q = SINE_QUARTER
    ///        +Q[256 − k mod 256]  (k mod 1024 in 256..512)
    ///        −Q[k mod 256]        (k mod 1024 in 512..768)
    ///        −Q[256 − k mod 256]  (k mod 1024 in 768..1024)
    /// S = s(k) · 65536 + (s(k + 1) − s(k)) · f   sine · 65535 · 65536
    /// value = offset + round(amplitude · S / (65535 · 65536))   half away from zero
    /// ```
    Sine {
        /// Middle value.
        offset: u16,
        /// Peak deviation from `offset`.
        amplitude: u16,
        /// Period in milliseconds.
        period_ms: u32,
    },
    /// Sawtooth: `from + (to − from) · (t mod period_ms) / period_ms` in
    /// integers, the division truncating toward zero; `to` itself is never
    /// reached, and `to < from` ramps down.
    Ramp {
        /// Value at the start of each period.
        from: u16,
        /// Value the ramp heads for.
        to: u16,
        /// Period in milliseconds.
        period_ms: u32,
    },
    /// Uniform noise in `min..=max` (swapped if `min > max`), held for each
    /// millisecond: `min + z mod (max − min + 1)`, where `z` is output number
    /// `t + 1` of SplitMix64 seeded with `seed` (see [`splitmix64`]).
    Noise {
        /// Generator seed.
        seed: u64,
        /// Smallest value.
        min: u16,
        /// Largest value.
        max: u16,
    },
    /// Recorded samples, each held for `step_ms`, repeating after the last:
    /// `samples[(t / step_ms) mod samples.len()]` (0 if empty). See
    /// `CsvTable` (std) to load them from a file.
    Table {
        /// The samples.
        samples: &'a [u16],
        /// How long each sample lasts, in milliseconds.
        step_ms: u32,
    },
}

/// A quarter of a sine wave: `SINE_QUARTER[i] = round(65535 · sin(i · π / 512))`
/// for `i` in `0..=256` (`tests/hal_sim.rs` checks it against `f64::sin`).
pub const SINE_QUARTER: [u16; 257] = [
    0, 402, 804, 1206, 1608, 2010, 2412, 2814, 3216, 3617, 4019, 4420, 4821, 5222, 5623, 6023, 6424, 6824, 7223, 7623,
    8022, 8421, 8820, 9218, 9616, 10014, 10411, 10808, 11204, 11600, 11996, 12391, 12785, 13179, 13573, 13966, 14359,
    14751, 15142, 15533, 15924, 16313, 16703, 17091, 17479, 17866, 18253, 18639, 19024, 19408, 19792, 20175, 20557,
    20939, 21319, 21699, 22078, 22456, 22834, 23210, 23586, 23960, 24334, 24707, 25079, 25450, 25820, 26189, 26557,
    26925, 27291, 27656, 28020, 28383, 28745, 29106, 29465, 29824, 30181, 30538, 30893, 31247, 31600, 31952, 32302,
    32651, 32999, 33346, 33692, 34036, 34379, 34721, 35061, 35400, 35738, 36074, 36409, 36743, 37075, 37406, 37736,
    38064, 38390, 38715, 39039, 39361, 39682, 40001, 40319, 40635, 40950, 41263, 41575, 41885, 42194, 42500, 42806,
    43109, 43411, 43712, 44011, 44308, 44603, 44897, 45189, 45479, 45768, 46055, 46340, 46624, 46905, 47185, 47464,
    47740, 48014, 48287, 48558, 48827, 49095, 49360, 49624, 49885, 50145, 50403, 50659, 50913, 51166, 51416, 51664,
    51911, 52155, 52398, 52638, 52877, 53113, 53348, 53580, 53811, 54039, 54266, 54490, 54713, 54933, 55151, 55367,
    55582, 55794, 56003, 56211, 56417, 56620, 56822, 57021, 57218, 57413, 57606, 57797, 57985, 58171, 58356, 58537,
    58717, 58895, 59070, 59243, 59414, 59582, 59749, 59913, 60075, 60234, 60391, 60546, 60699, 60850, 60998, 61144,
    61287, 61429, 61567, 61704, 61838, 61970, 62100, 62227, 62352, 62475, 62595, 62713, 62829, 62942, 63053, 63161,
    63267, 63371, 63472, 63571, 63668, 63762, 63853, 63943, 64030, 64114, 64196, 64276, 64353, 64428, 64500, 64570,
    64638, 64703, 64765, 64826, 64883, 64939, 64992, 65042, 65090, 65136, 65179, 65219, 65258, 65293, 65327, 65357,
    65386, 65412, 65435, 65456, 65475, 65491, 65504, 65515, 65524, 65530, 65534, 65535,
];

/// `65535 · sin(2π · k / 1024)` from [`SINE_QUARTER`], for any `k` (wrapped).
fn sine_step(k: u64) -> i64 {
    let k = k % 1024;
    let i = usize::try_from(k % 256).unwrap_or(0);
    let (index, negative) = match k / 256 {
        0 => (i, false),
        1 => (256 - i, false),
        2 => (i, true),
        _ => (256 - i, true),
    };
    let q = i64::from(SINE_QUARTER.get(index).copied().unwrap_or(0));
    if negative {
        -q
    } else {
        q
    }
}

/// `n / d` rounded half away from zero (`d > 0`).
fn div_round(n: i64, d: i64) -> i64 {
    if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    }
}

/// Output of SplitMix64 (Steele, Lea, Flood 2014) whose state is `state`
/// after the increment: `Signal::Noise` at time `t` is
/// `splitmix64(seed + (t + 1) · 0x9E3779B97F4A7C15)` (wrapping).
pub const fn splitmix64(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64's increment (the golden ratio in 64 bits).
pub const SPLITMIX64_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Signal<'_> {
    /// The value at `t_ms` milliseconds.
    pub fn at(&self, t_ms: u64) -> u16 {
        match *self {
            Signal::Constant(value) => value,
            Signal::Sine { offset, amplitude, period_ms } => {
                let period = u64::from(period_ms.max(1));
                // (t mod P) < 2^32, so the shift stays below 2^58.
                let p = ((t_ms % period) << 26) / period;
                let (k, f) = (p >> 16, i64::try_from(p & 0xFFFF).unwrap_or(0));
                let (s0, s1) = (sine_step(k), sine_step(k + 1));
                let scaled = s0 * 65536 + (s1 - s0) * f;
                let v = i64::from(offset) + div_round(i64::from(amplitude) * scaled, 65535 * 65536);
                u16::try_from(v.clamp(0, 65535)).unwrap_or(0)
            }
            Signal::Ramp { from, to, period_ms } => {
                let period = period_ms.max(1);
                let phase = i64::try_from(t_ms % u64::from(period)).unwrap_or(0);
                let v = i64::from(from) + (i64::from(to) - i64::from(from)) * phase / i64::from(period);
                u16::try_from(v).unwrap_or(0)
            }
            Signal::Noise { seed, min, max } => {
                let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
                let z = splitmix64(seed.wrapping_add(t_ms.wrapping_add(1).wrapping_mul(SPLITMIX64_GAMMA)));
                let span = u64::from(hi - lo) + 1;
                lo + u16::try_from(z % span).unwrap_or(0)
            }
            Signal::Table { samples, step_ms } => {
                let len = u64::try_from(samples.len()).unwrap_or(0);
                if len == 0 {
                    return 0;
                }
                let index = (t_ms / u64::from(step_ms.max(1))) % len;
                usize::try_from(index).ok().and_then(|i| samples.get(i)).copied().unwrap_or(0)
            }
        }
    }
}

/// A simulated ADC: channel `i` is `signals[i]`, sampled at the time source's
/// current millisecond. Signals are in 12-bit codes (0..=4095 spans the reference);
/// a resolution of `bits` (12 unless configured) scales them to `bits` and clamps
/// to the largest code (`2^bits − 1`): at 8 bits a 2048 reads 128.
///
/// Keys: [`key::BITS`] (get/set, 1..=16), [`key::CHANNELS`] (get),
/// [`key::COUNT`] (get: reads so far).
pub struct SimAdc<'a> {
    time: &'a dyn TimeSource,
    signals: &'a [Signal<'a>],
    bits: u8,
    reads: u32,
    fault: Option<HalError>,
}

impl<'a> SimAdc<'a> {
    /// An ADC with one channel per signal (at most 255), 12-bit.
    pub fn new(time: &'a dyn TimeSource, signals: &'a [Signal<'a>]) -> Self {
        SimAdc { time, signals, bits: 12, reads: 0, fault: None }
    }

    /// The same with a resolution of `bits` (clamped to 1..=16).
    pub fn with_bits(mut self, bits: u8) -> Self {
        self.bits = bits.clamp(1, 16);
        self
    }

    /// The largest code: `2^bits − 1`.
    pub fn max_code(&self) -> u16 {
        u16::MAX >> (16 - u32::from(self.bits.clamp(1, 16)))
    }

    /// Makes the next read fail with `error`.
    pub fn fail_next(&mut self, error: HalError) {
        self.fault = Some(error);
    }

    /// Reads done so far.
    pub fn reads(&self) -> u32 {
        self.reads
    }
}

impl Adc for SimAdc<'_> {
    fn channels(&self) -> u8 {
        u8::try_from(self.signals.len()).unwrap_or(u8::MAX)
    }

    fn read(&mut self, channel: u8) -> Result<u16, HalError> {
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        if channel >= self.channels() {
            return Err(HalError::BadChannel);
        }
        let signal = self.signals.get(usize::from(channel)).ok_or(HalError::BadChannel)?;
        self.reads = self.reads.wrapping_add(1);
        // The signal is in 12-bit codes (the reference resolution): a read at another
        // resolution scales it, as a real converter's fewer or more bits would.
        let v = u32::from(signal.at(self.time.now_ms()));
        let bits = u32::from(self.bits.clamp(1, 16));
        let scaled = if bits <= 12 { v >> (12 - bits) } else { v << (bits - 12) };
        Ok(u16::try_from(scaled.min(u32::from(self.max_code()))).unwrap_or(u16::MAX))
    }
}

impl Device for SimAdc<'_> {
    fn support_adc(&mut self) -> Option<&mut dyn Adc> {
        Some(self)
    }

    fn configure(&mut self, k: u8, value: Value<'_>) -> Result<(), HalError> {
        match k {
            key::BITS => {
                self.bits = u8::try_from(value.as_int_in(1, 16)?).map_err(|_| HalError::InvalidArgument)?;
                Ok(())
            }
            _ => Err(HalError::NotSupported),
        }
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::BITS => Ok(Value::U32(u32::from(self.bits))),
            key::CHANNELS => Ok(Value::U32(u32::from(self.channels()))),
            key::COUNT => Ok(Value::U32(self.reads)),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// A clock over a [`TimeSource`]: [`SimTime`] for deterministic tests, or
/// `WallTime` (std) for real time.
///
/// Keys: [`key::NOW_MS`] (get).
pub struct SimClock<'a> {
    time: &'a dyn TimeSource,
    fault: Option<HalError>,
}

impl<'a> SimClock<'a> {
    /// A clock reading `time`.
    pub fn new(time: &'a dyn TimeSource) -> Self {
        SimClock { time, fault: None }
    }

    /// Makes the next reading fail with `error`.
    pub fn fail_next(&mut self, error: HalError) {
        self.fault = Some(error);
    }
}

impl Clock for SimClock<'_> {
    fn now_us(&mut self) -> Result<u64, HalError> {
        match self.fault.take() {
            Some(error) => Err(error),
            None => Ok(self.time.now_us()),
        }
    }
}

impl Device for SimClock<'_> {
    fn support_clock(&mut self) -> Option<&mut dyn Clock> {
        Some(self)
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::NOW_MS => Ok(Value::I64(i64::try_from(self.now_ms()?).unwrap_or(i64::MAX))),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// Simulated pins (up to 32), all low at the start. A pin reads the level
/// last written to it, by the device's user ([`Gpio::write`]) or by the
/// outside world ([`SimGpio::drive`], what a test uses to model an input).
///
/// Keys: [`key::CHANNELS`] (get), [`key::COUNT`] (get: writes so far).
#[derive(Debug, Default)]
pub struct SimGpio {
    pins: u8,
    levels: u32,
    writes: u32,
    fault: Option<HalError>,
}

impl SimGpio {
    /// `pins` pins (clamped to 32).
    pub fn new(pins: u8) -> SimGpio {
        SimGpio { pins: pins.min(32), levels: 0, writes: 0, fault: None }
    }

    /// Sets `pin`'s level from the outside (an input changing);
    /// [`HalError::BadChannel`] if there is no such pin.
    pub fn drive(&mut self, pin: u8, high: bool) -> Result<(), HalError> {
        let mask = self.mask(pin)?;
        if high {
            self.levels |= mask;
        } else {
            self.levels &= !mask;
        }
        Ok(())
    }

    /// `pin`'s level (`None` if there is no such pin).
    pub fn level(&self, pin: u8) -> Option<bool> {
        self.mask(pin).ok().map(|mask| self.levels & mask != 0)
    }

    /// Every pin's level, pin 0 in bit 0.
    pub fn levels(&self) -> u32 {
        self.levels
    }

    /// Writes so far.
    pub fn writes(&self) -> u32 {
        self.writes
    }

    /// Makes the next read or write fail with `error`.
    pub fn fail_next(&mut self, error: HalError) {
        self.fault = Some(error);
    }

    fn mask(&self, pin: u8) -> Result<u32, HalError> {
        if pin < self.pins {
            Ok(1u32 << pin)
        } else {
            Err(HalError::BadChannel)
        }
    }
}

impl Gpio for SimGpio {
    fn pins(&self) -> u8 {
        self.pins
    }

    fn read(&mut self, pin: u8) -> Result<bool, HalError> {
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        Ok(self.levels & self.mask(pin)? != 0)
    }

    fn write(&mut self, pin: u8, high: bool) -> Result<(), HalError> {
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        self.drive(pin, high)?;
        self.writes = self.writes.wrapping_add(1);
        Ok(())
    }
}

impl Device for SimGpio {
    fn support_gpio(&mut self) -> Option<&mut dyn Gpio> {
        Some(self)
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::CHANNELS => Ok(Value::U32(u32::from(self.pins))),
            key::COUNT => Ok(Value::U32(self.writes)),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// A simulated I²C bus with one target at a 7-bit address: a sensor-style
/// register map of 256 bytes (all 0 at the start) and a register pointer.
///
/// - A write of `[reg, d0, d1, …]` sets the pointer to `reg`, then stores
///   `d0` at `reg`, `d1` at `reg + 1`, … (the pointer wraps at 256). A write
///   of `[]` only checks that the target answers.
/// - A read fills the buffer from the pointer on, incrementing it.
/// - `write_read([reg], buf)` is therefore "read `buf.len()` registers from `reg`".
/// - Any other address is [`HalError::NoAcknowledge`]; above `0x7F`,
///   [`HalError::InvalidArgument`].
///
/// Keys: [`key::ADDRESS`] (get/set), [`key::COUNT`] (get: transactions so far).
pub struct SimI2c {
    address: u8,
    registers: [u8; 256],
    pointer: u8,
    transactions: u32,
    fault: Option<HalError>,
}

impl SimI2c {
    /// A target at `address` (masked to 7 bits).
    pub fn new(address: u8) -> SimI2c {
        SimI2c { address: address & 0x7F, registers: [0; 256], pointer: 0, transactions: 0, fault: None }
    }

    /// Sets register `reg` from the outside (what the sensor measured).
    pub fn set_register(&mut self, reg: u8, value: u8) {
        if let Some(r) = self.registers.get_mut(usize::from(reg)) {
            *r = value;
        }
    }

    /// Register `reg`.
    pub fn register(&self, reg: u8) -> u8 {
        self.registers.get(usize::from(reg)).copied().unwrap_or(0)
    }

    /// Its 7-bit address.
    pub fn address(&self) -> u8 {
        self.address
    }

    /// The register pointer.
    pub fn pointer(&self) -> u8 {
        self.pointer
    }

    /// Transactions so far (a `write_read` is one).
    pub fn transactions(&self) -> u32 {
        self.transactions
    }

    /// Makes the next transaction fail with `error`.
    pub fn fail_next(&mut self, error: HalError) {
        self.fault = Some(error);
    }

    fn start(&mut self, address: u8) -> Result<(), HalError> {
        if address > 0x7F {
            return Err(HalError::InvalidArgument);
        }
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        if address != self.address {
            return Err(HalError::NoAcknowledge);
        }
        self.transactions = self.transactions.wrapping_add(1);
        Ok(())
    }

    fn store(&mut self, bytes: &[u8]) {
        if let Some((&reg, data)) = bytes.split_first() {
            self.pointer = reg;
            for &b in data {
                self.set_register(self.pointer, b);
                self.pointer = self.pointer.wrapping_add(1);
            }
        }
    }

    fn load(&mut self, buffer: &mut [u8]) {
        for b in buffer {
            *b = self.register(self.pointer);
            self.pointer = self.pointer.wrapping_add(1);
        }
    }
}

impl I2c for SimI2c {
    fn write(&mut self, address: u8, bytes: &[u8]) -> Result<(), HalError> {
        self.start(address)?;
        self.store(bytes);
        Ok(())
    }

    fn read(&mut self, address: u8, buffer: &mut [u8]) -> Result<(), HalError> {
        self.start(address)?;
        self.load(buffer);
        Ok(())
    }

    fn write_read(&mut self, address: u8, bytes: &[u8], buffer: &mut [u8]) -> Result<(), HalError> {
        self.start(address)?;
        self.store(bytes);
        self.load(buffer);
        Ok(())
    }
}

impl Device for SimI2c {
    fn support_i2c(&mut self) -> Option<&mut dyn I2c> {
        Some(self)
    }

    /// `sys_write` is an I²C write to its own address, `sys_read` a read (both at once).
    fn support_offload(&mut self) -> Option<&mut dyn crate::hal::Offload> {
        Some(self)
    }

    fn configure(&mut self, k: u8, value: Value<'_>) -> Result<(), HalError> {
        match k {
            key::ADDRESS => {
                self.address = u8::try_from(value.as_int_in(0, 0x7F)?).map_err(|_| HalError::InvalidArgument)?;
                Ok(())
            }
            _ => Err(HalError::NotSupported),
        }
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::ADDRESS => Ok(Value::U32(u32::from(self.address))),
            key::COUNT => Ok(Value::U32(self.transactions)),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// A simulated SPI device wired as a loopback (MOSI to MISO): every byte
/// written is read back; where `read` is longer than `write`, the padding
/// byte `0x00` is written and so read back.
///
/// Keys: [`key::COUNT`] (get: bytes clocked so far).
#[derive(Debug, Default)]
pub struct SimSpi {
    bytes: u32,
    transfers: u32,
    fault: Option<HalError>,
}

impl SimSpi {
    /// A loopback device.
    pub fn new() -> SimSpi {
        SimSpi::default()
    }

    /// Bytes clocked so far (per transfer, the longer of read and write).
    pub fn bytes(&self) -> u32 {
        self.bytes
    }

    /// Transfers so far.
    pub fn transfers(&self) -> u32 {
        self.transfers
    }

    /// Makes the next transfer fail with `error`.
    pub fn fail_next(&mut self, error: HalError) {
        self.fault = Some(error);
    }

    fn count(&mut self, n: usize) -> Result<(), HalError> {
        if let Some(error) = self.fault.take() {
            return Err(error);
        }
        self.bytes = self.bytes.wrapping_add(u32::try_from(n).unwrap_or(u32::MAX));
        self.transfers = self.transfers.wrapping_add(1);
        Ok(())
    }
}

impl Spi for SimSpi {
    fn transfer(&mut self, read: &mut [u8], write: &[u8]) -> Result<(), HalError> {
        self.count(read.len().max(write.len()))?;
        for (i, r) in read.iter_mut().enumerate() {
            *r = write.get(i).copied().unwrap_or(0x00);
        }
        Ok(())
    }

    fn transfer_in_place(&mut self, buffer: &mut [u8]) -> Result<(), HalError> {
        // Loopback: what comes in is what went out, so the buffer stays.
        self.count(buffer.len())
    }
}

impl Device for SimSpi {
    fn support_spi(&mut self) -> Option<&mut dyn Spi> {
        Some(self)
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::COUNT => Ok(Value::U32(self.bytes)),
            _ => Err(HalError::NotSupported),
        }
    }
}
