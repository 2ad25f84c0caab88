//! Fuel counts executed wasm instructions exactly, however the run is sliced,
//! and every `OutOfFuel` is resumable where it stopped.

use fireball_wasm::{Exit, HostLimits, Module, StackLimits, Store, Thread, Value};

const WAT: &str = r#"(module
  ;; 0 block, 1 loop, 2-5 test + br_if, 6-9 increment, 10 br, 11 end, 12 end, 13 local.get, 14 end:
  ;; executes 9n + 8 instructions.
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br 0)))
    (local.get $i))
  ;; if/else both ways plus a call: 'twice' is 5 instructions (local.get local.get add end + entry).
  (func $twice (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
  (func (export "branchy") (param $x i32) (result i32)
    (if (result i32) (local.get $x)
      (then (call $twice (local.get $x)))
      (else (i32.const 7)))))"#;

fn run(bytes: &[u8], name: &str, arg: i32, slice: u64) -> (i32, u64, u32) {
    let module = Module::new(bytes).expect("valid");
    let mut store = Store::new(HostLimits::default());
    let inst = store.instantiate(&module, |_, _, _| None).expect("instantiate");
    let f = store.export_func(inst, name).expect("export");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(&store, f, &[Value::I32(arg)]).expect("invoke");
    let mut slices = 0;
    loop {
        match thread.resume(&mut store, slice) {
            Exit::Done => break,
            Exit::OutOfFuel => slices += 1,
            other => panic!("{other:?}"),
        }
    }
    let r = thread.results(&store).next().and_then(|v| v.i32()).expect("i32 result");
    (r, thread.instructions(), slices)
}

#[test]
fn loop_count_is_exact_in_any_slicing() {
    let bytes = wat::parse_str(WAT).expect("wat");
    for n in [0, 1, 10, 1000] {
        let expected = 9 * n as u64 + 8;
        let (r, whole, _) = run(&bytes, "count", n, u64::MAX);
        assert_eq!((r, whole), (n, expected), "n={n} in one slice");
        for slice in [1, 2, 3, 7, 100] {
            let (r, total, slices) = run(&bytes, "count", n, slice);
            assert_eq!((r, total), (n, expected), "n={n} slice={slice}");
            // A slice ends at the first branch or call after the budget is spent.
            assert!(slices as u64 >= expected / (slice + 9) , "n={n} slice={slice}: only {slices} slices");
        }
    }
}

#[test]
fn if_else_and_calls_are_counted() {
    let bytes = wat::parse_str(WAT).expect("wat");
    // else-arm: local.get, if, i32.const, end(if), end(func) = 5
    assert_eq!(run(&bytes, "branchy", 0, u64::MAX), (7, 5, 0));
    // then-arm: local.get, if, local.get, call, [twice: local.get, local.get, add, end], end(if), end(func) = 10
    assert_eq!(run(&bytes, "branchy", 3, u64::MAX), (6, 10, 0));
    assert_eq!(run(&bytes, "branchy", 3, 1).0, 6);
}

#[test]
fn slice_stops_a_runaway_loop() {
    let bytes = wat::parse_str(r#"(module (func (export "spin") (param i32) (result i32) (loop (br 0)) (i32.const 0)))"#).expect("wat");
    let module = Module::new(&bytes).expect("valid");
    let mut store = Store::new(HostLimits::default());
    let inst = store.instantiate(&module, |_, _, _| None).expect("instantiate");
    let f = store.export_func(inst, "spin").expect("export");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(&store, f, &[Value::I32(0)]).expect("invoke");
    for _ in 0..100 {
        assert_eq!(thread.resume(&mut store, 30_000), Exit::OutOfFuel);
    }
    // 100 slices of 30 000, each overshooting by at most one run (2 instructions here).
    let n = thread.instructions();
    assert!((3_000_000..=3_000_200).contains(&n), "{n}");
}

/// A loop with a host call in every iteration and its budget test at a `br_if`
/// back edge, behind an `if` (which tests no budget): a kernel that runs it with
/// a budget, less what each entry used, gets `OutOfFuel` once the budget is
/// spent. (A fuel scheme that charged a `br_if`'s fall-through with the run
/// before it and gave it back when taken never ran out here; the diff fuzzer
/// found it. See exec.rs's docs.)
#[test]
fn a_slice_ends_even_when_the_back_edge_gives_back() {
    let wat = r#"(module (import "env" "h" (func $h (result i32)))
      (func (export "f")
        (loop $outer
          (if (i32.const 1) (then))
          (loop $inner
            (br_if $outer (call $h))
            (drop (i32.const 1)) (drop (i32.const 2)) (drop (i32.const 3))
            (br $inner)))))"#;
    let bytes = wat::parse_str(wat).expect("wat");
    let module = Module::new(&bytes).expect("valid");
    let mut store = Store::new(HostLimits::default());
    let h = store.host_func(&[], &[fireball_wasm::ValType::I32], 1).expect("host");
    let inst = store.instantiate(&module, |_, _, _| Some(fireball_wasm::Extern::Func(h))).expect("instantiate");
    let f = store.export_func(inst, "f").expect("export");
    for budget in [1u64, 5, 30, 1000] {
        let mut thread = Thread::new(StackLimits::default()).expect("thread");
        thread.invoke(&store, f, &[]).expect("invoke");
        let (mut fuel, mut calls) = (budget, 0u64);
        loop {
            let before = thread.instructions();
            let exit = thread.resume(&mut store, fuel);
            fuel = fuel.saturating_sub((thread.instructions().wrapping_sub(before) as i64).max(0) as u64);
            match exit {
                Exit::OutOfFuel => break,
                Exit::HostCall { .. } => thread.host_return(&store, &[Value::I32(1)]).expect("return"),
                other => panic!("{other:?}"),
            }
            calls += 1;
            assert!(calls <= budget + 1, "budget {budget}: {calls} host calls and no OutOfFuel");
        }
    }
}

/// Loads and stores after `memory.grow`, in the same slice and after a resume, reach
/// the memory as it is now. (On 32-bit Arm, and on the host with `device-dispatch`, the
/// loop keeps memory 0's bytes in the thread, `raw::Bottom`, and must take them again
/// after a grow, which may move them: a store through the old pointer would not show
/// in the store's memory.)
#[test]
fn accesses_after_memory_grow_reach_the_grown_memory() {
    use fireball_wasm::Extern;
    let bytes = wat::parse_str(
        r#"(module (memory (export "mem") 1)
          (func (export "grow") (param $n i32) (result i32) (local $i i32) (local $sum i32)
            (block (loop
              (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
              (drop (memory.grow (i32.const 1)))
              ;; the new page's first word, and a word of page 0, written after the grow
              (i32.store (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.const 65536)) (i32.add (local.get $i) (i32.const 7)))
              (i32.store8 (i32.const 100) (local.get $i))
              (local.set $sum (i32.add (local.get $sum)
                (i32.load (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.const 65536)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br 0)))
            (i32.add (local.get $sum) (i32.load8_u (i32.const 100)))))"#,
    )
    .expect("wat");
    let module = Module::new(&bytes).expect("valid");
    for slice in [1, 5, 40, u64::MAX] {
        // A limit past `RESERVE_LIMIT` (16 MiB): the memory is not reserved in full when
        // created, so each grow reallocates its bytes.
        let mut store = Store::new(HostLimits { max_memory_bytes: 64 << 20, max_table_elems: 0 });
        let inst = store.instantiate(&module, |_, _, _| None).expect("instantiate");
        // Allocated after the memory, so that growing it moves its bytes (with the usual
        // allocators: nothing to grow into in place), which a stale pointer would miss.
        let fence = vec![0u8; 64];
        let f = store.export_func(inst, "grow").expect("export");
        let Some(Extern::Memory(mem)) = store.export(inst, "mem") else { panic!("no memory export") };
        let mut thread = Thread::new(StackLimits::default()).expect("thread");
        thread.invoke(&store, f, &[Value::I32(4)]).expect("invoke");
        while thread.resume(&mut store, slice) == Exit::OutOfFuel {}
        // 7 + 8 + 9 + 10 from the new pages, and the last byte written to page 0.
        assert_eq!(thread.results(&store).next().and_then(|v| v.i32()), Some(37), "slice {slice}");
        let data = store.memory_data(mem).expect("memory");
        assert_eq!(data.len(), 5 * 65536, "slice {slice}");
        assert_eq!(data[100], 3, "slice {slice}: page 0 written after the grows");
        for k in 1..=4usize {
            let w = u32::from_le_bytes(data[k * 65536..k * 65536 + 4].try_into().expect("4 bytes"));
            assert_eq!(w, k as u32 + 6, "slice {slice}: page {k}");
        }
        drop(fence);
    }
}
