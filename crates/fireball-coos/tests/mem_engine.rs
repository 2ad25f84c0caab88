//! The engine runs on partitions end to end: module metadata in P2 (the
//! runtime), the guest's store and thread in its own sub-heap of P5; every
//! byte comes back when the guest is unloaded. A guest that runs its heap dry
//! triggers "unload the guest" and nothing else.

use fireball_coos::mem::{Exhaustion, Memory, Partition, PartitionId};
use fireball_coos::plan::{plan, Config, KIB};
use fireball_wasm::{Exit, Features, HostLimits, InstantiateError, Module, StackLimits, Store, Thread, Value};

fn ram(n: usize) -> &'static mut [u8] {
    let r: &'static mut [u8] = Box::leak(vec![0u8; n + 16].into_boxed_slice());
    let off = r.as_ptr().align_offset(16);
    &mut r[off..off + n]
}

const WAT: &str = r#"(module
  (memory 1 (pagesize 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  ;; Writes 1..=n as bytes to memory[0..n] and sums them back.
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (local.get $i) (i32.add (local.get $i) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.set $i (i32.const 0))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $s)))"#;

fn call(thread: &mut Thread<&Partition>, store: &mut Store<'_, &Partition, &Partition>, name: &str, arg: i32, inst: fireball_wasm::Instance) -> Option<Value> {
    let f = store.export_func(inst, name).expect("export");
    thread.invoke(store, f, &[Value::I32(arg)]).expect("invoke");
    assert_eq!(thread.run(store), Exit::Done);
    thread.results(store).next()
}

#[test]
fn a_guest_runs_on_partitions_and_gives_everything_back() {
    let bytes = wat::parse_str(WAT).expect("wat");
    let layout = plan(&Config::row(32 * KIB)).expect("plan");
    let mem = Memory::new(&layout, ram(32 * KIB)).expect("memory");
    let p2 = mem.partition(PartitionId::Runtime);
    let p5 = mem.partition(PartitionId::Guest);
    let (p2_base, p5_base) = (p2.stats(), p5.stats());
    {
        let guest = p5.sub_partition(p5.capacity() - 64, 1).expect("guest heap");
        let module = Module::new_in(&bytes, Features::default(), p2).expect("load");
        assert!(p2.allocated() > 0 && p2.allocated() <= module.metadata_bytes() + 256);
        let mut store = Store::new_in(HostLimits { max_memory_bytes: 2 * KIB as u64, max_table_elems: 16 }, guest.partition());
        let inst = store.instantiate(&module, |_, _, _| None).expect("instantiate");
        let mut thread = Thread::new_in(StackLimits { value_slots: 256, frames: 32 }, guest.partition()).expect("thread");
        assert!(guest.allocated() >= thread.ram_bytes());

        assert_eq!(call(&mut thread, &mut store, "fib", 15, inst), Some(Value::I32(610)));
        assert_eq!(call(&mut thread, &mut store, "sum", 1, inst), Some(Value::I32(1)));
        // Linear memory took its whole budget (the host limit) from the guest's heap when
        // it was created, so it grows in place, without a second block, up to the limit, then -1.
        assert!(store.heap_bytes() >= 2 * KIB);
        let before = guest.allocated();
        assert_eq!(call(&mut thread, &mut store, "grow", 1023, inst), Some(Value::I32(1)));
        assert_eq!(guest.allocated(), before, "grew in place");
        assert_eq!(call(&mut thread, &mut store, "sum", 200, inst), Some(Value::I32(200 * 201 / 2)));
        assert_eq!(call(&mut thread, &mut store, "grow", 1025, inst), Some(Value::I32(-1)));
        // Refused by the host limit, not by the heap: no policy triggered.
        assert_eq!(guest.exhausted(), None);
        assert_eq!(guest.stats().fails, 0);

        // Only P2 and the guest's heap were touched.
        for id in [PartitionId::Kernel, PartitionId::Subsystems, PartitionId::Services, PartitionId::Reserve] {
            assert_eq!(mem.partition(id).stats().allocs, 0, "{id:?}");
        }
        assert_eq!(p5.stats().allocs, 1, "P5 itself only holds the guest's heap");
        let s = guest.stats();
        assert!(s.allocs > 3 && s.peak >= s.allocated, "{s:?}");
        println!("guest heap while running: {}", guest.partition());
        println!("runtime:                  {p2}");
        // Unload: drop the guest's objects, then its heap.
        drop(thread);
        drop(store);
        assert_eq!(guest.allocated(), 0, "the store and thread returned every byte");
        drop(module);
        assert_eq!(p2.allocated(), 0, "the module returned every byte");
    }
    let (p2_after, p5_after) = (p2.stats(), p5.stats());
    assert_eq!((p2_after.allocated, p2_after.requested), (p2_base.allocated, p2_base.requested));
    assert_eq!((p5_after.allocated, p5_after.requested), (p5_base.allocated, p5_base.requested));
    assert_eq!((p2_after.allocs - p2_after.frees, p5_after.allocs - p5_after.frees), (0, 0));
    assert_eq!(p5_after.largest_free, p5_after.capacity, "P5 is one free block again");
    assert_eq!(mem.exhausted().count(), 0);
}

#[test]
fn a_guest_that_runs_dry_is_unloaded_and_the_others_go_on() {
    let bytes = wat::parse_str(WAT).expect("wat");
    let layout = plan(&Config::row(32 * KIB)).expect("plan");
    let mem = Memory::new(&layout, ram(32 * KIB)).expect("memory");
    let p2 = mem.partition(PartitionId::Runtime);
    let p4 = mem.partition(PartitionId::Services);
    let p5 = mem.partition(PartitionId::Guest);
    let module = Module::new_in(&bytes, Features::default(), p2).expect("load");

    // A service runs in P4 alongside.
    let service = p4.sub_partition(3 * KIB, 7).expect("service heap");
    let mut svc_store = Store::new_in(HostLimits { max_memory_bytes: 256, max_table_elems: 16 }, service.partition());
    let svc_inst = svc_store.instantiate(&module, |_, _, _| None).expect("service instance");
    let mut svc_thread = Thread::new_in(StackLimits { value_slots: 64, frames: 16 }, service.partition()).expect("service thread");

    // The guest's heap is too small for its thread's stacks.
    let guest = p5.sub_partition(3 * KIB, 1).expect("guest heap");
    let mut store = Store::new_in(HostLimits { max_memory_bytes: 256, max_table_elems: 16 }, guest.partition());
    let _inst = store.instantiate(&module, |_, _, _| None).expect("instantiate");
    assert!(Thread::new_in(StackLimits { value_slots: 512, frames: 64 }, guest.partition()).is_err());
    assert_eq!(guest.exhausted(), Some(Exhaustion::UnloadGuest));
    let failure = guest.last_failure().expect("recorded");
    assert!(failure.requested > failure.free, "{failure}");
    // Nobody else is affected.
    assert_eq!((p5.exhausted(), p4.exhausted(), service.exhausted(), p2.exhausted()), (None, None, None, None));
    // The service keeps computing while the guest is unloaded.
    assert_eq!(call(&mut svc_thread, &mut svc_store, "fib", 10, svc_inst), Some(Value::I32(55)));
    drop(store);
    assert_eq!(guest.allocated(), 0);
    drop(guest);
    assert_eq!(p5.allocated(), 0);
    assert_eq!(call(&mut svc_thread, &mut svc_store, "grow", 99, svc_inst), Some(Value::I32(1)));
    assert_eq!(call(&mut svc_thread, &mut svc_store, "sum", 100, svc_inst), Some(Value::I32(5050)));
    assert_eq!(service.exhausted(), None);

    // An instance whose memory does not fit its heap fails cleanly too.
    let big_bytes = wat::parse_str("(module (memory 4096 (pagesize 1)))").expect("wat");
    let big = Module::new_in(&big_bytes, Features::default(), p2).expect("load");
    let small = p5.sub_partition(1024, 2).expect("small heap");
    let mut store = Store::new_in(HostLimits { max_memory_bytes: 4 * KIB as u64, max_table_elems: 16 }, small.partition());
    assert_eq!(store.instantiate(&big, |_, _, _| None).err(), Some(InstantiateError::OutOfMemory));
    assert_eq!(small.exhausted(), Some(Exhaustion::UnloadGuest));
    drop(store);
    assert_eq!(small.allocated(), 0);
}
