//! The device registry: fixed slots of borrowed devices, found by id, path or
//! capability, and the five guest operations on top. router ──► **registry**
//! ──► device.

use core::fmt;

use super::device::{Adc, Ble, Caps, Clock, Device, Gpio, I2c, Offload, Spi, Tx};
use super::{HalError, Value};

/// Devices a [`Registry`] holds unless told otherwise (FIREBALL.md §2).
pub const DEFAULT_CAPACITY: usize = 16;

/// Longest device path, in bytes.
pub const MAX_PATH: usize = 32;

/// A registered device's id: its slot index. Valid while the device stays
/// registered; after [`Registry::unregister`] the slot (and id) may be reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DeviceId(u8);

impl DeviceId {
    /// The id of slot `index`.
    pub const fn new(index: u8) -> DeviceId {
        DeviceId(index)
    }

    /// The slot index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dev#{}", self.0)
    }
}

/// What [`Registry::iter`] tells about a registered device.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DeviceInfo<'d> {
    /// Its id.
    pub id: DeviceId,
    /// Its path (`adc/0`, `tx`, …).
    pub path: &'d str,
    /// What it answered at registration.
    pub caps: Caps,
}

/// Why [`Registry::register`] refused a device; the device is handed back.
#[non_exhaustive]
pub enum RegisterError<'d> {
    /// Every slot is taken.
    Full(&'d mut dyn Device),
    /// Another device already has this path.
    DuplicatePath(&'d mut dyn Device),
    /// The path is empty, longer than [`MAX_PATH`], or not of the form
    /// `segment(/segment)*` with segments of `[a-z0-9_.-]`.
    BadPath(&'d mut dyn Device),
}

impl<'d> RegisterError<'d> {
    /// The device that was not registered.
    pub fn into_device(self) -> &'d mut dyn Device {
        match self {
            RegisterError::Full(d) | RegisterError::DuplicatePath(d) | RegisterError::BadPath(d) => d,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            RegisterError::Full(_) => "Full",
            RegisterError::DuplicatePath(_) => "DuplicatePath",
            RegisterError::BadPath(_) => "BadPath",
        }
    }
}

impl fmt::Debug for RegisterError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(..)", self.name())
    }
}

impl fmt::Display for RegisterError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegisterError::Full(_) => "device registry full",
            RegisterError::DuplicatePath(_) => "device path already registered",
            RegisterError::BadPath(_) => "malformed device path",
        })
    }
}

/// One registry slot (20 bytes on thumbv7em: two fat pointers and two bytes).
struct Slot<'d> {
    device: &'d mut dyn Device,
    path: &'d str,
    caps: Caps,
    /// [`FLAG_BLE_READY`].
    flags: u8,
}

/// Set once `ble_init` succeeded on this slot's device.
const FLAG_BLE_READY: u8 = 1;

/// The device registry: `N` slots ([`DEFAULT_CAPACITY`] unless told), each
/// borrowing one device for `'d`. No allocation: a registry is
/// `N × size_of::<Option<Slot>>()` bytes ([`Registry::SLOT_BYTES`]).
///
/// ```
/// use fireball_sys::hal::{Caps, Registry};
/// use fireball_sys::hal::sim::{Signal, SimAdc, SimClock, SimTime};
///
/// let time = SimTime::new();
/// let signals = [Signal::Constant(100), Signal::Ramp { from: 0, to: 1000, period_ms: 1000 }];
/// let mut adc = SimAdc::new(&time, &signals);
/// let mut clock = SimClock::new(&time);
///
/// let mut hal: Registry = Registry::new();
/// let adc_id = hal.register("adc/0", &mut adc).expect("a free slot");
/// hal.register("clock", &mut clock).expect("a free slot");
/// assert_eq!(hal.find("adc/0"), Some(adc_id));
/// assert_eq!(hal.caps(adc_id), Some(Caps::ADC));
///
/// time.advance_ms(250);
/// assert_eq!(hal.hal_adc_read(0), 100);
/// assert_eq!(hal.hal_adc_read(1), 250);
/// assert_eq!(hal.hal_adc_read(2), -3); // BadChannel
/// assert_eq!(hal.hal_get_time_ms(), 250);
/// assert_eq!(hal.hal_tx_send(b"hi"), -1); // NoDevice
/// ```
pub struct Registry<'d, const N: usize = DEFAULT_CAPACITY> {
    slots: [Option<Slot<'d>>; N],
}

impl<const N: usize> Default for Registry<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for Registry<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for info in self.iter() {
            list.entry(&info);
        }
        list.finish()
    }
}

impl<'d, const N: usize> Registry<'d, N> {
    /// Slots in this registry.
    pub const CAPACITY: usize = N;

    /// RAM per slot on the target compiled for (20 bytes on 32-bit targets,
    /// 40 on 64-bit hosts).
    pub const SLOT_BYTES: usize = core::mem::size_of::<Option<Slot<'static>>>();

    /// An empty registry.
    pub const fn new() -> Self {
        Registry { slots: [const { None }; N] }
    }

    /// Registers `device` at `path` in the lowest free slot, probing its
    /// capabilities once. On failure the device is handed back in the error.
    pub fn register(&mut self, path: &'d str, device: &'d mut dyn Device) -> Result<DeviceId, RegisterError<'d>> {
        if !valid_path(path) {
            return Err(RegisterError::BadPath(device));
        }
        if self.find(path).is_some() {
            return Err(RegisterError::DuplicatePath(device));
        }
        let Some(index) = self.slots.iter().position(Option::is_none) else {
            return Err(RegisterError::Full(device));
        };
        let Ok(id) = u8::try_from(index) else {
            return Err(RegisterError::Full(device));
        };
        let caps = Caps::probe(device);
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Some(Slot { device, path, caps, flags: 0 });
        }
        Ok(DeviceId(id))
    }

    /// Removes the device `id` and hands it back (`None` if no such device).
    pub fn unregister(&mut self, id: DeviceId) -> Option<&'d mut dyn Device> {
        self.slots.get_mut(id.index())?.take().map(|slot| slot.device)
    }

    /// Devices registered.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether no device is registered.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// Whether every slot is taken.
    pub fn is_full(&self) -> bool {
        self.slots.iter().all(Option::is_some)
    }

    /// The device registered at `path`.
    pub fn find(&self, path: &str) -> Option<DeviceId> {
        self.infos().find(|info| info.path == path).map(|info| info.id)
    }

    /// The lowest-id device that has every capability in `caps`.
    pub fn first_with(&self, caps: Caps) -> Option<DeviceId> {
        self.infos().find(|info| info.caps.contains(caps)).map(|info| info.id)
    }

    /// The path of device `id`.
    pub fn path(&self, id: DeviceId) -> Option<&'d str> {
        self.slot(id).map(|slot| slot.path)
    }

    /// The capabilities of device `id`.
    pub fn caps(&self, id: DeviceId) -> Option<Caps> {
        self.slot(id).map(|slot| slot.caps)
    }

    /// The registered devices, by id.
    pub fn iter(&self) -> impl Iterator<Item = DeviceInfo<'d>> + '_ {
        self.infos()
    }

    /// Device `id` itself.
    pub fn device(&mut self, id: DeviceId) -> Option<&mut (dyn Device + 'd)> {
        self.slot_mut(id).map(|slot| &mut *slot.device)
    }

    /// Sets one configuration entry of device `id` ([`Device::configure`]):
    /// the router calls this once per entry of a decoded key-value message.
    pub fn configure(&mut self, id: DeviceId, key: u8, value: Value<'_>) -> Result<(), HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.configure(key, value)
    }

    /// Reads one configuration or status entry of device `id` ([`Device::query`]).
    pub fn query(&mut self, id: DeviceId, key: u8) -> Result<Value<'_>, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.query(key)
    }

    /// Device `id`'s ADC ([`HalError::NoDevice`] if there is no such device,
    /// [`HalError::NotSupported`] if it has no ADC). Likewise for the other
    /// capabilities below.
    pub fn adc(&mut self, id: DeviceId) -> Result<&mut dyn Adc, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_adc().ok_or(HalError::NotSupported)
    }

    /// Device `id`'s GPIO (see [`Registry::adc`] for the errors).
    pub fn gpio(&mut self, id: DeviceId) -> Result<&mut dyn Gpio, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_gpio().ok_or(HalError::NotSupported)
    }

    /// Device `id`'s I²C controller (see [`Registry::adc`] for the errors).
    pub fn i2c(&mut self, id: DeviceId) -> Result<&mut dyn I2c, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_i2c().ok_or(HalError::NotSupported)
    }

    /// Device `id`'s SPI (see [`Registry::adc`] for the errors).
    pub fn spi(&mut self, id: DeviceId) -> Result<&mut dyn Spi, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_spi().ok_or(HalError::NotSupported)
    }

    /// Device `id`'s radio (see [`Registry::adc`] for the errors).
    pub fn tx(&mut self, id: DeviceId) -> Result<&mut dyn Tx, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_tx().ok_or(HalError::NotSupported)
    }

    /// Device `id`'s BLE (see [`Registry::adc`] for the errors). Used
    /// directly, it bypasses the registry's init check; the device's own
    /// check ([`Ble::send`]) still applies.
    pub fn ble(&mut self, id: DeviceId) -> Result<&mut dyn Ble, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_ble().ok_or(HalError::NotSupported)
    }

    /// Device `id`'s clock (see [`Registry::adc`] for the errors).
    pub fn clock(&mut self, id: DeviceId) -> Result<&mut dyn Clock, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_clock().ok_or(HalError::NotSupported)
    }

    /// Device `id`'s offloaded transfers ([`HalError::NotSupported`] if it has none).
    pub fn offload(&mut self, id: DeviceId) -> Result<&mut dyn Offload, HalError> {
        self.slot_mut(id).ok_or(HalError::NoDevice)?.device.support_offload().ok_or(HalError::NotSupported)
    }

    // --- The guest operations, typed -------------------------------------

    /// `hal_adc_read`, typed. Guest channels number the channels of every ADC
    /// device in id order: with `adc/0` (4 channels) and `adc/1` (2), guest
    /// channels 0–3 are `adc/0`'s and 4–5 are `adc/1`'s 0–1.
    /// [`HalError::NoDevice`] without any ADC, [`HalError::BadChannel`] past
    /// the last channel.
    pub fn adc_read(&mut self, channel: u32) -> Result<u16, HalError> {
        let mut rest = channel;
        let mut any = false;
        for slot in self.slots.iter_mut().flatten() {
            if !slot.caps.contains(Caps::ADC) {
                continue;
            }
            let Some(adc) = slot.device.support_adc() else { continue };
            any = true;
            let channels = u32::from(adc.channels());
            if rest < channels {
                return adc.read(u8::try_from(rest).map_err(|_| HalError::BadChannel)?);
            }
            rest -= channels;
        }
        Err(if any { HalError::BadChannel } else { HalError::NoDevice })
    }

    /// `hal_tx_send`, typed: sends `frame` on the lowest-id radio and returns
    /// its length. [`HalError::TooLong`] past [`Tx::max_frame`]; an empty
    /// frame goes to the device like any other.
    pub fn tx_send(&mut self, frame: &[u8]) -> Result<usize, HalError> {
        let tx = self.first_mut(Caps::TX)?.device.support_tx().ok_or(HalError::NotSupported)?;
        if frame.len() > tx.max_frame() {
            return Err(HalError::TooLong);
        }
        tx.send(frame)?;
        Ok(frame.len())
    }

    /// `hal_get_time_ms`, typed: the lowest-id clock, in milliseconds.
    pub fn time_ms(&mut self) -> Result<u64, HalError> {
        self.first_mut(Caps::CLOCK)?.device.support_clock().ok_or(HalError::NotSupported)?.now_ms()
    }

    /// The same clock in microseconds (for WASI `clock_time_get`).
    pub fn time_us(&mut self) -> Result<u64, HalError> {
        self.first_mut(Caps::CLOCK)?.device.support_clock().ok_or(HalError::NotSupported)?.now_us()
    }

    /// `hal_ble_init`, typed: brings the lowest-id BLE device up with
    /// `profile`. Until one succeeds, [`Registry::ble_send`] fails with
    /// [`HalError::NotInitialized`]; a failed init leaves it uninitialised.
    /// The registry keeps this state per slot, whatever the backend does:
    ///
    /// ```text
    ///          init ok                      send → Ok(len) or the device's error
    ///  Down ─────────────► Ready ◄──┐       init ok → Ready (re-initialised)
    ///   ▲ │                 │  └────┘
    ///   │ └ send → NotInitialized
    ///   └──── init fails ───┘
    /// ```
    pub fn ble_init(&mut self, profile: u32) -> Result<(), HalError> {
        let slot = self.first_mut(Caps::BLE)?;
        slot.flags &= !FLAG_BLE_READY;
        slot.device.support_ble().ok_or(HalError::NotSupported)?.init(profile)?;
        slot.flags |= FLAG_BLE_READY;
        Ok(())
    }

    /// `hal_ble_send`, typed: sends `payload` on the BLE device and returns
    /// its length. [`HalError::NotInitialized`] before a successful
    /// [`Registry::ble_init`], [`HalError::TooLong`] past [`Ble::max_payload`].
    pub fn ble_send(&mut self, payload: &[u8]) -> Result<usize, HalError> {
        let slot = self.first_mut(Caps::BLE)?;
        if slot.flags & FLAG_BLE_READY == 0 {
            return Err(HalError::NotInitialized);
        }
        let ble = slot.device.support_ble().ok_or(HalError::NotSupported)?;
        if payload.len() > ble.max_payload() {
            return Err(HalError::TooLong);
        }
        ble.send(payload)?;
        Ok(payload.len())
    }

    // --- The guest operations, as the guest sees them --------------------

    /// `int hal_adc_read(int channel)`: the sample (`0..=65535`) or a
    /// negative [`HalError::code`]; a negative channel is `BadChannel`.
    pub fn hal_adc_read(&mut self, channel: i32) -> i32 {
        let result = u32::try_from(channel).map_err(|_| HalError::BadChannel).and_then(|ch| self.adc_read(ch));
        guest_result(result.map(i32::from))
    }

    /// `int hal_tx_send(const uint8_t *data, int len)`, with `data[..len]`
    /// already taken from guest memory ([`guest_bytes`]): `len` or a negative code.
    pub fn hal_tx_send(&mut self, data: &[u8]) -> i32 {
        guest_result(self.tx_send(data).map(saturate))
    }

    /// `int hal_get_time_ms(void)`: milliseconds modulo 2³¹ (never negative,
    /// so a negative value is always an error code; wraps after 24.8 days —
    /// a guest computes intervals as `(now - then) & 0x7FFFFFFF`).
    pub fn hal_get_time_ms(&mut self) -> i32 {
        guest_result(self.time_ms().map(|ms| saturate_u64(ms & 0x7FFF_FFFF)))
    }

    /// `int hal_ble_init(int profile_id)`: `0` or a negative code; a negative
    /// profile is `InvalidArgument`.
    pub fn hal_ble_init(&mut self, profile_id: i32) -> i32 {
        let result = u32::try_from(profile_id).map_err(|_| HalError::InvalidArgument).and_then(|p| self.ble_init(p));
        guest_result(result.map(|()| 0))
    }

    /// `int hal_ble_send(const uint8_t *data, int len)`, with the bytes
    /// already taken from guest memory: `len` or a negative code.
    pub fn hal_ble_send(&mut self, data: &[u8]) -> i32 {
        guest_result(self.ble_send(data).map(saturate))
    }

    // --- Internals ------------------------------------------------------

    fn slot(&self, id: DeviceId) -> Option<&Slot<'d>> {
        self.slots.get(id.index())?.as_ref()
    }

    fn slot_mut(&mut self, id: DeviceId) -> Option<&mut Slot<'d>> {
        self.slots.get_mut(id.index())?.as_mut()
    }

    fn first_mut(&mut self, caps: Caps) -> Result<&mut Slot<'d>, HalError> {
        self.slots.iter_mut().flatten().find(|slot| slot.caps.contains(caps)).ok_or(HalError::NoDevice)
    }

    fn infos(&self) -> impl Iterator<Item = DeviceInfo<'d>> + '_ {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let slot = slot.as_ref()?;
            Some(DeviceInfo { id: DeviceId(u8::try_from(index).ok()?), path: slot.path, caps: slot.caps })
        })
    }
}

/// `memory[ptr..ptr + len]`, the bytes a guest passed as `(const uint8_t
/// *data, int len)`: [`HalError::InvalidArgument`] for a negative length or a
/// range outside `memory` (the guest gets `-4`, it is not trapped).
pub fn guest_bytes(memory: &[u8], ptr: i32, len: i32) -> Result<&[u8], HalError> {
    // A wasm32 pointer is an unsigned 32-bit offset.
    let start = usize::try_from(ptr.cast_unsigned()).map_err(|_| HalError::InvalidArgument)?;
    let len = usize::try_from(len).map_err(|_| HalError::InvalidArgument)?;
    let end = start.checked_add(len).ok_or(HalError::InvalidArgument)?;
    memory.get(start..end).ok_or(HalError::InvalidArgument)
}

fn guest_result(result: Result<i32, HalError>) -> i32 {
    result.unwrap_or_else(HalError::code)
}

fn saturate(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn saturate_u64(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// `segment(/segment)*`, segments of `[a-z0-9_.-]`, at most [`MAX_PATH`] bytes.
fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH
        && path.split('/').all(|segment| {
            !segment.is_empty()
                && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
        })
}
