//! The `no_std` simulators: every signal recomputed here from its documented
//! formula (independently of `Signal::at`), the simulated ADC, clock, GPIO,
//! I²C register map and SPI loopback, and their injected faults.

use std::f64::consts::PI;

use fireball_sys::hal::sim::{Signal, SimAdc, SimClock, SimGpio, SimI2c, SimSpi, SimTime, TimeSource, SINE_QUARTER};
use fireball_sys::hal::{key, Adc, Clock, Device, Gpio, HalError, I2c, Spi, Value};

/// SplitMix64 as published (state += γ, then mix), written out here again.
struct SplitMix64(u64);
impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
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

/// The exact sine.
fn ideal_sine(offset: u16, amplitude: u16, period: u64, t: u64) -> f64 {
    offset as f64 + amplitude as f64 * (2.0 * PI * (t % period) as f64 / period as f64).sin()
}

#[test]
fn sine_matches_its_formula() {
    let s = Signal::Sine { offset: 2048, amplitude: 1000, period_ms: 1000 };
    assert_eq!(s.at(0), 2048);
    assert_eq!(s.at(250), 3048);
    assert_eq!(s.at(500), 2048);
    assert_eq!(s.at(750), 1048);
    assert_eq!(s.at(1250), 3048, "periodic");
    for t in (0..5000).chain([u64::MAX - 3, 1 << 40]) {
        assert_eq!(s.at(t), table_sine(2048, 1000, 1000, t), "t={t}");
    }
    // Within one code of the exactly rounded sine, whatever the amplitude and period.
    for (offset, amplitude, period) in [(32768, 32767, 1000), (0, 65535, 997), (30000, 30000, 1 << 20), (100, 7, 3)] {
        let s = Signal::Sine { offset, amplitude, period_ms: period };
        for t in (0..20_000).step_by(7) {
            let ideal = ideal_sine(offset, amplitude, u64::from(period), t).round().clamp(0.0, 65535.0);
            assert!(
                (f64::from(s.at(t)) - ideal).abs() <= 1.0,
                "{offset} {amplitude} {period} t={t}: {} vs {ideal}",
                s.at(t)
            );
            assert_eq!(s.at(t), table_sine(offset, amplitude, u64::from(period), t));
        }
    }
    // Clamped at 0 and 65535.
    let low = Signal::Sine { offset: 10, amplitude: 100, period_ms: 40 };
    assert_eq!(low.at(30), 0);
    let high = Signal::Sine { offset: 65500, amplitude: 100, period_ms: 40 };
    assert_eq!(high.at(10), 65535);
    // Period 0 counts as 1 ms: sin(0) every time.
    assert_eq!(Signal::Sine { offset: 5, amplitude: 9, period_ms: 0 }.at(123), 5);
}

#[test]
fn sine_table_is_the_rounded_quarter_wave() {
    for (i, &q) in SINE_QUARTER.iter().enumerate() {
        assert_eq!(q, (65535.0 * (i as f64 * PI / 512.0).sin()).round() as u16, "entry {i}");
    }
}

#[test]
fn ramp_matches_its_formula() {
    let up = Signal::Ramp { from: 100, to: 1100, period_ms: 500 };
    assert_eq!(up.at(0), 100);
    assert_eq!(up.at(250), 600);
    assert_eq!(up.at(499), 100 + (1000u32 * 499 / 500) as u16);
    assert_eq!(up.at(500), 100);
    let down = Signal::Ramp { from: 1000, to: 0, period_ms: 3 };
    for t in 0..20u64 {
        let phase = (t % 3) as i64;
        assert_eq!(i64::from(down.at(t)), 1000 - 1000 * phase / 3, "t={t}");
    }
    assert_eq!(Signal::Ramp { from: 7, to: 9, period_ms: 0 }.at(99), 7);
}

#[test]
fn noise_is_seeded_splitmix64_per_millisecond() {
    let (seed, min, max) = (42u64, 100u16, 199u16);
    let s = Signal::Noise { seed, min, max };
    let mut gen = SplitMix64(seed);
    let mut seen = std::collections::HashSet::new();
    for t in 0..2000u64 {
        let expected = min + (gen.next() % 100) as u16;
        assert_eq!(s.at(t), expected, "t={t}");
        seen.insert(expected);
    }
    assert!(seen.len() > 90, "covers the range: {}", seen.len());
    assert_eq!(s.at(1234), s.at(1234), "a pure function of time");
    assert_ne!(
        (0..50).map(|t| s.at(t)).collect::<Vec<_>>(),
        (0..50).map(|t| Signal::Noise { seed: 43, min, max }.at(t)).collect::<Vec<_>>(),
        "the seed matters"
    );
    // min > max is swapped; full range works.
    let swapped = Signal::Noise { seed: 1, min: 10, max: 5 };
    assert!((0..100).all(|t| (5..=10).contains(&swapped.at(t))));
    let full = Signal::Noise { seed: 9, min: 0, max: u16::MAX };
    let mut gen = SplitMix64(9);
    assert!((0..100).all(|t| u64::from(full.at(t)) == gen.next() % 65536));
}

#[test]
fn constant_and_table() {
    assert!((0..100).all(|t| Signal::Constant(77).at(t * 1000) == 77));
    let samples = [5u16, 6, 7];
    let table = Signal::Table { samples: &samples, step_ms: 10 };
    let got: Vec<u16> = [0, 9, 10, 29, 30, 31, 75].iter().map(|&t| table.at(t)).collect();
    assert_eq!(got, [5, 5, 6, 7, 5, 5, 6]);
    assert_eq!(Signal::Table { samples: &[], step_ms: 10 }.at(3), 0);
    assert_eq!(Signal::Table { samples: &samples, step_ms: 0 }.at(4), 6, "step 0 counts as 1 ms");
}

#[test]
fn sim_adc_samples_at_the_simulated_time() {
    let time = SimTime::new();
    let signals = [
        Signal::Sine { offset: 2048, amplitude: 2047, period_ms: 100 },
        Signal::Ramp { from: 0, to: 4000, period_ms: 40 },
        Signal::Noise { seed: 7, min: 0, max: 4095 },
        Signal::Constant(9999),
    ];
    let mut adc = SimAdc::new(&time, &signals);
    assert_eq!(adc.channels(), 4);
    assert_eq!(adc.max_code(), 4095);
    let mut gen = SplitMix64(7);
    for step in 0..300u64 {
        let t = time.now_ms();
        assert_eq!(t, step * 3);
        assert_eq!(adc.read(0), Ok(table_sine(2048, 2047, 100, t)));
        assert_eq!(adc.read(1), Ok((4000 * (t % 40) / 40) as u16));
        // Noise at t is output t+1 of the generator: skip the ms in between.
        let mut z = 0;
        for _ in 0..if step == 0 { 1 } else { 3 } {
            z = gen.next();
        }
        assert_eq!(adc.read(2), Ok((z % 4096) as u16));
        assert_eq!(adc.read(3), Ok(4095), "clamped to 12 bits");
        time.advance_ms(3);
    }
    assert_eq!(adc.read(4), Err(HalError::BadChannel));
    assert_eq!(adc.reads(), 1200);

    // Sub-millisecond time does not change the sample (it is per ms).
    let before = adc.read(2);
    time.advance_us(999 - time.now_us() % 1000);
    assert_eq!(adc.read(2), before);

    let mut adc8 = SimAdc::new(&time, &signals).with_bits(8);
    assert_eq!(adc8.read(3), Ok(255));
    // A lower resolution scales the signal (12-bit codes), as a real converter does.
    let t = time.now_ms();
    assert_eq!(adc8.read(0), Ok(table_sine(2048, 2047, 100, t) >> 4));
    assert_eq!(adc8.read(1), Ok((4000 * (t % 40) / 40) as u16 >> 4));
    let mut adc16 = SimAdc::new(&time, &signals).with_bits(16);
    assert_eq!(adc16.read(1), Ok(((4000 * (t % 40) / 40) as u16) << 4));
    assert_eq!(adc16.read(3), Ok(65535), "clamped to 16 bits");
    assert_eq!(adc8.query(key::BITS), Ok(Value::U32(8)));
    adc8.fail_next(HalError::Busy);
    assert_eq!(adc8.read(3), Err(HalError::Busy));
    assert_eq!(adc8.read(3), Ok(255), "one failure only");
}

#[test]
fn sim_time_and_clock() {
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    assert_eq!(clock.now_us(), Ok(0));
    time.advance_ms(1500);
    time.advance_us(250);
    assert_eq!(clock.now_us(), Ok(1_500_250));
    assert_eq!(clock.now_ms(), Ok(1500));
    time.advance_to_ms(1000); // in the past: no effect
    assert_eq!(clock.now_ms(), Ok(1500));
    time.advance_to_ms(2000);
    assert_eq!(clock.query(key::NOW_MS), Ok(Value::I64(2000)));
    time.advance_ms(u64::MAX);
    assert_eq!(time.now_us(), u64::MAX, "saturates");
    clock.fail_next(HalError::Timeout);
    assert_eq!(clock.now_ms(), Err(HalError::Timeout));
    assert!(clock.support_clock().is_some() && clock.support_adc().is_none());
}

#[test]
fn sim_gpio_pins() {
    let mut gpio = SimGpio::new(8);
    assert_eq!(gpio.pins(), 8);
    assert_eq!(gpio.read(3), Ok(false));
    gpio.write(3, true).expect("pin 3");
    assert_eq!(gpio.read(3), Ok(true));
    assert_eq!(gpio.level(3), Some(true));
    gpio.drive(0, true).expect("pin 0 as an input");
    assert_eq!(gpio.read(0), Ok(true));
    assert_eq!(gpio.levels(), 0b1001);
    gpio.write(3, false).expect("pin 3");
    assert_eq!(gpio.levels(), 0b0001);
    assert_eq!(gpio.write(8, true), Err(HalError::BadChannel));
    assert_eq!(gpio.read(255), Err(HalError::BadChannel));
    assert_eq!(gpio.level(8), None);
    assert_eq!(gpio.writes(), 2);
    gpio.fail_next(HalError::BusError);
    assert_eq!(gpio.read(0), Err(HalError::BusError));
    assert_eq!(SimGpio::new(40).pins(), 32);
    assert_eq!(gpio.query(key::CHANNELS), Ok(Value::U32(8)));
}

#[test]
fn sim_i2c_register_map() {
    let mut i2c = SimI2c::new(0x48);
    i2c.set_register(0x00, 0x1A); // a temperature sensor's reading
    i2c.set_register(0x01, 0x80);
    let mut buf = [0u8; 2];
    i2c.write_read(0x48, &[0x00], &mut buf).expect("read temperature");
    assert_eq!(buf, [0x1A, 0x80]);
    assert_eq!(i2c.pointer(), 0x02);

    i2c.write(0x48, &[0x10, 1, 2, 3]).expect("write 3 registers");
    assert_eq!([i2c.register(0x10), i2c.register(0x11), i2c.register(0x12)], [1, 2, 3]);
    i2c.write(0x48, &[0x11]).expect("set the pointer");
    let mut two = [0u8; 2];
    i2c.read(0x48, &mut two).expect("read from the pointer");
    assert_eq!(two, [2, 3]);

    i2c.write(0x48, &[0xFF, 0xAA, 0xBB]).expect("wraps");
    assert_eq!((i2c.register(0xFF), i2c.register(0x00)), (0xAA, 0xBB));

    assert_eq!(i2c.write(0x49, &[0]), Err(HalError::NoAcknowledge));
    assert_eq!(i2c.read(0x80, &mut two), Err(HalError::InvalidArgument));
    i2c.write(0x48, &[]).expect("an address probe");
    i2c.fail_next(HalError::Busy);
    assert_eq!(i2c.write_read(0x48, &[0], &mut two), Err(HalError::Busy));
    assert_eq!(i2c.transactions(), 6, "failed ones do not count");

    i2c.configure(key::ADDRESS, Value::U32(0x50)).expect("new address");
    assert_eq!(i2c.write(0x48, &[0]), Err(HalError::NoAcknowledge));
    assert_eq!(i2c.query(key::ADDRESS), Ok(Value::U32(0x50)));
    assert_eq!(i2c.configure(key::ADDRESS, Value::U32(0x80)), Err(HalError::InvalidArgument));
}

#[test]
fn sim_spi_loopback() {
    let mut spi = SimSpi::new();
    let mut read = [0u8; 4];
    spi.transfer(&mut read, &[1, 2, 3, 4]).expect("transfer");
    assert_eq!(read, [1, 2, 3, 4]);
    let mut longer = [0xEEu8; 6];
    spi.transfer(&mut longer, &[9, 8]).expect("read longer than write");
    assert_eq!(longer, [9, 8, 0, 0, 0, 0]);
    let mut shorter = [0u8; 1];
    spi.transfer(&mut shorter, &[5, 6, 7]).expect("write longer than read");
    assert_eq!(shorter, [5]);
    let mut in_place = [0xA5, 0x5A];
    spi.transfer_in_place(&mut in_place).expect("in place");
    assert_eq!(in_place, [0xA5, 0x5A]);
    spi.write(&[1, 2, 3]).expect("write only");
    assert_eq!(spi.bytes(), 4 + 6 + 3 + 2 + 3);
    assert_eq!(spi.transfers(), 5);
    spi.fail_next(HalError::BusError);
    assert_eq!(spi.transfer_in_place(&mut in_place), Err(HalError::BusError));
    assert_eq!(spi.query(key::COUNT), Ok(Value::U32(18)));
}
