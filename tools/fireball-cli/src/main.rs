//! `fireball`: the host tool. `run` loads a `.wasm` or `.wat` module (decode →
//! validate → instantiate), invokes an export with the arguments given on the
//! command line and prints its results. Every failure — malformed or invalid
//! module, unknown import, trap, fuel exhausted — is one line on stderr and a
//! non-zero exit code, never a panic.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fireball_wasm::{
    Exit, ExternKind, FuncAddr, HostLimits, Instance, LoadError, Module, StackLimits, Store, Thread, ValType, Value,
};

#[derive(Parser)]
#[command(name = "fireball", version, about = "Fireball WebAssembly runtime (host tool)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a module: invoke an export (or `_start`) and print its results.
    Run(RunArgs),
    /// Describe a module: imports, exports, memory, and what the engine adds in RAM.
    Inspect {
        /// The module (.wasm binary or .wat text).
        module: String,
    },
    /// Print the memory plan (partitions P1..P6 and coroutine stacks) for a device.
    Plan {
        /// RAM size: bytes, or with a K/M suffix (96K).
        #[arg(long, default_value = "96K")]
        ram: String,
        /// Coroutines (N_coro); default: the spec's row for this RAM size.
        #[arg(long)]
        coroutines: Option<usize>,
        /// Stack bytes per coroutine (K suffix allowed).
        #[arg(long)]
        stack: Option<String>,
        /// Wasm service plugins (N_svc).
        #[arg(long)]
        services: Option<usize>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The module (.wasm binary or .wat text).
    module: String,
    /// Export to call; without it, `_start` if exported, else only the start function runs.
    #[arg(long)]
    invoke: Option<String>,
    /// Stop after this many wasm instructions (the run fails with "out of fuel").
    #[arg(long)]
    fuel: Option<u64>,
    /// Most bytes of linear memory the module may use (e.g. 16384; default 4 GiB).
    #[arg(long)]
    max_memory: Option<u64>,
    /// Value-stack slots (8 bytes each).
    #[arg(long, default_value_t = 65536)]
    stack: u32,
    /// Maximum call depth.
    #[arg(long, default_value_t = 1024)]
    depth: u32,
    /// Arguments for the invoked function, one per parameter.
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run(a) => report(run(&a)),
        Cmd::Inspect { module } => report(inspect(&module)),
        Cmd::Plan { ram, coroutines, stack, services } => report(plan(&ram, coroutines, stack.as_deref(), services)),
    }
}

fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1024),
        Some((i, 'M' | 'm')) => (&t[..i], 1024 * 1024),
        _ => (t, 1),
    };
    num.trim().parse::<usize>().ok().and_then(|n| n.checked_mul(mul)).ok_or_else(|| format!("'{s}' is not a size (bytes, or with K/M)"))
}

fn plan(ram: &str, coroutines: Option<usize>, stack: Option<&str>, services: Option<usize>) -> Result<(), String> {
    use fireball_coos::plan::Config;
    let mut cfg = Config::row(parse_size(ram)?);
    if let Some(n) = coroutines {
        cfg.n_coro = n;
    }
    if let Some(s) = stack {
        cfg.stack = parse_size(s)?;
    }
    if let Some(n) = services {
        cfg.n_svc = n;
    }
    let layout = fireball_coos::plan::plan(&cfg).map_err(|e| e.to_string())?;
    print!("{layout}");
    Ok(())
}

fn report(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fireball: {e}");
            ExitCode::FAILURE
        }
    }
}

fn inspect(path: &str) -> Result<(), String> {
    let bytes = load_bytes(path)?;
    let module = Module::new(&bytes).map_err(|e| describe_load_error(path, &e))?;
    println!("module {path}: {} bytes", bytes.len());
    for (m, n, d) in module.imports() {
        println!("  import {m}.{n}: {d:?}");
    }
    for (n, k, i) in module.exports() {
        println!("  export {n}: {k:?} #{i}");
    }
    for m in module.memories() {
        let page = m.page_size();
        println!(
            "  memory: min {} x {page} B = {} B, max {}",
            m.limits.min,
            m.limits.min * page,
            m.limits.max.map_or("none".to_string(), |x| format!("{} B", x * page))
        );
    }
    let code = module.code_bytes();
    let entries = module.sidetable_len();
    let side = entries * std::mem::size_of::<fireball_wasm::sidetable::Entry>();
    println!("  functions: {} ({} imported), code {code} B", module.func_count(), module.imported_func_count());
    println!(
        "  side table: {entries} entries, {side} B = {:.3} B per code byte",
        if code == 0 { 0.0 } else { side as f64 / code as f64 }
    );
    println!("  engine metadata in RAM (side table included): {} B", module.metadata_bytes());
    let frame_slots: u32 = module.bodies().iter().map(|b| b.locals + b.max_height).max().unwrap_or(0);
    println!("  deepest single frame: {frame_slots} value slots ({} B)", frame_slots * 8);
    Ok(())
}

fn load_bytes(path: &str) -> Result<Vec<u8>, String> {
    let raw = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if raw.starts_with(b"\0asm") {
        return Ok(raw);
    }
    let text = std::str::from_utf8(&raw).map_err(|_| format!("{path}: neither a wasm binary nor UTF-8 text"))?;
    wat::parse_str(text).map_err(|e| format!("{path}: {}", e.to_string().lines().next().unwrap_or("bad text")))
}

fn parse_arg(s: &str, t: ValType) -> Result<Value, String> {
    let bad = || format!("argument '{s}' is not a valid {}", t.name());
    let int = |s: &str| -> Option<i128> {
        let (neg, body) = s.strip_prefix('-').map_or((false, s), |b| (true, b));
        let v = match body.strip_prefix("0x") {
            Some(h) => i128::from_str_radix(h, 16).ok()?,
            None => body.parse::<i128>().ok()?,
        };
        Some(if neg { -v } else { v })
    };
    Ok(match t {
        ValType::I32 => {
            let v = int(s).filter(|v| *v >= i32::MIN as i128 && *v <= u32::MAX as i128).ok_or_else(bad)?;
            Value::I32(v as i64 as i32)
        }
        ValType::I64 => {
            let v = int(s).filter(|v| *v >= i64::MIN as i128 && *v <= u64::MAX as i128).ok_or_else(bad)?;
            Value::I64(v as i64)
        }
        ValType::F32 => Value::F32(s.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Value::F64(s.parse::<f64>().map_err(|_| bad())?.to_bits()),
        ValType::FuncRef | ValType::ExternRef if s == "null" => {
            if t == ValType::FuncRef {
                Value::FuncRef(None)
            } else {
                Value::ExternRef(None)
            }
        }
        _ => return Err(bad()),
    })
}

fn describe_load_error(path: &str, e: &LoadError) -> String {
    format!("{path}: {e}")
}

fn run(a: &RunArgs) -> Result<(), String> {
    let bytes = load_bytes(&a.module)?;
    let module = Module::new(&bytes).map_err(|e| describe_load_error(&a.module, &e))?;
    let limits = HostLimits { max_memory_bytes: a.max_memory.unwrap_or(1 << 32), ..HostLimits::default() };
    let mut store = Store::new(limits);
    let mut missing = None;
    let inst = store.instantiate(&module, |m, n, _| {
        missing.get_or_insert_with(|| format!("{m}.{n}"));
        None
    });
    let inst = inst.map_err(|e| match (&e, &missing) {
        (fireball_wasm::InstantiateError::UnknownImport { .. }, Some(name)) => {
            format!("{}: unknown import {name} (the host provides no imports to `run` yet)", a.module)
        }
        _ => format!("{}: {e}", a.module),
    })?;
    let mut thread = Thread::new(StackLimits { value_slots: a.stack, frames: a.depth }).map_err(|_| "out of memory")?;
    if let Some(start) = store.start_func(inst) {
        call(&mut store, &mut thread, start, &[], a.fuel, &module)?;
    }
    let name = match &a.invoke {
        Some(n) => Some(n.clone()),
        None if module.export("_start").is_some() => Some("_start".to_string()),
        None => None,
    };
    let Some(name) = name else {
        if !a.args.is_empty() {
            return Err("arguments given but no --invoke".into());
        }
        return Ok(());
    };
    let f = export_func(&store, inst, &module, &name)?;
    let ty = store.func_type(f);
    if ty.params.len() != a.args.len() {
        return Err(format!("{name} takes {} argument(s), {} given", ty.params.len(), a.args.len()));
    }
    let args = a.args.iter().zip(ty.params).map(|(s, &t)| parse_arg(s, t)).collect::<Result<Vec<_>, _>>()?;
    let results = call(&mut store, &mut thread, f, &args, a.fuel, &module)?;
    for r in results {
        println!("{r}");
    }
    Ok(())
}

fn export_func(store: &Store<'_>, inst: Instance, module: &Module<'_>, name: &str) -> Result<FuncAddr, String> {
    match module.export(name) {
        Some((ExternKind::Func, _)) => store.export_func(inst, name).ok_or_else(|| format!("no function export '{name}'")),
        Some(_) => Err(format!("export '{name}' is not a function")),
        None => Err(format!("no export named '{name}'")),
    }
}

fn call<'m>(
    store: &mut Store<'m>,
    thread: &mut Thread,
    f: FuncAddr,
    args: &[Value],
    fuel: Option<u64>,
    module: &Module<'_>,
) -> Result<Vec<Value>, String> {
    thread.invoke(store, f, args).map_err(|e| format!("cannot invoke: {e:?}"))?;
    let exit = match fuel {
        Some(n) => thread.resume(store, n),
        None => thread.run(store),
    };
    match exit {
        Exit::Done => Ok(thread.results(store).collect()),
        Exit::OutOfFuel => Err(format!("out of fuel after {} instructions", fuel.unwrap_or(0))),
        Exit::HostCall { .. } => Err("host call to an import the CLI does not provide".into()),
        Exit::Trap(t) => {
            let mut msg = format!("trap: {} at offset {:#x}", t.code, t.offset);
            let frames: Vec<String> = thread
                .backtrace()
                .take(8)
                .map(|(fa, _)| match store.func_origin(fa) {
                    Some((m, idx)) => match m.func_name(idx) {
                        Some(n) => format!("{n}#{idx}"),
                        None => format!("func#{idx}"),
                    },
                    None => "host".to_string(),
                })
                .collect();
            let _ = module;
            msg.push_str(&format!(" in {}", frames.join(" <- ")));
            Err(msg)
        }
    }
}
