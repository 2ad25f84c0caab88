//! Board backends: adapters that turn `embedded-hal` 1.0 drivers (pins, I²C
//! buses, SPI devices) and [`AdcRead`] drivers into HAL [`Device`]s.
//! registry ──► device ──► **adapter ──► the board's HAL crate**.
//!
//! Each adapter owns its driver, offers exactly one capability, and maps the
//! driver's error kind to a [`HalError`]:
//!
//! | adapter | wraps | capability | error mapping |
//! |---|---|---|---|
//! | [`Outputs`] | `[P; N]`, `P: OutputPin` | [`Gpio`] (write; read = the level last written) | any pin error → `BusError` |
//! | [`Inputs`] | `[P; N]`, `P: InputPin` | [`Gpio`] (read; write → `NotSupported`) | any pin error → `BusError` |
//! | [`I2cPort`] | `B: embedded_hal::i2c::I2c` | [`I2c`] | `NoAcknowledge(_)` → `NoAcknowledge`, `ArbitrationLoss` → `Busy`, others → `BusError` |
//! | [`SpiPort`] | `S: embedded_hal::spi::SpiDevice` | [`Spi`] | any → `BusError` |
//! | [`AdcPort`] | `A: AdcRead` | [`Adc`] | [`AdcError::kind`] |
//!
//! A board with a radio, a BLE stack or a clock implements [`Tx`](super::Tx),
//! [`Ble`](super::Ble) or [`Clock`](super::Clock) and [`Device`] on its own
//! driver (three lines: `fn support_tx(&mut self) -> Option<&mut dyn Tx> { Some(self) }`);
//! `embedded-hal` 1.0 has no traits for those.

use core::convert::Infallible;

use embedded_hal::digital::{InputPin, OutputPin};
use embedded_hal::i2c;
use embedded_hal::spi::SpiDevice;

use super::device::{Adc, Device, Gpio, I2c, Offload, Progress, Spi};
use super::{key, HalError, Value};

fn pin_count(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// Output pins as a [`Gpio`] device: pin `i` is `pins[i]`. Reading a pin
/// returns the level last written ([`HalError::NotInitialized`] before the
/// first write); one byte of RAM per pin for that.
pub struct Outputs<P, const N: usize> {
    pins: [P; N],
    levels: [Option<bool>; N],
}

impl<P: OutputPin, const N: usize> Outputs<P, N> {
    /// Wraps the pins (at most 255 are addressable).
    pub fn new(pins: [P; N]) -> Self {
        Outputs { pins, levels: [None; N] }
    }

    /// The pins back.
    pub fn release(self) -> [P; N] {
        self.pins
    }
}

impl<P: OutputPin, const N: usize> Gpio for Outputs<P, N> {
    fn pins(&self) -> u8 {
        pin_count(N)
    }

    fn read(&mut self, pin: u8) -> Result<bool, HalError> {
        self.levels.get(usize::from(pin)).ok_or(HalError::BadChannel)?.ok_or(HalError::NotInitialized)
    }

    fn write(&mut self, pin: u8, high: bool) -> Result<(), HalError> {
        let index = usize::from(pin);
        let p = self.pins.get_mut(index).ok_or(HalError::BadChannel)?;
        let result = if high { p.set_high() } else { p.set_low() };
        result.map_err(|_| HalError::BusError)?;
        if let Some(level) = self.levels.get_mut(index) {
            *level = Some(high);
        }
        Ok(())
    }
}

impl<P: OutputPin, const N: usize> Device for Outputs<P, N> {
    fn support_gpio(&mut self) -> Option<&mut dyn Gpio> {
        Some(self)
    }

    /// Keys: [`key::CHANNELS`] (get: pin count).
    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::CHANNELS => Ok(Value::U32(u32::from(self.pins()))),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// Input pins as a [`Gpio`] device: pin `i` is `pins[i]`; writing is
/// [`HalError::NotSupported`].
pub struct Inputs<P, const N: usize> {
    pins: [P; N],
}

impl<P: InputPin, const N: usize> Inputs<P, N> {
    /// Wraps the pins (at most 255 are addressable).
    pub fn new(pins: [P; N]) -> Self {
        Inputs { pins }
    }

    /// The pins back.
    pub fn release(self) -> [P; N] {
        self.pins
    }
}

impl<P: InputPin, const N: usize> Gpio for Inputs<P, N> {
    fn pins(&self) -> u8 {
        pin_count(N)
    }

    fn read(&mut self, pin: u8) -> Result<bool, HalError> {
        let p = self.pins.get_mut(usize::from(pin)).ok_or(HalError::BadChannel)?;
        p.is_high().map_err(|_| HalError::BusError)
    }

    fn write(&mut self, pin: u8, _high: bool) -> Result<(), HalError> {
        if usize::from(pin) < N {
            Err(HalError::NotSupported)
        } else {
            Err(HalError::BadChannel)
        }
    }
}

impl<P: InputPin, const N: usize> Device for Inputs<P, N> {
    fn support_gpio(&mut self) -> Option<&mut dyn Gpio> {
        Some(self)
    }

    /// Keys: [`key::CHANNELS`] (get: pin count).
    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::CHANNELS => Ok(Value::U32(u32::from(self.pins()))),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// An `embedded-hal` I²C bus (7-bit addresses) as an [`I2c`] device; also
/// [`Offload`]: `sys_write`/`sys_read` to the target set with [`key::ADDRESS`]
/// (blocking: they complete at once).
pub struct I2cPort<B> {
    bus: B,
    target: Option<u8>,
}

impl<B: i2c::I2c> I2cPort<B> {
    /// Wraps the bus.
    pub fn new(bus: B) -> Self {
        I2cPort { bus, target: None }
    }

    /// The bus back.
    pub fn release(self) -> B {
        self.bus
    }
}

fn i2c_error<E: i2c::Error>(e: E) -> HalError {
    match e.kind() {
        i2c::ErrorKind::NoAcknowledge(_) => HalError::NoAcknowledge,
        i2c::ErrorKind::ArbitrationLoss => HalError::Busy,
        _ => HalError::BusError,
    }
}

fn seven_bit(address: u8) -> Result<u8, HalError> {
    if address <= 0x7F {
        Ok(address)
    } else {
        Err(HalError::InvalidArgument)
    }
}

impl<B: i2c::I2c> I2c for I2cPort<B> {
    fn write(&mut self, address: u8, bytes: &[u8]) -> Result<(), HalError> {
        self.bus.write(seven_bit(address)?, bytes).map_err(i2c_error)
    }

    fn read(&mut self, address: u8, buffer: &mut [u8]) -> Result<(), HalError> {
        self.bus.read(seven_bit(address)?, buffer).map_err(i2c_error)
    }

    fn write_read(&mut self, address: u8, bytes: &[u8], buffer: &mut [u8]) -> Result<(), HalError> {
        self.bus.write_read(seven_bit(address)?, bytes, buffer).map_err(i2c_error)
    }
}

impl<B: i2c::I2c> Offload for I2cPort<B> {
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
        let target = self.target.ok_or(HalError::NotInitialized)?;
        I2c::write(self, target, data)?;
        Ok(Progress::Done(data.len()))
    }

    fn start_read(&mut self, buf: &mut [u8]) -> Result<Progress, HalError> {
        let target = self.target.ok_or(HalError::NotInitialized)?;
        I2c::read(self, target, buf)?;
        Ok(Progress::Done(buf.len()))
    }

    fn poll(&mut self, _buf: &mut [u8]) -> Option<Result<usize, HalError>> {
        None
    }

    fn cancel(&mut self) {}
}

impl<B: i2c::I2c> Device for I2cPort<B> {
    fn support_i2c(&mut self) -> Option<&mut dyn I2c> {
        Some(self)
    }

    fn support_offload(&mut self) -> Option<&mut dyn Offload> {
        Some(self)
    }

    /// Keys: [`key::ADDRESS`] (get/set: the target of `sys_read`/`sys_write`).
    fn configure(&mut self, k: u8, value: Value<'_>) -> Result<(), HalError> {
        match k {
            key::ADDRESS => {
                self.target = Some(value.as_int_in(0, 0x7F)? as u8);
                Ok(())
            }
            _ => Err(HalError::NotSupported),
        }
    }

    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::ADDRESS => self.target.map(|a| Value::U32(u32::from(a))).ok_or(HalError::NotInitialized),
            _ => Err(HalError::NotSupported),
        }
    }
}

/// An `embedded-hal` SPI device (bus plus chip select) as an [`Spi`] device.
pub struct SpiPort<S> {
    spi: S,
}

impl<S: SpiDevice> SpiPort<S> {
    /// Wraps the SPI device.
    pub fn new(spi: S) -> Self {
        SpiPort { spi }
    }

    /// The SPI device back.
    pub fn release(self) -> S {
        self.spi
    }
}

impl<S: SpiDevice> Spi for SpiPort<S> {
    fn transfer(&mut self, read: &mut [u8], write: &[u8]) -> Result<(), HalError> {
        self.spi.transfer(read, write).map_err(|_| HalError::BusError)
    }

    fn transfer_in_place(&mut self, buffer: &mut [u8]) -> Result<(), HalError> {
        self.spi.transfer_in_place(buffer).map_err(|_| HalError::BusError)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), HalError> {
        self.spi.write(bytes).map_err(|_| HalError::BusError)
    }
}

/// `sys_write` clocks the bytes out, `sys_read` clocks zeros out and keeps
/// what comes in (one transaction each; blocking: they complete at once).
impl<S: SpiDevice> Offload for SpiPort<S> {
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError> {
        self.spi.write(data).map_err(|_| HalError::BusError)?;
        Ok(Progress::Done(data.len()))
    }

    fn start_read(&mut self, buf: &mut [u8]) -> Result<Progress, HalError> {
        buf.fill(0);
        self.spi.transfer_in_place(buf).map_err(|_| HalError::BusError)?;
        Ok(Progress::Done(buf.len()))
    }

    fn poll(&mut self, _buf: &mut [u8]) -> Option<Result<usize, HalError>> {
        None
    }

    fn cancel(&mut self) {}
}

impl<S: SpiDevice> Device for SpiPort<S> {
    fn support_spi(&mut self) -> Option<&mut dyn Spi> {
        Some(self)
    }

    fn support_offload(&mut self) -> Option<&mut dyn Offload> {
        Some(self)
    }
}

/// The error of an [`AdcRead`] driver: says which [`HalError`] it is, as
/// `embedded-hal`'s `Error::kind` does for its traits.
pub trait AdcError: core::fmt::Debug {
    /// The HAL error this is ([`HalError::BusError`] unless said otherwise).
    fn kind(&self) -> HalError {
        HalError::BusError
    }
}

impl AdcError for HalError {
    fn kind(&self) -> HalError {
        *self
    }
}

impl AdcError for Infallible {}

/// A one-shot ADC driver: the trait `embedded-hal` 1.0 does not have
/// (0.2's `OneShot`, blocking, without `nb`). A board's ADC driver implements
/// it and is registered as an [`AdcPort`].
pub trait AdcRead {
    /// The driver's error.
    type Error: AdcError;

    /// Number of channels; valid channels are `0..channels()`.
    fn channels(&self) -> u8;

    /// Converts `channel` (already checked to be `< channels()`) and returns
    /// the raw code.
    fn read_raw(&mut self, channel: u8) -> Result<u16, Self::Error>;
}

/// An [`AdcRead`] driver as an [`Adc`] device.
pub struct AdcPort<A> {
    adc: A,
}

impl<A: AdcRead> AdcPort<A> {
    /// Wraps the driver.
    pub fn new(adc: A) -> Self {
        AdcPort { adc }
    }

    /// The driver back.
    pub fn release(self) -> A {
        self.adc
    }
}

impl<A: AdcRead> Adc for AdcPort<A> {
    fn channels(&self) -> u8 {
        self.adc.channels()
    }

    fn read(&mut self, channel: u8) -> Result<u16, HalError> {
        if channel >= self.adc.channels() {
            return Err(HalError::BadChannel);
        }
        self.adc.read_raw(channel).map_err(|e| e.kind())
    }
}

impl<A: AdcRead> Device for AdcPort<A> {
    fn support_adc(&mut self) -> Option<&mut dyn Adc> {
        Some(self)
    }

    /// Keys: [`key::CHANNELS`] (get: channel count).
    fn query(&mut self, k: u8) -> Result<Value<'_>, HalError> {
        match k {
            key::CHANNELS => Ok(Value::U32(u32::from(self.adc.channels()))),
            _ => Err(HalError::NotSupported),
        }
    }
}
