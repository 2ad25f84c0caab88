//! Hostile guests (issue 12, item 4): modules that try to break out of their
//! sandbox or bring the system down, each run on the kernel with the router
//! next to a well-behaved app and service — the seed's sensor app feeding its
//! mesh-gateway service, wired by the gateway's manifest. For every attempt
//! the test checks that
//! - the offender ends, or gets an error, and the right one;
//! - the others keep running: the sensor's TX frames and the gateway's BLE
//!   frames keep coming after the attack, up to the end of the run;
//! - nothing leaks: once the kernel has unloaded every task, every partition
//!   (P1..P6, each service's P4 sub-heap, each coroutine stack) is back to its
//!   use before the first spawn ([`Report::partitions`]);
//! - nothing is lost silently: the logger counts what it drops, sinks get
//!   every message.
//!
//! The guests are in `tests/hostile/`: `.wat` written by hand (parsed here), and
//! C built with the examples' clang flags into checked-in `.wasm`
//! (`scripts/build-hostile.sh`). The README's table of attempts is this file's
//! summary.

use fireball_cli::system::{self, Limit, ModuleSpec, Report, RunConfig};
use fireball_coos::mem::Exhaustion;
use fireball_coos::sched::{Fault, TaskState};
use fireball_sys::hal::sim::Signal;
use fireball_wasm::TrapCode;

const RAM: usize = 64 * 1024;

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn example(path: &str) -> ModuleSpec {
    let full = repo(&format!("examples/{path}"));
    ModuleSpec::new(&full, std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}")), None)
}

/// A guest of `tests/hostile/`: `name.wat` (parsed here) or `name.wasm` (built from C).
fn hostile(file: &str, entry: Option<&str>) -> ModuleSpec {
    let full = repo(&format!("tests/hostile/{file}"));
    let bytes = if file.ends_with(".wat") {
        wat::parse_file(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    } else {
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    };
    ModuleSpec::new(&full, bytes, entry.map(str::to_string))
}

fn wat_module(name: &str, text: &str) -> ModuleSpec {
    ModuleSpec::named(name, wat::parse_str(text).expect("wat"))
}

/// The well-behaved pair: the gateway receives on its port 1 what the sensor sends on its port 0.
const WELL_BEHAVED: &str = "grant sensor hal/adc/0 hal/tx log\ngrant mesh_gateway hal/ble log\nconnect sensor:0 mesh_gateway:1\n";

/// Everything one run produced.
struct Run {
    r: Report,
    out: String,
    /// Index of the offender in `r.tasks`.
    off: usize,
}

impl Run {
    fn offender(&self) -> &system::TaskReport {
        &self.r.tasks[self.off]
    }

    fn sink(&self, label: &str) -> Vec<i32> {
        let s = self.r.sinks.iter().find(|s| s.label == label).unwrap_or_else(|| panic!("no sink {label}"));
        s.values.iter().map(|&v| v as i32).collect()
    }

    /// The sensor and the gateway never faulted, and kept producing after `marker` (the first
    /// line of the output containing it): TX and BLE frames after it, the last ones near the end.
    fn others_kept_running(&self, marker: &str) {
        self.others_kept_running_within(marker, 3, 20);
    }

    /// [`Run::others_kept_running`] with at least `frames` TX and BLE frames after `marker`,
    /// the last ones within `window` ms of the end.
    fn others_kept_running_within(&self, marker: &str, frames: usize, window: u64) {
        let Run { r, out, .. } = self;
        for name in ["sensor", "mesh_gateway"] {
            let t = r.tasks.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no {name}"));
            assert_eq!(t.fault, None, "{name} faulted\n{}", tail(out));
            assert!(matches!(t.state, TaskState::Ready | TaskState::Blocked | TaskState::Running), "{name}: {:?}", t.state);
        }
        let at = out.find(marker).unwrap_or_else(|| panic!("no '{marker}' in the output\n{}", tail(out)));
        let after = &out[at..];
        let count = |kind: &str| after.lines().filter(|l| l.starts_with(kind)).count();
        let (tx, ble) = (count("tx t="), count("ble t="));
        assert!(tx >= frames && ble >= frames, "after '{marker}': {tx} TX and {ble} BLE frames\n{}", tail(out));
        // ... and up to the end: the last frames are from the run's last `window` ms.
        let last = |kind: &str| {
            out.lines()
                .rev()
                .filter_map(|l| l.strip_prefix(kind))
                .find_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (tx, ble) = (last("tx t="), last("ble t="));
        assert!(tx + window >= r.millis && ble + window >= r.millis, "frames stopped early: TX at {tx} ms, BLE at {ble} ms\n{}", tail(out));
    }

    /// Every partition is back to its use before the first spawn once every task is unloaded.
    fn nothing_leaked(&self) {
        assert!(!self.r.partitions.is_empty());
        for p in &self.r.partitions {
            assert_eq!(p.unloaded, p.baseline, "{}: {p:?} leaked\n{}", p.name, tail(&self.out));
        }
    }
}

fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with("ble t=") && !l.starts_with("tx t=")).collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn run_system(app: ModuleSpec, services: Vec<ModuleSpec>, manifest: &str, ms: u64, off: usize) -> Run {
    run_on(RAM, app, services, manifest, ms, off)
}

fn run_on(ram: usize, app: ModuleSpec, services: Vec<ModuleSpec>, manifest: &str, ms: u64, off: usize) -> Run {
    let mut out = Vec::new();
    let r = system::run(RunConfig {
        app: Some(app),
        services,
        ram,
        adc: vec![Signal::Ramp { from: 0, to: 4000, period_ms: 10 }],
        limit: Limit::Millis(ms),
        manifest: Some(manifest.to_string()),
        seed: 1,
        out: &mut out,
        stop: None,
        task_stack: None,
        log_level: None,
        realtime_at_boot_us: 0,
        stdin: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    Run { r, out: String::from_utf8_lossy(&out).into_owned(), off }
}

/// The offender as a third module, a service in its own P4 sub-heap, with `manifest` lines of its own.
fn as_service(offender: ModuleSpec, manifest: &str, ms: u64) -> Run {
    let services = vec![example("mesh-gateway/mesh_gateway.wasm"), offender];
    run_system(example("sensor/sensor.wasm"), services, &format!("{WELL_BEHAVED}{manifest}"), ms, 2)
}

/// The offender as the app (in P5); the sensor runs as a service next to the gateway.
fn as_app(offender: ModuleSpec, manifest: &str, ms: u64) -> Run {
    as_app_on(RAM, offender, manifest, ms)
}

/// [`as_app`] on a device of `ram` bytes.
fn as_app_on(ram: usize, offender: ModuleSpec, manifest: &str, ms: u64) -> Run {
    let services = vec![example("sensor/sensor.wasm"), example("mesh-gateway/mesh_gateway.wasm")];
    run_on(ram, offender, services, &format!("{WELL_BEHAVED}{manifest}"), ms, 0)
}

/// The run's output as the tests print it on a failure: without the frame lines.
fn show(run: &Run) -> String {
    format!("offender: {:?}\nsinks: {:?}\n{}", run.offender(), run.r.sinks.iter().map(|s| (&s.label, s.values.len())).collect::<Vec<_>>(), tail(&run.out))
}

// ---- host calls: pointers, lengths, handles, ports, grants -------------------------------

#[test]
fn pointers_and_lengths_outside_memory_are_refused() {
    let grants = "grant ptrs hal/tx hal/ble hal/adc/* log sys/random hal/clock\nsink ptrs:0\nconnect ptrs:1 ptrs:2\n";
    let run = as_service(hostile("ptrs.wat", None), grants, 60);
    const INVALID: i32 = -4; // HalError::InvalidArgument, and the ownership codes' BadHandle
    const FAULT: i32 = 21; // WASI errno `fault`
    #[rustfmt::skip]
    let want = [
        INVALID, INVALID, INVALID, INVALID, INVALID,            // hal_tx_send ×4, hal_ble_send
        INVALID, INVALID, INVALID, INVALID, INVALID,            // sys_request: URI ×2, message, reply ×2
        FAULT, FAULT, FAULT, FAULT,                             // fd_write: iovecs, count, wrapping buffer, nwritten
        FAULT, FAULT, FAULT, FAULT, FAULT,                      // random_get ×2, clock_time_get, args_sizes_get, fd_fdstat_get
        INVALID, INVALID, INVALID,                              // buf_create ×3
        1, -1, -1, 4, 0,                                        // a good buffer; buf_read ×3 (the last one in memory); released
    ];
    assert_eq!(run.sink("ptrs:0"), want, "{}", show(&run));
    // Then ch_recv told to store outside memory: the import's protocol is broken, the module ends.
    assert_eq!(run.offender().state, TaskState::Terminated);
    assert_eq!(run.offender().fault, Some(Fault::BadImport));
    assert!(run.out.contains("[ptrs] ok!"), "the one good fd_write printed");
    run.others_kept_running("[ptrs] terminated: broke an import's protocol");
    run.nothing_leaked();
}

#[test]
fn forged_stale_and_foreign_buffer_handles_are_refused() {
    // The app keeps two buffers (handles 1 and 2) and checks them for ever; the
    // offender, a service, forges, reuses and steals handles.
    let services = vec![example("sensor/sensor.wasm"), example("mesh-gateway/mesh_gateway.wasm"), hostile("handles.wat", None)];
    let manifest = format!("{WELL_BEHAVED}grant owner log\nsink owner:0\nsink handles:0\nconnect handles:1 handles:2\n");
    let run = run_on(96 * 1024, hostile("owner.wat", None), services, &manifest, 60, 3);
    const BAD: i32 = -4;
    const NOT_OWNER: i32 = -5;
    let got = run.sink("handles:0");
    #[rustfmt::skip]
    let want = [
        BAD, BAD, BAD,                  // forged: past the table, every bit set, negative
        8, 0, BAD, BAD,                 // a real one read and released; released again; read after release
        1, BAD, BAD,                    // its slot reused: the stale handle and a guessed generation reach nothing
        0, NOT_OWNER, NOT_OWNER, NOT_OWNER, // sent to itself: in flight, nobody may read, release or resend it
        1, 4,                           // received back: its own again
        NOT_OWNER, NOT_OWNER, NOT_OWNER,// the app's handles: not its to read, release or send
        0,                              // done with it
    ];
    assert_eq!(got[..want.len()], want, "{}", show(&run));
    // A buffer sent to the sink (its handle drained by the host), then one kept to the end.
    assert_eq!(got[want.len() + 1..], [0, 1, 999], "{}", show(&run));
    assert_eq!(run.offender().state, TaskState::Done);
    // The app's buffers were never touched: every check, to the end of the run, read its bytes.
    let owner = run.sink("owner:0");
    assert!(owner.len() > 100 && owner.iter().all(|&v| v == 1), "{owner:?}");
    run.others_kept_running("tx t=");
    // The drained buffer and the one the module kept were released: P1 is back to its baseline.
    run.nothing_leaked();
}

#[test]
fn hoarding_the_kernels_buffer_pool_is_refused_and_undone_at_unload() {
    // Buffers live in P1 (the kernel's 1.5 KiB, shared by every module): the
    // hoarder takes what is free, then gets -3 (no memory); the app's own buffers
    // are untouched and P1 is not marked exhausted (its policy is a reset).
    let services = vec![example("sensor/sensor.wasm"), example("mesh-gateway/mesh_gateway.wasm"), hostile("hoard.wat", None)];
    let manifest = format!("{WELL_BEHAVED}grant owner log\nsink owner:0\nsink hoard:0\n");
    let run = run_on(96 * 1024, hostile("owner.wat", None), services, &manifest, 60, 3);
    let got = run.sink("hoard:0");
    assert!(got[0] >= 1 && got[1] == -3, "{got:?}: some buffers, then 'no memory'");
    assert_eq!(run.offender().state, TaskState::Ready, "it runs on, holding them");
    let owner = run.sink("owner:0");
    assert!(owner.len() > 100 && owner.iter().all(|&v| v == 1), "{owner:?}");
    assert!(run.r.fatal.is_none());
    run.others_kept_running("tx t=");
    run.nothing_leaked();
}

#[test]
fn unwired_ports_are_refused_and_logged() {
    let run = as_service(hostile("ports.wat", None), "grant ports log\nsink ports:0\n", 60);
    // Nothing stored by the refused ch_recv (42 stays); buf_send/buf_recv -1; the buffer still ours.
    assert_eq!(run.sink("ports:0"), [42, -1, -1, -1, 0, 999], "{}", show(&run));
    // (i32::MAX is logged as 8388607: an event's argument is 24 bits, saturated.)
    for port in [7, 100, -1, 5, 6, 8_388_607, -3] {
        assert!(run.r.log.contains(&format!("ports: denied channel port {port}")), "port {port}: {}", run.r.log);
    }
    assert_eq!(run.r.router.denied, 7);
    assert_eq!(run.offender().state, TaskState::Done);
    assert!(run.offender().counters.yields >= 7, "each refusal ends the slice");
    run.others_kept_running("ports: denied channel port 7");
    run.nothing_leaked();
}

#[test]
fn endpoints_not_granted_are_denied_and_logged() {
    let run = as_service(hostile("denied.wat", None), "grant denied log hal/adc/*\nsink denied:0\n", 60);
    const DENIED: i32 = -11;
    const NO_DEVICE: i32 = -1;
    const NOT_CAPABLE: i32 = 76;
    #[rustfmt::skip]
    let want = [
        DENIED, DENIED, DENIED, DENIED,         // hal_tx_send, hal_ble_init, hal_ble_send, hal_get_time_ms
        DENIED,                                 // sys_request hal/tx
        NO_DEVICE, NO_DEVICE,                   // hal/adc/../tx, hal/adc/0/../../ble: under the grant, no such device
        DENIED, -4,                             // "*"; a URI that is not UTF-8
        NOT_CAPABLE, NOT_CAPABLE, 999,          // random_get, clock_time_get
    ];
    assert_eq!(run.sink("denied:0"), want, "{}", show(&run));
    assert_eq!(run.r.router.denied, 8);
    for what in ["denied hal/tx", "denied hal/ble", "denied hal/clock", "denied sys/random", "denied a sys_request (6-byte URI)"] {
        assert!(run.r.log.contains(&format!("denied: {what}")), "{what}: {}", run.r.log);
    }
    assert!(run.r.tx.iter().all(|f| f.len() == 128), "no frame of the offender's on the radio");
    run.others_kept_running("denied: denied hal/tx");
    run.nothing_leaked();

    // Granted nothing at all: not even the logger; its denials are still logged (the router's events).
    let run = as_service(hostile("mute.wat", None), "sink mute:0\n", 60);
    assert_eq!(run.sink("mute:0"), [-11, -11, NOT_CAPABLE, 999], "{}", show(&run));
    assert!(!run.out.contains("[mute] hi"));
    assert!(run.r.log.contains("mute: denied log") && run.r.log.contains("mute: denied hal/adc/0"), "{}", run.r.log);
    run.others_kept_running("mute: denied log");
    run.nothing_leaked();
}

// ---- floods -----------------------------------------------------------------------------

#[test]
fn a_flooded_channel_blocks_its_sender_only() {
    let run = as_service(hostile("flood_chan.wat", None), "connect flood_chan:1 flood_chan:2\n", 60);
    assert_eq!(run.offender().state, TaskState::Blocked, "{}", show(&run));
    assert_eq!(run.offender().counters.chan_ops, 16, "the channel's 16 messages, then it waits");
    run.others_kept_running("tx t=");
    run.nothing_leaked();

    // Into a sink the host drains: back-pressure, and every message arrives, in order.
    let run = as_service(hostile("flood_sink.wat", None), "sink flood_sink:0\n", 120);
    assert_eq!(run.sink("flood_sink:0"), (0..3000).collect::<Vec<i32>>());
    assert_eq!(run.offender().state, TaskState::Done);
    run.others_kept_running("tx t=");
    run.nothing_leaked();
}

#[test]
fn flooding_the_logger_drops_the_oldest_and_counts_every_drop() {
    let run = as_service(hostile("flood_log.wat", None), "grant flood_log log\n", 150);
    assert_eq!(run.offender().state, TaskState::Done, "{}", show(&run));
    let kept = run.r.log.lines().filter(|l| l.contains("flood_log: e7 ")).count();
    assert!(run.r.log_dropped > 10_000, "{}", run.r.log_dropped);
    assert_eq!(kept + run.r.log_dropped as usize, 20_000, "every event is either printed or counted as dropped");
    assert!(run.out.contains("events dropped)"));
    assert!(run.out.contains(&format!("log: {} events dropped", run.r.log_dropped)), "the report shows the total");
    run.others_kept_running("events dropped)");
    run.nothing_leaked();
}

// ---- the CPU and memory -----------------------------------------------------------------

#[test]
fn deep_recursion_traps_the_offender_only() {
    for (run, name) in [
        (as_service(hostile("recurse.wat", None), "", 60), "service"),
        (as_app(hostile("recurse.wat", None), "", 60), "app"),
    ] {
        assert_eq!(run.offender().fault, Some(Fault::Trap(TrapCode::CallStackExhausted)), "{name}: {}", show(&run));
        run.others_kept_running("[recurse] terminated: trap (call stack exhausted)");
        run.nothing_leaked();
    }
}

#[test]
fn a_loop_that_never_yields_is_preempted() {
    for (run, name) in [(as_service(hostile("spin.wat", None), "", 300), "service"), (as_app(hostile("spin.wat", None), "", 300), "app")] {
        let spin = run.offender();
        assert_eq!((spin.state, spin.fault), (TaskState::Ready, None), "{name}: {}", show(&run));
        // One 30 000-instruction slice per turn, then the others' turn.
        assert!(spin.counters.yields >= 20, "{name}: {:?}", spin.counters);
        assert!(spin.counters.instructions <= u64::from(spin.counters.switches) * 30_001, "{name}: {:?}", spin.counters);
        // The others block on their channel after a few hundred instructions and then wait
        // a whole slice of the spinner's: they run on, but slowly (a TX frame every ~55 ms
        // instead of every ~2 ms; the sensor sends 64 samples per frame).
        run.others_kept_running_within("tx t=", 2, 80);
        run.nothing_leaked();
    }
}

#[test]
fn memory_grow_loops_get_minus_one_and_run_on() {
    // A service may grow to its footprint + 64 B; the app to what P5 can spare. Past
    // that, memory.grow is -1 (the guest loops on, ignoring it) and nothing else is touched.
    for (run, name) in [
        (as_service(hostile("grow_memory.wat", None), "sink grow_memory:0\n", 60), "service"),
        (as_app(hostile("grow_memory.wat", None), "sink grow_memory:0\n", 60), "app"),
    ] {
        let got = run.sink("grow_memory:0");
        assert!(got.len() > 50 && got.iter().all(|&n| n == got[0]), "{name}: {got:?}");
        assert_eq!((run.offender().state, run.offender().fault), (TaskState::Ready, None), "{name}: {}", show(&run));
        run.others_kept_running("tx t=");
        run.nothing_leaked();
    }
}

#[test]
fn table_grow_until_the_partition_is_dry_ends_the_offender_only() {
    // 8 B per entry from its own partition: a service's sub-heap runs dry (terminated),
    // the app's P5 too (unloaded, its memory back in P5 at once).
    let run = as_service(hostile("grow_table.wat", None), "sink grow_table:0\n", 60);
    let got = run.sink("grow_table:0");
    assert_eq!(got.last(), Some(&-1), "{got:?}");
    assert!(got[..got.len() - 1].iter().enumerate().all(|(i, &n)| n == 64 * i as i32), "{got:?}");
    assert_eq!(run.offender().fault, Some(Fault::Exhausted(Exhaustion::TerminateService)), "{}", show(&run));
    run.others_kept_running("[grow_table] terminated: its partition ran out of memory");
    run.nothing_leaked();

    let run = as_app(hostile("grow_table.wat", None), "sink grow_table:0\n", 60);
    assert_eq!(run.sink("grow_table:0").last(), Some(&-1));
    assert_eq!(run.offender().state, TaskState::Free, "unloaded by P5's policy");
    assert_eq!(run.offender().fault, Some(Fault::Exhausted(Exhaustion::UnloadGuest)), "{}", show(&run));
    run.others_kept_running("[grow_table] terminated: its partition ran out of memory");
    run.nothing_leaked();
}

// ---- ending in the middle ---------------------------------------------------------------

#[test]
fn proc_exit_in_the_middle_of_a_run_ends_that_module() {
    let run = as_service(hostile("exit.wat", None), "grant exit log\n", 60);
    let exit = run.offender();
    assert_eq!((exit.state, exit.exit_code, exit.fault), (TaskState::Done, Some(3), None), "{}", show(&run));
    assert!(run.out.contains("[exit] about to exit\n"));
    assert!(run.r.log.contains("exit: exit 3"));
    run.others_kept_running("[exit] exited with status 3");
    run.nothing_leaked();
}

#[test]
fn a_trap_right_after_a_host_call_returns_ends_the_offender_only() {
    let name = "trap_after_call";
    for (entry, wiring, want) in [
        ("denied", "", TrapCode::MemoryOutOfBounds),
        ("yield", "", TrapCode::Unreachable),
        ("parked", "sink trap_after_call:1\n", TrapCode::IntegerDivideByZero),
        ("received", "connect trap_after_call:1 trap_after_call:2\n", TrapCode::TableOutOfBounds),
    ] {
        let run = as_service(hostile("trap_after_call.wat", Some(entry)), &format!("grant {name} log\n{wiring}"), 60);
        assert_eq!(run.offender().fault, Some(Fault::Trap(want)), "{entry}: {}", show(&run));
        if entry == "parked" {
            // It had parked: 16 messages went through, the 17th completed after the drain.
            assert_eq!(run.sink("trap_after_call:1"), (0..17).collect::<Vec<i32>>(), "{entry}");
        }
        run.others_kept_running(&format!("[{name}] terminated: trap"));
        run.nothing_leaked();
    }
}

#[test]
fn a_service_that_keeps_faulting_is_restarted_as_often_as_its_policy_says() {
    let run = as_service(hostile("fault_restart.wat", Some("later")), "sink fault_restart:0\nrestart fault_restart 3\n", 150);
    let svc = run.offender();
    assert_eq!((svc.restarts, svc.state, svc.fault), (3, TaskState::Terminated, Some(Fault::Trap(TrapCode::Unreachable))), "{}", show(&run));
    assert_eq!(run.out.matches("[fault_restart] terminated: trap (unreachable)").count(), 4);
    assert!(run.out.contains("[fault_restart] restarted (3 of 3)"));
    // Loaded fresh each time: its memory starts from its data again.
    assert_eq!(run.sink("fault_restart:0"), [1, 1, 1, 1]);
    run.others_kept_running("[fault_restart] restarted (3 of 3)");
    run.nothing_leaked();

    // Trapping on its first instruction, with the largest restart count a manifest takes:
    // it is loaded 255 times over and the others do not notice.
    let run = as_service(hostile("fault_restart.wat", Some("at_once")), "restart fault_restart 255\n", 60);
    let svc = run.offender();
    assert_eq!((svc.restarts, svc.state), (255, TaskState::Terminated), "{}", show(&run));
    run.others_kept_running("[fault_restart] restarted (1 of 255)");
    run.nothing_leaked();
}

// ---- refused at load: before anything runs ------------------------------------------------

/// `fireball run` with the offender as a third module: the one-line error it refuses it with.
fn refused(offender: ModuleSpec) -> String {
    let mut out = Vec::new();
    let services = vec![example("mesh-gateway/mesh_gateway.wasm"), offender];
    let r = system::run(RunConfig {
        app: Some(example("sensor/sensor.wasm")),
        services,
        ram: RAM,
        adc: vec![],
        limit: Limit::Millis(10),
        manifest: Some(WELL_BEHAVED.to_string()),
        seed: 1,
        out: &mut out,
        stop: None,
        task_stack: None,
        log_level: None,
        realtime_at_boot_us: 0,
        stdin: false,
    });
    match r {
        Ok(r) => panic!("accepted: {:?}", r.tasks),
        Err(e) => {
            assert_eq!(e.lines().count(), 1, "{e}");
            e
        }
    }
}

#[test]
fn imports_with_the_wrong_signature_are_refused_at_load() {
    for (import, want) in [
        (r#"(import "env" "ch_send" (func (param i64 i32)))"#, "import env.ch_send has the wrong signature"),
        (r#"(import "env" "buf_read" (func (param i32 i32 i32)))"#, "import env.buf_read has the wrong signature"),
        (r#"(import "env" "hal_tx_send" (func (param i32) (result i32)))"#, "import env.hal_tx_send has the wrong signature"),
        (r#"(import "wasi_snapshot_preview1" "proc_exit" (func (param i32) (result i32)))"#, "import wasi_snapshot_preview1.proc_exit has the wrong signature"),
        (r#"(import "env" "hal_flash_erase" (func))"#, "unknown import env.hal_flash_erase"),
        (r#"(import "env" "memory" (memory 1))"#, "unknown import env.memory"),
        (r#"(import "env" "ch_send" (global i32))"#, "unknown import env.ch_send"),
        (r#"(import "env" "table" (table 1 funcref))"#, "unknown import env.table"),
    ] {
        let e = refused(wat_module("sig", &format!(r#"(module {import} (func (export "run")))"#)));
        assert!(e.starts_with("sig: ") && e.contains(want), "{import}: {e}");
    }
}

#[test]
fn huge_tables_are_refused_at_load() {
    for (table, want) in [
        ("(table 100000 funcref)", "table minimum exceeds the host limit"),
        ("(table 0xffffffff funcref)", "table minimum exceeds the host limit"),
        // Within the host limit (1 024 entries), but 8 KiB more for one service: P4 no longer fits.
        ("(table 1024 funcref)", "--ram 65536: the plan does not fit in 65536 B of RAM"),
    ] {
        let e = refused(wat_module("sig", &format!(r#"(module {table} (func (export "run")))"#)));
        assert!(e.contains(want), "{table}: {e}");
    }
}

/// A module whose `run` calls `pick(i)` for i = 0..=n and sends the sum on port 0;
/// `pick` is one `br_table` of `n` targets (label k % 4 for target k) and a default.
fn br_table_module(n: u32) -> Vec<u8> {
    let targets: String = (0..n).map(|k| format!(" {}", k % 4)).collect();
    let text = format!(
        r#"(module (import "env" "ch_send" (func $send (param i32 i32)))
          (func $pick (param i32) (result i32)
            (block (block (block (block (block
              (br_table{targets} 4 (local.get 0)))
              (return (i32.const 0))) (return (i32.const 1))) (return (i32.const 2))) (return (i32.const 3)))
            (i32.const -1))
          (func (export "run") (local $i i32) (local $sum i32)
            (loop
              (local.set $sum (i32.add (local.get $sum) (call $pick (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if 0 (i32.le_u (local.get $i) (i32.const {n}))))
            (call $send (i32.const 0) (local.get $sum))))"#
    );
    wat::parse_str(text).expect("br_table module")
}

#[test]
fn a_huge_br_table_is_refused_at_load() {
    // 30 000 targets: 240 KB of side table if loaded plain (8 B per target), far more than
    // a 64 KiB device can give a service.
    let n = 30_000u32;
    let e = refused(ModuleSpec::named("br", br_table_module(n)));
    assert!(e.starts_with("br: needs") || e.starts_with("--ram 65536: the plan does not fit"), "{e}");

    // 30 000 nested blocks as targets: the validator's control stack alone needs more than
    // the probe's 2 MiB sub-heap; refused as not fitting, cleanly.
    let mut body = String::new();
    for _ in 0..=n {
        body.push_str("(block ");
    }
    body.push_str("(br_table");
    body.extend((0..=n).map(|k| format!(" {k}")));
    body.push_str(" (local.get 0))");
    body.extend((0..=n).map(|_| ")"));
    let deep = wat::parse_str(format!(r#"(module (func (param i32) {body}) (func (export "run")))"#)).expect("deep");
    let e = refused(ModuleSpec::named("deep", deep));
    assert!(e.starts_with("deep: does not fit a 64 KiB device, nor one with 16 MiB more (its P4 sub-heap of "), "{e}");
    assert!(e.ends_with("is too small): loading it takes more than that (the engine's metadata for its code, and its linear memory)"), "{e}");
}

#[test]
fn a_huge_br_table_runs_packed_next_to_the_others() {
    // Packed, the side table stays in flash and the module runs next to the others,
    // every target taken once.
    let n = 30_000u32;
    let module_bytes = br_table_module(n);
    let module = fireball_wasm::Module::new(&module_bytes).expect("valid");
    let mut packed = Vec::new();
    module.write_packed(|b| packed.extend_from_slice(b));
    // ~16 instructions per target, 30 000 of them, among the others' slices: 400 ms simulated.
    let run = as_service(ModuleSpec::named("br", packed), "sink br:0\n", 400);
    let sum = (0..n).map(|k| (k % 4) as i32).sum::<i32>() - 1; // past the last target: the default, -1
    assert_eq!(run.sink("br:0"), [sum], "{}", show(&run));
    assert_eq!(run.offender().state, TaskState::Done);
    run.others_kept_running("tx t=");
    run.nothing_leaked();
}

/// Counts the bytes live and their peak (the engine's allocations for one module).
struct Counting {
    live: std::cell::Cell<usize>,
    peak: std::cell::Cell<usize>,
}

// SAFETY: forwards to `Global` and frees through it with the same layout.
unsafe impl allocator_api2::alloc::Allocator for &Counting {
    fn allocate(&self, layout: std::alloc::Layout) -> Result<std::ptr::NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        let p = allocator_api2::alloc::Global.allocate(layout)?;
        self.live.set(self.live.get() + layout.size());
        self.peak.set(self.peak.get().max(self.live.get()));
        Ok(p)
    }

    unsafe fn deallocate(&self, ptr: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
        self.live.set(self.live.get() - layout.size());
        // SAFETY: allocated by `Global` with `layout` in `allocate`.
        unsafe { allocator_api2::alloc::Global.deallocate(ptr, layout) }
    }
}

#[test]
fn a_packed_br_table_loads_in_little_more_ram_than_it_keeps() {
    let bytes = wat::parse_file(repo("tests/hostile/br_table_1000.wat")).expect("wat");
    let mut packed = Vec::new();
    fireball_wasm::Module::new(&bytes).expect("valid").write_packed(|b| packed.extend_from_slice(b));
    let c = Counting { live: Default::default(), peak: Default::default() };
    let m = fireball_wasm::Module::from_packed_in(&packed, fireball_wasm::Features::default(), &c).expect("loads");
    assert!(m.metadata_bytes() < 64, "{}", m.metadata_bytes());
    assert!(c.peak.get() <= 4096, "loading it packed peaked at {} B for {} B kept", c.peak.get(), m.metadata_bytes());
}

// ---- the same attacks in C (tests/hostile/*.c, built by scripts/build-hostile.sh) -------

#[test]
fn c_guests_recursion_spin_exit_and_malloc_end_themselves_only() {
    // Deep recursion: the 2 KiB C stack (below the data) runs off address 0.
    let run = as_app(hostile("recurse.wasm", None), "sink recurse:0\n", 60);
    assert_eq!(run.offender().fault, Some(Fault::Trap(TrapCode::MemoryOutOfBounds)), "{}", show(&run));
    let depths = run.sink("recurse:0");
    assert!(!depths.is_empty() && depths.len() < 16, "about 2 KiB / 256 B frames deep: {depths:?}");
    run.others_kept_running("[recurse] terminated: trap (out of bounds memory access)");
    run.nothing_leaked();

    // A busy loop that never yields.
    let run = as_app(hostile("spin.wasm", None), "", 300);
    assert_eq!((run.offender().state, run.offender().fault), (TaskState::Ready, None), "{}", show(&run));
    assert!(run.offender().counters.yields >= 20);
    run.others_kept_running_within("tx t=", 2, 80);
    run.nothing_leaked();

    // exit(3) from the middle of a loop: WASI proc_exit (printf needs a larger device).
    let run = as_app_on(96 * 1024, hostile("exit.wasm", None), "grant exit log\n", 60);
    assert_eq!((run.offender().state, run.offender().exit_code), (TaskState::Done, Some(3)), "{}", show(&run));
    assert!(run.out.contains("[exit] working\n") && run.out.contains("[exit] leaving in the middle, status 3\n"), "{}", show(&run));
    run.others_kept_running("[exit] exited with status 3");
    run.nothing_leaked();

    // malloc until it fails: wasi-libc's malloc takes the whole 64 KiB initial page as its
    // heap, of which the runtime backs what P5 holds (and the page's last 256 B); the first
    // block past that traps on its first write.
    let run = as_app_on(96 * 1024, hostile("malloc_hog.wasm", None), "sink malloc_hog:0\n", 60);
    assert_eq!(run.offender().fault, Some(Fault::Trap(TrapCode::MemoryOutOfBounds)), "{}", show(&run));
    run.others_kept_running("[malloc_hog] terminated: trap (out of bounds memory access)");
    run.nothing_leaked();
}
