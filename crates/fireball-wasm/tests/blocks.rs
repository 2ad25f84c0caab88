//! Runs of nested empty-typed `block`s and `loop`s (a C `switch` compiles to a dozen
//! around its `br_table`): the interpreter enters a run in one dispatch, reading
//! two bytes at a time and, from the third block on, four (exec.rs, the `block` and
//! `loop` arm). Checked here: every run length from 1 to 20, blocks and loops mixed,
//! a branch out of the innermost to each block of the run; runs broken by a typed
//! block or an instruction; and a run that ends its function at the very end of the
//! module (no byte after the code), where reading past the body would show.
//! `scripts/test.sh` runs it with feature `checked` too, whose reads past a body
//! give 0xff instead of what happens to lie there.

use fireball_wasm::{Exit, HostLimits, Instance, Module, StackLimits, Store, Thread, Value};

/// The kind of the run's `i`th block (outermost first) for a run of `n`: a loop now
/// and then, but never the outermost or innermost, so each length has both ends blocks.
fn is_loop(n: usize, i: usize) -> bool {
    i != 0 && i + 1 != n && i % 3 == 1
}

/// A function `c{n}(sel)`: `n` nested empty-typed blocks and loops, a `br_table`
/// in the innermost choosing a block by `sel`; after the `end` of the block at
/// depth `k` (0 innermost) it adds `k + 1` to its result.
fn chain(n: usize) -> String {
    let mut f = format!("(func (export \"c{n}\") (param i32) (result i32) (local i32)\n");
    for i in 0..n {
        f += if is_loop(n, i) { "loop\n" } else { "block\n" };
    }
    // The blocks' relative depths (a branch to a loop would start it again).
    let targets: Vec<String> = (0..n).filter(|&d| !is_loop(n, n - 1 - d)).map(|d| d.to_string()).collect();
    f += &format!("local.get 0\nbr_table {}\n", targets.join(" "));
    for k in 0..n {
        f += &format!("end\nlocal.get 1\ni32.const {}\ni32.add\nlocal.set 1\n", k + 1);
    }
    f + "local.get 1)\n"
}

/// Call export `name` of the store's one instance; its result.
fn run(store: &mut Store<'_>, name: &str, args: &[Value]) -> Option<Value> {
    let f = store.export_func(Instance(0), name).expect("exported");
    let mut thread = Thread::new(StackLimits { value_slots: 256, frames: 16 }).expect("thread");
    thread.invoke(store, f, args).expect("invoke");
    assert_eq!(thread.run(store), Exit::Done, "{name}{args:?}");
    let result = thread.results(store).next();
    result
}

#[test]
fn runs_of_empty_blocks_branch_to_each_of_their_blocks() {
    let mut wat = String::from("(module\n");
    for n in 1..=20 {
        wat += &chain(n);
    }
    // Runs broken by a typed block and by an instruction.
    wat += r#"
  (func (export "typed") (param i32) (result i32)
    block block block (result i32) block block block
      local.get 0 br_if 2 end end end i32.const 5 end drop end end
    i32.const 9)
  (func (export "broken") (param i32) (result i32) (local i32)
    block block block nop block block block
      local.get 0 br_table 0 1 2 3 4 5 end
      (local.set 1 (i32.add (local.get 1) (i32.const 1))) end
      (local.set 1 (i32.add (local.get 1) (i32.const 2))) end
      (local.set 1 (i32.add (local.get 1) (i32.const 4))) end
      (local.set 1 (i32.add (local.get 1) (i32.const 8))) end
      (local.set 1 (i32.add (local.get 1) (i32.const 16))) end
      (local.set 1 (i32.add (local.get 1) (i32.const 32)))
    local.get 1)
)"#;
    let bytes = wat::parse_str(&wat).expect("wat");
    let module = Module::new(&bytes).expect("valid");
    let mut store = Store::new(HostLimits::default());
    store.instantiate(&module, |_, _, _| None).expect("instantiate");
    for n in 1..=20usize {
        let blocks: Vec<usize> = (0..n).filter(|&d| !is_loop(n, n - 1 - d)).collect();
        for sel in 0..=blocks.len() + 1 {
            // br_table's last label is its default.
            let d = blocks[sel.min(blocks.len() - 1)];
            let want: usize = (d..n).map(|k| k + 1).sum();
            let got = run(&mut store, &format!("c{n}"), &[Value::I32(sel as i32)]);
            assert_eq!(got, Some(Value::I32(want as i32)), "run of {n}, selector {sel}");
        }
    }
    assert_eq!(run(&mut store, "typed", &[Value::I32(0)]), Some(Value::I32(9)));
    assert_eq!(run(&mut store, "typed", &[Value::I32(1)]), Some(Value::I32(9)));
    for (sel, want) in [(0, 63), (1, 62), (2, 60), (3, 56), (4, 48), (5, 32), (9, 32)] {
        assert_eq!(run(&mut store, "broken", &[Value::I32(sel)]), Some(Value::I32(want)), "selector {sel}");
    }
}

#[test]
fn a_run_of_blocks_at_the_end_of_the_module() {
    // The code section is the module's last: its final function ends with the run.
    for n in 1..=9 {
        let wat = format!("(module (func (export \"f\") (result i32) i32.const 7 {} {}))", "block ".repeat(n), "end ".repeat(n));
        let bytes = wat::parse_str(&wat).expect("wat");
        assert_eq!(&bytes[bytes.len() - n - 1..], &vec![0x0b; n + 1][..], "the module ends with the run's ends");
        let module = Module::new(&bytes).expect("valid");
        let mut store = Store::new(HostLimits::default());
        store.instantiate(&module, |_, _, _| None).expect("instantiate");
        assert_eq!(run(&mut store, "f", &[]), Some(Value::I32(7)), "run of {n}");
    }
}
