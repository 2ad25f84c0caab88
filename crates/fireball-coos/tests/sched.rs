//! The scheduler as its users meet it: busy guests share the CPU fairly, a
//! runaway guest never starves anyone, wasm and native tasks talk over the
//! same channels, waiters are served in order, owned buffers move, and one
//! task's fault or death touches no other task.

use std::cell::{Cell, RefCell};
use std::pin::pin;

use allocator_api2::alloc::Global;
use fireball_coos::sched::{Core, Ctx, Fault, Kernel, KernelConfig, SpawnError, Step, TaskState};
use fireball_wasm::{HostLimits, Module, StackLimits, TrapCode};

const CHANNELS: &[usize] = &[0, 0, 4, 1];

fn cfg() -> KernelConfig {
    KernelConfig { tasks: 8, channels: CHANNELS, owned: 64, cpu_mhz: 100 }
}

fn module(wat: &str) -> &'static Module<'static> {
    let bytes: &'static [u8] = Box::leak(wat::parse_str(wat).expect("wat").into_boxed_slice());
    Box::leak(Box::new(Module::new(bytes).expect("valid module")))
}

const LIMITS: HostLimits = HostLimits { max_memory_bytes: 64 * 1024, max_table_elems: 64 };
const STACK: StackLimits = StackLimits { value_slots: 512, frames: 32 };

type K<'k> = Kernel<'k, 'static, Global, Global, Global>;

fn spawn(k: &mut K<'_>, m: &'static Module<'static>) -> u8 {
    k.spawn_wasm(m, "main", Global, LIMITS, STACK).expect("spawn")
}

const BUSY: &str = r#"(module (global $n (mut i64) (i64.const 0))
  (func (export "main") (loop (global.set $n (i64.add (global.get $n) (i64.const 1))) (br 0))))"#;

#[test]
fn busy_guests_share_the_cpu_fairly() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let busy = module(BUSY);
    let ts: Vec<u8> = (0..3).map(|_| spawn(&mut k, busy)).collect();
    assert_eq!(k.run(300), 300, "busy guests never go idle");
    let slice = k.slice();
    assert_eq!(slice, 30_000, "YIELD_INTERVAL at 100 MHz");
    for &t in &ts {
        let s = k.stats(t);
        assert_eq!(s.counters.switches, 100, "each guest gets every third slice");
        let per = s.counters.instructions as f64 / 100.0;
        assert!((per - slice as f64).abs() <= 8.0, "slice of {per} instructions");
        assert_eq!(k.state(t), TaskState::Ready);
    }
    // Round robin: no task waited more than the two other slices.
    assert!(ts.iter().all(|&t| k.stats(t).worst_wait as u64 <= 2 * slice + 16), "{:?}", k.stats(ts[0]));
}

#[test]
fn a_runaway_guest_does_not_starve_a_native_task() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let turns = Cell::new(0u32);
    let ctx = Ctx::new(&core);
    let mut native = pin!(async {
        loop {
            turns.set(turns.get() + 1);
            ctx.yield_now().await;
        }
    });
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let g = spawn(&mut k, module(BUSY));
    let n = k.spawn_native(native.as_mut()).expect("native");
    k.run(100);
    assert_eq!(turns.get(), 50, "every other slice is the native task's");
    assert_eq!(k.stats(n).counters.yields, 50);
    assert_eq!(k.stats(g).counters.yields, 50);
}

/// Guest: for i in 0..10 { ch_send(0, v); ch_recv(1, &v) } then stores v at 0 and returns.
const PING: &str = r#"(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "ch_recv" (func $recv (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "main") (local $i i32)
    (i32.store (i32.const 16) (i32.const 1))
    (loop
      (call $send (i32.const 0) (i32.load (i32.const 16)))
      (call $recv (i32.const 1) (i32.const 16))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 10))))
    (call $send (i32.const 0) (i32.load (i32.const 16)))))"#;

#[test]
fn wasm_and_native_ping_pong() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let ctx = Ctx::new(&core);
    let seen = RefCell::new(Vec::new());
    let mut pong = pin!(async {
        for _ in 0..10 {
            let v = ctx.recv(0).await.expect("recv");
            seen.borrow_mut().push(v);
            ctx.send(1, v * 2).await.expect("send");
        }
        let last = ctx.recv(0).await.expect("last");
        seen.borrow_mut().push(last);
    });
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let g = spawn(&mut k, module(PING));
    let n = k.spawn_native(pong.as_mut()).expect("native");
    let steps = k.run(1000);
    assert!(steps < 1000, "both finish");
    assert_eq!(*seen.borrow(), [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    assert_eq!((k.state(g), k.state(n)), (TaskState::Done, TaskState::Done));
    assert_eq!(k.stats(g).counters.chan_ops, 21);
    assert_eq!(k.stats(n).counters.chan_ops, 21);
    assert_eq!(k.totals().chan_ops, 42);
}

/// Native tasks that yield take turns in spawn order, with one, two or three of them
/// (the switch takes the next task and queues the yielding one in one step), and a
/// run that stops at its step count leaves the last task ready for the next run.
#[test]
fn yielding_tasks_take_turns_in_order_across_runs() {
    for tasks in 1..=3u8 {
        let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
        let ctx = Ctx::new(&core);
        let order = RefCell::new(Vec::new());
        let task = |id: u8| {
            let (ctx, order) = (&ctx, &order);
            async move {
                for _ in 0..4 {
                    order.borrow_mut().push(id);
                    ctx.yield_now().await;
                }
            }
        };
        let mut a = pin!(task(0));
        let mut b = pin!(task(1));
        let mut c = pin!(task(2));
        let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
        let mut ids = vec![k.spawn_native(a.as_mut()).expect("a")];
        if tasks > 1 {
            ids.push(k.spawn_native(b.as_mut()).expect("b"));
        }
        if tasks > 2 {
            ids.push(k.spawn_native(c.as_mut()).expect("c"));
        }
        // Runs of 1, 2, 3 ... steps until every task is done (4 yields and the return each).
        let mut steps = 0;
        for n in 1.. {
            let ran = k.run(n);
            steps += ran;
            if ran < n {
                break;
            }
            assert!(ids.iter().all(|&t| matches!(k.state(t), TaskState::Ready | TaskState::Done)));
        }
        assert_eq!(steps, 5 * tasks as usize, "{tasks} tasks");
        let want: Vec<u8> = (0..4).flat_map(|_| 0..tasks).collect();
        assert_eq!(*order.borrow(), want, "{tasks} tasks");
        assert!(ids.iter().all(|&t| k.state(t) == TaskState::Done));
        assert!(ids.iter().all(|&t| k.stats(t).counters.switches == 5));
    }
}

/// Guest: five `co_yield`s, then returns.
const YIELD5: &str = r#"(module
  (import "env" "co_yield" (func $y))
  (func (export "main") (local $i i32)
    (loop
      (call $y)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 5))))))"#;

#[test]
fn totals_keep_the_counts_of_unloaded_tasks_and_reused_slots() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let m = module(YIELD5);
    let a = spawn(&mut k, m);
    let b = spawn(&mut k, m);
    while k.step() != Step::Idle {}
    let (sa, sb) = (k.stats(a).counters, k.stats(b).counters);
    // Five yields end five slices; the sixth turn returns.
    assert_eq!((sa.switches, sa.yields), (6, 5));
    assert_eq!(sb, sa, "the same program, the same counts");
    let before = k.totals();
    assert_eq!(before.switches, 12);
    assert_eq!(before.instructions, sa.instructions + sb.instructions);
    // Unloading keeps a task's counters (and the totals) until its slot is reused.
    assert!(k.unload(a));
    assert_eq!(k.stats(a).counters, sa);
    assert_eq!(k.totals(), before);
    // The slot's next task starts from zero; the totals keep the old task's counts.
    let c = spawn(&mut k, m);
    assert_eq!(c, a, "the freed slot is reused");
    assert_eq!(k.stats(c).counters.switches, 0);
    assert_eq!(k.totals(), before);
    while k.step() != Step::Idle {}
    let after = k.totals();
    assert_eq!(after.switches, 18);
    assert_eq!(after.yields, 15);
    assert_eq!(after.instructions, before.instructions + sa.instructions);
    assert_eq!(k.instructions(), after.instructions);
}

/// Guest: three sends into channel 2 (4 slots: each answered at once, the slice goes
/// on), then a `co_yield`, then one more send: 4 × 3 + 1 instructions and the final
/// `end`, 14.
const SEND3: &str = r#"(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "co_yield" (func $y))
  (func (export "main")
    (call $send (i32.const 2) (i32.const 7))
    (call $send (i32.const 2) (i32.const 8))
    (call $send (i32.const 2) (i32.const 9))
    (call $y)
    (call $send (i32.const 2) (i32.const 10))))"#;

#[test]
fn calls_served_within_a_slice_are_counted_exactly_once() {
    for run in [false, true] {
        let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
        let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
        let t = spawn(&mut k, module(SEND3));
        // The first slice serves three sends and ends at the yield: 3 × 3 + 1 instructions
        // ran, and fuel is charged a straight-line run ahead (ARCHITECTURE.md, "Fuel").
        assert_eq!(k.step(), Step::Ran(t, TaskState::Ready));
        let first = k.stats(t).counters.instructions;
        assert!((10..=14).contains(&first), "{first}");
        assert_eq!(k.instructions(), first);
        if run {
            k.run(10);
        } else {
            while k.step() != Step::Idle {}
        }
        let c = k.stats(t).counters;
        assert_eq!(k.state(t), TaskState::Done);
        assert_eq!((c.instructions, c.switches, c.yields, c.chan_ops), (14, 2, 1, 4), "run: {run}");
        assert_eq!(k.instructions(), 14);
    }
}

/// Guest: its start function, its `_initialize` (a WASI reactor's) and its entry each
/// send one value on channel 2 (four slots): 1, 2, 3.
const INIT_ORDER: &str = r#"(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (func $start (call $send (i32.const 2) (i32.const 1)))
  (start $start)
  (func (export "_initialize") (call $send (i32.const 2) (i32.const 2)))
  (func (export "main") (call $send (i32.const 2) (i32.const 3)))
  (func (export "_start") (call $send (i32.const 2) (i32.const 4))))"#;

/// The start function and `_initialize` run before the task's entry: at spawn as far as
/// they go without a host call, then in the task's slices, so they may call imports
/// (wasi-libc's constructors print, find their preopened directories); a trap in one is
/// the task's fault, and its entry never runs.
#[test]
fn the_start_function_and_initialize_run_in_the_task_before_its_entry() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let ctx = Ctx::new(&core);
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let drain = || std::iter::from_fn(|| ctx.try_recv(2).ok()).collect::<Vec<_>>();
    let t = spawn(&mut k, module(INIT_ORDER));
    while k.step() != Step::Idle {}
    assert_eq!(k.state(t), TaskState::Done);
    assert_eq!(drain(), [1, 2, 3]);
    // (The host's receives, between runs, count to no task: not to the one that ran last.)
    assert_eq!(k.stats(t).counters.chan_ops, 3);
    // A command (`_start`) calls its constructors itself: no `_initialize` before it.
    let t = k.spawn_wasm(module(INIT_ORDER), "_start", Global, LIMITS, STACK).expect("spawn");
    while k.step() != Step::Idle {}
    assert_eq!(k.state(t), TaskState::Done);
    assert_eq!(drain(), [1, 4]);
    // An `_initialize` that calls nothing runs at spawn, before the task's first slice.
    let quiet = module(
        r#"(module (import "env" "ch_send" (func $send (param i32 i32)))
          (global $g (mut i32) (i32.const 0))
          (func (export "_initialize") (global.set $g (i32.const 7)))
          (func (export "main") (call $send (i32.const 2) (global.get $g))))"#,
    );
    let t = spawn(&mut k, quiet);
    assert_eq!(k.stats(t).counters.instructions, 0, "nothing ran in the task yet");
    while k.step() != Step::Idle {}
    assert_eq!(drain(), [7]);
    let bad = module(
        r#"(module (import "env" "ch_send" (func $send (param i32 i32)))
          (func (export "_initialize") unreachable)
          (func (export "main") (call $send (i32.const 2) (i32.const 9))))"#,
    );
    let t = spawn(&mut k, bad);
    while k.step() != Step::Idle {}
    assert_eq!(k.stats(t).fault, Some(Fault::Trap(TrapCode::Unreachable)));
    assert_eq!(drain(), Vec::<u32>::new(), "its entry never ran");
}

/// Guest: ch_recv(0, &v); ch_send(1, v * 10 + id) where id is the start argument baked in below.
fn waiter(id: u32) -> String {
    format!(
        r#"(module
          (import "env" "ch_send" (func $send (param i32 i32)))
          (import "env" "ch_recv" (func $recv (param i32 i32)))
          (memory 1)
          (func (export "main")
            (call $recv (i32.const 0) (i32.const 0))
            (call $send (i32.const 2) (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 10)) (i32.const {id})))))"#
    )
}

#[test]
fn blocked_receivers_are_served_in_arrival_order() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let ctx = Ctx::new(&core);
    let out = RefCell::new(Vec::new());
    let mut feeder = pin!(async {
        for v in 1..=3 {
            ctx.send(0, v).await.expect("send");
        }
        for _ in 0..3 {
            let v = ctx.recv(2).await.expect("recv");
            out.borrow_mut().push(v);
        }
    });
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let ws: Vec<u8> = (1..=3).map(|id| spawn(&mut k, module(&waiter(id)))).collect();
    // Let all three block first.
    for &w in &ws {
        assert_eq!(k.step(), Step::Ran(w, TaskState::Blocked));
    }
    k.spawn_native(feeder.as_mut()).expect("feeder");
    k.run(100);
    // First to block got the first message.
    assert_eq!(*out.borrow(), [11, 22, 33]);
    assert!(ws.iter().all(|&w| k.state(w) == TaskState::Done));
}

#[test]
fn lifecycle_transitions_follow_the_diagram() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let recv = module(&waiter(1));
    let t = spawn(&mut k, recv);
    assert_eq!(k.state(t), TaskState::Ready, "spawn → Ready");
    assert_eq!(k.step(), Step::Ran(t, TaskState::Blocked), "Running → Blocked on an empty rendezvous");
    assert_eq!(k.step(), Step::Idle, "a blocked task is not scheduled");
    core.borrow_mut().close(0);
    assert_eq!(k.state(t), TaskState::Ready, "close wakes the waiter");
    assert_eq!(k.step(), Step::Ran(t, TaskState::Terminated), "a void ch_recv on a closed channel ends the guest");
    assert_eq!(k.stats(t).fault, Some(Fault::BadImport));
    assert!(k.unload(t), "Terminated → Free");
    assert_eq!(k.state(t), TaskState::Free);
    let done = spawn(&mut k, module(r#"(module (func (export "main")))"#));
    assert_eq!(done, t, "the slot is reused");
    assert_eq!(k.step(), Step::Ran(t, TaskState::Done));
    let busy = spawn(&mut k, module(BUSY));
    assert_eq!(k.step(), Step::Ran(busy, TaskState::Ready), "slice spent → back to Ready");
    k.terminate(busy, Fault::Killed);
    assert_eq!(k.state(busy), TaskState::Terminated);
    assert_eq!(k.step(), Step::Idle);
}

#[test]
fn a_trapping_guest_ends_alone() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let bad = spawn(&mut k, module(r#"(module (func (export "main") (loop (br 0)) ))"#));
    let crash = spawn(&mut k, module(r#"(module (func (export "main") (drop (i32.div_s (i32.const 1) (i32.const 0)))))"#));
    let busy = spawn(&mut k, module(BUSY));
    k.run(30);
    assert!(matches!(k.stats(crash).fault, Some(Fault::Trap(fireball_wasm::TrapCode::IntegerDivideByZero))));
    assert_eq!(k.state(crash), TaskState::Terminated);
    assert_eq!(k.state(bad), TaskState::Ready);
    assert!(k.stats(busy).counters.instructions > 0 && k.stats(busy).counters.switches >= 14);
}

const SENDER: &str = r#"(module
  (import "env" "buf_create" (func $create (param i32 i32) (result i32)))
  (import "env" "buf_send" (func $send (param i32 i32) (result i32)))
  (import "env" "buf_read" (func $read (param i32 i32 i32) (result i32)))
  (import "env" "ch_send" (func $report (param i32 i32)))
  (memory 1)
  (data (i32.const 0) "sensor frame #1")
  (func (export "main") (local $h i32)
    (local.set $h (call $create (i32.const 0) (i32.const 15)))
    (call $report (i32.const 3) (call $send (i32.const 2) (local.get $h)))
    ;; the handle moved: reading it now is refused
    (call $report (i32.const 3) (call $read (local.get $h) (i32.const 100) (i32.const 15)))))"#;

const RECEIVER: &str = r#"(module
  (import "env" "buf_recv" (func $recv (param i32) (result i32)))
  (import "env" "buf_read" (func $read (param i32 i32 i32) (result i32)))
  (import "env" "buf_release" (func $release (param i32) (result i32)))
  (import "env" "ch_send" (func $report (param i32 i32)))
  (memory 1)
  (func (export "main") (local $h i32)
    (local.set $h (call $recv (i32.const 2)))
    (call $report (i32.const 3) (call $read (local.get $h) (i32.const 0) (i32.const 64)))
    (call $report (i32.const 3) (i32.load8_u (i32.const 14)))
    (call $report (i32.const 3) (call $release (local.get $h)))))"#;

#[test]
fn buffers_move_and_a_moved_handle_is_refused() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let ctx = Ctx::new(&core);
    let reports = RefCell::new(Vec::new());
    let mut log = pin!(async {
        for _ in 0..5 {
            let v = ctx.recv(3).await.expect("report") as u32 as i32;
            reports.borrow_mut().push(v);
        }
    });
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let s = spawn(&mut k, module(SENDER));
    let r = spawn(&mut k, module(RECEIVER));
    k.spawn_native(log.as_mut()).expect("log");
    k.run(200);
    // sender: buf_send ok (0), then reading the moved handle → NotOwner (-5);
    // receiver: 15 bytes, last byte '1', release ok (0).
    let mut got = reports.borrow().clone();
    got.sort();
    let mut want = vec![0, -5, 15, b'1' as i32, 0];
    want.sort();
    assert_eq!(got, want);
    assert_eq!((k.state(s), k.state(r)), (TaskState::Done, TaskState::Done));
}

#[test]
fn unknown_imports_are_refused_at_spawn() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let m = module(r#"(module (import "env" "hal_adc_read" (func (param i32) (result i32))) (func (export "main")))"#);
    assert_eq!(k.spawn_wasm(m, "main", Global, LIMITS, STACK).err(), Some(SpawnError::UnknownImport { index: 0 }));
    let m = module(r#"(module (func (export "start") (param i32)))"#);
    assert_eq!(k.spawn_wasm(m, "main", Global, LIMITS, STACK).err(), Some(SpawnError::NoEntry));
}

/// Blocks in buf_send on a full channel; after the close, reads its buffer back (it is still the owner).
const STUCK_SENDER: &str = r#"(module
  (import "env" "buf_create" (func $create (param i32 i32) (result i32)))
  (import "env" "buf_send" (func $send (param i32 i32) (result i32)))
  (import "env" "buf_read" (func $read (param i32 i32 i32) (result i32)))
  (import "env" "ch_send" (func $report (param i32 i32)))
  (memory 1)
  (data (i32.const 0) "abc")
  (func (export "main") (local $h i32)
    (local.set $h (call $create (i32.const 0) (i32.const 3)))
    (call $report (i32.const 2) (call $send (i32.const 0) (local.get $h)))
    (call $report (i32.const 2) (call $read (local.get $h) (i32.const 100) (i32.const 3)))))"#;

#[test]
fn a_buffer_stuck_in_a_closed_channel_returns_to_its_sender() {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let t = spawn(&mut k, module(STUCK_SENDER));
    assert_eq!(k.step(), Step::Ran(t, TaskState::Blocked), "rendezvous channel 0: nobody receives");
    core.borrow_mut().close(0);
    k.run(10);
    let ctx = Ctx::new(&core);
    assert_eq!(ctx.try_recv(2), Ok((-1i32) as u32), "buf_send reports the close");
    assert_eq!(ctx.try_recv(2), Ok(3), "and the sender still owns its 3-byte buffer");
    assert_eq!(k.state(t), TaskState::Done);
}

/// The kernel's state is a `RefCell` its user creates and may borrow. Code that holds
/// a borrow while it calls the kernel (a native task, a subsystem, the embedder) gets
/// a refusal — a full channel, an idle step — never a panic that would stop every task.
#[test]
fn re_entering_the_kernel_is_refused_not_a_panic() {
    use fireball_coos::chan::{TryRecvError, TrySendError};
    use std::future::Future;
    use std::task::{Context, Waker};
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let ctx = Ctx::new(&core);
    let seen = RefCell::new(Vec::new());
    let mut nosy = pin!(async {
        let held = core.borrow();
        let refused = (ctx.try_send(2, 7), ctx.try_recv(2));
        drop(held);
        // The same calls, once the borrow is gone, go through.
        let served = (ctx.try_send(2, 8), ctx.try_recv(2));
        seen.borrow_mut().push((refused, served));
        // A blocking receive that meets a borrow waits for the next turn instead.
        let held = core.borrow();
        let mut recv = pin!(ctx.recv(2));
        let polled = recv.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending();
        drop(held);
        assert!(polled, "a receive that cannot borrow the kernel's state is pending");
    });
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let n = k.spawn_native(nosy.as_mut()).expect("native");
    assert_eq!(k.step(), Step::Ran(n, TaskState::Done));
    let (refused, served) = seen.borrow()[0];
    assert!(matches!(refused, (Err(TrySendError::Full(m)), Err(TryRecvError::Empty)) if m.msg == 7));
    assert_eq!(served, (Ok(()), Ok(8)));
    // An embedder stepping the kernel while it holds the state: nothing runs, and the
    // queries answer as for an unknown task.
    let g = spawn(&mut k, module(YIELD5));
    let held = core.borrow_mut();
    assert_eq!(k.step(), Step::Idle);
    assert_eq!(k.state(g), TaskState::Free);
    drop(held);
    assert_eq!(k.state(g), TaskState::Ready);
    assert!(k.run(100) < 100, "the guest runs once the borrow is gone");
    assert_eq!(k.state(g), TaskState::Done);
}

/// A plain value sent with `ch_send` and taken with `buf_recv` is no buffer: the guest
/// gets "bad handle" (-4), not the value dressed up as a handle (or as an error code).
#[test]
fn buf_recv_of_a_plain_value_is_a_bad_handle() {
    let guest = module(
        r#"(module
          (import "env" "ch_send" (func $send (param i32 i32)))
          (import "env" "buf_recv" (func $brecv (param i32) (result i32)))
          (func (export "main")
            (call $send (i32.const 2) (i32.const 12345))
            (if (i32.ne (call $brecv (i32.const 2)) (i32.const -4)) (then unreachable))
            (call $send (i32.const 2) (i32.const -1))
            (if (i32.ne (call $brecv (i32.const 2)) (i32.const -4)) (then unreachable))))"#,
    );
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: K<'_> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let g = spawn(&mut k, guest);
    assert!(k.run(100) < 100);
    assert_eq!(k.state(g), TaskState::Done, "{:?}", k.stats(g).fault);
}
