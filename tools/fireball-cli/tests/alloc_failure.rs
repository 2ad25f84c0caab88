//! Allocation failure at every step (issue 12, item 5). An allocator that fails
//! its N-th allocation, for every N from 0 until the step succeeds, under each
//! step a module goes through on its way to running: load (plain and packed;
//! validation is part of loading), pack and verify, instantiate, the thread,
//! the kernel's spawn, and a restart (unload, then spawn again). For every N
//! the step must give a clean error — never a panic (each attempt runs under
//! `catch_unwind`) — and the allocator must be back to its baseline afterwards
//! (the wrapper counts live bytes and blocks). There is no debugger session to
//! start yet, so that step is not swept.
//!
//! Modules: the examples, hello-c, and text modules with tables, globals, data
//! and element segments. `cargo test -p fireball-cli --test alloc_failure --
//! --nocapture` prints how many N each step swept.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};
use fireball_cli::system::entry_of;
use fireball_coos::mem::Exhaustion;
use fireball_coos::sched::{Core, Kernel, KernelConfig, Policy, SpawnError, TaskState};
use fireball_sys::hal::Registry;
use fireball_sys::log::{Event, Logger};
use fireball_sys::router::{Grants, Router};
use fireball_wasm::{Extern, Features, HostLimits, ImportDesc, InstantiateError, LoadError, Module, StackLimits, Store, Thread};

/// Fails allocation number `fail_at` (0-based, counting every allocate and grow), forwards the
/// rest to the global heap, and counts what is live.
struct FailNth {
    fail_at: Cell<usize>,
    count: Cell<usize>,
    failed: Cell<bool>,
    live_bytes: Cell<usize>,
    live_blocks: Cell<usize>,
}

impl FailNth {
    fn new() -> Self {
        FailNth { fail_at: Cell::new(usize::MAX), count: Cell::new(0), failed: Cell::new(false), live_bytes: Cell::new(0), live_blocks: Cell::new(0) }
    }

    /// From now on, fail the `n`-th allocation (`usize::MAX`: none).
    fn arm(&self, n: usize) {
        self.fail_at.set(n);
        self.count.set(0);
        self.failed.set(false);
    }

    fn live(&self) -> (usize, usize) {
        (self.live_bytes.get(), self.live_blocks.get())
    }
}

// SAFETY: forwards to `Global` (or refuses); every block is freed through `Global` with the
// layout it was allocated with; `grow` is the trait's default (allocate — counted, so it may
// fail —, copy, free); `shrink` forwards to `Global`'s, as a partition shrinks in place.
unsafe impl Allocator for &FailNth {
    unsafe fn shrink(&self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller's contract (a live block of `old`, new.size() <= old.size()), passed on.
        let p = unsafe { Global.shrink(ptr, old, new) }?;
        self.live_bytes.set(self.live_bytes.get() - (old.size() - new.size()));
        if new.size() == 0 && old.size() != 0 {
            self.live_blocks.set(self.live_blocks.get() - 1); // freed: zero-sized blocks are not counted
        }
        Ok(p)
    }

    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let n = self.count.get();
        self.count.set(n + 1);
        if n == self.fail_at.get() {
            self.failed.set(true);
            return Err(AllocError);
        }
        let p = Global.allocate(layout)?;
        self.live_bytes.set(self.live_bytes.get() + layout.size());
        self.live_blocks.set(self.live_blocks.get() + usize::from(layout.size() != 0));
        Ok(p)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        self.live_bytes.set(self.live_bytes.get() - layout.size());
        self.live_blocks.set(self.live_blocks.get() - usize::from(layout.size() != 0));
        // SAFETY: allocated by `Global` with `layout` in `allocate`.
        unsafe { Global.deallocate(ptr, layout) }
    }
}

/// The kernel asks a task's partition whether it ran dry after each slice; this one never
/// triggers a policy (the sweep is about spawning).
impl Policy for &FailNth {
    fn take_exhausted(&self) -> Option<Exhaustion> {
        None
    }
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The modules swept: name, bytes, entry.
fn modules() -> Vec<(String, &'static [u8], Option<&'static str>)> {
    let mut v = Vec::new();
    for (path, entry) in [
        ("examples/sensor/sensor.wasm", None),
        ("examples/aggregator/aggregator.wasm", None),
        ("examples/inference/inference.wasm", None),
        ("examples/mesh-gateway/mesh_gateway.wasm", Some("mesh_gateway")),
        ("examples/iir-filter/iir_filter.wasm", Some("preprocess_service")),
        ("examples/rust-sensor/sensor.wasm", None),
        ("examples/programs/hello-c/hello.wasm", None),
    ] {
        let bytes = std::fs::read(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        v.push((path.to_string(), &*Box::leak(bytes.into_boxed_slice()), entry));
    }
    for (name, text) in [
        (
            "tables-and-elements.wat",
            r#"(module
              (import "env" "ch_send" (func $send (param i32 i32)))
              (type $t (func (result i32)))
              (table $a 8 funcref) (table $b 4 16 funcref)
              (func $one (result i32) (i32.const 1)) (func $two (result i32) (i32.const 2))
              (elem (table $a) (i32.const 0) func $one $two $one)
              (elem (table $b) (i32.const 1) func $two)
              (elem $passive func $one $two)
              (elem declare func $one)
              (func (export "run")
                (table.init $a $passive (i32.const 4) (i32.const 0) (i32.const 2))
                (call $send (i32.const 0) (call_indirect $a (type $t) (i32.const 5)))))"#,
        ),
        (
            "globals-and-data.wat",
            r#"(module
              (import "env" "co_yield" (func $yield))
              (memory 1)
              (global $g (mut i32) (i32.const 7)) (global i64 (i64.const -1))
              (global f32 (f32.const 1.5)) (global $r (mut funcref) (ref.null func))
              (global $k i32 (i32.const 3)) (global (export "g2") i32 (global.get $k))
              (data (i32.const 0) "hello") (data (i32.const 100) "world")
              (data $p "passive bytes")
              (func $start (global.set $g (i32.add (global.get $g) (i32.load8_u (i32.const 0)))))
              (start $start)
              (func (export "run") (memory.init $p (i32.const 200) (i32.const 0) (i32.const 7)) (data.drop $p) (call $yield)))"#,
        ),
        (
            "control.wat",
            r#"(module
              (func $f (export "f") (param i32) (result i32)
                (block (block (block (br_table 0 1 2 (local.get 0))) (return (i32.const 10)))
                  (loop $l (br_if $l (i32.eqz (local.get 0)))) (return (i32.const 20)))
                (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2))))
              (func (export "run") (drop (call $f (i32.const 1)))))"#,
        ),
    ] {
        let bytes = wat::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        v.push((name.to_string(), &*Box::leak(bytes.into_boxed_slice()), None));
    }
    v
}

const LIMITS: HostLimits = HostLimits { max_memory_bytes: 64 * 1024, max_table_elems: 1024 };
const STACK: StackLimits = StackLimits { value_slots: 1024, frames: 64 };

/// Sweeps N = 0, 1, … until `step` succeeds: every failure must be a clean error (`ok_err`
/// says whether the error is the one an allocation failure gives) and leave `fa` at its
/// baseline; then the success's own resources must go back too. Returns the number of N swept.
fn sweep<E: std::fmt::Debug>(what: &str, fa: &FailNth, mut step: impl FnMut(&FailNth) -> Result<(), E>, ok_err: impl Fn(&E) -> bool) -> usize {
    let baseline = fa.live();
    for n in 0.. {
        fa.arm(n);
        let r = catch_unwind(AssertUnwindSafe(|| step(fa)));
        let failed = fa.failed.get();
        fa.arm(usize::MAX);
        let r = r.unwrap_or_else(|_| panic!("{what}: panicked when allocation {n} failed"));
        assert_eq!(fa.live(), baseline, "{what}: allocation {n} failed, live (bytes, blocks) not back to the baseline");
        match r {
            // Every allocation the step made succeeded: the sweep is over.
            Ok(()) if !failed => return n + 1,
            // A failure the step could do without (none is, so far): go on.
            Ok(()) => {}
            Err(e) => {
                assert!(ok_err(&e), "{what}: allocation {n} failed: unexpected error {e:?}");
            }
        }
        assert!(n < 1_000_000, "{what}: never succeeds");
    }
    unreachable!()
}

/// Host functions for every function import (ids in import order), as a kernel would bind them.
fn bind<'m>(store: &mut Store<'m, &FailNth, Global>, module: &'m Module<'m, Global>) -> Result<Vec<Option<Extern>>, InstantiateError> {
    let mut v = Vec::new();
    let mut f = 0u32;
    for (_, _, desc) in module.imports() {
        v.push(match desc {
            ImportDesc::Func(_) => {
                let ty = module.func_type(f).ok_or(InstantiateError::UnknownImport { index: f })?;
                f += 1;
                Some(Extern::Func(store.host_func(ty.params, ty.results, f).map_err(|_| InstantiateError::OutOfMemory)?))
            }
            _ => None,
        });
    }
    Ok(v)
}

#[test]
fn every_allocation_failure_is_a_clean_error_and_frees_everything() {
    let fa = FailNth::new();
    let mut table = Vec::new();
    for (name, bytes, entry) in modules() {
        let oom_load = |e: &LoadError| *e == LoadError::OutOfMemory;
        // Load, plain (decode + validate + side table) and packed (validate against the packed table).
        let load = sweep(&format!("{name}: load"), &fa, |fa| Module::new_in(bytes, Features::default(), fa).map(drop), oom_load);
        let global = Module::new(bytes).expect("loads");
        let mut packed = Vec::new();
        global.write_packed(|b| packed.extend_from_slice(b));
        let load_packed = sweep(&format!("{name}: load packed"), &fa, |fa| Module::from_packed_in(&packed, Features::default(), fa).map(drop), oom_load);
        // Pack and verify: load in the allocator, pack, load the packed bytes back in it.
        let pack = sweep(
            &format!("{name}: pack and verify"),
            &fa,
            |fa| {
                let m = Module::new_in(bytes, Features::default(), fa)?;
                let mut out = Vec::new();
                m.write_packed(|b| out.extend_from_slice(b));
                let again = Module::from_packed_in(&out, Features::default(), fa)?;
                assert_eq!(again.side_table(), m.side_table());
                Ok(())
            },
            oom_load,
        );
        // Instantiate (the host functions the imports bind to included).
        let instantiate = sweep(
            &format!("{name}: instantiate"),
            &fa,
            |fa| {
                let mut store = Store::new_in(LIMITS, fa);
                let bound = bind(&mut store, &global)?;
                let mut next = 0;
                store
                    .instantiate(&global, |_, _, _| {
                        next += 1;
                        bound.get(next - 1).copied().flatten()
                    })
                    .map(drop)
            },
            |e| *e == InstantiateError::OutOfMemory,
        );
        let thread = sweep(&format!("{name}: Thread::new_in"), &fa, |fa| Thread::new_in(STACK, fa).map(drop), |_| true);
        let (spawn, restart) = spawn_and_restart(&name, &fa, &global, entry);
        table.push((name, [load, load_packed, pack, instantiate, thread, spawn, restart]));
    }
    println!("{:<42} {:>6} {:>7} {:>6} {:>6} {:>7} {:>6} {:>8}", "module: N swept per step", "load", "packed", "pack", "inst", "thread", "spawn", "restart");
    for (name, n) in &table {
        println!("{:<42} {:>6} {:>7} {:>6} {:>6} {:>7} {:>6} {:>8}", name, n[0], n[1], n[2], n[3], n[4], n[5], n[6]);
    }
    let total: usize = table.iter().flat_map(|(_, n)| n.iter()).sum();
    println!("total: {total} failing allocations, every one a clean error with nothing left allocated");
}

type K<'k, 'a> = Kernel<'k, 'a, Global, &'a FailNth, Global>;
type R<'r, 'd> = RefCell<Router<'r, 'd, [Event; 16]>>;

/// Admit, spawn (everything in `fa`), check, unload: a failed spawn must leave its slot free.
fn spawn_once<'a>(kernel: &mut K<'_, 'a>, router: &R<'_, '_>, fa: &'a FailNth, module: &'a Module<'a, Global>, entry: &str) -> Result<(), SpawnError> {
    let slot = kernel.next_task().ok_or(SpawnError::NoSlot)?;
    router.borrow_mut().admit(slot, "m", Grants::ALL);
    let t = kernel.spawn_wasm_with_stack(module, entry, fa, fa, LIMITS, STACK)?;
    assert_eq!(t, slot, "the spawn took the slot the failed ones left free");
    assert_eq!(kernel.state(t), TaskState::Ready);
    assert!(kernel.unload(t));
    router.borrow_mut().dismiss(t);
    Ok(())
}

/// The kernel's spawn (store, host functions, instance, thread, task record, all in the
/// task's partition, here the failing allocator) with the router resolving the imports
/// the kernel does not serve; then a restart: spawn, run a slice, unload, and the sweep
/// on the second spawn in the same slot.
fn spawn_and_restart<'a>(name: &str, fa: &'a FailNth, module: &'a Module<'a, Global>, entry: Option<&str>) -> (usize, usize) {
    let entry = entry_of(module, entry).expect("entry");
    let cfg = KernelConfig { tasks: 4, channels: &[4, 4, 4, 4], owned: 8, cpu_mhz: 100 };
    let core = RefCell::new(Core::new_in(&cfg, Global).expect("core"));
    let mut hal: Registry<'_> = Registry::new();
    let mut logger = Logger::new([Event::EMPTY; 16]);
    let router: R<'_, '_> = RefCell::new(Router::new(&mut hal, &mut logger, 1));
    let mut kernel: K<'_, 'a> = Kernel::new_in(&core, &cfg, Global).expect("kernel");
    kernel.set_syscalls(&router);
    let oom = |e: &SpawnError| matches!(e, SpawnError::OutOfMemory | SpawnError::Instantiate(InstantiateError::OutOfMemory));
    let spawn = sweep(&format!("{name}: spawn"), fa, |_| spawn_once(&mut kernel, &router, fa, module, &entry), oom);
    // Restart: a task ran in the slot and was unloaded; spawning it again fails cleanly at every N.
    let restart = sweep(
        &format!("{name}: restart"),
        fa,
        |_| {
            let armed = fa.fail_at.get();
            fa.arm(usize::MAX);
            let slot = kernel.next_task().ok_or(SpawnError::NoSlot)?;
            router.borrow_mut().admit(slot, "m", Grants::ALL);
            let t = kernel.spawn_wasm_with_stack(module, &entry, fa, fa, LIMITS, STACK).expect("first run");
            kernel.step();
            assert!(kernel.unload(t));
            router.borrow_mut().dismiss(t);
            fa.arm(armed);
            spawn_once(&mut kernel, &router, fa, module, &entry)
        },
        oom,
    );
    (spawn, restart)
}

/// An allocator whose `shrink` always refuses (the `Allocator` contract allows it; a
/// heap that cannot shrink in place and has no room to move the block would).
struct NoShrink;

// SAFETY: forwards allocate and deallocate to `Global`; `shrink` only refuses (the block stays
// as it was, which the contract allows).
unsafe impl Allocator for &NoShrink {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        Global.allocate(layout)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: allocated by `Global` with `layout`.
        unsafe { Global.deallocate(ptr, layout) }
    }

    unsafe fn shrink(&self, _: NonNull<u8>, _: Layout, _: Layout) -> Result<NonNull<[u8]>, AllocError> {
        Err(AllocError)
    }
}

#[test]
fn a_refused_shrink_at_the_end_of_a_load_is_not_an_abort() {
    let bytes = std::fs::read(repo("examples/sensor/sensor.wasm")).expect("sensor");
    let r = catch_unwind(AssertUnwindSafe(|| Module::new_in(&bytes, Features::default(), &NoShrink).map(drop)));
    assert!(matches!(r, Ok(Ok(()) | Err(LoadError::OutOfMemory))), "{:?}", r.ok());
}
