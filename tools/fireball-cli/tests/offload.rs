//! The offloader: `sys_read`/`sys_write` to a device that completes later park
//! only the calling task, lend its buffer to the device, answer with the byte
//! count or an error, and are bounded by a timeout; a denied URI is refused
//! and logged; a guest that dies mid-transfer has its transfer cancelled and
//! its buffer reclaimed. Run on the facade with the simulated slow CRC-32
//! accelerator, the file-backed SPI NOR flash and the I2C register sensor.

use std::cell::RefCell;

use fireball::coos::sched::{Fault, TaskState};
use fireball::sys::hal::sim::{crc32_stm32_update, SimClock, SimCrc32, SimI2c, SimNorFlash, SimTime, CRC32_STM32_INIT};
use fireball::{Builder, Guest, Limit, Parts, Ram, System, Time};

/// `app`: t0, then sys_write("hal/crc/0", "123456789") (9), t1, sys_read of the CRC (4), the CRC,
/// each on port 0; then it returns.
const APP: &str = r#"(module
  (import "env" "sys_write" (func $w (param i32 i32 i32) (result i32)))
  (import "env" "sys_read" (func $r (param i32 i32 i32) (result i32)))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "hal_get_time_ms" (func $now (result i32)))
  (memory 1)
  (data (i32.const 16) "hal/crc/0\00")
  (data (i32.const 64) "123456789")
  (func (export "_start")
    (call $send (i32.const 0) (call $now))
    (call $send (i32.const 0) (call $w (i32.const 16) (i32.const 64) (i32.const 9)))
    (call $send (i32.const 0) (call $now))
    (call $send (i32.const 0) (call $r (i32.const 16) (i32.const 128) (i32.const 4)))
    (call $send (i32.const 0) (i32.load (i32.const 128)))))"#;

/// `ticker`: counts on its port 0 forever, yielding between counts.
const TICKER: &str = r#"(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "co_yield" (func $yield))
  (func (export "run") (local $n i32)
    (loop (call $send (i32.const 0) (local.get $n))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (call $yield) (br 0))))"#;

fn ram() -> &'static mut [u8] {
    Box::leak(Box::new(Ram::<{ 64 * 1024 }>::new())).bytes()
}

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("wat")
}

/// The sinks' messages: `(sink index, value)` in order.
type Drained = RefCell<Vec<(usize, u32)>>;

fn values(drained: &Drained, sink: usize) -> Vec<u32> {
    drained.borrow().iter().filter(|(k, _)| *k == sink).map(|&(_, v)| v).collect()
}

fn task_of(sys: &System<'_>, name: &str) -> (u8, TaskState) {
    sys.modules().find(|m| m.name == name).map(|m| (m.task, m.state)).expect("module")
}

#[test]
fn an_offloaded_transfer_parks_only_its_task() {
    let (app, ticker) = (wasm(APP), wasm(TICKER));
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    let mut crc = SimCrc32::new(&time, 50);
    let drained: Drained = RefCell::new(Vec::new());
    let mut on_sink = |k: usize, v: u32| drained.borrow_mut().push((k, v));
    let mut parts = Parts::new();
    let mut sys = Builder::new(ram())
        .device("clock", &mut clock)
        .device("crc/0", &mut crc)
        .guest(Guest::app("app", &app))
        .guest(Guest::service("ticker", &ticker))
        .on_sink(&mut on_sink)
        .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
        .build(&mut parts)
        .unwrap_or_else(|e| panic!("{e}"));

    // 10 ms in: the app is parked in the write, its buffer lent; the ticker runs.
    sys.run_for(Limit::Millis(10));
    assert_eq!(task_of(&sys, "app").1, TaskState::Blocked);
    assert_eq!(sys.kernel().lent(), 1, "the guest's buffer is lent to the device");
    assert_eq!(sys.router().borrow().pending_transfers(), 1);
    let ticks = values(&drained, 1).len();
    sys.run_for(Limit::Millis(30));
    assert_eq!(task_of(&sys, "app").1, TaskState::Blocked, "still parked at 30 ms");
    assert!(values(&drained, 1).len() > ticks + 1000, "the other task kept running: {ticks} -> {}", values(&drained, 1).len());
    assert_eq!(values(&drained, 0).len(), 1, "the app sent only t0 so far");

    // Done after the accelerator's 50 ms: the byte count, then the CRC it computed from the lent buffer.
    sys.run_for(Limit::Millis(80));
    let out = values(&drained, 0);
    assert_eq!(out.len(), 5, "{out:?}");
    assert_eq!(out[1], 9);
    assert!(out[2] - out[0] >= 50, "parked for the device's delay: {out:?}");
    assert_eq!((out[3], out[4]), (4, crc32_stm32_update(CRC32_STM32_INIT, b"123456789")));
    assert_eq!(sys.kernel().lent(), 0, "given back on completion");
    assert_eq!(task_of(&sys, "app").1, TaskState::Done);
    assert_eq!(task_of(&sys, "ticker").1, TaskState::Ready);
}

#[test]
fn a_denied_transfer_returns_the_denial_and_is_logged() {
    let app = wasm(APP);
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    let mut crc = SimCrc32::new(&time, 50);
    let drained: Drained = RefCell::new(Vec::new());
    let mut on_sink = |k: usize, v: u32| drained.borrow_mut().push((k, v));
    let mut log = String::new();
    {
        let mut parts = Parts::new();
        let mut sys = Builder::new(ram())
            .device("clock", &mut clock)
            .device("crc/0", &mut crc)
            .guest(Guest::app("app", &app))
            .manifest("grant app hal/clock log\nsink app:0\n")
            .on_sink(&mut on_sink)
            .log_to(&mut log)
            .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
            .build(&mut parts)
            .unwrap_or_else(|e| panic!("{e}"));
        sys.run_for(Limit::Millis(5));
        assert_eq!(sys.router_stats().denied, 2, "the write and the read");
        assert_eq!(sys.kernel().lent(), 0);
    }
    let out = values(&drained, 0);
    assert_eq!((out[1] as i32, out[3] as i32), (-11, -11), "{out:?}");
    assert!(log.contains("WARN  app: denied an offloaded transfer (9-byte URI)"), "{log}");
    assert!(!crc.busy(), "the device never saw it");
}

#[test]
fn a_device_that_never_completes_fails_only_that_call_after_the_timeout() {
    let (app, ticker) = (wasm(APP), wasm(TICKER));
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    let mut crc = SimCrc32::new(&time, 50);
    crc.stall();
    let drained: Drained = RefCell::new(Vec::new());
    let mut on_sink = |k: usize, v: u32| drained.borrow_mut().push((k, v));
    let mut log = String::new();
    {
        let mut parts = Parts::new();
        let mut sys = Builder::new(ram())
            .device("clock", &mut clock)
            .device("crc/0", &mut crc)
            .guest(Guest::app("app", &app))
            .guest(Guest::service("ticker", &ticker))
            .on_sink(&mut on_sink)
            .log_to(&mut log)
            .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
            .build(&mut parts)
            .unwrap_or_else(|e| panic!("{e}"));
        sys.router().borrow_mut().set_offload_timeout(100);
        sys.run_for(Limit::Millis(99));
        assert_eq!(task_of(&sys, "app").1, TaskState::Blocked);
        sys.run_for(Limit::Millis(200));
        assert_eq!(task_of(&sys, "app").1, TaskState::Done, "the app went on after the failed call");
        assert_eq!(task_of(&sys, "ticker").1, TaskState::Ready, "and nobody else noticed");
        assert_eq!((sys.kernel().lent(), sys.router().borrow().pending_transfers()), (0, 0));
    }
    let out = values(&drained, 0);
    assert_eq!(out[1] as i32, -10, "Timeout: {out:?}");
    assert!(out[2] - out[0] >= 100, "{out:?}");
    assert_eq!(out[3], 4, "the next call on the same device works: {out:?}");
    assert!(log.contains("app: offloaded transfer timed out after 100 ms"), "{log}");
    assert_eq!(crc.cancelled(), 1);
    assert!(values(&drained, 1).len() > 10_000, "the ticker ran throughout");
}

#[test]
fn a_guest_that_dies_mid_transfer_gets_its_buffer_reclaimed() {
    let (app, ticker) = (wasm(APP), wasm(TICKER));
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    let mut crc = SimCrc32::new(&time, 50);
    let drained: Drained = RefCell::new(Vec::new());
    let mut on_sink = |k: usize, v: u32| drained.borrow_mut().push((k, v));
    {
        let mut parts = Parts::new();
        let mut sys = Builder::new(ram())
            .device("clock", &mut clock)
            .device("crc/0", &mut crc)
            .guest(Guest::app("app", &app))
            .guest(Guest::service("ticker", &ticker))
            .manifest("grant app *\ngrant ticker *\nsink app:0\nsink ticker:0\nrestart app 1\n")
            .on_sink(&mut on_sink)
            .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
            .build(&mut parts)
            .unwrap_or_else(|e| panic!("{e}"));
        sys.run_for(Limit::Millis(10));
        let (t, state) = task_of(&sys, "app");
        assert_eq!((state, sys.kernel().lent()), (TaskState::Blocked, 1));
        // It dies while the device holds its buffer: the transfer is cancelled and the
        // buffer reclaimed at once; the restart policy loads it again.
        sys.kernel().terminate(t, Fault::Killed);
        assert_eq!((sys.kernel().lent(), sys.router().borrow().pending_transfers()), (0, 0));
        sys.run_for(Limit::Millis(200));
        let m = sys.modules().find(|m| m.name == "app").expect("app");
        assert_eq!((m.restarts, m.state), (1, TaskState::Done), "the restarted app's transfer completed");
        assert_eq!(sys.kernel().lent(), 0);
    }
    assert_eq!(crc.cancelled(), 1);
    let out = values(&drained, 0);
    // First life: t0 only. Second life: the whole sequence, the device not left busy.
    assert_eq!(out.len(), 6, "{out:?}");
    assert_eq!((out[2], out[4], out[5]), (9, 4, crc32_stm32_update(CRC32_STM32_INIT, b"123456789")));
}

#[test]
fn a_flash_and_i2c_registers_through_the_same_calls() {
    // The SPI NOR flash: program "fireball" at offset 0x100 (completes after a page time), read it back.
    let path = std::env::temp_dir().join(format!("fireball-flash-{}.bin", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let guest = wasm(
        r#"(module
          (import "env" "sys_write" (func $w (param i32 i32 i32) (result i32)))
          (import "env" "sys_read" (func $r (param i32 i32 i32) (result i32)))
          (import "env" "sys_request" (func $req (param i32 i32 i32 i32 i32 i32) (result i32)))
          (import "env" "ch_send" (func $send (param i32 i32)))
          (memory 1)
          (data (i32.const 16) "hal/flash/0\00")
          (data (i32.const 32) "hal/i2c/0\00")
          (data (i32.const 48) "fireball")
          ;; SET {OFFSET = 0x100}: 2 entries, op u32 2, key 0x0c u32 0x100
          (data (i32.const 64) "\02\00\03\02\00\00\00\0c\03\00\01\00\00")
          (func $seek (call $send (i32.const 0)
            (call $req (i32.const 16) (i32.const 11) (i32.const 64) (i32.const 13) (i32.const 96) (i32.const 16))))
          (func (export "_start")
            (call $seek)
            (call $send (i32.const 0) (call $w (i32.const 16) (i32.const 48) (i32.const 8)))
            (call $seek)
            (call $send (i32.const 0) (call $r (i32.const 16) (i32.const 128) (i32.const 8)))
            (call $send (i32.const 0) (i32.load (i32.const 128)))
            ;; I2C: set the register pointer to 2 (a write of one byte), read two registers.
            (i32.store8 (i32.const 160) (i32.const 2))
            (call $send (i32.const 0) (call $w (i32.const 32) (i32.const 160) (i32.const 1)))
            (call $send (i32.const 0) (call $r (i32.const 32) (i32.const 164) (i32.const 2)))
            (call $send (i32.const 0) (i32.load16_u (i32.const 164)))))"#,
    );
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    let mut flash = SimNorFlash::open(&path, 4096, &time, 3).expect("flash file");
    let mut i2c = SimI2c::new(0x48);
    i2c.set_register(2, 0xAB);
    i2c.set_register(3, 0xCD);
    let drained: Drained = RefCell::new(Vec::new());
    let mut on_sink = |k: usize, v: u32| drained.borrow_mut().push((k, v));
    {
        let mut parts = Parts::new();
        let mut sys = Builder::new(ram())
            .device("clock", &mut clock)
            .device("flash/0", &mut flash)
            .device("i2c/0", &mut i2c)
            .guest(Guest::app("app", &guest))
            .on_sink(&mut on_sink)
            .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
            .build(&mut parts)
            .unwrap_or_else(|e| panic!("{e}"));
        sys.run_for(Limit::Millis(50));
        assert_eq!(task_of(&sys, "app").1, TaskState::Done);
    }
    let out = values(&drained, 0);
    assert_eq!(out, vec![1, 8, 1, 8, u32::from_le_bytes(*b"fire"), 1, 2, 0xCDAB], "{out:?}");
    // The file holds it, at 0x100, the rest still erased.
    let bytes = std::fs::read(&path).expect("read back");
    assert_eq!(&bytes[0x100..0x108], b"fireball");
    assert!(bytes[..0x100].iter().all(|&b| b == 0xFF));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_c_example_offloads_its_crc_from_the_cli() {
    // examples/checksum on `fireball run`'s simulated accelerator (hal/crc/0, 5 ms a write):
    // every 100 ms, 32 ADC samples in, the running CRC out on port 0.
    use fireball_cli::system::{self, Limit as RunLimit, ModuleSpec, RunConfig};
    let bytes = std::fs::read(format!("{}/../../examples/checksum/checksum.wasm", env!("CARGO_MANIFEST_DIR"))).expect("example");
    let mut out = Vec::new();
    let r = system::run(RunConfig {
        app: Some(ModuleSpec::new("checksum.wasm", bytes, None)),
        services: vec![],
        ram: 32 * 1024,
        adc: vec![fireball::sys::hal::sim::Signal::Noise { seed: 3, min: 0, max: 4095 }],
        limit: RunLimit::Millis(350),
        manifest: None,
        seed: 1,
        out: &mut out,
        stop: None,
        task_stack: None,
        log_level: None,
        realtime_at_boot_us: 0,
        stdin: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out);
    let mut crc = CRC32_STM32_INIT;
    let expected: Vec<u32> = r
        .adc_reads
        .chunks_exact(32)
        .map(|block| {
            let bytes: Vec<u8> = block.iter().flat_map(|&(_, v)| (v as i16).to_le_bytes()).collect();
            crc = crc32_stm32_update(crc, &bytes);
            crc
        })
        .collect();
    assert_eq!(r.sinks[0].values, expected, "{text}");
    assert_eq!(expected.len(), 4, "{text}");
    assert_eq!(r.log.matches("checksum: e1 5").count(), 4, "each write parked it for the device's 5 ms: {text}");
}

#[test]
fn the_uart_service_example_writes_its_lines_from_the_cli() {
    // examples/uart-hello as a service next to the sensor app, on `fireball run`'s
    // simulated UART (hal/uart/1, 115 200 baud: 8 ms for each 81-byte line, parked).
    use fireball_cli::system::{self, Limit as RunLimit, ModuleSpec, RunConfig};
    let example = |p: &str| std::fs::read(format!("{}/../../examples/{p}", env!("CARGO_MANIFEST_DIR"))).expect("example");
    let mut out = Vec::new();
    let r = system::run(RunConfig {
        app: Some(ModuleSpec::new("sensor.wasm", example("sensor/sensor.wasm"), None)),
        services: vec![ModuleSpec::new("uart_hello.wasm", example("uart-hello/uart_hello.wasm"), None)],
        ram: 64 * 1024,
        adc: vec![fireball::sys::hal::sim::Signal::Noise { seed: 3, min: 0, max: 4095 }],
        limit: RunLimit::Millis(400),
        manifest: None,
        seed: 1,
        out: &mut out,
        stop: None,
        task_stack: None,
        log_level: None,
        realtime_at_boot_us: 0,
        stdin: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out);
    let line = "fireball: a service's sys_write on hal/uart/1, parked until the last byte is out\n";
    assert_eq!(text.matches(line).count(), 3, "{text}");
    assert_eq!(r.log.matches("uart_hello: e1 81").count(), 3, "every write returned its 81 bytes: {text}");
    // Each write completed 8 ms after it started: the service was parked in between.
    assert!(r.log.contains("[    0.008] INFO  uart_hello: e1 81"), "{}", r.log);
}
