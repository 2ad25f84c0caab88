//! The whole system on the host simulator, at its edges: access control, a
//! service that faults while the guest runs on, logger overflow, malformed
//! key-value messages. Guests are small text modules written for each case.

use fireball_cli::system::{self, Limit, ModuleSpec, Report, RunConfig};
use fireball_coos::sched::{Fault, TaskState};
use fireball_sys::hal::sim::Signal;
use fireball_wasm::TrapCode;

fn wat(name: &str, text: &str) -> ModuleSpec {
    ModuleSpec::named(name, wat::parse_str(text).expect("wat"))
}

fn example(path: &str) -> ModuleSpec {
    let bytes = std::fs::read(format!("{}/../../examples/{path}", env!("CARGO_MANIFEST_DIR"))).expect("example");
    ModuleSpec::new(path, bytes, None)
}

fn run(app: ModuleSpec, services: Vec<ModuleSpec>, ms: u64, manifest: Option<&str>) -> (Report, String) {
    let mut out = Vec::new();
    let report = system::run(RunConfig {
        app: Some(app),
        services,
        ram: 64 * 1024,
        adc: vec![Signal::Ramp { from: 0, to: 4000, period_ms: 10 }],
        limit: Limit::Millis(ms),
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

#[test]
fn a_denied_endpoint_returns_an_error_and_is_logged() {
    // The sensor may read the ADC but not transmit; its port 0 is a sink.
    let manifest = "grant sensor hal/adc/0\nsink sensor:0\n";
    let (r, out) = run(example("sensor/sensor.wasm"), vec![], 20, Some(manifest));
    assert!(r.tx.is_empty(), "no frame left the radio");
    assert!(r.router.denied > 0, "{:?}", r.router);
    assert!(r.log.contains("sensor: denied hal/tx"), "{out}");
    assert_eq!(r.tasks[0].state, TaskState::Ready, "the guest runs on: {:?}", r.tasks[0]);
    assert!(r.adc_reads.len() > 64, "and keeps sampling");

    // What the guest sees: -11 from hal_tx_send, and a port nobody wired is refused.
    let probe = wat(
        "probe",
        r#"(module
          (import "env" "hal_tx_send" (func $tx (param i32 i32) (result i32)))
          (import "env" "ch_send" (func $send (param i32 i32)))
          (memory 1)
          (func (export "_start")
            (call $send (i32.const 0) (call $tx (i32.const 0) (i32.const 4)))
            (call $send (i32.const 3) (i32.const 99))))"#,
    );
    let (r, out) = run(probe, vec![], 5, Some("grant probe log\nsink probe:0\n"));
    assert_eq!(r.sinks[0].values, vec![-11i32 as u32], "{out}");
    assert!(r.log.contains("probe: denied channel port 3"), "{out}");
    assert_eq!(r.tasks[0].state, TaskState::Done);
    assert_eq!(r.router.denied, 2);
}

/// A service that runs a few slices, then does something fatal — for itself.
fn failing_service(how: &str) -> ModuleSpec {
    let body = match how {
        "trap" => "(unreachable)",
        // Grows its memory until the sub-heap has no more to give (memory.grow
        // returns -1 at the partition's edge), then aborts as C does when malloc fails.
        "oom" => "(loop (br_if 0 (i32.ne (memory.grow (i32.const 64)) (i32.const -1)))) (unreachable)",
        // Sends itself a value (ports 2 and 1 share a channel), then asks the
        // kernel to store it outside its memory.
        "protocol" => "(call $send (i32.const 2) (i32.const 5)) (call $recv (i32.const 1) (i32.const -4))",
        _ => unreachable!(),
    };
    wat(
        "svc",
        &format!(
            r#"(module
              (import "env" "co_yield" (func $yield))
              (import "env" "ch_recv" (func $recv (param i32 i32)))
              (import "env" "ch_send" (func $send (param i32 i32)))
              (memory 0 (pagesize 1))
              (func (export "run") (local $i i32)
                (loop (call $yield) (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br_if 0 (i32.lt_u (local.get $i) (i32.const 20))))
                {body}))"#
        ),
    )
}

#[test]
fn a_faulting_service_is_terminated_and_the_guest_runs_on() {
    let manifest = "grant sensor hal/adc/0 hal/tx\ngrant svc log\nsink sensor:0\nconnect svc:1 svc:2\n";
    for (how, want) in [
        ("trap", Fault::Trap(TrapCode::Unreachable)),
        ("oom", Fault::Trap(TrapCode::Unreachable)),
        ("protocol", Fault::BadImport),
    ] {
        let (r, out) = run(example("sensor/sensor.wasm"), vec![failing_service(how)], 60, Some(manifest));
        let svc = &r.tasks[1];
        assert_eq!(svc.state, TaskState::Terminated, "{how}: {out}");
        assert_eq!(svc.fault, Some(want), "{how}");
        assert!(out.contains("[svc] terminated"), "{how}: {out}");
        let app = &r.tasks[0];
        assert_eq!(app.fault, None, "{how}");
        assert!(r.tx.len() >= 10, "{how}: the guest kept transmitting ({} frames)", r.tx.len());
    }
}

#[test]
fn logger_overflow_is_counted() {
    // 300 events in one slice: the 256-event ring keeps the newest, counts 44 dropped.
    let chatty = wat(
        "chatty",
        r#"(module
          (import "env" "log_event" (func $log (param i32 i32 i32) (result i32)))
          (func (export "_start") (local $i i32)
            (loop (drop (call $log (i32.const 3) (i32.const 7) (local.get $i)))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if 0 (i32.lt_u (local.get $i) (i32.const 300))))))"#,
    );
    let (r, out) = run(chatty, vec![], 5, None);
    assert_eq!(r.log_dropped, 44, "{out}");
    assert!(out.contains("(44 events dropped)"));
    assert_eq!(r.log.lines().filter(|l| l.contains("chatty: e7")).count(), 256);
    assert!(r.log.contains("chatty: e7 299"), "the newest event is kept");
}

#[test]
fn a_malformed_message_is_an_error_for_its_sender_only() {
    // sys_request to the ADC: first a message whose count says 3 entries but
    // holds one (-12, logged with the offset), then a good GET of key 2 (bits).
    let guest = wat(
        "kv",
        r#"(module
          (import "env" "sys_request" (func $req (param i32 i32 i32 i32 i32 i32) (result i32)))
          (import "env" "ch_send" (func $send (param i32 i32)))
          (memory 1)
          (data (i32.const 0) "hal/adc/0")
          ;; count 3, then only key 0 (u32) = 1
          (data (i32.const 16) "\03\00\03\01\00\00\00")
          ;; count 2: key 0 (u32) = 1 (get), key 2 (u32) = 0
          (data (i32.const 32) "\02\00\03\01\00\00\00\02\03\00\00\00\00")
          (func (export "_start")
            (call $send (i32.const 0) (call $req (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 7) (i32.const 64) (i32.const 32)))
            (call $send (i32.const 0) (call $req (i32.const 0) (i32.const 9) (i32.const 32) (i32.const 13) (i32.const 64) (i32.const 32)))
            ;; the reply: count 1, key 2, u32 12
            (call $send (i32.const 0) (i32.load (i32.const 64)))
            (call $send (i32.const 0) (i32.load16_u (i32.const 68)))))"#,
    );
    let (r, out) = run(guest, vec![], 5, Some("grant kv hal/adc/* log\nsink kv:0\n"));
    let v: Vec<i32> = r.sinks[0].values.iter().map(|&v| v as i32).collect();
    assert_eq!(v[0], -12, "{out}");
    assert_eq!(v[1], 7, "reply length");
    assert_eq!(v[2], i32::from_le_bytes([1, 2, 3, 12]), "count 1, key 2, type u32, value 12 (bits)");
    assert_eq!(v[3], 0);
    assert!(r.log.contains("kv: malformed key-value message at byte"), "{out}");
    assert_eq!(r.router.bad_messages, 1);
    assert_eq!(r.tasks[0].state, TaskState::Done);
}

#[test]
fn the_restart_policy_loads_a_faulting_service_again() {
    let manifest = "grant sensor hal/adc/0 hal/tx\ngrant svc log\nsink sensor:0\nrestart svc 2\n";
    let (r, out) = run(example("sensor/sensor.wasm"), vec![failing_service("trap")], 60, Some(manifest));
    assert!(out.contains("[svc] restarted (1 of 2)") && out.contains("[svc] restarted (2 of 2)"), "{out}");
    assert_eq!(out.matches("[svc] terminated").count(), 3, "{out}");
    let svc = &r.tasks[1];
    assert_eq!((svc.restarts, svc.state), (2, TaskState::Terminated));
    assert_eq!(r.tasks[0].fault, None);
    assert!(r.tx.len() >= 10);
}

#[test]
fn a_guests_stdout_is_printed_once() {
    // Two fd_write calls to stdout ("hi\n", then "there\n" split over two iovecs):
    // each line once on the console, prefixed with the module's name, and no
    // logger line repeating it ("wrote N bytes" is a DEBUG event, filtered out).
    let guest = wat(
        "hello",
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (memory 1)
          (data (i32.const 0) "\40\00\00\00\03\00\00\00")
          (data (i32.const 8) "\43\00\00\00\03\00\00\00\46\00\00\00\03\00\00\00")
          (data (i32.const 64) "hi\nthere\n")
          (func (export "_start")
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
            (drop (call $write (i32.const 1) (i32.const 8) (i32.const 2) (i32.const 32)))))"#,
    );
    let (r, out) = run(guest, vec![], 5, None);
    assert_eq!(out.matches("[hello] hi\n").count(), 1, "{out}");
    assert_eq!(out.matches("[hello] there\n").count(), 1, "{out}");
    assert!(!out.contains("wrote"), "{out}");
    assert!(!r.log.contains("hello:"), "{}", r.log);
    assert_eq!(r.tasks[0].state, TaskState::Done);
}

#[test]
fn a_module_may_start_with_a_rust_sized_table() {
    // Rust std programs start with 50-70 table entries (CoreMark: 65); the
    // runner once refused anything past 64 ("table minimum exceeds the host limit").
    let guest = wat("tabled", r#"(module (table 65 funcref) (func (export "_start")))"#);
    let (r, out) = run(guest, vec![], 5, None);
    assert_eq!(r.tasks[0].state, TaskState::Done, "{out}");
    let too_big = wat("huge", r#"(module (table 1025 funcref) (func (export "_start")))"#);
    let mut sink = Vec::new();
    let Err(err) = system::run(RunConfig {
        app: Some(too_big),
        services: vec![],
        ram: 64 * 1024,
        adc: vec![],
        limit: Limit::Millis(5),
        manifest: None,
        seed: 1,
        out: &mut sink,
        stop: None,
        task_stack: None,
        log_level: None,
        realtime_at_boot_us: 0,
        stdin: false,
    }) else {
        panic!("a 1025-entry table is refused")
    };
    assert!(err.contains("table minimum exceeds the host limit"), "{err}");
}
