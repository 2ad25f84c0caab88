//! HAL registry: capacity, lookup by id / path / capability, registration
//! errors that hand the device back, absent capabilities, the error-code
//! table, and the guest operations' error paths that need no simulator.

use fireball_sys::hal::sim::{Signal, SimAdc, SimClock, SimGpio, SimTime};
use fireball_sys::hal::{
    guest_bytes, key, Adc, Ble, Caps, Device, DeviceId, HalError, RegisterError, Registry, Tx, Value, DEFAULT_CAPACITY,
    MAX_PATH,
};

/// A device with no capability at all.
#[derive(Default)]
struct Blank;
impl Device for Blank {}

/// A radio that remembers the last frame (for tests without the std simulators).
struct Radio {
    max: usize,
    last: Vec<u8>,
}
impl Tx for Radio {
    fn max_frame(&self) -> usize {
        self.max
    }
    fn send(&mut self, frame: &[u8]) -> Result<(), HalError> {
        self.last = frame.to_vec();
        Ok(())
    }
}
impl Device for Radio {
    fn support_tx(&mut self) -> Option<&mut dyn Tx> {
        Some(self)
    }
}

/// A BLE device that does *not* check init itself: the registry must. It
/// knows profiles 1 and 3.
#[derive(Default)]
struct CarelessBle {
    sent: usize,
}
impl Ble for CarelessBle {
    fn init(&mut self, profile: u32) -> Result<(), HalError> {
        match profile {
            1 | 3 => Ok(()),
            _ => Err(HalError::InvalidArgument),
        }
    }
    fn max_payload(&self) -> usize {
        20
    }
    fn send(&mut self, _payload: &[u8]) -> Result<(), HalError> {
        self.sent += 1;
        Ok(())
    }
}
impl Device for CarelessBle {
    fn support_ble(&mut self) -> Option<&mut dyn Ble> {
        Some(self)
    }
}

#[test]
fn default_capacity_is_sixteen_and_full_hands_the_device_back() {
    let mut devices: Vec<Blank> = (0..DEFAULT_CAPACITY + 1).map(|_| Blank).collect();
    let paths: Vec<String> = (0..DEFAULT_CAPACITY + 1).map(|i| format!("dev/{i}")).collect();
    let mut reg: Registry = Registry::new();
    assert_eq!(<Registry>::CAPACITY, 16);
    assert!(reg.is_empty());
    let (last, rest) = devices.split_last_mut().expect("17 devices");
    for (i, (dev, path)) in rest.iter_mut().zip(&paths).enumerate() {
        let id = reg.register(path, dev).expect("a free slot");
        assert_eq!(id.index(), i);
    }
    assert_eq!(reg.len(), 16);
    assert!(reg.is_full());
    let last_ptr: *const dyn Device = &*last;
    match reg.register(&paths[16], last) {
        Err(RegisterError::Full(back)) => assert!(std::ptr::addr_eq(back as *const dyn Device, last_ptr)),
        other => panic!("expected Full, got {other:?}"),
    }
}

#[test]
fn capacity_is_configurable_and_slot_size_is_reported() {
    let mut a = Blank;
    let mut b = Blank;
    let mut c = Blank;
    let mut reg: Registry<'_, 2> = Registry::new();
    assert_eq!(Registry::<'_, 2>::CAPACITY, 2);
    reg.register("a", &mut a).expect("slot 0");
    reg.register("b", &mut b).expect("slot 1");
    let err = reg.register("c", &mut c).expect_err("full");
    assert!(matches!(err, RegisterError::Full(_)));
    assert_eq!(err.to_string(), "device registry full");

    // The registry is exactly its slots; a slot is two fat pointers and two bytes.
    let fat = std::mem::size_of::<&mut dyn Device>();
    assert_eq!(Registry::<'_, 16>::SLOT_BYTES, 2 * fat + std::mem::size_of::<usize>());
    assert_eq!(std::mem::size_of::<Registry<'_, 16>>(), 16 * Registry::<'_, 16>::SLOT_BYTES);
    const { assert!(Registry::<'static, 16>::SLOT_BYTES <= 48, "the spec's per-device budget") };
}

#[test]
fn lookup_by_path_id_and_capability() {
    let time = SimTime::new();
    let signals = [Signal::Constant(7)];
    let mut blank = Blank;
    let mut adc = SimAdc::new(&time, &signals);
    let mut clock = SimClock::new(&time);
    let mut gpio = SimGpio::new(8);
    let mut reg: Registry = Registry::new();
    let blank_id = reg.register("blank", &mut blank).expect("slot");
    let adc_id = reg.register("adc/0", &mut adc).expect("slot");
    let clock_id = reg.register("clock", &mut clock).expect("slot");
    let gpio_id = reg.register("gpio/3", &mut gpio).expect("slot");

    assert_eq!(reg.find("adc/0"), Some(adc_id));
    assert_eq!(reg.find("gpio/3"), Some(gpio_id));
    assert_eq!(reg.find("adc"), None);
    assert_eq!(reg.find("adc/1"), None);
    assert_eq!(reg.path(clock_id), Some("clock"));
    assert_eq!(reg.caps(blank_id), Some(Caps::NONE));
    assert_eq!(reg.caps(adc_id), Some(Caps::ADC));
    assert_eq!(reg.caps(clock_id), Some(Caps::CLOCK));
    assert_eq!(reg.caps(gpio_id), Some(Caps::GPIO));
    assert_eq!(reg.first_with(Caps::CLOCK), Some(clock_id));
    assert_eq!(reg.first_with(Caps::TX), None);
    assert_eq!(reg.first_with(Caps::NONE), Some(blank_id));
    assert_eq!(reg.caps(DeviceId::new(9)), None);

    let listed: Vec<(usize, &str, String)> = reg.iter().map(|d| (d.id.index(), d.path, d.caps.to_string())).collect();
    assert_eq!(
        listed,
        [
            (0, "blank", "-".to_string()),
            (1, "adc/0", "adc".into()),
            (2, "clock", "clock".into()),
            (3, "gpio/3", "gpio".into())
        ]
    );
    assert_eq!(format!("{:?}", Caps::ADC | Caps::CLOCK), "Caps(adc|clock)");

    // Through the capability accessors.
    assert_eq!(reg.adc(adc_id).and_then(|a| a.read(0)), Ok(7));
    time.advance_ms(42);
    assert_eq!(reg.clock(clock_id).and_then(|c| c.now_ms()), Ok(42));
    reg.gpio(gpio_id).and_then(|g| g.write(5, true)).expect("pin 5");
    assert_eq!(reg.gpio(gpio_id).and_then(|g| g.read(5)), Ok(true));
}

#[test]
fn absent_capability_or_device_is_a_clean_error() {
    let mut blank = Blank;
    let mut reg: Registry = Registry::new();
    let id = reg.register("blank", &mut blank).expect("slot");
    assert_eq!(reg.adc(id).err(), Some(HalError::NotSupported));
    assert_eq!(reg.gpio(id).err(), Some(HalError::NotSupported));
    assert_eq!(reg.i2c(id).err(), Some(HalError::NotSupported));
    assert_eq!(reg.spi(id).err(), Some(HalError::NotSupported));
    assert_eq!(reg.tx(id).err(), Some(HalError::NotSupported));
    assert_eq!(reg.ble(id).err(), Some(HalError::NotSupported));
    assert_eq!(reg.clock(id).err(), Some(HalError::NotSupported));
    assert_eq!(reg.configure(id, key::BITS, Value::U32(10)), Err(HalError::NotSupported));
    assert_eq!(reg.query(id, key::BITS), Err(HalError::NotSupported));

    let nobody = DeviceId::new(5);
    assert_eq!(reg.adc(nobody).err(), Some(HalError::NoDevice));
    assert_eq!(reg.configure(nobody, key::BITS, Value::U32(10)), Err(HalError::NoDevice));
    assert!(reg.device(nobody).is_none());
    let far = DeviceId::new(200); // beyond the capacity
    assert_eq!(reg.tx(far).err(), Some(HalError::NoDevice));
}

#[test]
fn registration_rejects_bad_and_duplicate_paths() {
    let too_long = "x".repeat(MAX_PATH + 1);
    let ok_long = "x".repeat(MAX_PATH);
    let bad_paths = ["", "/adc", "adc/", "a//b", "ADC/0", "adc 0", "hal:adc", too_long.as_str()];
    let mut rejected: Vec<Blank> = bad_paths.iter().map(|_| Blank).collect();
    let mut first = Blank;
    let mut reg: Registry = Registry::new();
    reg.register("adc/0", &mut first).expect("slot");
    for (bad, dev) in bad_paths.into_iter().zip(rejected.iter_mut()) {
        let err = reg.register(bad, dev).expect_err(bad);
        assert!(matches!(err, RegisterError::BadPath(_)), "{bad:?}: {err:?}");
    }
    let mut dup = Blank;
    let dup_ptr: *const dyn Device = &dup;
    let err = reg.register("adc/0", &mut dup).expect_err("duplicate");
    assert!(matches!(err, RegisterError::DuplicatePath(_)));
    assert!(std::ptr::addr_eq(err.into_device() as *const dyn Device, dup_ptr));
    let mut good = Blank;
    reg.register(&ok_long, &mut good).expect("32 bytes is fine");
    let mut dotted = Blank;
    reg.register("svc/my-sensor_2.v1", &mut dotted).expect("[a-z0-9_.-] segments");
    assert_eq!(reg.len(), 3);
}

#[test]
fn unregister_hands_back_and_frees_the_lowest_slot() {
    let mut a = Blank;
    let mut b = Radio { max: 8, last: Vec::new() };
    let mut c = Blank;
    let a_ptr: *const dyn Device = &a;
    let b_ptr: *const dyn Device = &b;
    let mut reg: Registry<'_, 4> = Registry::new();
    let a_id = reg.register("a", &mut a).expect("slot");
    let b_id = reg.register("b", &mut b).expect("slot");
    let back = reg.unregister(b_id).expect("registered");
    assert!(std::ptr::addr_eq(back as *const dyn Device, b_ptr));
    assert!(reg.unregister(b_id).is_none());
    assert_eq!(reg.find("b"), None);
    assert_eq!(reg.hal_tx_send(b"x"), HalError::NoDevice.code());
    let c_id = reg.register("c", &mut c).expect("slot");
    assert_eq!(c_id, b_id, "the freed slot is reused");
    assert_eq!(reg.len(), 2);
    assert!(reg.device(a_id).is_some_and(|d| std::ptr::addr_eq(d as *const dyn Device, a_ptr)));
}

#[test]
fn configure_and_query_travel_as_typed_values() {
    let time = SimTime::new();
    let signals = [Signal::Constant(4000), Signal::Constant(10)];
    let mut adc = SimAdc::new(&time, &signals);
    let mut reg: Registry = Registry::new();
    let id = reg.register("adc/0", &mut adc).expect("slot");
    assert_eq!(reg.query(id, key::BITS), Ok(Value::U32(12)));
    assert_eq!(reg.query(id, key::CHANNELS), Ok(Value::U32(2)));
    assert_eq!(reg.hal_adc_read(0), 4000);
    reg.configure(id, key::BITS, Value::I32(10)).expect("10 bits");
    assert_eq!(reg.hal_adc_read(0), 1000, "the 12-bit 4000 at 10 bits");
    assert_eq!(reg.configure(id, key::BITS, Value::I32(17)), Err(HalError::InvalidArgument));
    assert_eq!(reg.configure(id, key::BITS, Value::Str("8")), Err(HalError::InvalidArgument));
    assert_eq!(reg.configure(id, key::NOW_MS, Value::I32(0)), Err(HalError::NotSupported));
    assert_eq!(reg.query(id, key::COUNT), Ok(Value::U32(2)));
}

#[test]
fn error_codes_come_from_one_table() {
    let codes: Vec<i32> = HalError::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(codes, (1..=HalError::ALL.len() as i32).map(|n| -n).collect::<Vec<_>>(), "-1, -2, … in order");
    for &e in HalError::ALL {
        assert_eq!(HalError::from_code(e.code()), Some(e));
        assert!(!e.description().is_empty());
    }
    assert_eq!(HalError::from_code(0), None);
    assert_eq!(HalError::from_code(5), None);
    assert_eq!(HalError::from_code(-(HalError::ALL.len() as i32) - 1), None);
    assert_eq!(HalError::BadChannel.to_string(), "channel out of range (-3)");

    // The documented table (HalError's rustdoc) lists every code with its variant.
    let source = include_str!("../src/hal/mod.rs");
    for &e in HalError::ALL {
        let row = format!("| {} | `{:?}` |", e.code(), e);
        assert!(source.contains(&row), "doc table row missing: {row}");
    }
}

#[test]
fn guest_bytes_checks_the_pointer_and_length() {
    let memory: Vec<u8> = (0..64).collect();
    assert_eq!(guest_bytes(&memory, 10, 4), Ok(&memory[10..14]));
    assert_eq!(guest_bytes(&memory, 60, 4), Ok(&memory[60..64]));
    assert_eq!(guest_bytes(&memory, 64, 0), Ok(&[][..]));
    assert_eq!(guest_bytes(&memory, 61, 4), Err(HalError::InvalidArgument));
    assert_eq!(guest_bytes(&memory, 0, -1), Err(HalError::InvalidArgument));
    assert_eq!(guest_bytes(&memory, -1, 1), Err(HalError::InvalidArgument), "0xFFFF_FFFF");
    assert_eq!(guest_bytes(&memory, i32::MAX, i32::MAX), Err(HalError::InvalidArgument));
}

#[test]
fn guest_operations_without_devices_return_no_device() {
    let mut reg: Registry = Registry::new();
    assert_eq!(reg.hal_adc_read(0), -1);
    assert_eq!(reg.hal_tx_send(b"abc"), -1);
    assert_eq!(reg.hal_get_time_ms(), -1);
    assert_eq!(reg.hal_ble_init(1), -1);
    assert_eq!(reg.hal_ble_send(b"abc"), -1);
    // Argument checks come first where the argument alone is wrong.
    assert_eq!(reg.hal_adc_read(-1), HalError::BadChannel.code());
    assert_eq!(reg.hal_ble_init(-7), HalError::InvalidArgument.code());
}

#[test]
fn tx_and_ble_rules_hold_for_any_backend() {
    let mut radio = Radio { max: 4, last: Vec::new() };
    let mut ble = CarelessBle::default();
    {
        let mut reg: Registry = Registry::new();
        reg.register("tx", &mut radio).expect("slot");
        reg.register("ble", &mut ble).expect("slot");
        assert_eq!(reg.hal_tx_send(b"abcd"), 4);
        assert_eq!(reg.hal_tx_send(b"abcde"), HalError::TooLong.code());
        assert_eq!(reg.hal_tx_send(b""), 0);
        // The device does not check init; the registry does.
        assert_eq!(reg.hal_ble_send(b"hi"), HalError::NotInitialized.code());
        assert_eq!(reg.hal_ble_init(3), 0);
        assert_eq!(reg.hal_ble_send(b"hi"), 2);
        assert_eq!(reg.hal_ble_send(&[0; 21]), HalError::TooLong.code());
    }
    assert_eq!(radio.last, b"");
    assert_eq!(ble.sent, 1);

    // The drawn state machine (Registry::ble_init), on one registry:
    // Down -send-> Down, Down -init ok-> Ready, Ready -send-> Ready,
    // Ready -init ok-> Ready, Ready -init fails-> Down, Down -init fails-> Down.
    let mut reg: Registry = Registry::new();
    reg.register("ble", &mut ble).expect("slot");
    assert_eq!(reg.hal_ble_send(b"a"), HalError::NotInitialized.code());
    assert_eq!(reg.hal_ble_init(99), HalError::InvalidArgument.code());
    assert_eq!(reg.hal_ble_send(b"a"), HalError::NotInitialized.code());
    assert_eq!(reg.hal_ble_init(1), 0);
    assert_eq!(reg.hal_ble_send(b"a"), 1);
    assert_eq!(reg.hal_ble_send(b"ab"), 2);
    assert_eq!(reg.hal_ble_init(3), 0);
    assert_eq!(reg.hal_ble_send(b"a"), 1);
    assert_eq!(reg.hal_ble_init(99), HalError::InvalidArgument.code());
    assert_eq!(reg.hal_ble_send(b"a"), HalError::NotInitialized.code());
}

#[test]
fn a_device_can_implement_several_capabilities() {
    struct Board {
        time_us: u64,
    }
    impl Adc for Board {
        fn channels(&self) -> u8 {
            1
        }
        fn read(&mut self, channel: u8) -> Result<u16, HalError> {
            if channel == 0 {
                Ok(u16::try_from(self.time_us / 1000).unwrap_or(u16::MAX))
            } else {
                Err(HalError::BadChannel)
            }
        }
    }
    impl fireball_sys::hal::Clock for Board {
        fn now_us(&mut self) -> Result<u64, HalError> {
            Ok(self.time_us)
        }
    }
    impl Device for Board {
        fn support_adc(&mut self) -> Option<&mut dyn Adc> {
            Some(self)
        }
        fn support_clock(&mut self) -> Option<&mut dyn fireball_sys::hal::Clock> {
            Some(self)
        }
    }
    let mut board = Board { time_us: 1_234_567 };
    let mut reg: Registry = Registry::new();
    let id = reg.register("board", &mut board).expect("slot");
    assert_eq!(reg.caps(id), Some(Caps::ADC | Caps::CLOCK));
    assert_eq!(reg.first_with(Caps::ADC | Caps::CLOCK), Some(id));
    assert_eq!(reg.hal_get_time_ms(), 1234);
    assert_eq!(reg.time_us(), Ok(1_234_567));
    assert_eq!(reg.hal_adc_read(0), 1234);
    assert_eq!(reg.hal_adc_read(1), HalError::BadChannel.code());
}
