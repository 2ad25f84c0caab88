//! The facade on its own: errors that say what to change, measured sizing,
//! notices and restarts, the partition table.

use fireball::coos::sched::{Fault, TaskState};
use fireball::sys::hal::sim::{SimClock, SimTime};
use fireball::{BuildError, Builder, Ended, EntryError, Guest, Limit, Notice, Parts, Ram, Stop, Time};

fn ram<const N: usize>() -> &'static mut [u8] {
    Box::leak(Box::new(Ram::<N>::new())).bytes()
}

fn scratch(n: usize) -> &'static mut [u8] {
    let r: &'static mut [u8] = Box::leak(vec![0u8; n + 16].into_boxed_slice());
    let off = r.as_ptr().align_offset(16);
    &mut r[off..off + n]
}

const SPIN: &str = r#"(module (import "env" "co_yield" (func $y)) (memory 1)
  (func (export "_start") (loop (call $y) (br 0))))"#;

const TRAPS: &str = r#"(module (import "env" "co_yield" (func $y))
  (func (export "run") (call $y) unreachable))"#;

#[test]
fn build_errors_say_what_to_change() {
    let spin = wat::parse_str(SPIN).expect("wat");
    let mut parts = Parts::new();
    let e = Builder::new(ram::<{ 32 * 1024 }>()).build(&mut parts).err().expect("nothing to run");
    assert_eq!(e, BuildError::NothingToRun);
    assert!(e.to_string().contains("give the builder an app or a service"), "{e}");

    let mut parts = Parts::new();
    let e = Builder::new(ram::<{ 32 * 1024 }>()).app("a", &spin).app("b", &spin).build(&mut parts).err().expect("two apps");
    assert_eq!(e, BuildError::TwoApps { name: "b" });
    assert!(e.to_string().contains("make it a service"), "{e}");

    // Two `[] -> []` exports and no `_start`: name one.
    let two = wat::parse_str(r#"(module (func (export "a")) (func (export "b")))"#).expect("wat");
    let mut parts = Parts::new();
    let e = Builder::new(ram::<{ 32 * 1024 }>()).app("two", &two).build(&mut parts).err().expect("entry");
    assert!(matches!(e, BuildError::Entry { module: "two", error: EntryError::Several { count: 2, .. } }), "{e:?}");
    assert_eq!(e.to_string(), "two: several possible entries (a, b): name one with `Guest::entry`");
    let mut parts = Parts::new();
    assert!(Builder::new(ram::<{ 32 * 1024 }>()).guest(Guest::app("two", &two).entry("b")).build(&mut parts).is_ok());

    // An import nobody provides: named.
    let odd = wat::parse_str(r#"(module (import "env" "launch_rocket" (func)) (func (export "_start")))"#).expect("wat");
    let mut parts = Parts::new();
    let e = Builder::new(ram::<{ 32 * 1024 }>()).app("odd", &odd).build(&mut parts).err().expect("import");
    assert!(e.to_string().starts_with("odd: unknown import env.launch_rocket (Fireball provides"), "{e}");
}

#[test]
fn a_module_too_big_for_its_partition_gets_its_measured_need() {
    // A 20 KiB data segment: more than a 32 KiB device's P5 (7.9 KB) can back.
    let big = wat::parse_str(
        r#"(module (memory 1) (data (i32.const 20480) "x") (global (export "__heap_base") i32 (i32.const 20481))
           (func (export "_start")))"#,
    )
    .expect("wat");
    let b = Builder::new(ram::<{ 32 * 1024 }>()).app("big", &big);
    let need = b.measure(scratch((32 << 10) + (16 << 20))).unwrap_or_else(|e| panic!("{e}"));
    let f = need.as_slice()[0];
    assert!(f.memory >= 20481 && f.peak > f.memory, "{f:?}");
    let mut parts = Parts::new();
    let e = b.sized_by(need).build(&mut parts).err().expect("does not fit");
    match e {
        BuildError::DoesNotFit { module: "big", service: false, need: Some(n), have, fits_in: Some(r), ram } => {
            assert_eq!(n.peak as usize, f.peak);
            assert!(have < f.peak && ram == 32 * 1024 && r > ram, "{e:?}");
        }
        e => panic!("{e:?}"),
    }
    assert!(e.to_string().contains("plan for"), "{e}");
}

#[test]
fn faults_are_noticed_and_restarts_follow_the_manifest() {
    let (spin, traps) = (wat::parse_str(SPIN).expect("wat"), wat::parse_str(TRAPS).expect("wat"));
    let time = SimTime::new();
    let mut clock = SimClock::new(&time);
    let mut parts = Parts::new();
    let mut sys = Builder::new(ram::<{ 64 * 1024 }>())
        .device("clock", &mut clock)
        .app("spin", &spin)
        .service("svc", &traps)
        .manifest("grant spin *\ngrant svc *\nrestart svc 1\n")
        .time(Time::Simulated { time: &time, instructions_per_ms: 4_000 })
        .build(&mut parts)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut seen = Vec::new();
    for _ in 0..20 {
        let tick = sys.step();
        seen.extend(tick.notices().copied());
        assert_eq!(tick.stop, None);
    }
    let trap = |n: &Notice<'_>| matches!(n, Notice::Ended { module: "svc", how: Ended::Fault(Fault::Trap(_)), .. });
    assert_eq!(seen.iter().filter(|n| trap(n)).count(), 2, "{seen:?}");
    assert!(seen.contains(&Notice::Restarted { module: "svc", count: 1, of: 1 }), "{seen:?}");
    assert_eq!(
        seen.iter().find(|n| trap(n)).map(|n| n.to_string()),
        Some("[svc] terminated: trap (unreachable); the other modules keep running".to_string())
    );
    let svc = sys.modules().find(|m| m.name == "svc").expect("svc");
    assert_eq!((svc.state, svc.restarts), (TaskState::Terminated, 1));
    let fault = svc.fault.expect("fault");
    assert!(fault.to_string().starts_with("svc: trap (unreachable) (a bug in the guest"), "{fault}");
    assert_eq!(sys.modules().next().map(|m| m.state), Some(TaskState::Ready), "the app runs on");

    // The partition table names every partition, the service's sub-heap and both stacks.
    let table = sys.partition_table().to_string();
    for row in ["Kernel", "Runtime", "Subsystems", "Services", "Guest", "Reserve", "  P4 svc", "  stack spin", "  stack svc"] {
        assert!(table.lines().any(|l| l.starts_with(row)), "{row}: {table}");
    }
    let target = sys.instructions() + 100_000;
    assert_eq!(sys.run_for(Limit::Instructions(target)), Stop::Instructions(target));
    assert!(sys.instructions() >= target);
}

/// A heap growing past what a small device backs: the trap's notice says the
/// partition backs only part of the memory, and what to change; a trap in a memory
/// backed whole (a bug in the guest) does not.
#[test]
fn a_trap_past_the_backed_memory_says_so() {
    // One 64 KiB page declared, a tiny static footprint; then a store near its top.
    let heapy = wat::parse_str(
        r#"(module (memory 1) (global (export "__heap_base") i32 (i32.const 1024))
           (func (export "_start") (i32.store (i32.const 60000) (i32.const 1))))"#,
    )
    .expect("wat");
    let past_end = wat::parse_str(r#"(module (memory 0) (func (export "_start") (i32.store (i32.const 16) (i32.const 1))))"#).expect("wat");
    for (wasm, note) in [(&heapy, true), (&past_end, false)] {
        let mut parts = Parts::new();
        let mut sys = Builder::new(ram::<{ 32 * 1024 }>()).app("app", wasm).build(&mut parts).unwrap_or_else(|e| panic!("{e}"));
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.extend(sys.step().notices().map(|n| n.to_string()));
        }
        let ended = seen.iter().find(|n| n.starts_with("[app] terminated: trap (out of bounds memory access)")).unwrap_or_else(|| panic!("{seen:?}"));
        assert_eq!(ended.contains("of the 65536 B of linear memory it declares: if its heap grew past them, give the system more RAM"), note, "{ended}");
    }
}

/// A guest the firmware's build validated (`Guest::prevalidated_app`) builds and runs as
/// the same module validated at build time does, and either way the unmeasured app's
/// linear memory takes what P5 can spare (sized from one spawn, not bisected).
#[test]
fn a_prevalidated_guest_runs_and_the_app_fills_its_partition() {
    let spin = wat::parse_str(
        r#"(module (import "env" "co_yield" (func $y)) (memory 1) (global (export "__heap_base") i32 (i32.const 1024))
           (func (export "_start") (loop (call $y) (br 0))))"#,
    )
    .expect("wat");
    let module = fireball::wasm::Module::new(&spin).expect("valid");
    let mut packed = Vec::new();
    module.write_packed(|c| packed.extend_from_slice(c));
    let packed: &'static [u8] = Box::leak(packed.into_boxed_slice());
    // SAFETY: `packed` is `write_packed` of a module that just loaded with the default features.
    let pre = unsafe { fireball::wasm::Prevalidated::new(packed) };
    let mut seen = Vec::new();
    for guest in [Guest::app("spin", packed), Guest::prevalidated_app("spin", pre)] {
        let mut parts = Parts::new();
        let mut sys = Builder::new(ram::<{ 32 * 1024 }>()).guest(guest).build(&mut parts).unwrap_or_else(|e| panic!("{e}"));
        let f = sys.footprints()[0];
        assert!(f.packed && f.memory > 4096, "{f:?}");
        // What is left of P5 is the slack the sizing leaves for the allocator, no more.
        assert!(f.capacity - f.live <= 1024, "{f:?}");
        for _ in 0..5 {
            assert!(sys.step().notices().next().is_none());
        }
        seen.push((f.memory, f.metadata));
    }
    assert_eq!(seen[0], seen[1]);
}
