//! The host simulator: one guest app and its services on the kernel, with the
//! subsystems behind the router, exactly as on a device — only the devices
//! are simulated and time is simulated too (so a run is reproducible).
//!
//! ```text
//! RAM (leaked, plan for --ram) ─► Memory: P1 kernel core · P2 modules · P3 logger ring
//!                                          P4 one sub-heap per service · P5 the app
//! devices (sim ADC, clock, TX, BLE) ─► hal::Registry ─► Router (grants from the manifest)
//!                                                          ▲ Syscalls
//! Kernel::step ─► wasm tasks ─► imports ─► kernel (ch_*, buf_*) or Router
//!      └─ between steps: time += instructions / INSTRUCTIONS_PER_MS, drain sinks, log, TX
//! ```

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use fireball_coos::mem::{Memory, Partition, PartitionId, SubPartition};
use fireball_coos::plan::{plan, Config};
use fireball_coos::sched::{
    Core, Counters, Ctx, Fault, Kernel, KernelConfig, SpawnError, Step, TaskState, NO_CHANNEL, PORTS,
};
use fireball_coos::TaskId;
use fireball_sys::hal::sim::{SimBle, SimClock, SimTime, SimTx};
use fireball_sys::hal::{Adc, Device, HalError, Registry};
use fireball_sys::hal::sim::{Signal, SimAdc};
use fireball_sys::log::{Event, Logger, CAPACITY};
use fireball_sys::manifest::{Manifest, PortRef, Wire};
use fireball_sys::router::{Grants, Router};
use fireball_wasm::{Features, HostLimits, Module, StackLimits};

/// Simulated time: one millisecond per this many wasm instructions. A round guess
/// at the interpreter's rate on a 100 MHz Cortex-M (25 cycles per wasm
/// instruction), not a measurement: it only sets how fast simulated time runs.
pub const INSTRUCTIONS_PER_MS: u64 = 4_000;

/// Longest frame the simulated radio takes.
pub const TX_MAX_FRAME: usize = 512;

/// Messages each wired channel buffers.
pub const CHANNEL_CAPACITY: usize = 16;

/// A task's interpreter stacks in its coroutine stack (`slot`, one of the plan's
/// `N_coro × STACK`): one frame per 128 bytes of it, the rest value slots.
pub fn thread_limits(slot: &Partition) -> StackLimits {
    // Two blocks, each with an allocator tag and rounding: 64 bytes of slack.
    let cap = slot.capacity().saturating_sub(64);
    let frames = (slot.region_size() / 128).max(4) as u32;
    let value_slots = (cap.saturating_sub(frames as usize * 16) / 8) as u32;
    StackLimits { value_slots, frames }
}

/// Heap a service gets past its static footprint (bytes of linear memory).
pub const SERVICE_HEAP: u32 = 64;

/// Most entries a module's function table may start with. Each takes 8 B of the
/// module's own partition, which bounds it anyway; Rust `std` programs need more
/// than a C guest (trait-object vtables: 56 for examples/programs/hello-rust,
/// 65 for examples/programs/coremark, against 5 for hello-c).
pub const MAX_TABLE_ELEMS: u32 = 1024;

/// The ADC channels `fireball run` simulates when none are given.
pub fn default_adc() -> Vec<Signal<'static>> {
    vec![
        Signal::Sine { offset: 2048, amplitude: 1000, period_ms: 1000 },
        Signal::Sine { offset: 2048, amplitude: 600, period_ms: 700 },
        Signal::Ramp { from: 0, to: 4095, period_ms: 2000 },
        Signal::Noise { seed: 1, min: 1800, max: 2200 },
    ]
}

/// One module to run.
#[derive(Debug, Clone)]
pub struct ModuleSpec {
    /// Name (the manifest's, and the log's): the file's stem by default.
    pub name: String,
    /// The wasm binary, or a packed module (`fireball pack`: wasm + side table).
    pub bytes: Vec<u8>,
    /// Entry export (`[] -> []`); `None`: `_start`, else the only such export.
    pub entry: Option<String>,
}

impl ModuleSpec {
    /// A module loaded from `path`, named after the file's stem (`examples/sensor/sensor.wasm` → `sensor`).
    pub fn new(path: &str, bytes: Vec<u8>, entry: Option<String>) -> ModuleSpec {
        let name = std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("module").to_string();
        ModuleSpec { name, bytes, entry }
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this many wasm instructions (all tasks together).
    Instructions(u64),
    /// After this much simulated time.
    Millis(u64),
}

/// Everything a run needs.
pub struct RunConfig<'a> {
    /// The guest app (in P5), if any.
    pub app: Option<ModuleSpec>,
    /// Service plugins (each in its own P4 sub-heap).
    pub services: Vec<ModuleSpec>,
    /// Device RAM to plan for.
    pub ram: usize,
    /// ADC channel `i` follows `adc[i]`.
    pub adc: Vec<Signal<'static>>,
    /// Stop condition.
    pub limit: Limit,
    /// Manifest text; `None`: every module is granted `*` and its ports 0..4 are sinks.
    pub manifest: Option<String>,
    /// Seed of `random_get`.
    pub seed: u64,
    /// Where logger lines, TX/BLE frames, console text and the final report go.
    pub out: &'a mut dyn Write,
    /// Set (by Ctrl-C) to stop the run cleanly.
    pub stop: Option<&'static AtomicBool>,
}

/// How one module ended up.
#[derive(Debug, Clone)]
pub struct TaskReport {
    /// Its name.
    pub name: String,
    /// Its final state.
    pub state: TaskState,
    /// Why it was terminated.
    pub fault: Option<Fault>,
    /// WASI `proc_exit` status.
    pub exit_code: Option<i32>,
    /// Its counters (since its last restart).
    pub counters: Counters,
    /// Times the restart policy loaded it again.
    pub restarts: u8,
    /// Longest wait for the CPU (scheduler clock).
    pub worst_wait: u32,
}

/// Messages drained from one sink port.
#[derive(Debug, Clone)]
pub struct SinkReport {
    /// `module:port`.
    pub label: String,
    /// Every message, in order.
    pub values: Vec<u32>,
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Report {
    /// TX frames, in order.
    pub tx: Vec<Vec<u8>>,
    /// BLE frames, in order.
    pub ble: Vec<Vec<u8>>,
    /// The profile BLE was initialised with.
    pub ble_profile: Option<u32>,
    /// Every ADC read: (channel, value), in order.
    pub adc_reads: Vec<(u8, u16)>,
    /// Sinks.
    pub sinks: Vec<SinkReport>,
    /// Tasks (app first, then services in order).
    pub tasks: Vec<TaskReport>,
    /// Wasm instructions executed.
    pub instructions: u64,
    /// Simulated milliseconds.
    pub millis: u64,
    /// Logger lines (also written to `out`).
    pub log: String,
    /// Events the logger ring dropped (overwritten before a drain).
    pub log_dropped: u32,
    /// The router's counters (calls, denials, malformed messages).
    pub router: fireball_sys::router::RouterStats,
    /// Why the run stopped.
    pub stopped: String,
    /// A P1/P2/P6 exhaustion: the fatal error the system would reset on.
    pub fatal: Option<String>,
    /// What each module took from its partition once spawned (app first, then services).
    pub footprints: Vec<Footprint>,
}

/// What one module takes from its own partition (P5 for the app, its P4 sub-heap
/// for a service), measured, not estimated: its metadata, its store and
/// interpreter stacks, and its linear memory.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    /// The module's name.
    pub name: String,
    /// Whether it is a service (its partition is a P4 sub-heap).
    pub service: bool,
    /// Most bytes of its partition in use from loading through spawning (allocator tags included).
    pub peak: usize,
    /// Bytes of its partition in use once spawned.
    pub live: usize,
    /// Most bytes in use while spawning (the store, linear memory and task record on top of the metadata).
    pub spawn_peak: usize,
    /// Of which the engine's metadata for the module (side table too, unless packed).
    pub metadata: usize,
    /// Of which linear memory.
    pub memory: usize,
    /// Bytes its partition can hold.
    pub capacity: usize,
    /// Whether it was loaded packed (side table in flash).
    pub packed: bool,
    /// Its interpreter stacks, in its coroutine stack.
    pub stack: StackLimits,
}

/// An ADC that records what it returns (the tests recompute the examples' outputs from it).
struct TapAdc<'a> {
    inner: SimAdc<'a>,
    reads: &'a RefCell<Vec<(u8, u16)>>,
}

impl Adc for TapAdc<'_> {
    fn channels(&self) -> u8 {
        self.inner.channels()
    }

    fn read(&mut self, channel: u8) -> Result<u16, HalError> {
        let v = self.inner.read(channel)?;
        self.reads.borrow_mut().push((channel, v));
        Ok(v)
    }
}

impl Device for TapAdc<'_> {
    fn support_adc(&mut self) -> Option<&mut dyn Adc> {
        Some(self)
    }

    fn configure(&mut self, key: u8, value: fireball_sys::hal::Value<'_>) -> Result<(), HalError> {
        self.inner.configure(key, value)
    }

    fn query(&mut self, key: u8) -> Result<fireball_sys::hal::Value<'_>, HalError> {
        self.inner.query(key)
    }
}

/// The run's text, in order: the radios' frame lines (`io::Write`) and the
/// guests' stdout through the router's console (`fmt::Write`).
struct Text<'a>(&'a RefCell<String>);

impl Write for Text<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.borrow_mut().push_str(s);
        Ok(())
    }
}

/// The entry of `module`: `want`, else `_start`, else its only `[] -> []` export.
pub fn entry_of(module: &Module<'_, impl allocator_api2::alloc::Allocator + Clone>, want: Option<&str>) -> Result<String, String> {
    if let Some(w) = want {
        return Ok(w.to_string());
    }
    if module.export("_start").is_some() {
        return Ok("_start".into());
    }
    let candidates: Vec<&str> = module
        .exports()
        .filter(|(n, k, i)| {
            *k == fireball_wasm::ExternKind::Func
                && !n.starts_with('_')
                && module.func_type(*i).is_some_and(|t| t.params.is_empty() && t.results.is_empty())
        })
        .map(|(n, ..)| n)
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err("no entry: export `_start` or a `[] -> []` function".into()),
        _ => Err(format!("several possible entries ({}): name one with `name.wasm:entry`", candidates.join(", "))),
    }
}

fn leak_ram(n: usize) -> &'static mut [u8] {
    let r: &'static mut [u8] = Box::leak(vec![0u8; n + 64].into_boxed_slice());
    let off = r.as_ptr().align_offset(16);
    &mut r[off..off + n]
}

/// How one module is started: everything `Kernel::spawn_wasm`, the router and
/// the port map need, kept so the restart policy can start it again the same way.
struct Launch<'p> {
    name: &'static str,
    entry: String,
    heap: &'p Partition,
    /// The plan's coroutine stacks: task `t`'s interpreter stacks go in `stacks[t]`.
    stacks: &'p [Partition],
    limits: HostLimits,
    grants: Grants<'static>,
    restarts: u8,
    ports: [u8; PORTS],
}

impl<'p> Launch<'p> {
    /// Admit it to the router under the id the kernel will give it, spawn it, wire its ports.
    fn start<'k, 'm, S: AsRef<[Event]> + AsMut<[Event]>>(
        &self,
        kernel: &mut Kernel<'k, 'm, &'p Partition, &'p Partition, &'p Partition>,
        router: &RefCell<Router<'_, '_, S>>,
        module: &'m Module<'m, &'p Partition>,
    ) -> Result<TaskId, SpawnError> {
        let t = kernel.next_task().ok_or(SpawnError::NoSlot)?;
        let slot = self.stacks.get(t as usize).ok_or(SpawnError::NoSlot)?;
        router.borrow_mut().admit(t, self.name, self.grants);
        let t = kernel.spawn_wasm_with_stack(module, &self.entry, self.heap, slot, self.limits, thread_limits(slot))?;
        kernel.bind_ports(t, self.ports);
        Ok(t)
    }
}

fn spawn_error(name: &str, module: &Module<'_, impl allocator_api2::alloc::Allocator + Clone>, e: SpawnError) -> String {
    let import = |index: u32| {
        module.imports().nth(index as usize).map_or_else(|| format!("#{index}"), |(m, n, _)| format!("{m}.{n}"))
    };
    match e {
        SpawnError::UnknownImport { index } => format!(
            "{name}: unknown import {} (Fireball provides env.hal_*, env.ch_*, env.buf_*, env.co_yield, env.log_event, env.sys_request and a WASI subset)",
            import(index)
        ),
        SpawnError::ImportSignature { index } => format!("{name}: import {} has the wrong signature", import(index)),
        SpawnError::NoSlot => format!("{name}: no free task slot"),
        SpawnError::OutOfMemory => format!("{name}: does not fit its partition"),
        SpawnError::Instantiate(e) => format!("{name}: {e}"),
        SpawnError::NoEntry => format!("{name}: the entry is not a `[] -> []` export, or the start function failed"),
        _ => format!("{name}: cannot spawn ({e:?})"),
    }
}

/// How a run sizes and uses its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Size everything from a probe, then run.
    Run,
    /// Load and spawn every module with room to spare and linear memory cut to its
    /// static footprint, and measure what each took: the exact need, for sizing
    /// P4's sub-heaps and the app's memory, and for the error when a module does not fit.
    Probe,
}

/// RAM a probe adds to the device's, so every partition has room to spare.
const PROBE_RAM: usize = 16 << 20;

/// Bytes a sub-heap of P4 costs beyond what its allocations may use (talc's bookkeeping).
const SUBHEAP_OVERHEAD: usize = 256;

/// Run the app and services until `cfg.limit`, Ctrl-C, or until nothing can run.
pub fn run(cfg: RunConfig<'_>) -> Result<Report, String> {
    run_mode(cfg, Mode::Run, None)
}

/// [`run`], served to lldb over `gdb` (`fireball run --gdb`): it waits for lldb before
/// the first instruction (unless `--gdb-nowait`), and nothing runs while lldb has the system stopped.
pub fn run_with_gdb(cfg: RunConfig<'_>, gdb: &crate::gdb::Gdb) -> Result<Report, String> {
    run_mode(cfg, Mode::Run, Some(gdb))
}

/// What every module of `cfg` needs of its partition, measured by loading and
/// spawning it (no instruction runs) with room to spare. `cfg.out` gets nothing.
pub fn measure(cfg: &RunConfig<'_>) -> Result<Vec<Footprint>, String> {
    let mut sink = std::io::sink();
    let probe = RunConfig {
        app: cfg.app.clone(),
        services: cfg.services.clone(),
        ram: cfg.ram,
        adc: cfg.adc.clone(),
        limit: Limit::Instructions(0),
        manifest: cfg.manifest.clone(),
        seed: cfg.seed,
        out: &mut sink,
        stop: None,
    };
    Ok(run_mode(probe, Mode::Probe, None)?.footprints)
}

/// Sets up the system the way `run` does — plan, partitions, every module loaded
/// into and spawned in its own partition — and runs nothing: `Ok` with each
/// module's footprint if everything fits, else the error `run` would give.
/// `fireball inspect --ram` answers with this, so it and `run` always agree.
pub fn check(mut cfg: RunConfig<'_>) -> Result<Vec<Footprint>, String> {
    cfg.limit = Limit::Instructions(0);
    Ok(run(cfg)?.footprints)
}

/// The smallest `--ram` (a whole number of KiB, by the spec's rows) whose plan gives
/// the app `p5` bytes of P5 and P4 `max_service` bytes per service.
fn ram_for(p5: usize, n_svc: usize, max_service: usize) -> Option<usize> {
    let mut ram = 16 * 1024;
    while ram <= 64 << 20 {
        let mut c = Config::row(ram);
        c.n_svc = c.n_svc.max(n_svc);
        c.max_service_size = c.max_service_size.max(max_service);
        if plan(&c).is_ok_and(|l| l.partition(PartitionId::Guest).size >= p5) {
            return Some(ram);
        }
        ram += 1024;
    }
    None
}

/// The one line a module that does not fit gets: what it needs, where, and what to change.
fn does_not_fit(f: &Footprint, have: usize, ram: usize, n_svc: usize, max_service: usize) -> String {
    let place = if f.service { "its P4 sub-heap" } else { "the guest partition P5" };
    let rest = f.live.saturating_sub(f.metadata + f.memory);
    let mut fixes = Vec::new();
    if !f.service {
        // P5 must hold the app plus a little slack for the allocator.
        match ram_for(f.peak + 64, n_svc, max_service) {
            Some(r) => fixes.push(format!("--ram {}K", r / 1024)),
            None => fixes.push("more RAM than any plan here gives".to_string()),
        }
    }
    if !f.packed && f.metadata > 0 {
        fixes.push("`fireball pack` it (its side table then stays in flash)".to_string());
    }
    fixes.push("link it with a smaller stack or data (-Wl,-z,stack-size=N, --initial-memory)".to_string());
    format!(
        "{}: needs {} B of {place} but it has {have} B on a {} KiB device ({} B module metadata, {} B linear memory, {rest} B store and task); use {}",
        f.name,
        f.peak,
        ram / 1024,
        f.metadata,
        f.memory,
        fixes.join(", or ")
    )
}

fn run_mode(cfg: RunConfig<'_>, mode: Mode, gdb: Option<&crate::gdb::Gdb>) -> Result<Report, String> {
    let probe = mode == Mode::Probe;
    // A run sizes the service sub-heaps and the app's memory from what a probe measured.
    let measured = if probe { Vec::new() } else { measure(&cfg)? };
    let RunConfig { app, services, ram, adc, limit, manifest, seed, out, stop } = cfg;
    let manifest_text: &'static str = Box::leak(manifest.unwrap_or_default().into_boxed_str());
    let manifest = if manifest_text.is_empty() { None } else { Some(Manifest::parse(manifest_text).map_err(|e| e.to_string())?) };

    // Memory: the plan's partitions over leaked RAM. P4 holds one sub-heap per service,
    // each as large as the largest service needs (FIREBALL.md §3: P4 = max(4 KB,
    // N_svc × MAX_SERVICE_SIZE + 1 KB)); a probe gets room to spare everywhere.
    let mut pcfg = Config::row(ram);
    pcfg.n_svc = pcfg.n_svc.max(services.len());
    if probe {
        pcfg.ram += PROBE_RAM;
        pcfg.max_service_size = PROBE_RAM / 4 / pcfg.n_svc.max(1);
    } else {
        let svc_need = measured.iter().filter(|f| f.service).map(|f| f.peak + SERVICE_HEAP as usize).max().unwrap_or(0);
        pcfg.max_service_size = pcfg.max_service_size.max((svc_need + SUBHEAP_OVERHEAD + 255) & !255);
    }
    let layout = plan(&pcfg).map_err(|e| match measured.iter().find(|f| f.service) {
        Some(_) => format!("--ram {ram}: {e} (with P4 sized for the services: {} B each)", pcfg.max_service_size),
        None => format!("--ram {ram}: {e}"),
    })?;
    let mut mem = Memory::new(&layout, leak_ram(pcfg.ram)).map_err(|e| format!("memory: {e:?}"))?;
    // The coroutine stacks: each task's interpreter stacks (its thread) live in one.
    let stack_slots: Vec<Partition> = mem
        .take_stacks()
        .into_iter()
        .flatten()
        .map(|s| Partition::new(PartitionId::Guest, s).map_err(|e| format!("coroutine stack of {} B: {e:?}", pcfg.stack)))
        .collect::<Result<_, _>>()?;
    let p1 = mem.partition(PartitionId::Kernel);
    let p2 = mem.partition(PartitionId::Runtime);
    let p3 = mem.partition(PartitionId::Subsystems);
    let p4 = mem.partition(PartitionId::Services);
    let p5 = mem.partition(PartitionId::Guest);

    let mut specs: Vec<(ModuleSpec, bool)> = Vec::new();
    specs.extend(app.map(|a| (a, false)));
    specs.extend(services.into_iter().map(|s| (s, true)));
    if specs.is_empty() {
        return Err("nothing to run".into());
    }

    // Sub-heaps: one per service in P4 (the app gets P5).
    let n_services = specs.iter().filter(|(_, s)| *s).count().max(1);
    let svc_heap_size = (p4.capacity() / n_services).min(pcfg.max_service_size) & !15;
    let mut sub_heaps: Vec<SubPartition<'_>> = Vec::new();
    for (spec, is_service) in &specs {
        if *is_service {
            let sub = p4
                .sub_partition(svc_heap_size, sub_heaps.len() as u16 + 1)
                .map_err(|e| format!("{}: no P4 sub-heap of {svc_heap_size} B ({e:?})", spec.name))?;
            sub_heaps.push(sub);
        }
    }
    let heap_of = |k: usize| -> &Partition {
        match specs[..k].iter().filter(|(_, s)| *s).count() {
            _ if !specs[k].1 => p5,
            i => &sub_heaps[i],
        }
    };
    let fit_error = |k: usize| -> String {
        let heap = heap_of(k);
        match measured.get(k) {
            Some(f) => does_not_fit(f, heap.capacity(), ram, pcfg.n_svc, pcfg.max_service_size),
            None => format!("{}: does not fit its partition ({} B)", specs[k].0.name, heap.capacity()),
        }
    };

    // Modules: every byte of their metadata in their own partition (the bytes
    // themselves are leaked: on a device they stay in flash).
    let mut modules = Vec::new();
    let mut load_peaks = Vec::new();
    for (k, (spec, _)) in specs.iter().enumerate() {
        let bytes: &'static [u8] = Box::leak(spec.bytes.clone().into_boxed_slice());
        let heap = heap_of(k);
        heap.reset_peak();
        let loaded = if bytes.starts_with(&fireball_wasm::pack::MAGIC) {
            Module::from_packed_in(bytes, Features::default(), heap)
        } else {
            Module::new_in(bytes, Features::default(), heap)
        };
        let m = loaded.map_err(|e| match e {
            fireball_wasm::LoadError::OutOfMemory => fit_error(k),
            e => format!("{}: {e}", spec.name),
        })?;
        load_peaks.push(heap.stats().peak);
        modules.push(m);
    }
    if !probe {
        // Fail early, with the measured need, rather than half-way through the spawns.
        for k in 0..specs.len() {
            if measured.get(k).is_some_and(|f| f.peak > heap_of(k).capacity()) {
                return Err(fit_error(k));
            }
        }
    }
    // Channels: one per manifest wire (or four sinks per module without a manifest).
    let mut ports = vec![[NO_CHANNEL; PORTS]; specs.len()];
    let mut sinks: Vec<(usize, String)> = Vec::new();
    let mut n_chan = 0usize;
    let index_of = |p: &PortRef<'_>| specs.iter().position(|(s, _)| s.name == p.module);
    match &manifest {
        Some(m) => {
            for w in m.wires() {
                let (a, b) = match w {
                    Wire::Connect(a, b) => (a, Some(b)),
                    Wire::Sink(a) => (a, None),
                };
                let c = n_chan;
                n_chan += 1;
                for p in std::iter::once(a).chain(b) {
                    let i = index_of(&p).ok_or_else(|| format!("manifest: no module named {}", p.module))?;
                    ports[i][usize::from(p.port)] = c as u8;
                }
                if b.is_none() {
                    sinks.push((c, format!("{}:{}", a.module, a.port)));
                }
            }
        }
        None => {
            // Without a manifest, a module's ports 0..4 all go to one sink of its own.
            for (i, (spec, _)) in specs.iter().enumerate() {
                ports[i][..4].fill(n_chan as u8);
                sinks.push((n_chan, format!("{}:0-3", spec.name)));
                n_chan += 1;
            }
        }
    }
    let capacities: &'static [usize] = Box::leak(vec![CHANNEL_CAPACITY; n_chan].into_boxed_slice());
    // Task slots: the modules run here and one spare (the plan's N_coro is an upper bound).
    let kcfg = KernelConfig { tasks: pcfg.n_coro.min(specs.len() + 1), channels: capacities, owned: 32, cpu_mhz: 100 };
    let core = RefCell::new(Core::new_in(&kcfg, p1).map_err(|_| {
        format!("P1 ({} B) cannot hold the kernel's tables for {} tasks and {n_chan} channels", p1.capacity(), kcfg.tasks)
    })?);
    let ctx = Ctx::new(&core);

    // Devices, the registry, the logger (its ring in P3) and the router.
    let time = SimTime::new();
    let reads = RefCell::new(Vec::new());
    let signals: &'static [Signal<'static>] = Box::leak(adc.into_boxed_slice());
    let mut adc_dev = TapAdc { inner: SimAdc::new(&time, signals), reads: &reads };
    let mut clock = SimClock::new(&time);
    let console_text = RefCell::new(String::new());
    // 512-byte frames: the seed's 64 KB aggregator sends 256 bytes at once.
    let mut tx = SimTx::new().with_time(&time).with_writer(Text(&console_text)).with_max_frame(TX_MAX_FRAME);
    let mut ble = SimBle::new().with_time(&time).with_writer(Text(&console_text));
    let mut hal: Registry<'_> = Registry::new();
    let reg = |r: Result<_, _>| r.map(|_| ()).map_err(|_| "the HAL registry is full".to_string());
    if !signals.is_empty() {
        reg(hal.register("adc/0", &mut adc_dev))?;
    }
    reg(hal.register("clock", &mut clock))?;
    reg(hal.register("tx", &mut tx))?;
    reg(hal.register("ble", &mut ble))?;
    let mut logger = Logger::try_new_in(CAPACITY, p3).map_err(|_| "P3 cannot hold the logger ring".to_string())?;
    let mut console = Text(&console_text);
    let router = RefCell::new(Router::new(&mut hal, &mut logger, seed));
    router.borrow_mut().set_console(&mut console);

    let mut kernel: Kernel<'_, '_, &Partition, &Partition, &Partition> =
        Kernel::new_in(&core, &kcfg, p2).map_err(|_| "P2 cannot hold the task table".to_string())?;
    kernel.set_syscalls(&router);

    // Spawn: the app in P5, each service in its own P4 sub-heap.
    let mut tasks: Vec<TaskId> = Vec::new();
    // How each module is started, kept to start it again (the manifest's `restart`).
    let mut launches: Vec<Launch<'_>> = Vec::new();
    let mut footprints: Vec<Footprint> = Vec::new();
    for (i, (spec, is_service)) in specs.iter().enumerate() {
        let module = &modules[i];
        let entry = entry_of(module, spec.entry.as_deref()).map_err(|e| format!("{}: {e}", spec.name))?;
        let heap = heap_of(i);
        let footprint = module.static_footprint().unwrap_or(0);
        // Linear memory: its static footprint, and what the partition can spare past what
        // the module measured it needs (a service: SERVICE_HEAP more at most; the probe: none).
        let max_memory = match (mode, measured.get(i)) {
            (Mode::Probe, _) => footprint as u64,
            (Mode::Run, Some(f)) => {
                // The probe spawned it with exactly its footprint: what is left past that peak
                // (less a little for allocator rounding) can back more of its memory.
                let spare = heap.capacity().saturating_sub(f.spawn_peak + 64) as u64;
                let spare = if *is_service { spare.min(SERVICE_HEAP as u64) } else { spare };
                footprint as u64 + spare
            }
            (Mode::Run, None) => footprint as u64,
        };
        let name: &'static str = Box::leak(spec.name.clone().into_boxed_str());
        let launch = Launch {
            name,
            entry,
            heap,
            stacks: &stack_slots,
            limits: HostLimits { max_memory_bytes: max_memory, max_table_elems: MAX_TABLE_ELEMS },
            grants: manifest.as_ref().map_or(Grants::ALL, |m| m.grants(name)),
            restarts: manifest.as_ref().map_or(0, |m| m.restarts(name)),
            ports: ports[i],
        };
        heap.reset_peak();
        // The most memory that still spawns: the spare computed above is exact but for the
        // holes loading may leave in the heap, so on a refusal bisect down towards the footprint.
        let mut launch = launch;
        let t = match launch.start(&mut kernel, &router, module) {
            Ok(t) => t,
            Err(SpawnError::OutOfMemory) if mode == Mode::Run => {
                let (mut lo, mut hi) = (u64::from(footprint), launch.limits.max_memory_bytes);
                while hi - lo > 256 {
                    let mid = lo + (hi - lo) / 2;
                    launch.limits.max_memory_bytes = mid;
                    match launch.start(&mut kernel, &router, module) {
                        Ok(t) => {
                            kernel.unload(t);
                            router.borrow_mut().dismiss(t);
                            lo = mid;
                        }
                        Err(SpawnError::OutOfMemory) => hi = mid,
                        Err(e) => return Err(spawn_error(name, module, e)),
                    }
                }
                launch.limits.max_memory_bytes = lo;
                launch.start(&mut kernel, &router, module).map_err(|e| match e {
                    SpawnError::OutOfMemory => fit_error(i),
                    e => spawn_error(name, module, e),
                })?
            }
            Err(SpawnError::OutOfMemory) => return Err(fit_error(i)),
            Err(e) => return Err(spawn_error(name, module, e)),
        };
        // The refusals while sizing its memory were the runner's, not the module's.
        let _ = heap.clear_exhausted();
        let stats = heap.stats();
        footprints.push(Footprint {
            name: spec.name.clone(),
            service: *is_service,
            peak: stats.peak.max(load_peaks[i]),
            live: stats.allocated,
            spawn_peak: stats.peak,
            stack: stack_slots.get(t as usize).map_or(StackLimits { value_slots: 0, frames: 0 }, thread_limits),
            metadata: module.metadata_bytes(),
            memory: kernel.memory_bytes(t),
            capacity: stats.capacity,
            packed: module.is_packed(),
        });
        tasks.push(t);
        launches.push(launch);
    }
    if mode == Mode::Probe {
        return Ok(Report { footprints, ..Report::default() });
    }
    let mut restarted = vec![0u8; tasks.len()];

    // Run.
    let mut report = Report::default();
    let mut states: Vec<TaskState> = tasks.iter().map(|&t| kernel.state(t)).collect();
    let mut sink_values: Vec<Vec<u32>> = vec![Vec::new(); sinks.len()];
    let mut idle_ms = 0u64;
    let mut idle_run = 0u64;
    // `--gdb`: lldb gets the system before its first instruction, or attaches later (crate::gdb).
    let (mut debugger, mut gdb_end) = (None, None);
    if let Some(g) = gdb {
        (debugger, kernel, gdb_end) = crate::gdb::start(g, &tasks, kernel, out)?;
    }
    let stopped = loop {
        if let Some(why) = gdb_end.take() {
            break why;
        }
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            break "interrupted (Ctrl-C)".to_string();
        }
        let total = kernel.totals().instructions;
        let ms = total / INSTRUCTIONS_PER_MS + idle_ms;
        match limit {
            Limit::Instructions(n) if total >= n => break format!("--for {n} instructions reached"),
            Limit::Millis(n) if ms >= n => break format!("--for {n}ms reached"),
            _ => {}
        }
        let step = kernel.step();
        let total = kernel.totals().instructions;
        let mut drained = false;
        for (k, (ch, _)) in sinks.iter().enumerate() {
            while let Ok(v) = ctx.try_recv(*ch) {
                sink_values[k].push(v);
                drained = true;
            }
        }
        if step == Step::Idle && !drained {
            // Nothing ready and nothing the host could unblock: time passes (a device would sleep).
            idle_ms += 1;
            idle_run += 1;
        } else {
            idle_run = 0;
        }
        time.advance_to_ms(total / INSTRUCTIONS_PER_MS + idle_ms);
        // Log lines, frames and console text, in the order they happened (roughly).
        let mut text = String::new();
        report.log_dropped += router.borrow_mut().drain_log(&mut text);
        report.log.push_str(&text);
        text.push_str(&std::mem::take(&mut *console_text.borrow_mut()));
        let _ = out.write_all(text.as_bytes());
        if let Some(g) = gdb {
            (debugger, kernel, gdb_end) = crate::gdb::after_step(g, debugger, &tasks, kernel, step, out)?;
        }
        if p3.clear_exhausted().is_some() {
            // The spec's P3 policy: degrade. Say so; the logger and the HAL go on with what they have.
            let _ = writeln!(out, "[system] ERROR P3 (subsystems) ran dry: degrading, control continues");
        }
        if let Step::Fatal(t, policy) = step {
            let msg = format!("fatal: task {t} ran a partition dry whose policy is {policy:?}: a device would reset here");
            let _ = writeln!(out, "{msg}");
            report.fatal = Some(msg);
            break "fatal error".to_string();
        }
        for k in 0..tasks.len() {
            let t = tasks[k];
            let s = kernel.state(t);
            // Free: its partition's policy unloaded it (P5) within the step.
            if s != states[k] && matches!(s, TaskState::Terminated | TaskState::Done | TaskState::Free) {
                let st = kernel.stats(t);
                let why = match (st.fault, router.borrow().exit_code(t)) {
                    (Some(f), _) => format!("terminated: {}", describe_fault(f)),
                    (None, Some(c)) => format!("exited with status {c}"),
                    (None, None) => "returned".to_string(),
                };
                let _ = writeln!(out, "[{}] {why}; the other modules keep running", specs[k].0.name);
                let launch = &launches[k];
                if st.fault.is_some() && restarted[k] < launch.restarts {
                    // The restart policy: unload it (its memory goes back to its
                    // partition), then load it again, fresh, with the same grants and ports.
                    kernel.unload(t);
                    router.borrow_mut().dismiss(t);
                    let name = launch.name;
                    match launch.start(&mut kernel, &router, &modules[k]) {
                        Ok(t) => {
                            tasks[k] = t;
                            restarted[k] += 1;
                            let _ = writeln!(out, "[{name}] restarted ({} of {})", restarted[k], launch.restarts);
                            states[k] = kernel.state(t);
                            continue;
                        }
                        Err(e) => {
                            let _ = writeln!(out, "[{name}] cannot restart: {}", spawn_error(name, &modules[k], e));
                        }
                    }
                }
            }
            states[k] = s;
        }
        if step == Step::Idle && states.iter().all(|s| matches!(s, TaskState::Done | TaskState::Terminated)) {
            break "every module has finished".to_string();
        }
        if idle_run > 10_000 {
            break "every module is blocked: nothing can make progress".to_string();
        }
    };

    // The report: tasks, partitions, counters.
    let totals = kernel.totals();
    for (k, &t) in tasks.iter().enumerate() {
        let st = kernel.stats(t);
        report.tasks.push(TaskReport {
            name: specs[k].0.name.clone(),
            state: kernel.state(t),
            fault: st.fault,
            exit_code: router.borrow().exit_code(t),
            counters: st.counters,
            worst_wait: st.worst_wait,
            restarts: restarted[k],
        });
    }
    let kernel_ram = core.borrow().ram_bytes();
    let partition_table = partition_table(&mem, &sub_heaps, &specs, &stack_slots, &tasks);
    drop(debugger);
    drop(kernel);
    let router_stats = router.borrow().stats();
    report.log_dropped += logger.dropped();
    report.router = router_stats;
    report.tx = tx.frames().to_vec();
    report.ble = ble.frames().to_vec();
    report.ble_profile = ble.profile();
    report.adc_reads = reads.take();
    report.instructions = totals.instructions;
    report.millis = totals.instructions / INSTRUCTIONS_PER_MS + idle_ms;
    report.stopped = stopped;
    report.footprints = footprints;
    report.sinks = sinks.iter().zip(sink_values).map(|((_, label), values)| SinkReport { label: label.clone(), values }).collect();

    let mut t = String::new();
    let _ = writeln!(t, "\n-- stopped: {}; {} ms simulated --", report.stopped, report.millis);
    let _ = writeln!(t, "{:<12} {:>10} {:>12} {:>10} {:>7} {:>8}  state", "module", "instrs", "switches", "yields", "chan", "worst");
    for r in &report.tasks {
        let state = match (r.fault, r.exit_code) {
            (Some(f), _) => format!("terminated: {}", describe_fault(f)),
            (None, Some(c)) => format!("exit {c}"),
            (None, None) => format!("{:?}", r.state),
        };
        let c = r.counters;
        let _ = writeln!(
            t,
            "{:<12} {:>10} {:>12} {:>10} {:>7} {:>8}  {state}",
            r.name, c.instructions, c.switches, c.yields, c.chan_ops, r.worst_wait
        );
    }
    let _ = writeln!(
        t,
        "total: {} instructions, {} switches, {} channel ops; router: {} calls, {} denied, {} malformed messages",
        totals.instructions, totals.switches, totals.chan_ops, router_stats.calls, router_stats.denied, router_stats.bad_messages
    );
    let _ = writeln!(t, "tx: {} frames, ble: {} frames, adc: {} reads, log: {} events dropped", report.tx.len(), report.ble.len(), report.adc_reads.len(), report.log_dropped);
    for sink in &report.sinks {
        if !sink.values.is_empty() {
            let _ = writeln!(t, "sink {}: {} messages, last {}", sink.label, sink.values.len(), sink.values.last().copied().unwrap_or(0) as i32);
        }
    }
    t.push_str(&partition_table);
    let _ = writeln!(t, "kernel tables: {kernel_ram} B in P1");
    let _ = out.write_all(t.as_bytes());
    Ok(report)
}

fn partition_table(mem: &Memory, sub_heaps: &[SubPartition<'_>], specs: &[(ModuleSpec, bool)], stacks: &[Partition], tasks: &[TaskId]) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{:<14} {:>8} {:>9} {:>8} {:>7} {:>7} {:>5}", "partition", "size", "allocated", "peak", "allocs", "fails", "frag");
    let mut row = |name: &str, p: &Partition| {
        let s = p.stats();
        let _ = writeln!(t, "{:<14} {:>8} {:>9} {:>8} {:>7} {:>7} {:>4}%", name, s.capacity, s.allocated, s.peak, s.allocs, s.fails, s.fragmentation);
    };
    for (id, p) in [PartitionId::Kernel, PartitionId::Runtime, PartitionId::Subsystems, PartitionId::Services, PartitionId::Guest, PartitionId::Reserve]
        .into_iter()
        .map(|id| (id, mem.partition(id)))
    {
        row(&format!("{id:?}"), p);
    }
    for (k, sub) in sub_heaps.iter().enumerate() {
        let name = specs.iter().filter(|(_, s)| *s).nth(k).map_or("service", |(s, _)| s.name.as_str());
        row(&format!("  P4 {name}"), sub);
    }
    for (k, &task) in tasks.iter().enumerate() {
        if let (Some(slot), Some((spec, _))) = (stacks.get(task as usize), specs.get(k)) {
            row(&format!("  stack {}", spec.name), slot);
        }
    }
    t
}

/// A fault in words.
pub fn describe_fault(f: Fault) -> String {
    match f {
        Fault::Trap(code) => format!("trap ({code})"),
        Fault::Killed => "killed".into(),
        Fault::BadImport => "broke an import's protocol".into(),
        Fault::Exhausted(p) => format!("its partition ran out of memory ({p:?})"),
    }
}
