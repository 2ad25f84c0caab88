//! GPIO, I2C and SPI for guests: typed key-value requests to `hal/gpio/N`,
//! `hal/i2c/N` and `hal/spi/N` through the router (its grants and errors), with
//! the example guests `examples/blink` (the LED blinks, fast while the button is
//! held) and `examples/i2c-sensor` (a TMP102-style sensor read every 100 ms).

use std::cell::Cell;

use fireball::sys::hal::sim::{SimClock, SimI2c, SimTime};
use fireball::sys::hal::{Device, Gpio, HalError};
use fireball::{Builder, Guest, Limit, Parts, Ram, Time};
use fireball_cli::system::{self, Limit as RunLimit, ModuleSpec, Report, RunConfig};

fn example(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../examples/{path}", env!("CARGO_MANIFEST_DIR"))).expect("example")
}

fn run(app: ModuleSpec, ms: u64, manifest: Option<&str>) -> (Report, String) {
    let mut out = Vec::new();
    let report = system::run(RunConfig {
        app: Some(app),
        services: vec![],
        ram: 64 * 1024,
        adc: vec![],
        limit: RunLimit::Millis(ms),
        manifest: manifest.map(str::to_string),
        seed: 1,
        out: &mut out,
        stop: None,
        task_stack: None,
        log_level: None,
        realtime_at_boot_us: 0,
        stdin: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (report, String::from_utf8_lossy(&out).into_owned())
}

/// A Nucleo's LED (pin 0) and button (pin 1, low while pressed), seen from the test.
#[derive(Default)]
struct Board {
    led: Cell<bool>,
    led_writes: Cell<u32>,
    pressed: Cell<bool>,
}

struct BoardGpio<'a>(&'a Board);

impl Gpio for BoardGpio<'_> {
    fn pins(&self) -> u8 {
        2
    }

    fn read(&mut self, pin: u8) -> Result<bool, HalError> {
        match pin {
            0 => Ok(self.0.led.get()),
            1 => Ok(!self.0.pressed.get()),
            _ => Err(HalError::BadChannel),
        }
    }

    fn write(&mut self, pin: u8, high: bool) -> Result<(), HalError> {
        match pin {
            0 => {
                self.0.led.set(high);
                self.0.led_writes.set(self.0.led_writes.get() + 1);
                Ok(())
            }
            1 => Err(HalError::NotSupported),
            _ => Err(HalError::BadChannel),
        }
    }
}

impl Device for BoardGpio<'_> {
    fn support_gpio(&mut self) -> Option<&mut dyn Gpio> {
        Some(self)
    }
}

#[test]
fn blink_follows_the_button() {
    let bytes = example("blink/blink.wasm");
    let board = Board::default();
    let time = SimTime::new();
    let mut gpio = BoardGpio(&board);
    let mut clock = SimClock::new(&time);
    let toggles = std::cell::RefCell::new(Vec::new());
    let mut on_sink = |_: usize, v: u32| toggles.borrow_mut().push(v);
    let mut parts = Parts::new();
    let mut sys = Builder::new(Box::leak(Box::new(Ram::<{ 32 * 1024 }>::new())).bytes())
        .device("clock", &mut clock)
        .device("gpio/0", &mut gpio)
        .guest(Guest::app("blink", &bytes))
        .on_sink(&mut on_sink)
        .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
        .build(&mut parts)
        .unwrap_or_else(|e| panic!("{e}"));
    // Released: a toggle every 500 ms.
    sys.run_for(Limit::Millis(2_050));
    let slow = toggles.borrow().len();
    assert_eq!(slow, 4, "{:?}", toggles.borrow());
    assert!(toggles.borrow().iter().all(|v| v & 2 == 0), "never pressed");
    // Held: a toggle every 100 ms.
    board.pressed.set(true);
    sys.run_for(Limit::Millis(3_050));
    let fast: Vec<u32> = toggles.borrow()[slow..].to_vec();
    assert!((9..=11).contains(&fast.len()), "{fast:?}");
    assert!(fast.iter().skip(1).all(|v| v & 2 == 2), "{fast:?}");
    // The LED is what the guest last wrote, once per toggle.
    assert_eq!(board.led_writes.get() as usize, toggles.borrow().len());
    assert_eq!(u32::from(board.led.get()), toggles.borrow().last().copied().unwrap_or(0) & 1);
    assert_eq!(sys.router_stats().denied, 0);
}

#[test]
fn i2c_sensor_reads_its_register_and_sees_the_bus_errors() {
    // The CLI's simulated sensor reads 25.0 °C: 400 sixteenths, every 100 ms.
    let (r, out) = run(ModuleSpec::new("i2c_sensor.wasm", example("i2c-sensor/i2c_sensor.wasm"), None), 450, None);
    assert_eq!(r.sinks[0].values, vec![400; 5], "{out}");
    assert!(r.log.contains("i2c_sensor: e1 400"), "{out}");

    // Not granted: -11, logged as a denied request, and the guest's own warning carries the code.
    let (r, out) = run(
        ModuleSpec::new("i2c_sensor.wasm", example("i2c-sensor/i2c_sensor.wasm"), None),
        150,
        Some("grant i2c_sensor hal/clock log\nsink i2c_sensor:0\n"),
    );
    assert!(r.sinks[0].values.is_empty(), "{out}");
    assert!(r.router.denied >= 2, "{:?}", r.router);
    assert!(r.log.contains("i2c_sensor: denied a sys_request (9-byte URI)"), "{out}");
    assert!(r.log.contains("i2c_sensor: e2 -11"), "{out}");

    // No target at the address: the bus's NoAcknowledge (-8).
    let bytes = example("i2c-sensor/i2c_sensor.wasm");
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    let mut i2c = SimI2c::new(0x49);
    let mut log = String::new();
    let mut parts = Parts::new();
    let mut sys = Builder::new(Box::leak(Box::new(Ram::<{ 32 * 1024 }>::new())).bytes())
        .device("clock", &mut clock)
        .device("i2c/0", &mut i2c)
        .guest(Guest::app("i2c_sensor", &bytes))
        .log_to(&mut log)
        .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
        .build(&mut parts)
        .unwrap_or_else(|e| panic!("{e}"));
    sys.run_for(Limit::Millis(50));
    drop(sys);
    assert!(log.contains("i2c_sensor: e2 -8"), "{log}");
}

/// A guest that sends one hand-encoded request to `uri` and sends the result and
/// the first reply word on port 0.
fn request_probe(uri: &str, msg: &[u8]) -> ModuleSpec {
    let hex = |b: &[u8]| b.iter().map(|x| format!("\\{x:02x}")).collect::<String>();
    let wat = format!(
        r#"(module
          (import "env" "sys_request" (func $req (param i32 i32 i32 i32 i32 i32) (result i32)))
          (import "env" "ch_send" (func $send (param i32 i32)))
          (memory 1)
          (data (i32.const 16) "{}")
          (data (i32.const 64) "{}")
          (func (export "_start")
            (call $send (i32.const 0)
              (call $req (i32.const 16) (i32.const {}) (i32.const 64) (i32.const {}) (i32.const 128) (i32.const 64)))
            (call $send (i32.const 0) (i32.load (i32.const 128)))
            (call $send (i32.const 0) (i32.load (i32.const 132)))))"#,
        hex(uri.as_bytes()),
        hex(msg),
        uri.len(),
        msg.len()
    );
    ModuleSpec::named("probe", wat::parse_str(&wat).expect("wat"))
}

#[test]
fn spi_gpio_and_i2c_requests_over_the_wire() {
    // SPI TRANSFER {DATA = 1 2 3} on the loopback: the reply is {DATA = 1 2 3}.
    let msg = [2, 0, 0x03, 5, 0, 0, 0, 0x0A, 0x06, 3, 1, 2, 3];
    let (r, out) = run(request_probe("hal/spi/0", &msg), 5, None);
    assert_eq!(r.sinks[0].values, vec![7, u32::from_le_bytes([1, 0x0A, 0x06, 3]), u32::from_le_bytes([1, 2, 3, 0])], "{out}");

    // GPIO READ {PIN = 1}: the simulated button is released (high): {LEVEL = true}.
    let msg = [2, 0, 0x03, 3, 0, 0, 0, 0x08, 0x03, 1, 0, 0, 0];
    let (r, out) = run(request_probe("hal/gpio/0", &msg), 5, None);
    assert_eq!(r.sinks[0].values[..2], [4, u32::from_le_bytes([1, 0x09, 0x01, 1])], "{out}");

    // I2C TRANSFER without LEN: InvalidArgument (-4); a GET on the bus is still configuration.
    let msg = [3, 0, 0x03, 5, 0, 0, 0, 0x05, 0x03, 0x48, 0, 0, 0, 0x0A, 0x06, 1, 0];
    let (r, _) = run(request_probe("hal/i2c/0", &msg), 5, None);
    assert_eq!(r.sinks[0].values[0] as i32, HalError::InvalidArgument.code());

    // A pin operation on a device with neither pins nor a bus (the clock): NotSupported (-2).
    let msg = [2, 0, 0x03, 3, 0, 0, 0, 0x08, 0x03, 0, 0, 0, 0];
    let (r, _) = run(request_probe("hal/clock", &msg), 5, None);
    assert_eq!(r.sinks[0].values[0] as i32, HalError::NotSupported.code());

    // A LEN past MAX_TRANSFER: InvalidArgument (-4), a value out of its range (the guest
    // SDKs refuse such a transfer before sending it, with TooLong).
    let msg = [2, 0, 0x03, 3, 0, 0, 0, 0x0B, 0x03, 200, 0, 0, 0];
    let (r, _) = run(request_probe("hal/spi/0", &msg), 5, None);
    assert_eq!(r.sinks[0].values[0] as i32, HalError::InvalidArgument.code());
}

#[test]
fn the_rust_guest_blinks_and_reads_the_sensor() {
    // examples/rust-hal: toggles on port 0 (button released: every 500 ms), readings on port 1.
    let manifest = "grant hal hal/clock hal/gpio/0 hal/i2c/0 log\nsink hal:0\nsink hal:1\n";
    let (r, out) = run(ModuleSpec::new("hal.wasm", example("rust-hal/hal.wasm"), None), 1_050, Some(manifest));
    assert_eq!(r.sinks[0].values, vec![1, 0], "{out}");
    assert_eq!(r.sinks[1].values, vec![400; 11], "{out}");
    assert!(r.log.contains("hal: e1 400"), "{out}");
    assert_eq!(r.router.denied, 0, "{out}");
}
