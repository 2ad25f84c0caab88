//! Host calls leave the interpreter as values: `Exit::HostCall` with the
//! registered id, arguments readable from the thread, results handed back with
//! `host_return`, after which the guest continues exactly where it called.
//! Imports are bound by (module, name) and type-checked at instantiation.

use fireball_wasm::{
    Exit, Extern, FuncAddr, HostLimits, ImportDesc, InstantiateError, Module, StackLimits, Store, Thread, TrapCode,
    ValType, Value,
};

const GUEST: &str = r#"(module
  (import "env" "hal_adc_read" (func $adc (param i32) (result i32)))
  (import "env" "hal_get_time_ms" (func $time (result i32)))
  ;; sum of n ADC readings of channel ch
  (func (export "sum") (param $ch i32) (param $n i32) (result i32) (local $acc i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (call $adc (local.get $ch))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br 0)))
    (local.get $acc))
  ;; a tail call into the host: its result is this function's result
  (func (export "now") (result i32) (return_call $time)))"#;

const ADC: u32 = 1;
const TIME: u32 = 2;

fn setup<'m>(module: &'m Module<'m>) -> (Store<'m>, fireball_wasm::Instance) {
    let mut store = Store::new(HostLimits::default());
    let adc = store.host_func(&[ValType::I32], &[ValType::I32], ADC).expect("host");
    let time = store.host_func(&[], &[ValType::I32], TIME).expect("host");
    let inst = store
        .instantiate(module, |m, n, _| match (m, n) {
            ("env", "hal_adc_read") => Some(Extern::Func(adc)),
            ("env", "hal_get_time_ms") => Some(Extern::Func(time)),
            _ => None,
        })
        .expect("instantiate");
    (store, inst)
}

#[test]
fn host_calls_exit_and_resume_with_results() {
    let bytes = wat::parse_str(GUEST).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let (mut store, inst) = setup(&module);
    let sum = store.export_func(inst, "sum").expect("sum");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(&store, sum, &[Value::I32(3), Value::I32(5)]).expect("invoke");
    let mut calls = 0;
    loop {
        match thread.resume(&mut store, 7) {
            Exit::Done => break,
            Exit::OutOfFuel => {}
            Exit::HostCall { id, .. } => {
                assert_eq!(id, ADC);
                let args: Vec<Value> = thread.host_args(&store).collect();
                assert_eq!(args, vec![Value::I32(3)]);
                calls += 1;
                // The simulated ADC answers 100 * channel + reading number.
                thread.host_return(&store, &[Value::I32(300 + calls)]).expect("host_return");
            }
            Exit::Trap(t) => panic!("{t}"),
            Exit::Breakpoint { offset } => panic!("debugger stop at {offset} with no breakpoint set"),
        }
    }
    assert_eq!(calls, 5);
    assert_eq!(thread.results(&store).next(), Some(Value::I32(5 * 300 + 15)));
}

#[test]
fn tail_call_to_host_returns_its_result() {
    let bytes = wat::parse_str(GUEST).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let (mut store, inst) = setup(&module);
    let now = store.export_func(inst, "now").expect("now");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(&store, now, &[]).expect("invoke");
    assert!(matches!(thread.run(&mut store), Exit::HostCall { id: TIME, .. }));
    thread.host_return(&store, &[Value::I32(1234)]).expect("host_return");
    assert_eq!(thread.run(&mut store), Exit::Done);
    assert_eq!(thread.results(&store).next(), Some(Value::I32(1234)));
}

#[test]
fn host_misuse_is_an_error_not_a_crash() {
    let bytes = wat::parse_str(GUEST).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let (mut store, inst) = setup(&module);
    let sum = store.export_func(inst, "sum").expect("sum");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    // Wrong argument types and unknown functions are refused.
    assert!(thread.invoke(&store, sum, &[Value::I64(1), Value::I32(1)]).is_err());
    assert!(thread.invoke(&store, FuncAddr(9999), &[]).is_err());
    thread.invoke(&store, sum, &[Value::I32(0), Value::I32(2)]).expect("invoke");
    // host_return before any host call, and with the wrong result type.
    assert!(thread.host_return(&store, &[Value::I32(1)]).is_err());
    assert!(matches!(thread.run(&mut store), Exit::HostCall { .. }));
    assert!(thread.host_return(&store, &[Value::F32(0)]).is_err());
    // A failing device: the guest traps, the host carries on.
    thread.host_trap();
    assert!(matches!(thread.run(&mut store), Exit::Trap(t) if t.code == TrapCode::Host));
}

#[test]
fn imports_are_type_checked_at_instantiation() {
    let bytes = wat::parse_str(GUEST).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let mut store = Store::new(HostLimits::default());
    let wrong = store.host_func(&[ValType::I64], &[ValType::I32], ADC).expect("host");
    let err = store
        .instantiate(&module, |_, n, d| {
            assert!(matches!(d, ImportDesc::Func(_)));
            (n == "hal_adc_read").then_some(Extern::Func(wrong))
        })
        .err();
    assert_eq!(err, Some(InstantiateError::IncompatibleImport { index: 0 }));
    let err = store.instantiate(&module, |_, _, _| None).err();
    assert_eq!(err, Some(InstantiateError::UnknownImport { index: 0 }));
}

#[test]
fn host_return_void_answers_only_a_call_that_returns_nothing() {
    let wat = r#"(module
      (import "env" "co_yield" (func $yield))
      (import "env" "log" (func $log (param i32 i32)))
      (import "env" "hal_get_time_ms" (func $time (result i32)))
      ;; the log call's two arguments leave the stack under the 40 kept beneath them
      (func (export "main") (result i32)
        (call $yield) (call $yield)
        (i32.const 40) (call $log (i32.const 1) (i32.const 2))
        (i32.add (call $time))))"#;
    let bytes = wat::parse_str(wat).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let mut store = Store::new(HostLimits::default());
    let y = store.host_func(&[], &[], 1).expect("host");
    let log = store.host_func(&[ValType::I32, ValType::I32], &[], 3).expect("host");
    let time = store.host_func(&[], &[ValType::I32], TIME).expect("host");
    let inst = store
        .instantiate(&module, |_, n, _| {
            Some(Extern::Func(match n {
                "co_yield" => y,
                "log" => log,
                _ => time,
            }))
        })
        .expect("instantiate");
    let main = store.export_func(inst, "main").expect("main");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(&store, main, &[]).expect("invoke");
    // Not in a host call: refused.
    assert!(thread.host_return_void().is_err());
    for _ in 0..2 {
        assert!(matches!(thread.resume(&mut store, 100), Exit::HostCall { id: 1, .. }));
        thread.host_return_void().expect("host_return_void");
    }
    assert!(matches!(thread.resume(&mut store, 100), Exit::HostCall { id: 3, .. }));
    assert_eq!(thread.host_args(&store).collect::<Vec<_>>(), vec![Value::I32(1), Value::I32(2)]);
    thread.host_return_void().expect("host_return_void");
    // A call with a result is refused, and can still be answered properly.
    assert!(matches!(thread.resume(&mut store, 100), Exit::HostCall { id: TIME, .. }));
    assert!(thread.host_return_void().is_err());
    thread.host_return(&store, &[Value::I32(7)]).expect("host_return");
    assert_eq!(thread.resume(&mut store, 100), Exit::Done);
    assert_eq!(thread.results(&store).next(), Some(Value::I32(47)));
}

/// A host function the embedder invokes itself is done once answered (`host_return`,
/// `host_return_raw` or `host_return_void`), with the answer as its results; a wasm
/// function invoked next on the same thread goes on after its host calls, as if the
/// thread had never run a host function (what the thread remembers of the invoke
/// is reset by each `invoke`).
#[test]
fn a_host_function_invoked_directly_is_done_when_answered_and_only_then() {
    let bytes = wat::parse_str(GUEST).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let (mut store, inst) = setup(&module);
    let sum = store.export_func(inst, "sum").expect("sum");
    let now = store.export_func(inst, "now").expect("now");
    let adc = store.host_func(&[ValType::I32], &[ValType::I32], ADC).expect("host");
    let ping = store.host_func(&[ValType::I32], &[], 9).expect("host");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    for round in 0..2 {
        thread.invoke(&store, adc, &[Value::I32(7)]).expect("invoke");
        assert!(matches!(thread.resume(&mut store, 100), Exit::HostCall { id: ADC, .. }));
        assert_eq!(thread.host_args(&store).collect::<Vec<_>>(), vec![Value::I32(7)]);
        if round == 0 {
            thread.host_return(&store, &[Value::I32(42)]).expect("host_return");
        } else {
            thread.host_return_raw(&[42]).expect("host_return_raw");
        }
        assert_eq!(thread.resume(&mut store, 100), Exit::Done);
        assert_eq!(thread.results(&store).collect::<Vec<_>>(), vec![Value::I32(42)]);

        // A wasm function next: each of its host calls is answered and it goes on.
        thread.invoke(&store, sum, &[Value::I32(1), Value::I32(3)]).expect("invoke");
        for reading in 1..=3 {
            assert!(matches!(thread.resume(&mut store, 100), Exit::HostCall { id: ADC, .. }));
            thread.host_return(&store, &[Value::I32(reading)]).expect("host_return");
        }
        assert_eq!(thread.resume(&mut store, 100), Exit::Done);
        assert_eq!(thread.results(&store).next(), Some(Value::I32(6)));

        // A void host function invoked directly, answered with `host_return_void`.
        thread.invoke(&store, ping, &[Value::I32(1)]).expect("invoke");
        assert!(matches!(thread.run(&mut store), Exit::HostCall { id: 9, .. }));
        thread.host_return_void().expect("host_return_void");
        assert_eq!(thread.run(&mut store), Exit::Done);
        assert_eq!(thread.results(&store).count(), 0);

        // A wasm function whose tail call into the host is answered: done after one more run.
        thread.invoke(&store, now, &[]).expect("invoke");
        assert!(matches!(thread.run(&mut store), Exit::HostCall { id: TIME, .. }));
        thread.host_return(&store, &[Value::I32(5)]).expect("host_return");
        assert_eq!(thread.run(&mut store), Exit::Done);
        assert_eq!(thread.results(&store).next(), Some(Value::I32(5)));
    }
}

/// A 32-bit value whose slot held an i64 before: on a device (and with feature
/// `device-dispatch`, which `scripts/test.sh` tests) the interpreter writes its
/// low word only (`raw::LOW_WORD_I32`), so everything that hands it out must read
/// that word alone: host arguments (typed and raw), results, globals, and the
/// conversions inside the loop.
#[test]
fn a_32_bit_value_over_an_old_i64_reads_as_itself_everywhere() {
    let wat = r#"(module
      (import "env" "take" (func $take (param i32 f32)))
      (global $g (export "g") (mut i32) (i32.const 0))
      (func (export "f") (result i32 i64 f32)
        i64.const -1 i64.const -1 i64.const -1 drop drop drop
        (global.set $g (i32.add (i32.const 5) (i32.const 7)))
        i64.const -1 i64.const -1 i64.const -1 drop drop drop
        (call $take (i32.const 3) (f32.reinterpret_i32 (i32.const 0x3fc00000)))
        i64.const -1 i64.const -1 i64.const -1 drop drop drop
        (i32.lt_u (i32.const 1) (i32.const 2))
        (i64.extend_i32_u (i32.load8_u (i32.const 0)))
        (f32.add (f32.const 1.0) (f32.reinterpret_i32 (i32.const 0x3f000000))))
      (memory 1)
      (data (i32.const 0) "\ff"))"#;
    let bytes = wat::parse_str(wat).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let mut store = Store::new(HostLimits::default());
    let take = store.host_func(&[ValType::I32, ValType::F32], &[], 9).expect("host");
    let inst = store.instantiate(&module, |_, n, _| (n == "take").then_some(Extern::Func(take))).expect("instantiate");
    let f = store.export_func(inst, "f").expect("f");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(&store, f, &[]).expect("invoke");
    let Exit::HostCall { id: 9, .. } = thread.resume(&mut store, 1000) else { panic!("no host call") };
    assert_eq!(thread.host_args(&store).collect::<Vec<_>>(), vec![Value::I32(3), Value::F32(1.5f32.to_bits())]);
    let raw: Vec<u32> = thread.host_args_raw().iter().map(|&v| v as u32).collect();
    assert_eq!(raw, vec![3, 1.5f32.to_bits()]);
    thread.host_return_void().expect("answer");
    assert_eq!(thread.resume(&mut store, 1000), Exit::Done);
    assert_eq!(thread.results(&store).collect::<Vec<_>>(), vec![Value::I32(1), Value::I64(255), Value::F32(1.5f32.to_bits())]);
    let Some(Extern::Global(g)) = store.export(inst, "g") else { panic!("no global g") };
    assert_eq!(store.global_get(g), Some(Value::I32(12)));
}

/// A thread resumed after every kind of exit (host call, fuel out), inside either of
/// two instances calling each other: the loop takes the running function's instance,
/// body end and result count from the thread where the last exit left them (not looked
/// up again), so every resume point must find them right.
#[test]
fn resuming_in_another_instance_after_any_exit_finishes_as_one_run_does() {
    let callee = wat::parse_str(
        r#"(module
      (import "env" "tick" (func $tick (param i32) (result i32)))
      (func (export "f") (param $x i32) (result i32) (local $i i32)
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.and (local.get $x) (i32.const 7)))))
        (i32.add (call $tick (local.get $x)) (local.get $i))))"#,
    )
    .expect("wat");
    let caller = wat::parse_str(
        r#"(module
      (import "b" "f" (func $f (param i32) (result i32)))
      (func (export "main") (param $n i32) (result i32 i64) (local $s i32)
        (block $done (loop $l
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 31)) (call $f (local.get $n))))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $s)
        (i64.const -7)))"#,
    )
    .expect("wat");
    // The same computation in Rust: tick(x) answers 3x + 1.
    let expect = |n: i32| {
        let mut s = 0i32;
        for x in (1..=n).rev() {
            let i = (x & 7).max(1);
            s = s.wrapping_mul(31).wrapping_add(3 * x + 1 + i);
        }
        s
    };
    let (mb, ma) = (Module::new(&callee).expect("callee"), Module::new(&caller).expect("caller"));
    for slice in [1u64, 2, 3, 5, 8, 1000] {
        let mut store = Store::new(HostLimits::default());
        let tick = store.host_func(&[ValType::I32], &[ValType::I32], 1).expect("host");
        let b = store.instantiate(&mb, |_, _, _| Some(Extern::Func(tick))).expect("b");
        let f = store.export_func(b, "f").expect("f");
        let a = store.instantiate(&ma, |_, _, _| Some(Extern::Func(f))).expect("a");
        let main = store.export_func(a, "main").expect("main");
        let mut thread = Thread::new(StackLimits::default()).expect("thread");
        thread.invoke(&store, main, &[Value::I32(20)]).expect("invoke");
        loop {
            match thread.resume(&mut store, slice) {
                Exit::Done => break,
                Exit::OutOfFuel => {}
                Exit::HostCall { id: 1, .. } => {
                    let x = thread.host_args(&store).next().and_then(|v| v.i32()).expect("x");
                    thread.host_return(&store, &[Value::I32(3 * x + 1)]).expect("answer");
                }
                e => panic!("slice {slice}: {e:?}"),
            }
        }
        let got: Vec<Value> = thread.results(&store).collect();
        assert_eq!(got, vec![Value::I32(expect(20)), Value::I64(-7)], "slice {slice}");
    }
}

/// A thread runs only in the store it was invoked in: resumed with another (even one
/// holding the same module), it ends with an internal-error trap instead of reading
/// its saved code position and frames in that store's code.
#[test]
fn a_thread_resumed_in_another_store_traps_instead_of_running_there() {
    let bytes = wat::parse_str(GUEST).expect("wat");
    let module = Module::new(&bytes).expect("load");
    let (mut store, inst) = setup(&module);
    let (mut other, _) = setup(&module);
    let sum = store.export_func(inst, "sum").expect("sum");
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(&store, sum, &[Value::I32(3), Value::I32(5)]).expect("invoke");
    assert!(matches!(thread.resume(&mut store, 1000), Exit::HostCall { id: ADC, .. }));
    thread.host_return(&store, &[Value::I32(1)]).expect("answer");
    let Exit::Trap(t) = thread.resume(&mut other, 1000) else { panic!("ran in another store") };
    assert_eq!(t.code, TrapCode::Internal);
    // And it stays ended, in its own store too.
    assert!(matches!(thread.resume(&mut store, 1000), Exit::Trap(_)));
}
