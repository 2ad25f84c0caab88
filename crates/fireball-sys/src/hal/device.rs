//! The device side of the HAL: [`Device`] (what a registry slot holds) and
//! the capability traits it may offer. registry ──► **device ──► capability**
//! ──► driver or simulator.

use core::fmt;

use super::{HalError, Value};

/// A device in the [`Registry`](super::Registry): a bundle of optional
/// capabilities plus typed key-value configuration.
///
/// Each `support_*` method returns the capability when the device has it and
/// `None` (the default) when it does not — gdbstub's inlineable dyn extension
/// traits: a device implements only what it has, and a caller that asks for
/// anything else gets a clean [`HalError::NotSupported`]. Implementations
/// return `Some(self)`:
///
/// ```
/// use fireball_sys::hal::{Adc, Device, HalError};
/// struct Thermistor;
/// impl Adc for Thermistor {
///     fn channels(&self) -> u8 { 1 }
///     fn read(&mut self, channel: u8) -> Result<u16, HalError> {
///         if channel == 0 { Ok(1234) } else { Err(HalError::BadChannel) }
///     }
/// }
/// impl Device for Thermistor {
///     fn support_adc(&mut self) -> Option<&mut dyn Adc> { Some(self) }
/// }
/// ```
///
/// The registry probes the `support_*` methods once, at registration, and
/// caches the answers as [`Caps`]: a device must answer them the same way for
/// as long as it is registered.
pub trait Device {
    /// Analog inputs.
    #[inline(always)]
    fn support_adc(&mut self) -> Option<&mut dyn Adc> {
        None
    }

    /// Digital pins.
    #[inline(always)]
    fn support_gpio(&mut self) -> Option<&mut dyn Gpio> {
        None
    }

    /// An I²C controller (bus master).
    #[inline(always)]
    fn support_i2c(&mut self) -> Option<&mut dyn I2c> {
        None
    }

    /// An SPI device (bus plus chip select).
    #[inline(always)]
    fn support_spi(&mut self) -> Option<&mut dyn Spi> {
        None
    }

    /// A frame radio (`hal_tx_send`).
    #[inline(always)]
    fn support_tx(&mut self) -> Option<&mut dyn Tx> {
        None
    }

    /// Bluetooth Low Energy (`hal_ble_init`, `hal_ble_send`).
    #[inline(always)]
    fn support_ble(&mut self) -> Option<&mut dyn Ble> {
        None
    }

    /// A monotonic clock (`hal_get_time_ms`).
    #[inline(always)]
    fn support_clock(&mut self) -> Option<&mut dyn Clock> {
        None
    }

    /// Bulk transfers it may complete later (`sys_read`, `sys_write`: the offloader).
    #[inline(always)]
    fn support_offload(&mut self) -> Option<&mut dyn Offload> {
        None
    }

    /// Sets one configuration entry (a key of [`key`](super::key) and a typed
    /// value). Default: [`HalError::NotSupported`] for every key. A value of
    /// the wrong type or range is [`HalError::InvalidArgument`].
    fn configure(&mut self, key: u8, value: Value<'_>) -> Result<(), HalError> {
        let _ = (key, value);
        Err(HalError::NotSupported)
    }

    /// Reads one configuration or status entry. Default:
    /// [`HalError::NotSupported`] for every key.
    fn query(&mut self, key: u8) -> Result<Value<'_>, HalError> {
        let _ = key;
        Err(HalError::NotSupported)
    }
}

/// Analog inputs: one-shot reads of raw codes.
pub trait Adc {
    /// Number of channels; valid channels are `0..channels()`.
    fn channels(&self) -> u8;

    /// Converts `channel` and returns its raw code (for an `n`-bit converter,
    /// `0..2ⁿ`). A channel out of range is [`HalError::BadChannel`].
    fn read(&mut self, channel: u8) -> Result<u16, HalError>;
}

/// Digital pins, numbered `0..pins()`.
pub trait Gpio {
    /// Number of pins.
    fn pins(&self) -> u8;

    /// The pin's level (`true` = high). For an output, the level it drives.
    fn read(&mut self, pin: u8) -> Result<bool, HalError>;

    /// Drives the pin high (`true`) or low.
    fn write(&mut self, pin: u8, high: bool) -> Result<(), HalError>;
}

/// An I²C controller. Addresses are 7-bit (`0..=0x7F`; anything larger is
/// [`HalError::InvalidArgument`]); an absent target is
/// [`HalError::NoAcknowledge`].
pub trait I2c {
    /// Writes `bytes` to the target in one transaction.
    fn write(&mut self, address: u8, bytes: &[u8]) -> Result<(), HalError>;

    /// Fills `buffer` from the target in one transaction.
    fn read(&mut self, address: u8, buffer: &mut [u8]) -> Result<(), HalError>;

    /// Writes `bytes`, then (repeated start) fills `buffer`: the usual
    /// "read register" transaction.
    fn write_read(&mut self, address: u8, bytes: &[u8], buffer: &mut [u8]) -> Result<(), HalError>;
}

/// An SPI device: a bus with its chip select, one transaction per call.
pub trait Spi {
    /// Full duplex: clocks out `write` while filling `read`. When the lengths
    /// differ, the shorter side is padded (`0x00` written) or discarded, as in
    /// `embedded-hal`'s `SpiBus::transfer`.
    fn transfer(&mut self, read: &mut [u8], write: &[u8]) -> Result<(), HalError>;

    /// Full duplex in place: clocks out `buffer` and replaces it with what came in.
    fn transfer_in_place(&mut self, buffer: &mut [u8]) -> Result<(), HalError>;

    /// Clocks out `bytes`, discarding what comes in.
    fn write(&mut self, bytes: &[u8]) -> Result<(), HalError> {
        self.transfer(&mut [], bytes)
    }
}

/// A frame radio: sends whole frames or nothing.
pub trait Tx {
    /// Longest frame, in bytes.
    fn max_frame(&self) -> usize;

    /// Sends one frame. Longer than [`Tx::max_frame`] is [`HalError::TooLong`].
    fn send(&mut self, frame: &[u8]) -> Result<(), HalError>;
}

/// Bluetooth Low Energy: a profile is brought up once, then payloads are sent.
pub trait Ble {
    /// Brings the stack up with `profile` (an id the board defines; an unknown
    /// one is [`HalError::InvalidArgument`]). Calling it again re-initialises.
    fn init(&mut self, profile: u32) -> Result<(), HalError>;

    /// Longest payload, in bytes.
    fn max_payload(&self) -> usize;

    /// Sends one payload. Before a successful [`Ble::init`] this must be
    /// [`HalError::NotInitialized`] (the registry checks it too).
    fn send(&mut self, payload: &[u8]) -> Result<(), HalError>;
}

/// A monotonic clock.
pub trait Clock {
    /// Microseconds since an arbitrary start (the device's power-on, a
    /// simulation's zero); never goes back.
    fn now_us(&mut self) -> Result<u64, HalError>;

    /// Milliseconds, the same clock (`now_us() / 1000`).
    fn now_ms(&mut self) -> Result<u64, HalError> {
        Ok(self.now_us()? / 1000)
    }
}

/// How an offloaded transfer started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Done already: this many bytes moved.
    Done(usize),
    /// The device completes it later ([`Offload::poll`]).
    Pending,
}

/// Bulk transfers a device may complete later — a SPI flash, I²C registers,
/// a UART, an accelerator: what the guest imports `sys_read` and `sys_write`
/// reach (the router's offloader). One transfer at a time per device.
///
/// The guest's buffer is *lent* to the device while a transfer is pending:
/// [`Offload::poll`] gets it again (the same bytes of the guest's memory), so a
/// device may read a write's data or fill a read's buffer when it completes,
/// as a DMA engine would, instead of copying at the start. Nothing else can
/// touch the buffer meanwhile: its task is parked, and the kernel's ownership
/// table holds it as lent.
pub trait Offload {
    /// Starts writing `data`: [`Progress::Done`] if the device took it now,
    /// [`Progress::Pending`] if it completes later.
    fn start_write(&mut self, data: &[u8]) -> Result<Progress, HalError>;
    /// Starts reading into `buf` (up to its length): `Done(n)` with `n` bytes
    /// filled now, or `Pending`.
    fn start_read(&mut self, buf: &mut [u8]) -> Result<Progress, HalError>;
    /// The pending transfer: `None` while it is in progress, else its result
    /// (bytes moved, or why it failed). `buf` is the transfer's buffer.
    fn poll(&mut self, buf: &mut [u8]) -> Option<Result<usize, HalError>>;
    /// Abandons the pending transfer (it timed out, or its caller died).
    fn cancel(&mut self);
}

/// A set of capabilities, one bit each: what a device answered to its
/// `support_*` methods when it was registered.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Caps(u8);

impl Caps {
    /// No capability.
    pub const NONE: Caps = Caps(0);
    /// [`Device::support_adc`].
    pub const ADC: Caps = Caps(1 << 0);
    /// [`Device::support_gpio`].
    pub const GPIO: Caps = Caps(1 << 1);
    /// [`Device::support_i2c`].
    pub const I2C: Caps = Caps(1 << 2);
    /// [`Device::support_spi`].
    pub const SPI: Caps = Caps(1 << 3);
    /// [`Device::support_tx`].
    pub const TX: Caps = Caps(1 << 4);
    /// [`Device::support_ble`].
    pub const BLE: Caps = Caps(1 << 5);
    /// [`Device::support_clock`].
    pub const CLOCK: Caps = Caps(1 << 6);
    /// [`Device::support_offload`].
    pub const OFFLOAD: Caps = Caps(1 << 7);

    const NAMES: [(Caps, &'static str); 8] = [
        (Caps::ADC, "adc"),
        (Caps::GPIO, "gpio"),
        (Caps::I2C, "i2c"),
        (Caps::SPI, "spi"),
        (Caps::TX, "tx"),
        (Caps::BLE, "ble"),
        (Caps::CLOCK, "clock"),
        (Caps::OFFLOAD, "offload"),
    ];

    /// Asks each `support_*` method of `device` once.
    pub fn probe(device: &mut dyn Device) -> Caps {
        let mut caps = Caps::NONE;
        for (present, cap) in [
            (device.support_adc().is_some(), Caps::ADC),
            (device.support_gpio().is_some(), Caps::GPIO),
            (device.support_i2c().is_some(), Caps::I2C),
            (device.support_spi().is_some(), Caps::SPI),
            (device.support_tx().is_some(), Caps::TX),
            (device.support_ble().is_some(), Caps::BLE),
            (device.support_clock().is_some(), Caps::CLOCK),
            (device.support_offload().is_some(), Caps::OFFLOAD),
        ] {
            if present {
                caps = caps | cap;
            }
        }
        caps
    }

    /// Whether every capability of `other` is in `self`.
    pub const fn contains(self, other: Caps) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The bits (ADC = bit 0 … CLOCK = bit 6, OFFLOAD = bit 7).
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl core::ops::BitOr for Caps {
    type Output = Caps;
    fn bitor(self, rhs: Caps) -> Caps {
        Caps(self.0 | rhs.0)
    }
}

impl fmt::Display for Caps {
    /// The names joined with `|`, like `adc|clock`, or `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (cap, name) in Caps::NAMES {
            if self.contains(cap) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Caps({self})")
    }
}
