//! `fireball`: the host tool. `run` loads a `.wasm` or `.wat` module (decode →
//! validate → instantiate), invokes an export with the arguments given on the
//! command line and prints its results. Every failure — malformed or invalid
//! module, unknown import, trap, fuel exhausted — is one line on stderr and a
//! non-zero exit code, never a panic.

use std::process::ExitCode;

use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use fireball_cli::system::{self, RamSearch};
use fireball_coos::sched::Fault;
use fireball_sys::hal::sim::Signal;
use fireball_wasm::{
    Exit, ExternKind, FuncAddr, HostLimits, Instance, LoadError, Module, StackLimits, Store, Thread, TrapCode, ValType, Value,
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
    Run(Box<RunArgs>),
    /// Describe a module: imports, exports, memory, and what the engine adds in RAM.
    Inspect {
        /// The module (.wasm binary or .wat text).
        module: String,
        /// Check whether it fits a device with this much RAM (K suffix allowed).
        #[arg(long)]
        ram: Option<String>,
        /// Check it as a service (a P4 sub-heap) rather than the app (P5).
        #[arg(long)]
        service: bool,
        /// With --ram: each task's coroutine stack, where its interpreter stacks live
        /// (K suffix allowed; default: the plan's row for --ram, 4 or 8 KiB).
        #[arg(long)]
        task_stack: Option<String>,
        /// With --ram: the app's environment variable `KEY=VALUE` (repeatable), as
        /// `run --env` gives it: the trial run then runs the program as `run` will.
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// With --ram: a file the app reads as its console input, as `run … < FILE`
        /// gives it: a program whose memory grows with its input is tried with it.
        #[arg(long, value_name = "FILE")]
        stdin: Option<String>,
        /// With --ram: the app's command-line arguments, as `run` takes them (`--`
        /// before any that starts with `-`).
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
    },
    /// Pack a module with its side table (a `.fbx`), so a device keeps both in flash.
    /// Loading it re-runs the validator, which checks the packed table instead of building one.
    Pack {
        /// The module (.wasm binary or .wat text).
        module: String,
        /// Where to write the packed module.
        #[arg(short, long)]
        output: String,
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
    /// The app (.wasm binary or .wat text); `file.wasm:entry` names its entry export.
    module: String,
    /// Call this export once and print its results (no kernel, no imports). Without
    /// it the app runs on the kernel with the subsystems, as on a device.
    #[arg(long)]
    invoke: Option<String>,
    /// A service plugin to load next to the app (repeatable): `svc.wasm[:entry]`.
    #[arg(long = "service")]
    services: Vec<String>,
    /// Device RAM to plan the partitions for (K suffix allowed).
    #[arg(long, default_value = "96K")]
    ram: String,
    /// A simulated ADC channel, repeatable: `N=sine:OFFSET,AMPLITUDE,PERIOD_MS`,
    /// `N=ramp:FROM,TO,PERIOD_MS`, `N=noise:SEED,MIN,MAX`, `N=const:V`, `N=csv:FILE[:COLUMN[:STEP_MS]]`.
    /// Default: 0=sine:2048,1000,1000 1=sine:2048,600,700 2=ramp:0,4095,2000 3=noise:1,1800,2200;
    /// any --adc replaces all four (a channel not given then reads -3, no such channel).
    #[arg(long)]
    adc: Vec<String>,
    /// Stop after a simulated duration (`500ms`, `2s`) or a number of wasm
    /// instructions (`1000000`, `5M`), checked between the scheduler's time slices
    /// (30 000 instructions at most each). Default: until Ctrl-C.
    #[arg(long = "for")]
    duration: Option<String>,
    /// Manifest: grants and channel wiring (see crates/fireball-sys/src/manifest.rs).
    #[arg(long)]
    manifest: Option<String>,
    /// Seed of the guests' `random_get`.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// With --invoke: stop after this many wasm instructions (the run fails with "out of fuel").
    #[arg(long)]
    fuel: Option<u64>,
    /// With --invoke: most bytes of linear memory the module may use (e.g. 16384; default 4 GiB).
    #[arg(long)]
    max_memory: Option<u64>,
    /// Each task's coroutine stack, where its interpreter stacks (value slots and call
    /// frames) live (K suffix allowed; default: the plan's row for --ram, 4 or 8 KiB).
    /// Deep recursion needs more; a device's memory plan sets the same figure.
    #[arg(long)]
    task_stack: Option<String>,
    /// The logger's level: error, warn, info (the default), debug or trace (the
    /// guests' `log_event` at levels 4 and 5 show only with debug and trace).
    #[arg(long)]
    log_level: Option<String>,
    /// With --invoke: value-stack slots (8 bytes each) [default: 65536].
    #[arg(long)]
    stack: Option<u32>,
    /// With --invoke: maximum call depth [default: 1024].
    #[arg(long)]
    depth: Option<u32>,
    /// Serve lldb (LLDB's WebAssembly GDB remote protocol) on this address, e.g.
    /// `127.0.0.1:1234`: the run waits for lldb to connect before the first instruction
    /// (`lldb-22 app.wasm -o 'process connect --plugin wasm connect://127.0.0.1:1234'`).
    #[arg(long)]
    gdb: Option<String>,
    /// With `--gdb`: start at once; lldb attaches whenever it connects (and again after a detach).
    #[arg(long, requires = "gdb")]
    gdb_nowait: bool,
    /// The simulated device's realtime clock at boot (WASI `CLOCK_REALTIME`: C's `time`,
    /// Rust's `SystemTime`): `now` (the host's clock) or seconds since 1970-01-01 UTC.
    /// Default: 0, a device whose clock nobody set (it counts from 1970 at boot), which
    /// keeps a run reproducible.
    #[arg(long, value_name = "now|SECONDS")]
    realtime: Option<String>,
    /// The app's environment variable `KEY=VALUE` (repeatable): WASI `environ_get`,
    /// C's `getenv`, Rust's `std::env::var`. Without it the environment is empty.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// The app's command-line arguments (WASI `args_get`, after `argv[0]`, the module's
    /// name; put `--` before any that starts with `-`); with --invoke, the invoked
    /// function's arguments, one per parameter.
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run(a) => match run(&a) {
            Ok(status) => ExitCode::from(status),
            Err(e) => report(Err(e)),
        },
        Cmd::Inspect { module, ram, service, task_stack, env, stdin, args } => {
            report(inspect(&module, ram.as_deref(), service, task_stack.as_deref(), &args, &env, stdin.as_deref()))
        }
        Cmd::Pack { module, output } => report(pack(&module, &output)),
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
    let n = num.trim().parse::<usize>().ok().and_then(|n| n.checked_mul(mul)).ok_or_else(|| format!("'{s}' is not a size (bytes, or with K/M)"))?;
    // A microcontroller's RAM, simulated: a size past this is a typo, not a board.
    if n > MAX_SIZE {
        return Err(format!("'{s}' is more than {}M (the largest size the simulator takes)", MAX_SIZE >> 20));
    }
    Ok(n)
}

/// `--task-stack`: a size the memory plan can lay out (a positive multiple of its alignment).
fn parse_task_stack(s: &str) -> Result<usize, String> {
    let n = parse_size(s)?;
    let align = fireball_coos::plan::ALIGN;
    if n == 0 || n % align != 0 {
        return Err(format!("--task-stack {s}: a coroutine stack is a positive multiple of {align} B (e.g. 8K)"));
    }
    Ok(n)
}

/// The largest `--ram` (or other size) the CLI accepts.
const MAX_SIZE: usize = 1 << 30;

/// Longest run (simulated ms) after which `fireball run` looks for the `--ram` that
/// cures a module's shortage of RAM: each trial run repeats it.
const RAM_HINT_MS: u64 = 5_000;

/// `--invoke`'s stacks unless `--stack`/`--depth` say otherwise.
const DEFAULT_SLOTS: u32 = 65536;
const DEFAULT_DEPTH: u32 = 1024;

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
    if coroutines.is_none() && stack.is_none() {
        if let Some(note) = Config::seed_note(cfg.ram) {
            println!("note: {note}");
        }
    }
    println!("each wasm task's interpreter stacks (value stack and call frames) live in its coroutine stack");
    Ok(())
}

fn pack(path: &str, output: &str) -> Result<(), String> {
    let bytes = load_bytes(path)?;
    if bytes.starts_with(&fireball_wasm::pack::MAGIC) {
        return Err(format!("{path}: already packed"));
    }
    let module = Module::new(&bytes).map_err(|e| describe_load_error(path, &bytes, &e))?;
    let mut out = Vec::new();
    module.write_packed(|c| out.extend_from_slice(c));
    let packed = Module::from_packed(&out).map_err(|e| format!("{output}: the packed module does not load back: {e}"))?;
    std::fs::write(output, &out).map_err(|e| format!("{output}: {e}"))?;
    println!(
        "{output}: {} B = {} B of wasm + {} B of side table ({} entries, {} function headers, {} escapes) + header and padding",
        out.len(),
        bytes.len(),
        module.side_bytes(),
        module.side_entries(),
        module.bodies().len(),
        module.side_escapes()
    );
    println!(
        "engine metadata in RAM: {} B loaded plain, {} B loaded packed",
        module.metadata_bytes(),
        packed.metadata_bytes()
    );
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

fn inspect(path: &str, ram: Option<&str>, service: bool, task_stack: Option<&str>, args: &[String], env: &[String], stdin: Option<&str>) -> Result<(), String> {
    if task_stack.is_some() && ram.is_none() {
        return Err("--task-stack applies with --ram (the memory plan it sizes)".into());
    }
    if (!args.is_empty() || !env.is_empty()) && ram.is_none() {
        return Err("a command line (arguments, --env) applies with --ram (the trial run it is given to)".into());
    }
    if stdin.is_some() && ram.is_none() {
        return Err("--stdin applies with --ram (the trial run it is given to)".into());
    }
    if stdin.is_some() && service {
        return Err("--stdin is the app's console input: not with --service".into());
    }
    check_env(env)?;
    let input = match stdin {
        Some(f) => Some(std::fs::read(f).map_err(|e| format!("--stdin {f}: {e}"))?),
        None => None,
    };
    // With its input the program's work has an end: try it that far (within reason).
    let trial_ms = if input.is_some() { system::INPUT_TRIAL_MS } else { system::TRIAL_MS };
    let task_stack = task_stack.map(parse_task_stack).transpose()?;
    let bytes = load_bytes(path)?;
    let module = load_module(&bytes).map_err(|e| describe_load_error(path, &bytes, &e))?;
    println!("module {path}: {} bytes{}", bytes.len(), if module.is_packed() { format!(" (packed: {} B of wasm + its side table)", module.bytes().len()) } else { String::new() });
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
    let entries = module.side_entries();
    let side = module.side_bytes();
    let defined = module.bodies().len();
    println!("  functions: {} ({} imported), code {code} B", module.func_count(), module.imported_func_count());
    println!(
        "  side table: {entries} branch entries x 8 B + {defined} function headers x 16 B + {} escapes x 24 B = {side} B = {:.3} B per code byte",
        module.side_escapes(),
        if code == 0 { 0.0 } else { side as f64 / code as f64 }
    );
    println!("  engine metadata in RAM (side table included): {} B", module.metadata_bytes());
    let body = core::mem::size_of::<fireball_wasm::FuncBody>();
    let per = body + fireball_wasm::STORE_BYTES_PER_FUNC;
    println!(
        "  per function: {body} B body record + {} B in the store = {per} B of RAM ({} B for its {defined}), besides its 16 B header in the side table",
        fireball_wasm::STORE_BYTES_PER_FUNC,
        per * defined
    );
    let frame_slots: u32 = (0..defined as u32)
        .filter_map(|i| module.func_info(i))
        .map(|f| u32::from(f.header.locals) + u32::from(f.header.max_height))
        .max()
        .unwrap_or(0);
    println!("  deepest single frame: {frame_slots} value slots ({} B)", frame_slots * 8);
    // DWARF stays in the file (the engine skips custom sections): `run` reads it on a trap.
    let dwarf = fireball_cli::dwarf::debug_bytes(&bytes);
    if dwarf > 0 {
        let lines = if fireball_cli::dwarf::Lines::new(&bytes).is_some() { "a trap's backtrace names source lines" } else { "unreadable: no source lines" };
        println!("  debug information (DWARF): {dwarf} B, not loaded ({lines})");
    }
    match module.static_footprint() {
        Some(f) => println!("  linear memory it touches before allocating (data, stack, __heap_base): {f} B"),
        None => println!("  linear memory footprint: unknown (offsets depend on imports)"),
    }
    let missing: Vec<String> = module
        .imports()
        .filter(|(m, n, d)| {
            matches!(d, fireball_wasm::ImportDesc::Func(_))
                && !fireball_coos::sched::provides(m, n)
                && !fireball_sys::router::provides(m, n)
        })
        .map(|(m, n, _)| format!("{m}.{n}"))
        .collect();
    if missing.is_empty() {
        println!("  imports: all provided by Fireball");
    } else {
        println!("  imports Fireball does not provide (loading fails): {}", missing.join(", "));
    }
    if let Some(ram) = ram {
        // The verdict is `fireball run`'s own setup, run for zero instructions: they cannot disagree.
        let mut spec = system::ModuleSpec::new(path, bytes.clone(), None);
        spec.args = args.to_vec();
        spec.env = env.to_vec();
        spec.input = input.map(Into::into);
        let ram_bytes = parse_size(ram)?;
        let mut sink = std::io::sink();
        let mut sink2 = std::io::sink();
        fn with_out<'a>(f: impl Fn(&'a mut dyn std::io::Write) -> system::RunConfig<'a>) -> impl Fn(&'a mut dyn std::io::Write) -> system::RunConfig<'a> {
            f
        }
        let cfg = with_out(|out| system::RunConfig {
            app: (!service).then(|| spec.clone()),
            services: if service { vec![spec.clone()] } else { Vec::new() },
            ram: ram_bytes,
            adc: system::default_adc(),
            limit: system::Limit::Instructions(0),
            manifest: None,
            seed: 1,
            out,
            stop: None,
            task_stack,
            log_level: None,
            realtime_at_boot_us: 0,
            stdin: false,
        });
        let need = match system::measure(&cfg(&mut sink)) {
            Ok(need) => need,
            // Not even the probe's roomy partitions hold it: no device does.
            Err(e) if e.too_large => {
                println!("  on a {ram} device: does NOT fit: {}", e.message);
                return Ok(());
            }
            Err(e) => return Err(e.message),
        };
        // Output nobody reads, for as many runs as needed (a zero-sized box: no allocation).
        fn discard() -> &'static mut dyn std::io::Write {
            Box::leak(Box::new(std::io::sink()))
        }
        let where_ = if service { "its P4 sub-heap" } else { "the guest partition P5" };
        for f in &need {
            println!(
                "  needs {} B of {where_} at its peak (loading or spawning); once running: {} B module metadata{}, {} B linear memory (its static footprint), {} B store and task",
                f.peak,
                f.metadata,
                if f.packed { " (side table in flash)" } else { "" },
                f.memory,
                f.live.saturating_sub(f.metadata + f.memory)
            );
            println!("  interpreter stacks in its coroutine stack: {} value slots, {} frames", f.stack.value_slots, f.stack.frames);
        }
        let declared = module.memories().first().map_or(0, |m| m.limits.min * m.page_size());
        // Bytes of linear memory a partition backs on `f`'s device, when that is only part of it.
        let partly = |f: Option<&system::Footprint>| f.map(|f| f.memory as u64).filter(|&b| declared > b);
        // The same system on `bytes` of RAM, for trial runs.
        let make = |bytes: usize| system::RunConfig { ram: bytes, ..cfg(discard()) };
        let search = |from: usize, other: usize| system::search_ram(&make, from, other, trial_ms);
        match system::check(cfg(&mut sink2)).map_err(|e| system::checked_refusal(e, &make)) {
            Ok(fits) => {
                // A heap and a call stack grow at run time, past what a static check sees:
                // run the program for a while before calling it fitting.
                let backed = partly(fits.first());
                match system::trial_for(cfg(discard()), trial_ms)? {
                    None => {
                        for f in &fits {
                            let extra = if f.service { "" } else { "; the rest of P5 becomes its heap" };
                            println!("  on a {ram} device: fits ({where_} has {} B{extra})", f.capacity);
                        }
                        if let Some(backed) = backed {
                            println!(
                                "  (it declares {declared} B of memory; {where_} backs {backed} B of it, and a trial run of its first {} ms stayed inside them)",
                                trial_ms
                            );
                        }
                    }
                    Some(t) => {
                        // The next RAM size on which the same trial runs clean: while the trial
                        // fails for want of RAM, as far as it takes; for another fault, up to
                        // the size that backs the whole declared memory and at least 8 times
                        // this one (a larger plan row gives a larger coroutine stack).
                        let kib = ram_bytes / 1024;
                        let all = backed.map_or(0, |b| (ram_bytes + (declared - b) as usize).div_ceil(1024) + 4);
                        let to = all.max(kib * 8).min(MAX_SIZE / 1024);
                        let what = t.describe();
                        let why = match (t.fault, backed) {
                            (Some(Fault::Trap(TrapCode::MemoryOutOfBounds)), Some(backed)) => {
                                format!("{}'s heap grew past the {backed} B of its {declared} B of linear memory that {where_} backs", t.name)
                            }
                            _ => format!("{} ended: {what}", t.name),
                        };
                        // A C program whose stack pointer went below 0 overflowed its shadow
                        // stack (linked with --stack-first): no device size cures that.
                        let overflowed = t.fault == Some(Fault::Trap(TrapCode::MemoryOutOfBounds)) && t.stack_pointer.is_some_and(|sp| sp < 0);
                        let found = if overflowed { None } else { Some(search(kib + 1, to)) };
                        match found {
                            Some(RamSearch::Runs(k)) => println!(
                                "  on a {ram} device: does NOT fit: a trial run of its first {} ms failed after {} instructions: {why}; it runs with --ram {k}K",
                                trial_ms,
                                t.instructions
                            ),
                            _ => {
                                let stacks = need.first().map(|f| f.stack);
                                let hint = match (t.fault, stacks, &found) {
                                    _ if overflowed => format!(
                                        "its stack pointer (global 0) is {}: its shadow stack overflowed; link it with a larger one (-Wl,-z,stack-size=N)",
                                        t.stack_pointer.unwrap_or(0)
                                    ),
                                    (Some(Fault::Trap(TrapCode::CallStackExhausted | TrapCode::StackOverflow)), Some(s), _) => format!(
                                        "its call stack outgrows the {} frames and {} value slots the plan gives each task in its coroutine stack: give each task a larger one with --task-stack (a device's memory plan sets the same figure)",
                                        s.frames, s.value_slots
                                    ),
                                    (.., Some(RamSearch::Short(_))) => {
                                        "it needs more RAM than that, or its heap grows without end".to_string()
                                    }
                                    _ => "a bug in the guest, not a shortage of RAM".to_string(),
                                };
                                let sizes = match &found {
                                    Some(RamSearch::Fails(k, f)) if f.fault == t.fault && f.name == t.name => format!(" and again on --ram {k}K"),
                                    Some(RamSearch::Fails(k, f)) => format!("; on --ram {k}K, {}: {}", f.name, f.describe()),
                                    Some(RamSearch::Short(k)) => format!(", and was still short of RAM on --ram {k}K"),
                                    _ => String::new(),
                                };
                                println!(
                                    "  on a {ram} device: loads, but does NOT run: a trial run of its first {} ms failed after {} instructions ({}: {what}){sizes}: {hint}",
                                    trial_ms,
                                    t.instructions,
                                    t.name
                                );
                            }
                        }
                    }
                }
            }
            Err(e) => {
                println!("  on a {ram} device: does NOT fit: {e}");
                if partly(need.first()).is_some() {
                    println!("  (it declares {declared} B of memory; Fireball backs only what the partition holds)");
                }
                // The size suggested above is the load's; the heap and the call stack may need
                // more. (From small sizes up: the plan gives P5 more on some smaller devices
                // than on larger ones.)
                let peak = need.first().map_or(0, |f| f.peak);
                let to = ((ram_bytes + peak + declared as usize) / 1024 + 8).max(ram_bytes / 1024 * 8).min(MAX_SIZE / 1024);
                // (Not below the first size whose P5 could hold the app's load at all.)
                let from = if service { 8 } else { (8..to).find(|&k| system::p5_at_most(k * 1024, task_stack, 1) >= peak).unwrap_or(8) };
                if let Some(k) = search(from, to).runs().filter(|k| !e.contains(&format!("--ram {k}K"))) {
                    println!("  (by trial runs of its first {} ms: it runs with --ram {k}K)", trial_ms);
                }
            }
        }
    }
    Ok(())
}

use system::load_module;

/// The file at `path`, refused past `max` bytes (a module, a CSV or a manifest that
/// large is a wrong path, `/dev/zero` say, not an input: reading it would not end).
fn read_capped(path: &str, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(|e| format!("{path}: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("{path}: larger than {} MiB", max >> 20));
    }
    Ok(bytes)
}

/// The largest module (wasm, text or packed) the CLI reads.
const MAX_MODULE_FILE: u64 = 64 << 20;
/// The largest CSV signal or manifest file the CLI reads.
const MAX_TEXT_FILE: u64 = 64 << 20;
/// ADC channels `--adc` can simulate (`N=…`, N below this).
const ADC_CHANNELS: usize = 256;

fn load_bytes(path: &str) -> Result<Vec<u8>, String> {
    let raw = read_capped(path, MAX_MODULE_FILE)?;
    if raw.starts_with(b"\0asm") || raw.starts_with(&fireball_wasm::pack::MAGIC) {
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

fn describe_load_error(path: &str, bytes: &[u8], e: &LoadError) -> String {
    format!("{path}: {e}{}", system::load_hint(bytes, e))
}

/// `path[:entry]` → (path, entry); a Windows-style `C:\\` is not split.
fn split_entry(s: &str) -> (&str, Option<String>) {
    match s.rsplit_once(':') {
        Some((p, e)) if !e.is_empty() && !e.contains(['/', '\\', '.']) && p.len() > 1 => (p, Some(e.to_string())),
        _ => (s, None),
    }
}

fn parse_level(s: &str) -> Result<fireball_sys::log::LevelFilter, String> {
    use fireball_sys::log::LevelFilter;
    Ok(match s.to_ascii_lowercase().as_str() {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => return Err(format!("--log-level '{s}': expected off, error, warn, info, debug or trace")),
    })
}

fn module_spec(arg: &str) -> Result<system::ModuleSpec, String> {
    let (path, entry) = split_entry(arg);
    let bytes = load_bytes(path)?;
    // A named entry that is not a `[] -> []` function export: say which, before the
    // system's more general refusal (a module that does not load says so in the run).
    if let (Some(name), Ok(module)) = (&entry, load_module(&bytes)) {
        let problem = match module.export(name) {
            None => Some(format!("no export named '{name}'")),
            Some((ExternKind::Func, f)) => match module.func_type(f) {
                Some(t) if !t.params.is_empty() || !t.results.is_empty() => {
                    Some(format!("'{name}' takes parameters or returns results; an entry is a `[] -> []` function"))
                }
                _ => None,
            },
            Some(_) => Some(format!("export '{name}' is not a function")),
        };
        if let Some(p) = problem {
            return Err(format!("{path}: {p}"));
        }
    }
    Ok(system::ModuleSpec::new(path, bytes, entry))
}

fn parse_signal(s: &str) -> Result<(usize, Signal<'static>), String> {
    let bad = || format!("--adc '{s}': expected N=sine:OFFSET,AMPLITUDE,PERIOD_MS (or ramp:, noise:, const:, csv:)");
    let (ch, spec) = s.split_once('=').ok_or_else(bad)?;
    let ch: usize = ch.trim().parse().map_err(|_| bad())?;
    let (kind, args) = spec.split_once(':').ok_or_else(bad)?;
    if kind == "csv" {
        let mut parts = args.split(':');
        let file = parts.next().ok_or_else(bad)?;
        let column: usize = parts.next().map_or(Ok(0), |c| c.parse().map_err(|_| bad()))?;
        let step: u32 = parts.next().map_or(Ok(1), |c| c.parse().map_err(|_| bad()))?;
        let text = String::from_utf8(read_capped(file, MAX_TEXT_FILE)?).map_err(|_| format!("--adc {file}: not UTF-8 text"))?;
        let table = fireball_sys::hal::sim::CsvTable::parse(&text).map_err(|e| format!("--adc {file}: {e}"))?;
        let samples: &'static [u16] = Box::leak(table.column(column).ok_or_else(|| format!("{file}: no column {column}"))?.to_vec().into_boxed_slice());
        return Ok((ch, Signal::Table { samples, step_ms: step }));
    }
    let n: Vec<u64> = args.split(',').map(|x| x.trim().parse::<u64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    let u16_ = |x: u64| u16::try_from(x).map_err(|_| bad());
    let u32_ = |x: u64| u32::try_from(x).map_err(|_| bad());
    Ok((ch, match (kind, n.as_slice()) {
        ("sine", &[o, a, p]) => Signal::Sine { offset: u16_(o)?, amplitude: u16_(a)?, period_ms: u32_(p)? },
        ("ramp", &[f, t, p]) => Signal::Ramp { from: u16_(f)?, to: u16_(t)?, period_ms: u32_(p)? },
        ("noise", &[seed, lo, hi]) => Signal::Noise { seed, min: u16_(lo)?, max: u16_(hi)? },
        ("const", &[v]) => Signal::Constant(u16_(v)?),
        _ => return Err(bad()),
    }))
}

fn parse_limit(s: &str) -> Result<system::Limit, String> {
    let t = s.trim();
    let bad = || format!("--for '{s}': a duration (500ms, 2s) or a number of instructions (1000000, 5M)");
    if let Some(ms) = t.strip_suffix("ms") {
        return ms.trim().parse().map(system::Limit::Millis).map_err(|_| bad());
    }
    if let Some(sec) = t.strip_suffix('s') {
        return sec.trim().parse::<u64>().ok().and_then(|x| x.checked_mul(1000)).map(system::Limit::Millis).ok_or_else(bad);
    }
    let (num, mul) = match t.strip_suffix(['M', 'm']) {
        Some(n) => (n, 1_000_000),
        None => match t.strip_suffix(['K', 'k']) {
            Some(n) => (n, 1_000),
            None => (t, 1),
        },
    };
    num.parse::<u64>().ok().and_then(|n| n.checked_mul(mul)).map(system::Limit::Instructions).ok_or_else(bad)
}

static STOP: AtomicBool = AtomicBool::new(false);

/// `--realtime`: `now` or whole seconds since 1970, as µs.
fn parse_realtime(s: &str) -> Result<u64, String> {
    let bad = || format!("--realtime {s}: give `now` or seconds since 1970-01-01 UTC (e.g. 1796000000)");
    if s == "now" {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|_| bad())?;
        return u64::try_from(since.as_micros()).map_err(|_| bad());
    }
    s.parse::<u64>().ok().and_then(|secs| secs.checked_mul(1_000_000)).ok_or_else(bad)
}

/// `--env` values: each `KEY=VALUE`.
fn check_env(env: &[String]) -> Result<(), String> {
    match env.iter().find(|e| !e.contains('=') || e.starts_with('=')) {
        Some(e) => Err(format!("--env {e}: give the variable as KEY=VALUE")),
        None => Ok(()),
    }
}

/// `fireball run app.wasm` without `--invoke`: the app and its services on the kernel.
fn run_system(a: &RunArgs) -> Result<u8, String> {
    let mut app = module_spec(&a.module)?;
    check_env(&a.env)?;
    app.args = a.args.clone();
    app.env = a.env.clone();
    let services = a.services.iter().map(|s| module_spec(s)).collect::<Result<Vec<_>, _>>()?;
    let mut adc: Vec<Signal<'static>> = Vec::new();
    let given = a.adc.iter().map(|s| parse_signal(s)).collect::<Result<Vec<_>, _>>()?;
    if given.is_empty() {
        adc = system::default_adc();
    }
    for (ch, sig) in given {
        if ch >= ADC_CHANNELS {
            return Err(format!("--adc {ch}=…: the simulated ADC has channels 0..{}", ADC_CHANNELS - 1));
        }
        if adc.len() <= ch {
            adc.resize(ch + 1, Signal::Constant(0));
        }
        adc[ch] = sig;
    }
    let manifest = match &a.manifest {
        Some(p) => Some(String::from_utf8(read_capped(p, MAX_TEXT_FILE)?).map_err(|_| format!("{p}: not UTF-8 text"))?),
        None => None,
    };
    let limit = match &a.duration {
        Some(d) => parse_limit(d)?,
        None => system::Limit::Instructions(u64::MAX),
    };
    let _ = ctrlc::set_handler(|| STOP.store(true, Ordering::Relaxed));
    let gdb = match &a.gdb {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr).map_err(|e| format!("--gdb {addr}: {e}"))?;
            let local = listener.local_addr().map_err(|e| format!("--gdb {addr}: {e}"))?;
            let how = if a.gdb_nowait { "running; lldb may attach" } else { "waiting for lldb" };
            eprintln!("fireball: {how} on {local} (process connect --plugin wasm connect://{local})");
            let path = |m: &str| {
                let p = split_entry(m).0;
                std::fs::canonicalize(p).map_or_else(|_| p.to_string(), |c| c.display().to_string())
            };
            let paths = std::iter::once(a.module.as_str()).chain(a.services.iter().map(String::as_str)).map(path).collect();
            Some(fireball_cli::gdb::Gdb { listener, wait: !a.gdb_nowait, paths })
        }
        None => None,
    };
    let mut stdout = std::io::stdout().lock();
    let task_stack = a.task_stack.as_deref().map(parse_task_stack).transpose()?;
    let realtime = a.realtime.as_deref().map_or(Ok(0), parse_realtime)?;
    let ram = parse_size(&a.ram)?;
    // The same system on `bytes` of RAM, for the trial runs that check a refusal's size.
    let make = |bytes: usize| system::RunConfig {
        app: Some(app.clone()),
        services: services.clone(),
        ram: bytes,
        adc: adc.clone(),
        limit: system::Limit::Instructions(0),
        manifest: manifest.clone(),
        seed: a.seed,
        out: Box::leak(Box::new(std::io::sink())),
        stop: None,
        task_stack,
        log_level: None,
        realtime_at_boot_us: realtime,
        stdin: false,
    };
    let cfg = system::RunConfig {
        app: Some(app.clone()),
        services: services.clone(),
        ram,
        adc: adc.clone(),
        limit,
        manifest: manifest.clone(),
        seed: a.seed,
        out: &mut stdout,
        stop: Some(&STOP),
        task_stack,
        log_level: a.log_level.as_deref().map(parse_level).transpose()?,
        realtime_at_boot_us: realtime,
        stdin: true,
    };
    let report = match &gdb {
        Some(g) => system::run_with_gdb(cfg, g),
        None => system::run(cfg),
    }
    .map_err(|e| system::checked_refusal(e, &make))?;
    // A module a larger device may let run: name the size, by trial runs of the same
    // system for as long as this run took, and at least `inspect`'s second (on more RAM
    // a program gets further before it may fail again); only after a short run: each
    // trial repeats it.
    if let Some(name) = report.short_of_ram.first().filter(|_| report.millis <= RAM_HINT_MS) {
        use std::io::Write as _;
        let kib = ram / 1024;
        let ms = report.millis.max(system::TRIAL_MS);
        // The trials read what this run's guests read from stdin, as this run gave it.
        let input: Option<std::sync::Arc<[u8]>> = (!report.input.is_empty()).then(|| report.input.as_slice().into());
        let replay = |bytes: usize| {
            let mut c = make(bytes);
            if let Some(a) = c.app.as_mut() {
                a.input.clone_from(&input);
            }
            c
        };
        match system::search_ram(&replay, kib + 1, kib * 4, ms) {
            RamSearch::Runs(k) => {
                let _ = writeln!(stdout, "fireball: {name} runs with --ram {k}K (a trial run of its first {ms} ms ended no module by a fault)");
            }
            RamSearch::Short(k) => {
                let _ = writeln!(stdout, "fireball: {name} was still short of RAM on --ram {k}K (a trial run of its first {ms} ms): it needs more, or its heap grows without end");
            }
            RamSearch::Fails(k, f) => {
                let _ = writeln!(
                    stdout,
                    "fireball: more RAM does not cure it: on --ram {k}K a trial run of its first {ms} ms still ended {} by a fault: {}",
                    f.name,
                    f.describe()
                );
            }
        }
    }
    match report.fatal {
        Some(f) => Err(f),
        None => Ok(app_status(&report)),
    }
}

/// `fireball run`'s exit status for a run on the kernel, from how the app ended: its
/// `proc_exit` status (a nonzero one whose low byte is 0 as 1), [`EXIT_FAULT`] if a
/// fault terminated it, 0 if it returned or was still running when `--for` stopped it.
fn app_status(report: &system::Report) -> u8 {
    match report.tasks.first() {
        Some(t) if t.fault.is_some() => EXIT_FAULT,
        Some(system::TaskReport { exit_code: Some(s), .. }) if *s != 0 => match *s as u8 {
            0 => 1,
            b => b,
        },
        _ => 0,
    }
}

/// The exit status of a run whose app a fault terminated (a trap, its partition
/// exhausted, a broken import protocol): 128 + SIGABRT, as wasmtime exits on a trap.
const EXIT_FAULT: u8 = 134;

fn run(a: &RunArgs) -> Result<u8, String> {
    if a.invoke.is_none() {
        // What only a bare call takes would be ignored on the kernel: refuse it.
        let bare: Vec<&str> = [("--fuel", a.fuel.is_some()), ("--max-memory", a.max_memory.is_some()), ("--stack", a.stack.is_some()), ("--depth", a.depth.is_some())]
            .iter()
            .filter_map(|&(o, given)| given.then_some(o))
            .collect();
        if !bare.is_empty() {
            return Err(format!(
                "{} only {} with --invoke: on the kernel the memory plan sizes each task's memory and stacks (`fireball plan --ram {}`), and --for stops the run",
                bare.join(", "),
                if bare.len() == 1 { "applies" } else { "apply" },
                a.ram
            ));
        }
        return run_system(a);
    }
    if !a.env.is_empty() {
        return Err("--env is the environment of a program on the kernel: an `--invoke`d function has none".to_string());
    }
    if a.realtime.is_some() {
        return Err("--realtime sets the clock of a program on the kernel: an `--invoke`d function has no imports".to_string());
    }
    let bytes = load_bytes(&a.module)?;
    let module = load_module(&bytes).map_err(|e| describe_load_error(&a.module, &bytes, &e))?;
    let limits = HostLimits { max_memory_bytes: a.max_memory.unwrap_or(1 << 32), ..HostLimits::default() };
    let mut store = Store::new(limits);
    let mut missing = None;
    let inst = store.instantiate(&module, |m, n, _| {
        missing.get_or_insert_with(|| format!("{m}.{n}"));
        None
    });
    let inst = inst.map_err(|e| match (&e, &missing) {
        (fireball_wasm::InstantiateError::UnknownImport { .. }, Some(name)) => {
            format!("{}: unknown import {name} (`--invoke` calls an export with no imports bound; without it the program runs on the kernel, which provides them)", a.module)
        }
        _ => format!("{}: {e}", a.module),
    })?;
    let stack = StackLimits { value_slots: a.stack.unwrap_or(DEFAULT_SLOTS), frames: a.depth.unwrap_or(DEFAULT_DEPTH) };
    let mut thread = Thread::new(stack).map_err(|_| "out of memory")?;
    if let Some(start) = store.start_func(inst) {
        call(&mut store, &mut thread, start, &[], a.fuel, &module)?;
    }
    let name = match &a.invoke {
        Some(n) => Some(n.clone()),
        None if module.export("_start").is_some() => Some("_start".to_string()),
        None => None,
    };
    let Some(name) = name else {
        return Ok(0);
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
    Ok(0)
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
        Exit::Breakpoint { offset } => Err(format!("stopped for a debugger at offset {offset:#x}")),
        Exit::Trap(t) => {
            let mut msg = format!("trap: {} at offset {:#x}", t.code, t.offset);
            // Each frame's name (demangled) and, from the module's DWARF if it has any,
            // its source line (a caller's at its call: the return offset less one).
            let lines = fireball_cli::dwarf::Lines::new(module.bytes());
            let frames: Vec<String> = thread
                .backtrace()
                .take(8)
                .enumerate()
                .map(|(k, (fa, pc))| match store.func_origin(fa) {
                    Some((m, idx)) => {
                        let name = m.func_name(idx).map_or_else(|| "func".to_string(), fireball_cli::dwarf::demangle);
                        let pc = if k == 0 { pc } else { pc.saturating_sub(1) };
                        let at = lines.as_ref().and_then(|l| l.frames(pc).pop()).and_then(|f| f.at);
                        format!("{name}#{idx}{}", at.map(|a| format!(" ({a})")).unwrap_or_default())
                    }
                    None => "host".to_string(),
                })
                .collect();
            msg.push_str(&format!(" in {}", frames.join(" <- ")));
            Err(msg)
        }
    }
}
