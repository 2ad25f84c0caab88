//! Exhaustion is the fault of the module that caused it, and only that module
//! pays: the spec's table applied by the scheduler to tasks living in their
//! own sub-heaps of P4 (services) and P5 (the guest), carved by the plan.

use std::cell::{Cell, RefCell};
use std::pin::pin;

use allocator_api2::alloc::Global;
use fireball_coos::mem::{Exhaustion, Memory, Partition, PartitionId};
use fireball_coos::plan::{plan, Config, KIB};
use fireball_coos::sched::{Core, Ctx, Fault, Kernel, KernelConfig, TaskState};
use fireball_wasm::{HostLimits, Module, StackLimits};

fn ram(n: usize) -> &'static mut [u8] {
    let r: &'static mut [u8] = Box::leak(vec![0u8; n + 16].into_boxed_slice());
    let off = r.as_ptr().align_offset(16);
    &mut r[off..off + n]
}

fn module(wat: &str) -> &'static Module<'static> {
    let bytes: &'static [u8] = Box::leak(wat::parse_str(wat).expect("wat").into_boxed_slice());
    Box::leak(Box::new(Module::new(bytes).expect("valid")))
}

/// Grows its memory by 256 bytes a slice until the heap under it gives out.
const HOG: &str = r#"(module (import "env" "co_yield" (func $y)) (memory 0 (pagesize 1))
  (func (export "main") (loop (drop (memory.grow (i32.const 256))) (call $y) (br 0))))"#;

/// Produces 0, 1, 2, ... on channel 0 forever.
const PRODUCER: &str = r#"(module (import "env" "ch_send" (func $send (param i32 i32)))
  (func (export "main") (local $i i32)
    (loop (call $send (i32.const 0) (local.get $i)) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br 0))))"#;

const CFG: KernelConfig = KernelConfig { tasks: 8, channels: &[4], owned: 64, cpu_mhz: 100 };
const LIMITS: HostLimits = HostLimits { max_memory_bytes: 64 * 1024, max_table_elems: 16 };
const STACK: StackLimits = StackLimits { value_slots: 64, frames: 8 };

type K<'k, 'p> = Kernel<'k, 'static, Global, &'p Partition, Global>;

#[test]
fn an_exhausted_service_is_terminated_and_the_guest_keeps_producing() {
    let layout = plan(&Config::row(64 * KIB)).expect("plan");
    let mem = Memory::new(&layout, ram(64 * KIB)).expect("memory");
    let p4 = mem.partition(PartitionId::Services);
    let p5 = mem.partition(PartitionId::Guest);
    let svc_heap = p4.sub_partition(3 * KIB, 1).expect("service heap");
    let guest_heap = p5.sub_partition(6 * KIB, 2).expect("guest heap");
    let svc_base = svc_heap.stats().allocated;

    let core = RefCell::new(Core::new_in(&CFG, Global).expect("core"));
    let ctx = Ctx::new(&core);
    let received = Cell::new(0u32);
    let mut sink = pin!(async {
        while let Ok(v) = ctx.recv(0).await {
            assert_eq!(v, received.get(), "in order");
            received.set(v + 1);
        }
    });
    let mut k: K<'_, '_> = Kernel::new_in(&core, &CFG, Global).expect("kernel");
    let svc = k.spawn_wasm(module(HOG), "main", svc_heap.partition(), LIMITS, STACK).expect("service");
    let guest = k.spawn_wasm(module(PRODUCER), "main", guest_heap.partition(), LIMITS, STACK).expect("guest");
    k.spawn_native(sink.as_mut()).expect("sink");

    let mut steps = 0;
    while k.state(svc) != TaskState::Terminated && steps < 10_000 {
        k.step();
        steps += 1;
    }
    assert_eq!(k.state(svc), TaskState::Terminated, "the service ran its P4 sub-heap dry");
    assert_eq!(k.stats(svc).fault, Some(Fault::Exhausted(Exhaustion::TerminateService)));
    let before = received.get();
    k.run(300);
    assert!(received.get() > before + 100, "the guest kept producing: {} -> {}", before, received.get());
    assert_ne!(k.state(guest), TaskState::Terminated);
    assert!(guest_heap.exhausted().is_none());

    // Unloading the service gives every byte back to its sub-heap.
    assert!(k.unload(svc));
    assert_eq!(svc_heap.stats().allocated, svc_base);
}

#[test]
fn an_exhausted_guest_is_unloaded_and_services_run_on() {
    let layout = plan(&Config::row(64 * KIB)).expect("plan");
    let mem = Memory::new(&layout, ram(64 * KIB)).expect("memory");
    let p4 = mem.partition(PartitionId::Services);
    let p5 = mem.partition(PartitionId::Guest);
    let svc_heap = p4.sub_partition(3 * KIB, 1).expect("service heap");
    let guest_heap = p5.sub_partition(4 * KIB, 2).expect("guest heap");
    let guest_base = guest_heap.stats().allocated;

    let core = RefCell::new(Core::new_in(&CFG, Global).expect("core"));
    let ctx = Ctx::new(&core);
    let received = Cell::new(0u32);
    let mut sink = pin!(async {
        while let Ok(v) = ctx.recv(0).await {
            received.set(v + 1);
        }
    });
    let mut k: K<'_, '_> = Kernel::new_in(&core, &CFG, Global).expect("kernel");
    let guest = k.spawn_wasm(module(HOG), "main", guest_heap.partition(), LIMITS, STACK).expect("guest");
    let svc = k.spawn_wasm(module(PRODUCER), "main", svc_heap.partition(), LIMITS, STACK).expect("service");
    k.spawn_native(sink.as_mut()).expect("sink");
    let mut steps = 0;
    while k.state(guest) != TaskState::Free && steps < 10_000 {
        k.step();
        steps += 1;
    }
    assert_eq!(k.state(guest), TaskState::Free, "the guest was unloaded");
    assert_eq!(guest_heap.stats().allocated, guest_base, "and its memory returned to P5");
    let before = received.get();
    k.run(200);
    assert!(received.get() > before + 50, "the service kept producing");
    assert_ne!(k.state(svc), TaskState::Terminated);
}

#[test]
fn degrade_runs_on_and_fatal_partitions_stop_the_system() {
    let layout = plan(&Config::row(64 * KIB)).expect("plan");
    let mem = Memory::new(&layout, ram(64 * KIB)).expect("memory");
    let core = RefCell::new(Core::new_in(&CFG, Global).expect("core"));
    let mut k: K<'_, '_> = Kernel::new_in(&core, &CFG, Global).expect("kernel");
    // A task living in P3 (subsystems) that runs it dry: degrade, it keeps running.
    let p3 = mem.partition(PartitionId::Subsystems);
    let sub = k.spawn_wasm(module(HOG), "main", p3, LIMITS, STACK).expect("P3 task");
    let mut steps = 0;
    while p3.stats().fails == 0 && steps < 10_000 {
        k.step();
        steps += 1;
    }
    assert!(p3.stats().fails > 0, "P3 ran dry");
    k.run(10);
    assert_eq!(k.state(sub), TaskState::Ready, "degrade: control continues");
    assert_eq!(k.stats(sub).fault, None);
    // A task in P2 (the runtime) that runs it dry: fatal, the system must answer.
    let p2 = mem.partition(PartitionId::Runtime);
    let rt = k.spawn_wasm(module(HOG), "main", p2, LIMITS, STACK).expect("P2 task");
    let mut fatal = None;
    for _ in 0..10_000 {
        if let fireball_coos::sched::Step::Fatal(t, policy) = k.step() {
            fatal = Some((t, policy));
            break;
        }
    }
    assert_eq!(fatal, Some((rt, Exhaustion::Fatal)));
    assert_eq!(k.state(rt), TaskState::Terminated);
}

/// Asks for a buffer larger than the kernel's partition can hold (-3 expected), then a
/// small one (kept), and sends that one to the native sink: each result on channel 0.
const BUFFERS: &str = r#"(module
  (import "env" "buf_create" (func $create (param i32 i32) (result i32)))
  (import "env" "buf_send" (func $bsend (param i32 i32) (result i32)))
  (import "env" "ch_send" (func $send (param i32 i32)))
  (memory 1)
  (func (export "main")
    (call $send (i32.const 0) (call $create (i32.const 0) (i32.const 2000)))
    (call $send (i32.const 0) (call $bsend (i32.const 0) (call $create (i32.const 0) (i32.const 8))))))"#;

#[test]
fn a_buffer_the_kernel_partition_cannot_hold_is_the_guests_error_only() {
    // The kernel's tables and the guests' buffers in P1, as the system sets it up.
    let layout = plan(&Config::row(64 * KIB)).expect("plan");
    let mem = Memory::new(&layout, ram(64 * KIB)).expect("memory");
    let p1 = mem.partition(PartitionId::Kernel);
    let guest_heap = mem.partition(PartitionId::Guest).sub_partition(6 * KIB, 1).expect("guest heap");
    let cfg = KernelConfig { owned: 8, ..CFG };
    let core = RefCell::new(Core::new_in(&cfg, p1).expect("core"));
    let ctx = Ctx::new(&core);
    let got = RefCell::new(Vec::new());
    let mut sink = pin!(async {
        while let Ok(v) = ctx.recv(0).await {
            got.borrow_mut().push(v as i32);
        }
    });
    let mut k: Kernel<'_, 'static, &Partition, &Partition, Global> = Kernel::new_in(&core, &cfg, mem.partition(PartitionId::Runtime)).expect("kernel");
    let p1_base = p1.allocated();
    let small = HostLimits { max_memory_bytes: 2048, ..LIMITS };
    let guest = k.spawn_wasm(module(BUFFERS), "main", guest_heap.partition(), small, STACK).expect("guest");
    k.spawn_native(sink.as_mut()).expect("sink");
    let p1_spawned = p1.allocated();
    k.run(100);
    assert_eq!(k.state(guest), TaskState::Done);
    let got = got.borrow();
    assert_eq!(got[0], -3, "no memory for that buffer: {got:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[2], 0, "the small one was sent: {got:?}");
    assert_eq!(p1.exhausted(), None, "the guest's failed buffer does not set off P1's policy (a reset)");
    assert!(p1.stats().fails > 0, "the refusal is counted");
    // The native sink got the buffer's handle: released on receipt, nothing stays in
    // flight, and the buffer list gave its block back.
    assert_eq!(p1.allocated(), p1_spawned, "no buffer bytes left in P1");
    assert!(k.unload(guest));
    assert_eq!(p1.allocated(), p1_base);
}
