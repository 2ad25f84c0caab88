//! Fireball's interpreter against wasmi 2.0.0, wasm3 0.4.7 and native code, in
//! one process, on two sets of programs, each exporting `run(n)`:
//!
//! * kernels: the small C loops of `benches/kernels/` (checked-in `.wasm`,
//!   rebuilt by `scripts/build-bench-kernels.sh`; the native build is made by
//!   this crate's build.rs, with clang -O2 like the wasm);
//! * workloads: real Rust programs on widely used crates, `benches/workloads/`
//!   (checked-in `.wasm` rebuilt by `scripts/build-bench-workloads.sh`; the
//!   native build is the same crate linked into this bench).
//!
//! For every program: instantiate it in every engine, run `run(n)` once in each
//! (warm-up and cross-check: every engine must return the native checksum, and a
//! kernel's must also be its source's `// expect:` line), then time `reps` calls
//! per variant, rotating the variant order each repetition so a noisy machine
//! hurts them alike. The variants: Fireball unmetered (`Thread::run`), Fireball
//! metered (`Thread::resume(store, u64::MAX)`), wasmi (default config but eager
//! translation, no fuel), wasm3 (its Rust crate's defaults) and native. Prints
//! medians, then the ratios with their geometric means over the kernels, the
//! workloads and everything, then the load + instantiate time of the largest
//! workload module in each engine.
//!
//! Arguments (after `cargo bench -p fireball-bench --`):
//!   --quick      3 timed runs instead of 11 (also: env FIREBALL_BENCH_QUICK=1)
//!   --reps=N     N timed runs
//!   WORD ...     only programs whose name contains one of the words
//!
//! Exits non-zero if any engine fails or disagrees with native on any program.

use std::time::{Duration, Instant};

use fireball_wasm::{Exit, FuncAddr, HostLimits, Module, StackLimits, Store, Thread, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Kernel,
    Workload,
}

/// The wasm result type of `run`: kernels return i32, workloads i64.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    I32,
    I64,
}

struct Program {
    name: &'static str,
    kind: Kind,
    wasm: &'static [u8],
    /// The argument the bench passes (kernels: their source's `// bench-n:` line).
    n: i32,
    ret: Ret,
    /// The same program compiled natively; kernels' i32 checksums are sign-extended.
    native: fn(i32) -> i64,
    /// Kernels: their source's `// expect:` checksum.
    expect: Option<i64>,
}

// ---------------------------------------------------------------- the programs

// build.rs bundles the native kernels into this package's (empty) library.
use fireball_bench as _;

/// The C kernels, compiled natively by build.rs with `run` renamed.
mod native_kernels {
    extern "C" {
        pub fn fireball_bench_kernel_fib(n: i32) -> i32;
        pub fn fireball_bench_kernel_i32_arith(n: i32) -> i32;
        pub fn fireball_bench_kernel_i64_arith(n: i32) -> i32;
        pub fn fireball_bench_kernel_memory(n: i32) -> i32;
        pub fn fireball_bench_kernel_nbody(n: i32) -> i32;
        pub fn fireball_bench_kernel_call_indirect(n: i32) -> i32;
    }
}

macro_rules! kernel {
    ($name:literal, $native:ident) => {
        (
            $name,
            include_bytes!(concat!("../../../benches/kernels/", $name, ".wasm")) as &[u8],
            include_str!(concat!("../../../benches/kernels/", $name, ".c")),
            // SAFETY: the kernels are self-contained C functions of an i32 that touch
            // only their own static data; the bench calls them from one thread.
            (|n| i64::from(unsafe { native_kernels::$native(n) })) as fn(i32) -> i64,
        )
    };
}

macro_rules! workload {
    ($name:literal, $file:literal, $krate:ident, $n:expr) => {
        Program {
            name: $name,
            kind: Kind::Workload,
            wasm: include_bytes!(concat!("../../../benches/workloads/wasm/", $file, ".wasm")),
            n: $n,
            ret: Ret::I64,
            native: |n| $krate::run(n as u32) as i64,
            expect: None,
        }
    };
}

fn source_field(source: &str, key: &str) -> Result<i32, String> {
    let prefix = format!("// {key}:");
    let line = source.lines().find_map(|l| l.strip_prefix(&prefix)).ok_or_else(|| format!("no `{prefix}` line"))?;
    line.trim().parse().map_err(|e| format!("bad `{prefix}` line: {e}"))
}

fn programs() -> Result<Vec<Program>, String> {
    let kernels = [
        kernel!("fib", fireball_bench_kernel_fib),
        kernel!("i32_arith", fireball_bench_kernel_i32_arith),
        kernel!("i64_arith", fireball_bench_kernel_i64_arith),
        kernel!("memory", fireball_bench_kernel_memory),
        kernel!("nbody", fireball_bench_kernel_nbody),
        kernel!("call_indirect", fireball_bench_kernel_call_indirect),
    ];
    let mut programs = Vec::new();
    for (name, wasm, source, native) in kernels {
        let n = source_field(source, "bench-n").map_err(|e| format!("{name}.c: {e}"))?;
        let expect = source_field(source, "expect").map_err(|e| format!("{name}.c: {e}"))?;
        programs.push(Program {
            name,
            kind: Kind::Kernel,
            wasm,
            n,
            ret: Ret::I32,
            native,
            expect: Some(expect.into()),
        });
    }
    // Arguments chosen so one Fireball run takes some 20-200 ms on a desktop core.
    programs.extend([
        workload!("coremark", "coremark", workload_coremark, 60), // iterations of the 2K performance run
        workload!("deflate", "deflate", workload_deflate, 128),   // KiB compressed and inflated
        workload!("json", "json", workload_json, 400),            // records serialized and parsed
        workload!("nbody-rs", "nbody", workload_nbody, 50_000),   // steps
        workload!("regex", "regex", workload_regex, 64),          // KiB searched
        workload!("sha2", "sha2", workload_sha2, 256),            // KiB hashed by SHA-256 and SHA-512
    ]);
    Ok(programs)
}

fn largest_workload(programs: &[Program]) -> Option<&Program> {
    programs.iter().filter(|p| p.kind == Kind::Workload).max_by_key(|p| p.wasm.len())
}

// ---------------------------------------------------------------- Fireball

struct Fireball {
    store: Store<'static>,
    thread: Thread,
    run: FuncAddr,
}

impl Fireball {
    fn new(wasm: &'static [u8]) -> Result<Self, String> {
        let module = Module::new(wasm).map_err(|e| format!("Module::new: {e:?}"))?;
        // The store borrows the module for its whole life; a bench can afford the leak.
        let module: &'static Module<'static> = Box::leak(Box::new(module));
        let mut store = Store::new(HostLimits::default());
        let inst = store.instantiate(module, |m, n, _| {
            eprintln!("fireball: program imports {m}.{n}; programs must import nothing");
            None
        });
        let inst = inst.map_err(|e| format!("instantiate: {e:?}"))?;
        let run = store.export_func(inst, "run").ok_or("no exported function `run`")?;
        let thread = Thread::new(StackLimits::default()).map_err(|e| format!("Thread::new: {e:?}"))?;
        Ok(Fireball { store, thread, run })
    }

    /// One call of `run(n)`; metered runs spend fuel from an unlimited budget.
    /// (Each engine's `call` is out of line so that `scripts/bench-instructions.sh`
    /// finds its inclusive cost under callgrind.)
    #[inline(never)]
    fn call(&mut self, n: i32, metered: bool) -> Result<i64, String> {
        self.thread.invoke(&self.store, self.run, &[Value::I32(n)]).map_err(|e| format!("invoke: {e:?}"))?;
        let exit =
            if metered { self.thread.resume(&mut self.store, u64::MAX) } else { self.thread.run(&mut self.store) };
        if exit != Exit::Done {
            let trace: Vec<String> = self.thread.backtrace().map(|(f, pc)| format!("func {} @ {pc}", f.0)).collect();
            return Err(format!(
                "{} run: {exit:?} (backtrace: {})",
                if metered { "metered" } else { "unmetered" },
                trace.join(" <- ")
            ));
        }
        match self.thread.results(&self.store).collect::<Vec<_>>()[..] {
            [Value::I32(v)] => Ok(v.into()),
            [Value::I64(v)] => Ok(v),
            ref other => Err(format!("results: expected one i32 or i64, got {other:?}")),
        }
    }
}

// ---------------------------------------------------------------- wasmi

enum WasmiRun {
    I32(wasmi::TypedFunc<i32, i32>),
    I64(wasmi::TypedFunc<i32, i64>),
}

struct Wasmi {
    store: wasmi::Store<()>,
    run: WasmiRun,
}

impl Wasmi {
    fn new(wasm: &[u8], ret: Ret) -> Result<Self, String> {
        let mut config = wasmi::Config::default();
        // Translate everything up front so no timed call pays for translation.
        config.compilation_mode(wasmi::CompilationMode::Eager);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, wasm).map_err(|e| format!("Module::new: {e}"))?;
        let mut store = wasmi::Store::new(&engine, ());
        let linker = wasmi::Linker::<()>::new(&engine);
        let inst = linker.instantiate_and_start(&mut store, &module).map_err(|e| format!("instantiate: {e}"))?;
        let run = match ret {
            Ret::I32 => WasmiRun::I32(inst.get_typed_func(&store, "run").map_err(|e| format!("run: {e}"))?),
            Ret::I64 => WasmiRun::I64(inst.get_typed_func(&store, "run").map_err(|e| format!("run: {e}"))?),
        };
        Ok(Wasmi { store, run })
    }

    #[inline(never)]
    fn call(&mut self, n: i32) -> Result<i64, String> {
        match &self.run {
            WasmiRun::I32(f) => f.call(&mut self.store, n).map(i64::from),
            WasmiRun::I64(f) => f.call(&mut self.store, n),
        }
        .map_err(|e| format!("call: {e}"))
    }
}

// ---------------------------------------------------------------- wasm3

/// wasm3's stack, in bytes: values and frames of wasm calls (Rust's own shadow
/// stack lives in linear memory).
const WASM3_STACK: u32 = 1 << 20;

enum Wasm3 {
    I32(wasm3::Function<'static, i32, i32>),
    I64(wasm3::Function<'static, i32, i64>),
}

impl Wasm3 {
    fn new(wasm: &[u8], ret: Ret) -> Result<Self, String> {
        let env = wasm3::Environment::new().map_err(|e| format!("Environment::new: {e}"))?;
        // Functions borrow the runtime; a bench can afford the leak.
        let rt: &'static wasm3::Runtime =
            Box::leak(Box::new(env.create_runtime(WASM3_STACK).map_err(|e| format!("Runtime::new: {e}"))?));
        rt.parse_and_load_module(wasm).map_err(|e| format!("load: {e}"))?;
        // find_function compiles `run`; wasm3 compiles its callees on their first call.
        Ok(match ret {
            Ret::I32 => Wasm3::I32(rt.find_function("run").map_err(|e| format!("run: {e}"))?),
            Ret::I64 => Wasm3::I64(rt.find_function("run").map_err(|e| format!("run: {e}"))?),
        })
    }

    #[inline(never)]
    fn call(&self, n: i32) -> Result<i64, String> {
        match self {
            Wasm3::I32(f) => f.call(n).map(i64::from),
            Wasm3::I64(f) => f.call(n),
        }
        .map_err(|e| format!("call: {e}"))
    }
}

// ---------------------------------------------------------------- harness

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Fireball,
    FireballFuel,
    Wasmi,
    Wasm3,
    Native,
}
const VARIANTS: [Variant; 5] =
    [Variant::Fireball, Variant::FireballFuel, Variant::Wasmi, Variant::Wasm3, Variant::Native];

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Fireball => "Fireball",
            Variant::FireballFuel => "Fireball metered",
            Variant::Wasmi => "wasmi",
            Variant::Wasm3 => "wasm3",
            Variant::Native => "native",
        }
    }
}

struct Engines {
    fb: Fireball,
    wasmi: Wasmi,
    wasm3: Wasm3,
    native: fn(i32) -> i64,
}

impl Engines {
    fn call(&mut self, v: Variant, n: i32) -> Result<i64, String> {
        match v {
            Variant::Fireball => self.fb.call(n, false),
            Variant::FireballFuel => self.fb.call(n, true),
            Variant::Wasmi => self.wasmi.call(n),
            Variant::Wasm3 => self.wasm3.call(n),
            // black_box: keep the optimiser from hoisting a pure call out of the timing.
            Variant::Native => Ok(native_call(self.native, n)),
        }
    }
}

/// The native code's call, out of line (see `Fireball::call`).
#[inline(never)]
fn native_call(f: fn(i32) -> i64, n: i32) -> i64 {
    // black_box: keep the optimiser from hoisting a pure call out of the timing.
    std::hint::black_box(f)(std::hint::black_box(n))
}

struct Row {
    name: &'static str,
    kind: Kind,
    n: i32,
    checksum: i64,
    /// Wasm instructions per call (Fireball's metered count).
    instrs: u64,
    /// Median ms per variant, in VARIANTS order.
    ms: [f64; 5],
    /// Largest (max - min) / median over the variants: how noisy the samples were.
    spread: f64,
}

impl Row {
    fn ms(&self, v: Variant) -> f64 {
        self.ms[VARIANTS.iter().position(|&x| x == v).unwrap()]
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    }
}

fn bench_program(p: &Program, reps: usize) -> Result<Row, String> {
    let mut e = Engines {
        fb: Fireball::new(p.wasm).map_err(|e| format!("Fireball: {e}"))?,
        wasmi: Wasmi::new(p.wasm, p.ret).map_err(|e| format!("wasmi: {e}"))?,
        wasm3: Wasm3::new(p.wasm, p.ret).map_err(|e| format!("wasm3: {e}"))?,
        native: p.native,
    };
    let n = p.n;
    let want = (p.native)(n);
    if let Some(expect) = p.expect {
        if want != expect {
            return Err(format!("native run({n}) = {want}, but the source says expect: {expect}"));
        }
    }

    // Warm-up + cross-check (also counts instructions on the metered run).
    let mut wrong = Vec::new();
    let mut instrs = 0;
    for v in VARIANTS {
        let before = e.fb.thread.instructions();
        match e.call(v, n) {
            Ok(got) if got == want => {}
            Ok(got) => wrong.push(format!("{} returned {got:#x}", v.label())),
            Err(err) => wrong.push(format!("{}: {err}", v.label())),
        }
        if v == Variant::FireballFuel {
            instrs = e.fb.thread.instructions() - before;
        }
    }
    if !wrong.is_empty() {
        return Err(format!("run({n}) should be {want:#x} (native): {}", wrong.join("; ")));
    }

    let mut samples: [Vec<Duration>; 5] = Default::default();
    for rep in 0..reps {
        for i in 0..VARIANTS.len() {
            let slot = (rep + i) % VARIANTS.len();
            let v = VARIANTS[slot];
            let t = Instant::now();
            let got = e.call(v, n);
            let dt = t.elapsed();
            match got {
                Ok(got) if got == want => samples[slot].push(dt),
                Ok(got) => {
                    return Err(format!("{}: repetition {rep} returned {got:#x}, expected {want:#x}", v.label()))
                }
                Err(err) => return Err(format!("{}: repetition {rep}: {err}", v.label())),
            }
        }
    }
    let mut ms = [0.0; 5];
    let mut spread: f64 = 0.0;
    for (s, m) in samples.iter_mut().zip(&mut ms) {
        *m = median(s).as_secs_f64() * 1e3; // sorts
        spread = spread.max((s[s.len() - 1] - s[0]).as_secs_f64() * 1e3 / *m);
    }
    Ok(Row { name: p.name, kind: p.kind, n, checksum: want, instrs, ms, spread })
}

fn geomean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x.ln(), n + 1));
    if n == 0 {
        f64::NAN
    } else {
        (sum / n as f64).exp()
    }
}

/// The ratio columns: (header, numerator, denominator).
const RATIOS: [(&str, Variant, Variant); 6] = [
    ("fb/wasmi", Variant::Fireball, Variant::Wasmi),
    ("fb/wasm3", Variant::Fireball, Variant::Wasm3),
    ("fb/native", Variant::Fireball, Variant::Native),
    ("wasmi/native", Variant::Wasmi, Variant::Native),
    ("wasm3/native", Variant::Wasm3, Variant::Native),
    ("fuel", Variant::FireballFuel, Variant::Fireball),
];

fn ratio_line(label: &str, rows: &[&Row]) -> String {
    let mut line = format!("{label:<18}");
    for (i, (_, a, b)) in RATIOS.iter().enumerate() {
        let r = geomean(rows.iter().map(|r| r.ms(*a) / r.ms(*b)));
        if i == RATIOS.len() - 1 {
            line += &format!(" {:>+12.1}%", (r - 1.0) * 100.0);
        } else {
            line += &format!(" {r:>12.2}x");
        }
    }
    line
}

/// Median time of `reps` loads (decode, validate, compile where the engine does it
/// up front) + instantiations of `wasm` in each engine.
fn load_times(wasm: &'static [u8], ret: Ret, reps: usize) -> Result<[(&'static str, f64); 4], String> {
    let mut samples: [Vec<Duration>; 4] = Default::default();
    for rep in 0..reps {
        for i in 0..4 {
            let slot = (rep + i) % 4;
            let t = Instant::now();
            match slot {
                0 => drop(std::hint::black_box(Fireball::new(wasm).map_err(|e| format!("Fireball: {e}"))?)),
                1 => drop(std::hint::black_box(Wasmi::new(wasm, ret).map_err(|e| format!("wasmi: {e}"))?)),
                2 => {
                    // wasmi's default: lazy translation (functions translated on first call).
                    let engine = wasmi::Engine::default();
                    let module = wasmi::Module::new(&engine, wasm).map_err(|e| format!("wasmi lazy: {e}"))?;
                    let mut store = wasmi::Store::new(&engine, ());
                    let linker = wasmi::Linker::<()>::new(&engine);
                    let inst =
                        linker.instantiate_and_start(&mut store, &module).map_err(|e| format!("wasmi lazy: {e}"))?;
                    std::hint::black_box(inst);
                }
                _ => drop(std::hint::black_box(Wasm3::new(wasm, ret).map_err(|e| format!("wasm3: {e}"))?)),
            }
            samples[slot].push(t.elapsed());
        }
    }
    let ms = |s: &mut Vec<Duration>| median(s).as_secs_f64() * 1e3;
    Ok([
        ("Fireball: Module::new + instantiate", ms(&mut samples[0])),
        ("wasmi, eager translation (as timed above)", ms(&mut samples[1])),
        ("wasmi, lazy translation (its default)", ms(&mut samples[2])),
        ("wasm3: parse + load + compile `run`", ms(&mut samples[3])),
    ])
}

fn main() {
    let mut quick = std::env::var("FIREBALL_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut reps = None;
    let mut filters = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--quick" {
            quick = true;
        } else if let Some(r) = arg.strip_prefix("--reps=") {
            reps = Some(r.parse::<usize>().expect("--reps=N needs a positive integer").max(1));
        } else if arg.starts_with('-') {
            // `cargo bench` passes `--bench`; ignore it and other harness flags.
        } else {
            filters.push(arg);
        }
    }
    let reps = reps.unwrap_or(if quick { 3 } else { 11 });
    let all = match programs() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fireball-bench: {e}");
            std::process::exit(1);
        }
    };
    // A filter selects the programs whose name contains it; `=name`, that one alone.
    let picks = |p: &Program, f: &str| f.strip_prefix('=').map_or_else(|| p.name.contains(f), |exact| p.name == exact);
    let selected: Vec<&Program> = all.iter().filter(|p| filters.is_empty() || filters.iter().any(|f| picks(p, f))).collect();

    println!(
        "Fireball vs wasmi 2.0.0, wasm3 0.4.7 (crate wasm3 0.3.1) and native: median of {reps} timed runs per variant \
         ({} mode), order rotated every run.",
        if quick { "quick" } else { "full" }
    );
    println!(
        "  fireball = Thread::run (no fuel), fb+fuel = Thread::resume(u64::MAX), wasmi = default Config but eager"
    );
    println!("  translation, no fuel; wasm3 = crate defaults; native = the same C (clang -O2) or Rust (bench profile)");
    println!("  code in this process. Every engine runs the same .wasm and must return the native checksum.");
    println!("  The workloads' .wasm are rustc's with memory.copy/fill lowered to wasm calls (wasm3 0.4.7 has no");
    println!("  bulk memory); native sha2 uses the CPU's SHA/AVX2 instructions where it has them, as native code does.");
    println!("  spread = worst (max-min)/median of the five variants\n");

    let started = Instant::now();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let header = format!(
        "{:<14} {:>6} {:>18} {:>9} {:>11} {:>10} {:>10} {:>10} {:>10} {:>7} {:>7}",
        "program",
        "arg",
        "checksum",
        "Minstr",
        "fireball ms",
        "fb+fuel ms",
        "wasmi ms",
        "wasm3 ms",
        "native ms",
        "fb MIPS",
        "spread"
    );
    for kind in [Kind::Kernel, Kind::Workload] {
        let group: Vec<&&Program> = selected.iter().filter(|p| p.kind == kind).collect();
        if group.is_empty() {
            continue;
        }
        println!(
            "{}",
            match kind {
                Kind::Kernel => "C kernels (benches/kernels)",
                Kind::Workload => "Rust workloads (benches/workloads)",
            }
        );
        println!("{header}");
        println!("{}", "-".repeat(header.len()));
        for p in group {
            match bench_program(p, reps) {
                Ok(r) => {
                    let checksum = match r.kind {
                        Kind::Kernel => r.checksum.to_string(),
                        Kind::Workload => format!("{:016x}", r.checksum),
                    };
                    println!(
                        "{:<14} {:>6} {:>18} {:>9.2} {:>11.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>7.0} {:>6.0}%",
                        r.name,
                        r.n,
                        checksum,
                        r.instrs as f64 / 1e6,
                        r.ms(Variant::Fireball),
                        r.ms(Variant::FireballFuel),
                        r.ms(Variant::Wasmi),
                        r.ms(Variant::Wasm3),
                        r.ms(Variant::Native),
                        r.instrs as f64 / (r.ms(Variant::Fireball) * 1e3),
                        r.spread * 100.0,
                    );
                    rows.push(r);
                }
                Err(e) => {
                    println!("{:<14} FAILED: {e}", p.name);
                    failures.push(format!("{}: {e}", p.name));
                }
            }
        }
        println!();
    }

    if !rows.is_empty() {
        let mut header = format!("{:<18}", "ratio");
        for (h, _, _) in RATIOS {
            header += &format!(" {h:>13}");
        }
        println!("Ratios of medians (> 1: the first is slower; fuel = fb+fuel / fireball - 1)");
        println!("{header}");
        println!("{}", "-".repeat(header.len()));
        for r in &rows {
            println!("{}", ratio_line(r.name, &[r]));
        }
        println!("{}", "-".repeat(header.len()));
        let kernels: Vec<&Row> = rows.iter().filter(|r| r.kind == Kind::Kernel).collect();
        let workloads: Vec<&Row> = rows.iter().filter(|r| r.kind == Kind::Workload).collect();
        if !kernels.is_empty() {
            println!("{}", ratio_line("geomean kernels", &kernels));
        }
        if !workloads.is_empty() {
            println!("{}", ratio_line("geomean workloads", &workloads));
        }
        if !kernels.is_empty() && !workloads.is_empty() {
            println!("{}", ratio_line("geomean all", &rows.iter().collect::<Vec<_>>()));
        }
    }

    if let Some(big) = largest_workload(&all).filter(|_| selected.iter().any(|p| p.kind == Kind::Workload)) {
        println!(
            "\nLoad + instantiate of the largest workload module ({}, {} KiB), median of {reps}:",
            big.name,
            big.wasm.len() / 1024
        );
        match load_times(big.wasm, big.ret, reps) {
            Ok(times) => {
                for (what, ms) in times {
                    println!("  {what:<44} {ms:>9.3} ms");
                }
            }
            Err(e) => {
                println!("  FAILED: {e}");
                failures.push(format!("load {}: {e}", big.name));
            }
        }
    }

    println!("\n{} programs in {:.1} s", rows.len(), started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        eprintln!("\n{} program(s) FAILED:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        std::process::exit(1);
    }
}
