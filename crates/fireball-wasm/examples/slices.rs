//! Runs `export(arg)` of a module in 30 000-instruction slices, as the kernel
//! does, and prints the result and the instructions executed. The driver of
//! `scripts/debug-cost.sh`, which counts its host instructions with and without
//! the `debug` feature (no breakpoint set: what a debugger costs when absent).
//!
//! With `--features debug` and `BREAK_AT_END=1`, a breakpoint on the invoked
//! function's final `end` (hit once): the cost of running under the debugger's
//! checking loop, that function watched, the functions it calls not.
//!
//! `cargo run --release -p fireball-wasm --example slices -- module.wasm run 1000`

use fireball_wasm::{Exit, HostLimits, Module, StackLimits, Store, Thread, Value};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, export, arg] = &args[..] else { return Err("usage: slices MODULE EXPORT I32-ARG".into()) };
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let module = Module::new(&bytes).map_err(|e| format!("{path}: {e}"))?;
    let mut store = Store::new(HostLimits::default());
    let inst = store.instantiate(&module, |_, _, _| None).map_err(|e| format!("{path}: {e}"))?;
    let f = store.export_func(inst, export).ok_or(format!("no export {export}"))?;
    let arg: i32 = arg.parse().map_err(|e| format!("{arg}: {e}"))?;
    let mut thread = Thread::new(StackLimits::default()).map_err(|_| "out of memory")?;
    thread.invoke(&store, f, &[Value::I32(arg)]).map_err(|e| format!("{e:?}"))?;
    // Read in both builds, so the two differ by the engine alone.
    let break_at_end = std::env::var("BREAK_AT_END").is_ok_and(|v| v == "1");
    #[cfg(feature = "debug")]
    if break_at_end {
        let (m, index) = store.func_origin(f).ok_or("not a wasm function")?;
        let end = m.func_info(index - m.imported_func_count()).ok_or("no body")?.code_end - 1;
        thread.set_breakpoint(&store, fireball_wasm::debug::Breakpoint { instance: 0, offset: end }).map_err(|e| format!("{e:?}"))?;
    }
    #[cfg(not(feature = "debug"))]
    if break_at_end {
        return Err("BREAK_AT_END needs --features debug".into());
    }
    let mut slices = 0u64;
    loop {
        match thread.resume(&mut store, fireball_wasm::yield_interval(100)) {
            Exit::OutOfFuel => slices += 1,
            Exit::Breakpoint { offset } => println!("stopped at {offset:#x}"),
            Exit::Done => break,
            e => return Err(format!("{e:?}")),
        }
    }
    let results: Vec<Value> = thread.results(&store).collect();
    println!("{results:?}: {} instructions in {} slices", thread.instructions(), slices + 1);
    Ok(())
}
