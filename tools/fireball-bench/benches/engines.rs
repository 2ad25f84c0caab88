//! Fireball's interpreter against wasmi 2.0.0, in one process, on the C kernels
//! of `benches/kernels/` (prebuilt `.wasm` checked in; rebuild with
//! `scripts/build-bench-kernels.sh`).
//!
//! For every kernel: instantiate it in both engines, run `run(n)` once in each
//! (warm-up and cross-check: both must return the checksum of the source's
//! `// expect:` line), then time `reps` calls per engine, rotating the engine
//! order each repetition so a noisy machine hurts them alike. Three variants
//! are timed: Fireball unmetered (`Thread::run`), Fireball metered
//! (`Thread::resume(store, u64::MAX)`) and wasmi (default config, eager
//! translation, no fuel). Prints medians, the Fireball/wasmi ratio and the
//! fuel-check overhead, each with its geometric mean.
//!
//! Arguments (after `cargo bench -p fireball-bench --`):
//!   --quick      3 timed runs instead of 11 (also: env FIREBALL_BENCH_QUICK=1)
//!   --reps=N     N timed runs
//!   WORD ...     only kernels whose name contains one of the words
//! Exits non-zero if any kernel fails or disagrees.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use fireball_wasm::{Exit, FuncAddr, HostLimits, Module, StackLimits, Store, Thread, Value};

struct Kernel {
    name: &'static str,
    wasm: &'static [u8],
    /// The C source: its `// bench-n:` and `// expect:` lines give the argument and checksum.
    source: &'static str,
}

macro_rules! kernel {
    ($name:literal) => {
        Kernel {
            name: $name,
            wasm: include_bytes!(concat!("../../../benches/kernels/", $name, ".wasm")),
            source: include_str!(concat!("../../../benches/kernels/", $name, ".c")),
        }
    };
}

const KERNELS: &[Kernel] = &[
    kernel!("fib"),
    kernel!("i32_arith"),
    kernel!("i64_arith"),
    kernel!("memory"),
    kernel!("nbody"),
    kernel!("call_indirect"),
];

fn source_field(source: &str, key: &str) -> Result<i32, String> {
    let prefix = format!("// {key}:");
    let line = source.lines().find_map(|l| l.strip_prefix(&prefix)).ok_or_else(|| format!("no `{prefix}` line"))?;
    line.trim().parse().map_err(|e| format!("bad `{prefix}` line: {e}"))
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
            eprintln!("fireball: kernel imports {m}.{n}; kernels must import nothing");
            None
        });
        let inst = inst.map_err(|e| format!("instantiate: {e:?}"))?;
        let run = store.export_func(inst, "run").ok_or("no exported function `run`")?;
        let thread = Thread::new(StackLimits::default()).map_err(|e| format!("Thread::new: {e:?}"))?;
        Ok(Fireball { store, thread, run })
    }

    /// One call of `run(n)`; metered runs spend fuel from an unlimited budget.
    fn call(&mut self, n: i32, metered: bool) -> Result<i32, String> {
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
            [Value::I32(v)] => Ok(v),
            ref other => Err(format!("results: expected one i32, got {other:?}")),
        }
    }
}

// ---------------------------------------------------------------- wasmi

struct Wasmi {
    store: wasmi::Store<()>,
    run: wasmi::TypedFunc<i32, i32>,
}

impl Wasmi {
    fn new(wasm: &[u8]) -> Result<Self, String> {
        let mut config = wasmi::Config::default();
        // Translate everything up front so no timed call pays for translation.
        config.compilation_mode(wasmi::CompilationMode::Eager);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, wasm).map_err(|e| format!("Module::new: {e}"))?;
        let mut store = wasmi::Store::new(&engine, ());
        let linker = wasmi::Linker::<()>::new(&engine);
        let inst = linker.instantiate_and_start(&mut store, &module).map_err(|e| format!("instantiate: {e}"))?;
        let run = inst.get_typed_func::<i32, i32>(&store, "run").map_err(|e| format!("run: {e}"))?;
        Ok(Wasmi { store, run })
    }

    fn call(&mut self, n: i32) -> Result<i32, String> {
        self.run.call(&mut self.store, n).map_err(|e| format!("call: {e}"))
    }
}

// ---------------------------------------------------------------- harness

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Fireball,
    FireballFuel,
    Wasmi,
}
const VARIANTS: [Variant; 3] = [Variant::Fireball, Variant::FireballFuel, Variant::Wasmi];

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Fireball => "Fireball",
            Variant::FireballFuel => "Fireball metered",
            Variant::Wasmi => "wasmi",
        }
    }
}

struct Row {
    name: &'static str,
    n: i32,
    checksum: i32,
    /// Wasm instructions per call (Fireball's metered count).
    instrs: u64,
    /// Median ms: Fireball, Fireball metered, wasmi.
    fb: f64,
    fb_fuel: f64,
    wasmi: f64,
    /// Largest (max - min) / median of the three variants: how noisy the samples were.
    spread: f64,
}

fn median_ms(samples: &mut [Duration]) -> f64 {
    samples.sort();
    let n = samples.len();
    let mid = if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2 };
    mid.as_secs_f64() * 1e3
}

fn bench_kernel(k: &Kernel, reps: usize) -> Result<Row, String> {
    let n = source_field(k.source, "bench-n")?;
    let expect = source_field(k.source, "expect")?;
    let mut fb = Fireball::new(k.wasm).map_err(|e| format!("Fireball: {e}"))?;
    let mut wi = Wasmi::new(k.wasm).map_err(|e| format!("wasmi: {e}"))?;

    // Warm-up + cross-check (also counts instructions on the metered run).
    let got_wasmi = wi.call(n).map_err(|e| format!("wasmi: {e}"))?;
    let got_fb = fb.call(n, false).map_err(|e| format!("Fireball: {e}"))?;
    let before = fb.thread.instructions();
    let got_fuel = fb.call(n, true).map_err(|e| format!("Fireball: {e}"))?;
    let instrs = fb.thread.instructions() - before;
    if got_wasmi != expect || got_fb != expect || got_fuel != expect {
        return Err(format!(
            "checksum mismatch for run({n}): source expects {expect}, wasmi {got_wasmi}, \
             Fireball {got_fb}, Fireball metered {got_fuel}"
        ));
    }

    let mut samples: [Vec<Duration>; 3] = Default::default();
    for rep in 0..reps {
        for i in 0..VARIANTS.len() {
            let slot = (rep + i) % VARIANTS.len();
            let t = Instant::now();
            let got = match VARIANTS[slot] {
                Variant::Fireball => fb.call(n, false),
                Variant::FireballFuel => fb.call(n, true),
                Variant::Wasmi => wi.call(n),
            };
            let dt = t.elapsed();
            match got {
                Ok(v) if v == expect => samples[slot].push(dt),
                Ok(v) => {
                    return Err(format!("{}: repetition {rep} returned {v}, expected {expect}", VARIANTS[slot].label()))
                }
                Err(e) => return Err(format!("{}: repetition {rep}: {e}", VARIANTS[slot].label())),
            }
        }
    }
    let mut medians = [0.0; 3];
    let mut spread: f64 = 0.0;
    for (s, m) in samples.iter_mut().zip(&mut medians) {
        *m = median_ms(s); // sorts
        spread = spread.max((s[s.len() - 1] - s[0]).as_secs_f64() * 1e3 / *m);
    }
    let [fb, fb_fuel, wasmi] = medians;
    Ok(Row { name: k.name, n, checksum: expect, instrs, fb, fb_fuel, wasmi, spread })
}

fn geomean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x.ln(), n + 1));
    if n == 0 {
        f64::NAN
    } else {
        (sum / n as f64).exp()
    }
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
    let kernels: Vec<&Kernel> =
        KERNELS.iter().filter(|k| filters.is_empty() || filters.iter().any(|f| k.name.contains(f.as_str()))).collect();

    println!(
        "Fireball vs wasmi 2.0.0: median of {reps} timed runs per engine ({} mode), engine order rotated every run.",
        if quick { "quick" } else { "full" }
    );
    println!("  fireball = Thread::run (no fuel), fb+fuel = Thread::resume(u64::MAX), wasmi = default Config, eager translation, no fuel");
    println!("  fb/wasmi > 1 means Fireball is slower; fuel = fb+fuel / fireball - 1; spread = worst (max-min)/median of the three\n");

    let started = Instant::now();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let header = format!(
        "{:<14} {:>7} {:>11} {:>9} {:>12} {:>10} {:>9} {:>11} {:>8} {:>7} {:>7}",
        "kernel",
        "arg",
        "checksum",
        "Minstr",
        "fireball ms",
        "wasmi ms",
        "fb/wasmi",
        "fb+fuel ms",
        "fuel",
        "fb MIPS",
        "spread"
    );
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for k in &kernels {
        match bench_kernel(k, reps) {
            Ok(r) => {
                println!(
                    "{:<14} {:>7} {:>11} {:>9.2} {:>12.3} {:>10.3} {:>8.2}x {:>11.3} {:>+7.1}% {:>7.0} {:>6.0}%",
                    r.name,
                    r.n,
                    r.checksum,
                    r.instrs as f64 / 1e6,
                    r.fb,
                    r.wasmi,
                    r.fb / r.wasmi,
                    r.fb_fuel,
                    (r.fb_fuel / r.fb - 1.0) * 100.0,
                    r.instrs as f64 / (r.fb * 1e3),
                    r.spread * 100.0,
                );
                rows.push(r);
            }
            Err(e) => {
                println!("{:<14} FAILED: {e}", k.name);
                failures.push(format!("{}: {e}", k.name));
            }
        }
    }
    println!("{}", "-".repeat(header.len()));
    if !rows.is_empty() {
        let ratio = geomean(rows.iter().map(|r| r.fb / r.wasmi));
        let fuel = geomean(rows.iter().map(|r| r.fb_fuel / r.fb));
        let mut line = String::new();
        write!(
            line,
            "{:<14} {:>7} {:>11} {:>9} {:>12} {:>10} {:>8.2}x {:>11} {:>+7.1}%",
            "geomean",
            "",
            "",
            "",
            "",
            "",
            ratio,
            "",
            (fuel - 1.0) * 100.0
        )
        .unwrap();
        println!("{line}");
    }
    println!("\n{} kernels in {:.1} s", rows.len(), started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        eprintln!("\n{} kernel(s) FAILED:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        std::process::exit(1);
    }
}
