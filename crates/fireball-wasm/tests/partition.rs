//! Every byte a module, store or thread uses comes from the allocator the
//! embedder passes in, and running that allocator dry is an error value for
//! that module — never an abort. The allocator here is a byte-capped wrapper
//! over the global heap, standing in for a partition.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};
use fireball_wasm::{Exit, Features, HostLimits, InstantiateError, LoadError, MemoryAddr, Module, StackLimits, Store, Thread, Value};

struct Capped {
    used: Cell<usize>,
    peak: Cell<usize>,
    cap: usize,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Capped { used: Cell::new(0), peak: Cell::new(0), cap }
    }
}

// SAFETY: forwards to `Global`, refusing (with AllocError) any request that would pass the cap;
// blocks are freed through `Global` with the layout they were allocated with.
unsafe impl Allocator for &Capped {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if self.used.get() + layout.size() > self.cap {
            return Err(AllocError);
        }
        let p = Global.allocate(layout)?;
        self.used.set(self.used.get() + layout.size());
        self.peak.set(self.peak.get().max(self.used.get()));
        Ok(p)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        self.used.set(self.used.get() - layout.size());
        // SAFETY: `ptr` was allocated by `Global` with `layout` in `allocate`.
        unsafe { Global.deallocate(ptr, layout) }
    }
}

const WAT: &str = r#"(module
  (memory 0 (pagesize 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call 1 (i32.sub (local.get 0) (i32.const 1))) (call 1 (i32.sub (local.get 0) (i32.const 2))))))))"#;

#[test]
fn module_metadata_exhaustion_is_an_error() {
    let bytes = wat::parse_str(WAT).expect("wat");
    let tiny = Capped::new(64);
    assert_eq!(Module::new_in(&bytes, Features::default(), &tiny).err(), Some(LoadError::OutOfMemory));
    assert_eq!(tiny.used.get(), 0, "a failed load frees what it took");
}

#[test]
fn everything_comes_from_the_partition_and_returns_to_it() {
    let bytes = wat::parse_str(WAT).expect("wat");
    let part = Capped::new(16 * 1024);
    {
        let module = Module::new_in(&bytes, Features::default(), &part).expect("load");
        let after_load = part.used.get();
        assert!(after_load > 0 && after_load <= module.metadata_bytes() + 256, "{after_load}");
        let mut store = Store::new_in(HostLimits::default(), &part);
        let inst = store.instantiate(&module, |_, _, _| None).expect("instantiate");
        let mut thread = Thread::new_in(StackLimits { value_slots: 256, frames: 32 }, &part).expect("thread");
        assert!(part.used.get() >= after_load + thread.ram_bytes());

        // Linear memory grows inside the partition until it is full: then -1, and the module goes on.
        let grow = store.export_func(inst, "grow").expect("grow");
        let mut grown = 0;
        loop {
            thread.invoke(&store, grow, &[Value::I32(1024)]).expect("invoke");
            assert_eq!(thread.run(&mut store), Exit::Done);
            match thread.results(&store).next() {
                Some(Value::I32(-1)) => break,
                Some(Value::I32(old)) => grown = old + 1024,
                other => panic!("{other:?}"),
            }
        }
        assert!(grown >= 4096 && part.used.get() <= part.cap, "grew to {grown} bytes");
        let fib = store.export_func(inst, "fib").expect("fib");
        thread.invoke(&store, fib, &[Value::I32(15)]).expect("invoke");
        assert_eq!(thread.run(&mut store), Exit::Done);
        assert_eq!(thread.results(&store).next(), Some(Value::I32(610)));

        // A thread whose stacks do not fit the partition is refused.
        assert!(matches!(
            Thread::new_in(StackLimits { value_slots: 1 << 20, frames: 32 }, &part),
            Err(fireball_wasm::OutOfMemory)
        ));
    }
    assert!(part.peak.get() <= part.cap);
    assert_eq!(part.used.get(), 0, "everything is returned when the module is dropped");
}

#[test]
fn an_instance_that_does_not_fit_fails_cleanly() {
    let bytes = wat::parse_str(r#"(module (memory 1) (func (export "f")))"#).expect("wat");
    // Module metadata from one partition (the runtime's), instance objects from another (the guest's).
    let runtime = Capped::new(4 * 1024);
    let module = Module::new_in(&bytes, Features::default(), &runtime).expect("load");
    let part = Capped::new(16 * 1024);
    let mut store: Store<'_, &Capped, &Capped> = Store::new_in(HostLimits::default(), &part);
    // One 64 KiB page cannot come out of a 16 KiB partition.
    assert_eq!(store.instantiate(&module, |_, _, _| None).err(), Some(InstantiateError::OutOfMemory));
    // With the host limit set to what the device has, the same module instantiates.
    let mut store: Store<'_, &Capped, &Capped> =
        Store::new_in(HostLimits { max_memory_bytes: 8 * 1024, max_table_elems: 16 }, &part);
    assert!(store.instantiate(&module, |_, _, _| None).is_ok());
    assert!(part.used.get() >= 8 * 1024 && runtime.used.get() < 4 * 1024);
}

/// A module with `memory` (exported as "m") and a `grow` export that grows it,
/// instantiated on a host that backs `max_memory_bytes` of it: the store, the memory,
/// and a call of `grow` by `n` pages that returns its result.
fn grow_on(memory: &str, max_memory_bytes: u64) -> (Store<'static>, MemoryAddr, impl FnMut(&mut Store<'static>, i32) -> Option<Value>) {
    let wat = format!(r#"(module {memory}
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#);
    let bytes: &'static [u8] = Box::leak(wat::parse_str(&wat).expect("wat").into_boxed_slice());
    let module: &'static Module<'static> = Box::leak(Box::new(Module::new(bytes).expect("module")));
    let mut store = Store::new(HostLimits { max_memory_bytes, max_table_elems: 0 });
    let inst = store.instantiate(module, |_, _, _| None).expect("instantiate");
    let m = store.instance_memory(inst, 0).expect("memory");
    let grow = store.export_func(inst, "grow").expect("grow");
    let mut thread = Thread::new(StackLimits { value_slots: 64, frames: 8 }).expect("thread");
    let call = move |store: &mut Store<'static>, n: i32| {
        thread.invoke(store, grow, &[Value::I32(n)]).expect("invoke");
        assert_eq!(thread.run(store), Exit::Done);
        thread.results(store).next()
    };
    (store, m, call)
}

/// A `memory.grow` past the embedder's limit returns -1 and is counted (a tool can then
/// say why a program ran out of memory); one past the module's own maximum returns -1
/// too, as the spec says, and is not the embedder's to count.
#[test]
fn refused_grows_are_counted() {
    let (mut store, m, mut call) = grow_on(r#"(memory (export "m") 1 3)"#, 2 << 16);
    assert_eq!((call(&mut store, 1), store.memory_refused_grows(m)), (Some(Value::I32(1)), 0));
    // A third page: within the module's maximum, past the embedder's 128 KiB.
    assert_eq!((call(&mut store, 1), store.memory_refused_grows(m)), (Some(Value::I32(-1)), 1));
    // Past the module's own maximum (3 pages): -1, not counted.
    assert_eq!((call(&mut store, 5), store.memory_refused_grows(m)), (Some(Value::I32(-1)), 1));
    // A growth by 0 pages asks for nothing: the size, refused or not before.
    assert_eq!((call(&mut store, 0), store.memory_refused_grows(m)), (Some(Value::I32(2)), 1));
}

/// A memory the embedder backs only in part (the device has less than the module
/// declares) refuses every growth, counted, but a growth by 0 pages: that is the
/// spec's way to ask the size, and answers it (it once returned -1 and was counted
/// as a refusal, which the CLI reported as a shortage of RAM).
#[test]
fn a_memory_backed_in_part_answers_a_growth_by_nothing() {
    let (mut store, m, mut call) = grow_on(r#"(memory (export "m") 2)"#, 3 << 15);
    assert!(store.memory_data(m).is_some_and(|d| d.len() < 2 << 16), "backed only in part");
    assert_eq!((call(&mut store, 0), store.memory_refused_grows(m)), (Some(Value::I32(2)), 0));
    assert_eq!((call(&mut store, 1), store.memory_refused_grows(m)), (Some(Value::I32(-1)), 1));
    assert_eq!((call(&mut store, 0), store.memory_refused_grows(m)), (Some(Value::I32(2)), 1));
}
