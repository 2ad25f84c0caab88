//! The `debug` feature: breakpoints that stop before an instruction without
//! patching code, single steps (into calls, over host calls), the frame view,
//! and results identical to an undebugged run.
#![cfg(feature = "debug")]

use fireball_wasm::debug::{Breakpoint, BreakpointError};
use fireball_wasm::{Exit, Extern, Module, StackLimits, Store, Thread, Value};

const WAT: &str = r#"
(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (global $g (mut i32) (i32.const 7))
  (func $sq (param $x i32) (result i32)
    local.get $x
    local.get $x
    i32.mul)
  (func (export "sum") (param $n i32) (result i32) (local $acc i32) (local $wide i64)
    i64.const -5
    local.set $wide
    (block $out
      (loop $top
        local.get $n
        i32.eqz
        br_if $out
        local.get $acc
        local.get $n
        call $sq
        i32.add
        local.set $acc
        local.get $n
        i32.const 1
        i32.sub
        local.set $n
        br $top))
    local.get $acc
    call $tick
    global.set $g
    global.get $g))
"#;

struct Rig {
    module: &'static Module<'static>,
}

fn rig() -> Rig {
    let bytes: &'static [u8] = Box::leak(wat::parse_str(WAT).expect("wat").into_boxed_slice());
    Rig { module: Box::leak(Box::new(Module::new(bytes).expect("module"))) }
}

impl Rig {
    fn start(&self, n: i32) -> (Store<'static>, Thread) {
        let mut store = Store::new(Default::default());
        let tick = store.host_func(&[fireball_wasm::ValType::I32], &[fireball_wasm::ValType::I32], 1).expect("host");
        let inst = store.instantiate(self.module, |_, _, _| Some(Extern::Func(tick))).expect("instantiate");
        let f = store.export_func(inst, "sum").expect("sum");
        let mut thread = Thread::new(StackLimits { value_slots: 256, frames: 16 }).expect("thread");
        thread.invoke(&store, f, &[Value::I32(n)]).expect("invoke");
        (store, thread)
    }

    /// Defined function `i`'s first instruction.
    fn first(&self, i: u32) -> u32 {
        self.module.func_info(i).expect("body").code_start
    }
}

/// Resume until something other than a host call; host calls answer `tick(x) = x + 1`.
fn go(store: &mut Store<'static>, thread: &mut Thread) -> Exit {
    loop {
        match thread.resume(store, u64::MAX) {
            Exit::HostCall { .. } => {
                let x = thread.host_args(store).next().and_then(|v| v.i32()).expect("arg");
                thread.host_return(store, &[Value::I32(x + 1)]).expect("return");
            }
            e => return e,
        }
    }
}

#[test]
fn breakpoint_stops_each_time_and_resume_goes_on() {
    let r = rig();
    let (mut store, mut thread) = r.start(3);
    let sq = r.first(0);
    thread.set_breakpoint(&store, Breakpoint { instance: 0, offset: sq }).expect("set");
    let mut args = Vec::new();
    loop {
        match go(&mut store, &mut thread) {
            Exit::Breakpoint { offset } => {
                assert_eq!(offset, sq);
                assert_eq!(thread.frame_count(), 2);
                let f0 = thread.frame(&store, 0).expect("frame 0");
                assert_eq!((f0.index, f0.pc), (1, sq), "import 0, then $sq");
                args.push(thread.local(&store, 0, 0).expect("x"));
                // The caller: `sum`, stopped at the instruction after its `call`.
                let f1 = thread.frame(&store, 1).expect("frame 1");
                assert_eq!(f1.index, 2);
                assert!(f1.pc > r.first(1) && f1.pc < r.module.func_info(1).expect("sum").code_end);
                assert_eq!(thread.local(&store, 1, 2), Some(Value::I64(-5)), "a declared i64 local, typed");
                // Its operand stack under the call: `acc` (the argument went to the callee).
                let acc = thread.local(&store, 1, 1).and_then(|v| v.i32()).expect("acc");
                // (An i32 operand is the slot's low half; on a device the high half is undefined.)
                assert_eq!(thread.operand(&store, 1, 0).map(|v| v as u32), Some(acc as u32));
                assert_eq!(thread.operand(&store, 1, 1), None);
                assert_eq!(thread.global(&store, 1, 0), Some(Value::I32(7)));
            }
            Exit::Done => break,
            e => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(args, vec![Value::I32(3), Value::I32(2), Value::I32(1)]);
    // 9 + 4 + 1, through tick: 15.
    assert_eq!(thread.results(&store).collect::<Vec<_>>(), vec![Value::I32(15)]);
}

#[test]
fn step_is_one_instruction_into_calls_and_over_host_calls() {
    let r = rig();
    let (mut store, mut thread) = r.start(1);
    let start = r.first(1);
    // Stop at the first instruction, then step through the whole call.
    thread.set_breakpoint(&store, Breakpoint { instance: 0, offset: start }).expect("set");
    assert_eq!(go(&mut store, &mut thread), Exit::Breakpoint { offset: start });
    assert!(thread.clear_breakpoint(Breakpoint { instance: 0, offset: start }));
    let mut pcs = vec![start];
    let exit = loop {
        thread.set_step(true);
        match go(&mut store, &mut thread) {
            Exit::Breakpoint { offset } => pcs.push(offset),
            e => break e,
        }
    };
    assert_eq!(exit, Exit::Done);
    // `i64.const -5` is 2 bytes: the first step lands right after it.
    assert_eq!(pcs[1], start + 2);
    // A call stops at the callee's first instruction, then its next ones.
    let sq = r.first(0);
    let i = pcs.iter().position(|&p| p == sq).expect("stepped into $sq");
    assert_eq!(pcs[i + 1], sq + 2);
    // One stop before every instruction executed (fuel counts them exactly),
    // the host call one of them.
    assert_eq!(pcs.len() as u64, thread.instructions());
    assert_eq!(thread.results(&store).collect::<Vec<_>>(), vec![Value::I32(2)]);
}

#[test]
fn results_and_fuel_do_not_change_under_a_debugger() {
    let r = rig();
    let (mut store, mut thread) = r.start(20);
    assert_eq!(go(&mut store, &mut thread), Exit::Done);
    let plain = (thread.results(&store).collect::<Vec<_>>(), thread.instructions());
    let (mut store, mut thread) = r.start(20);
    // A breakpoint that is never reached still selects the checking loop.
    let end = r.module.func_info(1).expect("sum").code_end - 1;
    thread.set_breakpoint(&store, Breakpoint { instance: 0, offset: end }).expect("set");
    let mut stops = 0;
    loop {
        match go(&mut store, &mut thread) {
            Exit::Breakpoint { .. } => stops += 1,
            Exit::Done => break,
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(stops, 1, "the final `end`");
    assert_eq!((thread.results(&store).collect::<Vec<_>>(), thread.instructions()), plain);
}

#[test]
fn breakpoints_outside_code_and_too_many_are_refused() {
    let r = rig();
    let (store, mut thread) = r.start(1);
    assert_eq!(thread.set_breakpoint(&store, Breakpoint { instance: 0, offset: 0 }), Err(BreakpointError::NotInCode));
    assert_eq!(thread.set_breakpoint(&store, Breakpoint { instance: 0, offset: u32::MAX }), Err(BreakpointError::NotInCode));
    assert_eq!(thread.set_breakpoint(&store, Breakpoint { instance: 9, offset: r.first(0) }), Err(BreakpointError::NotInCode));
    let code = r.first(1)..r.module.func_info(1).expect("sum").code_end;
    let mut set = 0;
    for offset in code {
        match thread.set_breakpoint(&store, Breakpoint { instance: 0, offset }) {
            Ok(()) => set += 1,
            Err(BreakpointError::Full) => break,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(set, fireball_wasm::debug::MAX_BREAKPOINTS);
    assert_eq!(thread.breakpoints().len(), set);
    assert!(!thread.clear_breakpoint(Breakpoint { instance: 0, offset: 1 }));
}

#[test]
fn trapped_thread_shows_the_trap_pc() {
    let bytes = wat::parse_str(
        r#"(module (memory 1) (func (export "f") (param i32) (result i32) (local i32)
             i32.const 42 local.set 1
             local.get 0 i32.load))"#,
    )
    .expect("wat");
    let module = Module::new(&bytes).expect("module");
    let mut store = Store::new(Default::default());
    let inst = store.instantiate(&module, |_, _, _| None).expect("inst");
    let f = store.export_func(inst, "f").expect("f");
    let mut thread = Thread::new(StackLimits { value_slots: 64, frames: 4 }).expect("thread");
    thread.invoke(&store, f, &[Value::I32(-4)]).expect("invoke");
    let Exit::Trap(t) = thread.resume(&mut store, 1000) else { panic!("no trap") };
    let f0 = thread.frame(&store, 0).expect("frame");
    assert_eq!(f0.pc, t.offset);
    assert_eq!(thread.local(&store, 0, 0), Some(Value::I32(-4)));
    assert_eq!(thread.local(&store, 0, 1), Some(Value::I32(42)));
    assert_eq!(thread.local(&store, 0, 2), None);
    assert_eq!(thread.operand(&store, 0, 0).map(|v| v as u32), Some(-4i32 as u32), "the address stays on the stack");
}

/// A load or store out of bounds traps at its own opcode, whatever its memarg's shape
/// (the loop finds the opcode from the end of the memarg: `exec::memory_op_start`).
#[test]
fn memory_traps_report_the_opcode_for_every_memarg_shape() {
    let cases: [(&str, u8); 6] = [
        ("local.get 0 i32.load", 0x28),
        ("local.get 0 i32.load offset=70000", 0x28),
        ("local.get 0 i64.load8_s offset=200 align=1", 0x30),
        ("local.get 0 i32.const 7 i32.store offset=16384", 0x36),
        ("local.get 0 i32.load $b offset=5", 0x28),
        ("local.get 0 i64.const 1 i64.store8 $b offset=300", 0x3c),
    ];
    for (body, op) in cases {
        let text = format!(
            r#"(module (memory 1) (memory $b 1) (func (export "f") (param i32) (result i32) {body} {}))"#,
            if op >= 0x36 { "i32.const 0" } else if op == 0x30 { "i32.wrap_i64" } else { "" }
        );
        let bytes = wat::parse_str(&text).expect("wat");
        let features = fireball_wasm::Features { multi_memory: true, ..Default::default() };
        let module = Module::new_in(&bytes, features, allocator_api2::alloc::Global).expect("module");
        let mut store = Store::new(Default::default());
        let inst = store.instantiate(&module, |_, _, _| None).expect("inst");
        let f = store.export_func(inst, "f").expect("f");
        let mut thread = Thread::new(StackLimits { value_slots: 64, frames: 4 }).expect("thread");
        thread.invoke(&store, f, &[Value::I32(65536 - 2)]).expect("invoke");
        let Exit::Trap(t) = thread.resume(&mut store, 1000) else { panic!("{body}: no trap") };
        assert_eq!(t.code, fireball_wasm::TrapCode::MemoryOutOfBounds, "{body}");
        assert_eq!(bytes.get(t.offset as usize), Some(&op), "{body}: trap at {}", t.offset);
        assert_eq!(thread.frame(&store, 0).expect("frame").pc, t.offset, "{body}");
    }
}
