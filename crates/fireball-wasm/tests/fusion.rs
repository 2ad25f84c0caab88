//! On the host the interpreter executes some instruction sequences in one dispatch
//! (exec.rs, `PEEK_FUSIONS`: `i32.const` with the operator that consumes it;
//! `local.get` with a following `i32.const`, `local.get` or i32 operator, and a
//! `local.get` after `local.set`, `local.tee`, a `br_if` not taken, a store or a
//! block); a Cortex-M fuses none. Each such sequence must compute what the
//! instructions one by one do: checked here against Rust's arithmetic, for constants
//! of one to five LEB bytes and operands at the edges of the i32 range.
//! `scripts/test.sh` runs it with feature `device-dispatch` too (no fusions: the same
//! sequences dispatched one by one, as on a device).

use fireball_wasm::{Exit, HostLimits, Module, StackLimits, Store, Thread, Value};

/// What an i32 operator computes from its two operands.
type Op = fn(i32, i32) -> i32;

/// The operators a constant or a local fuses with, and what each computes.
const OPS: &[(&str, Op)] = &[
    ("i32.eq", |a, c| (a == c) as i32),
    ("i32.ne", |a, c| (a != c) as i32),
    ("i32.lt_s", |a, c| (a < c) as i32),
    ("i32.lt_u", |a, c| ((a as u32) < c as u32) as i32),
    ("i32.gt_s", |a, c| (a > c) as i32),
    ("i32.gt_u", |a, c| (a as u32 > c as u32) as i32),
    ("i32.add", |a, c| a.wrapping_add(c)),
    ("i32.sub", |a, c| a.wrapping_sub(c)),
    ("i32.mul", |a, c| a.wrapping_mul(c)),
    ("i32.and", |a, c| a & c),
    ("i32.or", |a, c| a | c),
    ("i32.xor", |a, c| a ^ c),
    ("i32.shl", |a, c| a.wrapping_shl(c as u32)),
    ("i32.shr_s", |a, c| a.wrapping_shr(c as u32)),
    ("i32.shr_u", |a, c| (a as u32).wrapping_shr(c as u32) as i32),
    ("i32.rotl", |a, c| (a as u32).rotate_left(c as u32 % 32) as i32),
    // Not fused: the constant and the local are pushed and the operator dispatched.
    ("i32.rotr", |a, c| (a as u32).rotate_right(c as u32 % 32) as i32),
    ("i32.div_u", |a, c| if c == 0 { 0 } else { (a as u32 / c as u32) as i32 }),
    ("i32.le_s", |a, c| (a <= c) as i32),
];

/// Constants of one to five LEB bytes, signs and shift counts past 31.
const CONSTS: &[i32] = &[0, 1, -1, 5, 31, 32, 33, 63, -64, 300, -8192, 100_000, 0x7fff_ffff, i32::MIN];
const ARGS: &[i32] = &[0, 1, -1, 7, 31, 32, 1000, -123_456, i32::MAX, i32::MIN];

fn module() -> Vec<u8> {
    let mut wat = String::from("(module (memory 1)\n");
    for (i, (op, _)) in OPS.iter().enumerate() {
        for (k, c) in CONSTS.iter().enumerate() {
            if *op == "i32.div_u" && *c == 0 {
                continue;
            }
            // local.get; i32.const; op  (and the const alone after an expression).
            wat += &format!("(func (export \"lc{i}_{k}\") (param i32 i32) (result i32) ({op} (local.get 0) (i32.const {c})))\n");
            wat += &format!(
                "(func (export \"ec{i}_{k}\") (param i32 i32) (result i32) ({op} (i32.xor (local.get 0) (local.get 1)) (i32.const {c})))\n"
            );
        }
        if *op == "i32.div_u" {
            continue;
        }
        // An expression, then local.get; op: the local fuses with the operator.
        wat += &format!("(func (export \"ll{i}\") (param i32 i32) (result i32) ({op} (i32.sub (local.get 0) (i32.const 3)) (local.get 1)))\n");
    }
    // A local.get after local.set, local.tee, br_if not taken, a store and a block.
    wat += r#"
  (func (export "after_set") (param i32 i32) (result i32) (local i32)
    (local.set 2 (i32.mul (local.get 0) (i32.const 3)))
    (i32.add (local.get 2) (local.get 1)))
  (func (export "after_tee") (param i32 i32) (result i32) (local i32)
    (i32.sub (local.tee 2 (i32.xor (local.get 0) (local.get 1))) (i32.add (local.get 2) (i32.const 9))))
  (func (export "after_tee_const") (param i32 i32) (result i32) (local i32)
    (i32.and (local.tee 2 (local.get 1)) (i32.const 0xff00)))
  (func (export "after_br_if") (param i32 i32) (result i32)
    (block (br_if 0 (i32.eq (local.get 0) (i32.const 7))) (local.set 1 (i32.add (local.get 1) (local.get 0))))
    (local.get 1))
  (func (export "after_store") (param i32 i32) (result i32)
    (i32.store (i32.const 16) (local.get 0))
    (i32.add (local.get 1) (i32.load (i32.const 16))))
  (func (export "after_block") (param i32 i32) (result i32)
    (block (block (local.set 1 (i32.or (local.get 1) (local.get 0)))))
    (local.get 1))
  (func (export "const_store") (param i32 i32) (result i32)
    (i32.store (local.get 0) (i32.const 77))
    (i32.load (local.get 0)))
  (func (export "i64_after") (param i32 i32) (result i32)
    (i32.wrap_i64 (i64.add (i64.extend_i32_s (local.get 0)) (i64.const 5))))
)"#;
    wat::parse_str(&wat).expect("wat")
}

fn call(store: &mut Store, f: &str, a: i32, b: i32) -> i32 {
    let inst = fireball_wasm::Instance(0);
    let func = store.export_func(inst, f).unwrap_or_else(|| panic!("export {f}"));
    let mut thread = Thread::new(StackLimits::default()).expect("thread");
    thread.invoke(store, func, &[Value::I32(a), Value::I32(b)]).expect("invoke");
    match thread.run(store) {
        Exit::Done => {}
        other => panic!("{f}({a}, {b}): {other:?}"),
    }
    let r = thread.results(store).next().and_then(|v| v.i32()).expect("i32 result");
    r
}

#[test]
fn fused_sequences_compute_what_the_instructions_do() {
    let bytes = module();
    let module = Module::new(&bytes).expect("valid");
    let mut store = Store::new(HostLimits::default());
    store.instantiate(&module, |_, _, _| None).expect("instantiate");
    for (i, (op, f)) in OPS.iter().enumerate() {
        for &a in ARGS {
            for (k, &c) in CONSTS.iter().enumerate() {
                if *op == "i32.div_u" && c == 0 {
                    continue;
                }
                assert_eq!(call(&mut store, &format!("lc{i}_{k}"), a, 0), f(a, c), "local.get {a}; i32.const {c}; {op}");
                assert_eq!(call(&mut store, &format!("ec{i}_{k}"), a, 5), f(a ^ 5, c), "({a} ^ 5); i32.const {c}; {op}");
            }
            if *op == "i32.div_u" {
                continue;
            }
            for &b in ARGS {
                assert_eq!(call(&mut store, &format!("ll{i}"), a, b), f(a.wrapping_sub(3), b), "({a} - 3); local.get {b}; {op}");
            }
        }
    }
    for &a in ARGS {
        for &b in ARGS {
            assert_eq!(call(&mut store, "after_set", a, b), a.wrapping_mul(3).wrapping_add(b));
            assert_eq!(call(&mut store, "after_tee", a, b), (a ^ b).wrapping_sub((a ^ b).wrapping_add(9)));
            assert_eq!(call(&mut store, "after_tee_const", a, b), b & 0xff00);
            assert_eq!(call(&mut store, "after_br_if", a, b), if a == 7 { b } else { b.wrapping_add(a) });
            assert_eq!(call(&mut store, "after_store", a, b), b.wrapping_add(a));
            assert_eq!(call(&mut store, "after_block", a, b), b | a);
            assert_eq!(call(&mut store, "i64_after", a, b), a.wrapping_add(5));
        }
        if (0..65532).contains(&a) {
            assert_eq!(call(&mut store, "const_store", a, 0), 77);
        }
    }
}
