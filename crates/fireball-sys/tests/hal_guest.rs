//! The five guest HAL imports end to end on the simulators, the way the
//! guest-import shim will call them: bytes taken from a guest's linear memory
//! with `guest_bytes`, results as the guest's `int`. Expected values are
//! computed here from the signals' formulas, not through the simulator.
#![cfg(feature = "std")]

use std::f64::consts::PI;

use fireball_sys::hal::sim::{Signal, SimAdc, SimBle, SimClock, SimTime, SimTx};
use fireball_sys::hal::{guest_bytes, HalError, Registry};

/// A guest's linear memory with a bump allocator, standing in for the engine.
struct GuestMemory {
    bytes: Vec<u8>,
    next: usize,
}
impl GuestMemory {
    fn new() -> Self {
        GuestMemory { bytes: vec![0; 4096], next: 1024 }
    }
    /// Copies `data` into memory and returns `(ptr, len)` as the guest passes them.
    fn put(&mut self, data: &[u8]) -> (i32, i32) {
        let ptr = self.next;
        self.bytes[ptr..ptr + data.len()].copy_from_slice(data);
        self.next += data.len();
        (ptr as i32, data.len() as i32)
    }
}

/// `hal_tx_send(ptr, len)` as the import shim does it.
fn hal_tx_send(hal: &mut Registry<'_>, mem: &GuestMemory, ptr: i32, len: i32) -> i32 {
    match guest_bytes(&mem.bytes, ptr, len) {
        Ok(data) => hal.hal_tx_send(data),
        Err(e) => e.code(),
    }
}

/// `hal_ble_send(ptr, len)` as the import shim does it.
fn hal_ble_send(hal: &mut Registry<'_>, mem: &GuestMemory, ptr: i32, len: i32) -> i32 {
    match guest_bytes(&mem.bytes, ptr, len) {
        Ok(data) => hal.hal_ble_send(data),
        Err(e) => e.code(),
    }
}

/// The documented table sine (`Signal::Sine`), rebuilt here from `f64::sin`.
fn table_sine(offset: u16, amplitude: u16, period: u64, t: u64) -> u16 {
    let q: Vec<i64> = (0..=256).map(|i| (65535.0 * (i as f64 * PI / 512.0).sin()).round() as i64).collect();
    let s = |k: u64| -> i64 {
        let (k, i) = (k % 1024, (k % 256) as usize);
        match k / 256 {
            0 => q[i],
            1 => q[256 - i],
            2 => -q[i],
            _ => -q[256 - i],
        }
    };
    let p = ((t % period) << 26) / period;
    let (k, f) = (p >> 16, (p & 0xFFFF) as i64);
    let scaled = s(k) * 65536 + (s(k + 1) - s(k)) * f;
    let n = amplitude as i64 * scaled;
    let d = 65535 * 65536;
    let r = if n >= 0 { (n + d / 2) / d } else { -((-n + d / 2) / d) };
    (offset as i64 + r).clamp(0, 65535) as u16
}

fn expected_sine(t: u64) -> i32 {
    i32::from(table_sine(2048, 1500, 2000, t))
}

fn expected_ramp(t: u64) -> i32 {
    (4000 * (t % 1000) / 1000) as i32
}

fn expected_noise(seed: u64, t: u64) -> i32 {
    let mut z = seed.wrapping_add((t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    1000 + (z % 101) as i32
}

const TABLE: [u16; 5] = [10, 20, 30, 40, 50];

fn expected_table(t: u64) -> i32 {
    i32::from(TABLE[((t / 7) % 5) as usize])
}

#[test]
fn aggregator_packet_matches_an_independent_computation() {
    let time = SimTime::new();
    let signals = [
        Signal::Sine { offset: 2048, amplitude: 1500, period_ms: 2000 },
        Signal::Ramp { from: 0, to: 4000, period_ms: 1000 },
        Signal::Noise { seed: 0xF1DE, min: 1000, max: 1100 },
        Signal::Table { samples: &TABLE, step_ms: 7 },
    ];
    let mut adc = SimAdc::new(&time, &signals);
    let mut clock = SimClock::new(&time);
    let mut tx = SimTx::new().with_time(&time);
    let mut mem = GuestMemory::new();
    let mut sent = Vec::new();
    {
        let mut hal: Registry = Registry::new();
        hal.register("adc/0", &mut adc).expect("slot");
        hal.register("clock", &mut clock).expect("slot");
        hal.register("tx", &mut tx).expect("slot");

        // The guest: every 10 ms read the 4 channels; every 16 rounds send
        // min, max, sum per channel (i32 LE) and the time.
        for window in 0..3 {
            let mut stats = [(i32::MAX, i32::MIN, 0i32); 4];
            for _ in 0..16 {
                for (ch, s) in stats.iter_mut().enumerate() {
                    let v = hal.hal_adc_read(ch as i32);
                    assert!(v >= 0, "channel {ch}: {v}");
                    *s = (s.0.min(v), s.1.max(v), s.2 + v);
                }
                time.advance_ms(10);
            }
            let mut packet = Vec::new();
            for (min, max, sum) in stats {
                packet.extend_from_slice(&min.to_le_bytes());
                packet.extend_from_slice(&max.to_le_bytes());
                packet.extend_from_slice(&sum.to_le_bytes());
            }
            packet.extend_from_slice(&hal.hal_get_time_ms().to_le_bytes());
            let (ptr, len) = mem.put(&packet);
            assert_eq!(hal_tx_send(&mut hal, &mem, ptr, len), len, "window {window}");
            sent.push(packet);
        }
    }

    // The test's own computation from the formulas.
    let frames = tx.frames();
    assert_eq!(frames.len(), 3);
    for (window, frame) in frames.iter().enumerate() {
        let times: Vec<u64> = (0..16).map(|i| (window as u64 * 16 + i) * 10).collect();
        let channels: [Vec<i32>; 4] = [
            times.iter().map(|&t| expected_sine(t)).collect(),
            times.iter().map(|&t| expected_ramp(t)).collect(),
            times.iter().map(|&t| expected_noise(0xF1DE, t)).collect(),
            times.iter().map(|&t| expected_table(t)).collect(),
        ];
        let mut expected = Vec::new();
        for values in &channels {
            let min = *values.iter().min().expect("16 values");
            let max = *values.iter().max().expect("16 values");
            let sum: i32 = values.iter().sum();
            expected.extend_from_slice(&min.to_le_bytes());
            expected.extend_from_slice(&max.to_le_bytes());
            expected.extend_from_slice(&sum.to_le_bytes());
        }
        expected.extend_from_slice(&((window as i32 + 1) * 160).to_le_bytes());
        assert_eq!(frame, &expected, "window {window}");
        assert_eq!(frame, &sent[window]);
    }
}

#[test]
fn sensor_buffer_sends_64_samples_as_int16() {
    let time = SimTime::new();
    let signals = [Signal::Ramp { from: 100, to: 740, period_ms: 64 }];
    let mut adc = SimAdc::new(&time, &signals);
    let mut tx = SimTx::new();
    let mut mem = GuestMemory::new();
    {
        let mut hal: Registry = Registry::new();
        hal.register("adc/0", &mut adc).expect("slot");
        hal.register("tx", &mut tx).expect("slot");
        let mut buf = Vec::new();
        for _ in 0..64 {
            buf.extend_from_slice(&(hal.hal_adc_read(0) as i16).to_le_bytes());
            time.advance_ms(1);
        }
        let (ptr, len) = mem.put(&buf);
        assert_eq!(len, 128);
        assert_eq!(hal_tx_send(&mut hal, &mem, ptr, len), 128);
    }
    let expected: Vec<u8> = (0..64i16).flat_map(|t| (100 + 10 * t).to_le_bytes()).collect();
    assert_eq!(tx.frames(), [expected]);
}

#[test]
fn ble_gateway_inits_then_sends_node_records() {
    let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::<u8>::new()));
    struct Out(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut ble = SimBle::new().with_writer(Out(out.clone()));
    let mut mem = GuestMemory::new();
    {
        let mut hal: Registry = Registry::new();
        hal.register("ble", &mut ble).expect("slot");
        let (ptr, len) = mem.put(&[7, 0, 0, 0, 0x10, 0, 0, 0]);
        assert_eq!(hal_ble_send(&mut hal, &mem, ptr, len), HalError::NotInitialized.code(), "before init");
        assert_eq!(hal.hal_ble_init(0x01), 0);
        assert_eq!(hal_ble_send(&mut hal, &mem, ptr, len), 8);
        assert_eq!(hal_ble_send(&mut hal, &mem, ptr, 4000), HalError::InvalidArgument.code(), "outside memory");
        assert_eq!(hal_ble_send(&mut hal, &mem, ptr, -1), HalError::InvalidArgument.code());
        let big = mem.put(&[0; 245]);
        assert_eq!(hal_ble_send(&mut hal, &mem, big.0, big.1), HalError::TooLong.code());
    }
    assert_eq!(ble.profile(), Some(1));
    assert_eq!(ble.frames(), [vec![7, 0, 0, 0, 0x10, 0, 0, 0]]);
    assert_eq!(String::from_utf8(out.borrow().clone()).expect("utf-8"), "ble len=8 data=0700000010000000\n");
}

#[test]
fn error_paths_return_the_documented_codes() {
    let time = SimTime::new();
    let signals = [Signal::Constant(1), Signal::Constant(2)];
    let more = [Signal::Constant(10), Signal::Constant(11), Signal::Constant(12)];
    let mut adc0 = SimAdc::new(&time, &signals);
    let mut adc1 = SimAdc::new(&time, &more);
    let mut clock = SimClock::new(&time);
    let mut ble = SimBle::new();
    clock.fail_next(HalError::Timeout);
    adc1.fail_next(HalError::Busy);
    let mut hal: Registry = Registry::new();
    hal.register("adc/0", &mut adc0).expect("slot");
    hal.register("adc/1", &mut adc1).expect("slot");
    hal.register("clock", &mut clock).expect("slot");
    hal.register("ble", &mut ble).expect("slot");

    // Channels run on across ADC devices: 0-1 on adc/0, 2-4 on adc/1.
    assert_eq!(hal.hal_adc_read(2), HalError::Busy.code(), "the device's failure, as a code");
    let got: Vec<i32> = (0..6).map(|ch| hal.hal_adc_read(ch)).collect();
    assert_eq!(got, [1, 2, 10, 11, 12, HalError::BadChannel.code()]);
    assert_eq!(hal.hal_adc_read(-1), -3);
    assert_eq!(hal.hal_adc_read(i32::MAX), -3);

    // No radio registered.
    assert_eq!(hal.hal_tx_send(b"hello"), -1);
    assert_eq!(HalError::from_code(hal.hal_tx_send(b"hello")), Some(HalError::NoDevice));

    // BLE send before init, then a bad profile.
    assert_eq!(hal.hal_ble_send(b"x"), -5);
    assert_eq!(hal.hal_ble_init(-1), -4);
    assert_eq!(hal.hal_ble_send(b"x"), -5);

    // The clock fails once, then reads; time wraps modulo 2^31 and is never negative.
    assert_eq!(hal.hal_get_time_ms(), HalError::Timeout.code());
    time.advance_ms(1234);
    assert_eq!(hal.hal_get_time_ms(), 1234);
    time.advance_ms((1u64 << 31) - 1234 + 5);
    assert_eq!(hal.time_ms(), Ok((1 << 31) + 5));
    assert_eq!(hal.hal_get_time_ms(), 5);
    time.advance_to_ms((1 << 31) - 1 + (1 << 31));
    assert_eq!(hal.hal_get_time_ms(), i32::MAX);
}

#[test]
fn tx_failure_and_too_long_frames() {
    let mut tx = SimTx::new().with_max_frame(16);
    tx.fail_next(HalError::BusError);
    {
        let mut hal: Registry = Registry::new();
        hal.register("tx", &mut tx).expect("slot");
        assert_eq!(hal.hal_tx_send(b"first"), -7);
        assert_eq!(hal.hal_tx_send(b"second"), 6);
        assert_eq!(hal.hal_tx_send(&[0; 17]), -9);
        assert_eq!(hal.hal_tx_send(&[0; 16]), 16);
    }
    assert_eq!(tx.frames().len(), 2);
    assert_eq!(tx.frames()[0], b"second");
}
