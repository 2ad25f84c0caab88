//! The origin document's sensor example (`examples/sensor/sensor.wasm`, from
//! `sensor.c`) end to end on the board: the real kernel, the subsystems behind
//! the router, an ADC from a simulated device, TX frames out over semihosting.
//! It is the host simulator (`tools/fireball-cli/src/system.rs`, `run`) with
//! devices a board can have and no heap: every byte comes from the partitions
//! the memory plan gives a 64 KiB device.
//!
//! ```text
//! RAM (static, 64 KiB) ─► plan ─► Memory: P1 kernel core · P2 task table · P3 logger ring
//!                                         · P5 the app (module metadata, store, memory) · its coroutine stack (interpreter stacks)
//! flash: sensor.fbx (the module and its side table, packed by build.rs; checked at load)
//! SimAdc (ramp, SimTime) · SimClock · TX over semihosting ─► hal::Registry ─► Router (Grants::ALL)
//! Kernel::step ─► sensor: hal_adc_read ─► router ─► ADC; hal_tx_send ─► router ─► TX; ch_send(0) ─► sink
//!      └─ between steps: drain the sink, time = instructions / 4000 ms, drain the log
//! ```
//!
//! The run stops after three frames, prints the counters and a checksum, and
//! checks that each frame holds exactly the samples the ADC returned. Exits
//! through semihosting: 0 if so (`example ok`), 1 otherwise; errors are
//! printed, never panicked on.
#![no_std]
#![no_main]
// No unsafe here; `deny` rather than `forbid` so cortex-m's `singleton!` may allow its own.
#![deny(unsafe_code)]

use core::cell::{Cell, RefCell};
use core::fmt;

use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use fireball_coos::mem::{Memory, Partition, PartitionError, PartitionId};
use fireball_coos::plan::{plan, Config};
use fireball_coos::sched::{Core, Ctx, Fault, Kernel, KernelConfig, SpawnError, Step, TaskState, NO_CHANNEL, PORTS};
use fireball_qemu_m4::{exit, HEAP};
use fireball_sys::hal::sim::{Signal, SimAdc, SimClock, SimTime};
use fireball_sys::hal::{Adc, Device, HalError, Registry, Tx};
use fireball_sys::log::{Logger, CAPACITY};
use fireball_sys::router::{Grants, Router};
use fireball_wasm::{Features, HostLimits, LoadError, Module, StackLimits};

/// The guest, packed with its side table by build.rs, executed in place from flash.
static GUEST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sensor.fbx"));

/// The device the memory plan is for.
const RAM_BYTES: usize = 64 * 1024;

/// Simulated time: one millisecond per this many wasm instructions (the host
/// simulator's `INSTRUCTIONS_PER_MS`).
const INSTRUCTIONS_PER_MS: u64 = 4_000;

/// ADC channel 0: a sawtooth, 64 codes per millisecond.
static SIGNALS: [Signal<'static>; 1] = [Signal::Ramp { from: 0, to: 4096, period_ms: 64 }];

/// Frames to wait for, and samples per frame (`BUFFER_SIZE` in sensor.c).
const FRAMES: usize = 3;
const SAMPLES: usize = 64;

/// Scheduler steps before the run is declared stuck.
const MAX_STEPS: u32 = 10_000;

/// The sink behind the app's port 0 (`ch_send(0, 1)`): kernel channel 0, buffering this many.
const SINK: usize = 0;
static CHANNELS: [usize; 1] = [16];

/// The app's interpreter stacks in its coroutine stack (the host simulator's
/// `thread_limits`: a frame per 128 B of it, the rest value slots, 64 B of slack).
fn thread_limits(slot: &Partition) -> StackLimits {
    let frames = (slot.region_size() / 128).max(4) as u32;
    let value_slots = (slot.capacity().saturating_sub(64 + frames as usize * 16) / 8) as u32;
    StackLimits { value_slots, frames }
}

/// The RAM the plan divides, aligned beyond the plan's 8 bytes.
#[repr(C, align(16))]
struct Ram([u8; RAM_BYTES]);

/// What the devices saw, shared by reference with the run loop: the first
/// `FRAMES × SAMPLES` ADC samples, and the frames the guest sent.
struct Record {
    samples: RefCell<[u16; FRAMES * SAMPLES]>,
    reads: Cell<usize>,
    frames: RefCell<[[i16; SAMPLES]; FRAMES]>,
    sent: Cell<usize>,
    /// The length of the first frame that was not `SAMPLES` int16s.
    bad_len: Cell<Option<usize>>,
}

impl Record {
    const fn new() -> Record {
        Record {
            samples: RefCell::new([0; FRAMES * SAMPLES]),
            reads: Cell::new(0),
            frames: RefCell::new([[0; SAMPLES]; FRAMES]),
            sent: Cell::new(0),
            bad_len: Cell::new(None),
        }
    }
}

/// The simulated ADC, recording what it returns.
struct TapAdc<'a> {
    inner: SimAdc<'a>,
    record: &'a Record,
}

impl Adc for TapAdc<'_> {
    fn channels(&self) -> u8 {
        self.inner.channels()
    }

    fn read(&mut self, channel: u8) -> Result<u16, HalError> {
        let v = self.inner.read(channel)?;
        let n = self.record.reads.get();
        if let Some(slot) = self.record.samples.borrow_mut().get_mut(n) {
            *slot = v;
        }
        self.record.reads.set(n + 1);
        Ok(v)
    }
}

impl Device for TapAdc<'_> {
    fn support_adc(&mut self) -> Option<&mut dyn Adc> {
        Some(self)
    }
}

/// The radio: each frame goes out over semihosting as one line
/// `tx len=N data=<hex>`, and the first `FRAMES` are kept as int16 samples.
struct SemihostingTx<'a> {
    record: &'a Record,
}

impl Tx for SemihostingTx<'_> {
    fn max_frame(&self) -> usize {
        256
    }

    fn send(&mut self, frame: &[u8]) -> Result<(), HalError> {
        hprintln!("tx len={} data={}", frame.len(), Hex(frame));
        let k = self.record.sent.get();
        if frame.len() != SAMPLES * 2 {
            if self.record.bad_len.get().is_none() {
                self.record.bad_len.set(Some(frame.len()));
            }
        } else if let Some(samples) = self.record.frames.borrow_mut().get_mut(k) {
            for (s, b) in samples.iter_mut().zip(frame.chunks_exact(2)) {
                if let &[lo, hi] = b {
                    *s = i16::from_le_bytes([lo, hi]);
                }
            }
        }
        self.record.sent.set(k + 1);
        Ok(())
    }
}

impl Device for SemihostingTx<'_> {
    fn support_tx(&mut self) -> Option<&mut dyn Tx> {
        Some(self)
    }
}

/// Bytes as lowercase hex, written in chunks (few semihosting calls per line).
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 128];
        for chunk in self.0.chunks(buf.len() / 2) {
            for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
                if let [high, low] = pair {
                    *high = DIGITS[usize::from(b >> 4)];
                    *low = DIGITS[usize::from(b & 15)];
                }
            }
            let text = core::str::from_utf8(&buf[..chunk.len() * 2]).map_err(|_| fmt::Error)?;
            f.write_str(text)?;
        }
        Ok(())
    }
}

/// The logger's text backend: semihosting stdout.
struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        hprint!("{}", s);
        Ok(())
    }
}

#[entry]
fn main() -> ! {
    hprintln!("example: sensor.wasm, {} bytes at {:p} (flash)", GUEST.len(), GUEST.as_ptr());
    let ok = run();
    hprintln!("{}", if ok { "example ok" } else { "example FAILED" });
    exit(ok)
}

fn run() -> bool {
    // Memory: the plan for a 64 KiB device, carved out of a static array.
    let layout = match plan(&Config::row(RAM_BYTES)) {
        Ok(l) => l,
        Err(e) => {
            hprintln!("plan: {}", e);
            return false;
        }
    };
    let Some(ram) = cortex_m::singleton!(: Ram = Ram([0; RAM_BYTES])) else {
        hprintln!("RAM taken twice");
        return false;
    };
    let mut mem = match Memory::new(&layout, &mut ram.0) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("memory: {}", partition_error(e));
            return false;
        }
    };
    // The app's coroutine stack (the first of the plan's N_coro) holds its interpreter stacks.
    let Some(slot) = mem.take_stacks().and_then(|mut s| s.next()) else {
        hprintln!("no coroutine stack");
        return false;
    };
    let stack = match Partition::new(PartitionId::Guest, slot) {
        Ok(p) => p,
        Err(e) => {
            hprintln!("coroutine stack: {}", partition_error(e));
            return false;
        }
    };
    let p1 = mem.partition(PartitionId::Kernel);
    let p2 = mem.partition(PartitionId::Runtime);
    let p3 = mem.partition(PartitionId::Subsystems);
    let p5 = mem.partition(PartitionId::Guest);

    // The module: decoded in place, its side table checked against the packed one
    // (both stay in flash); its metadata in P5, with everything else it needs.
    let module = match Module::from_packed_in(GUEST, Features::default(), p5) {
        Ok(m) => m,
        Err(LoadError::OutOfMemory) => {
            hprintln!("P5 ({} B, {} B free) cannot hold the module's metadata", p5.capacity(), p5.free());
            return false;
        }
        Err(e) => {
            hprintln!("sensor.wasm: {}", e);
            return false;
        }
    };

    // The kernel: its core in P1; one app and a spare slot, one sink channel.
    let kcfg = KernelConfig { tasks: layout.config().n_coro.min(2), channels: &CHANNELS, owned: 32, cpu_mhz: 100 };
    let core = match Core::new_in(&kcfg, p1) {
        Ok(c) => RefCell::new(c),
        Err(_) => {
            hprintln!("P1 ({} B) cannot hold the kernel's tables", p1.capacity());
            return false;
        }
    };
    let ctx = Ctx::new(&core);

    // Devices, the registry, the logger (its ring in P3) and the router.
    let record = Record::new();
    let time = SimTime::new();
    let mut adc = TapAdc { inner: SimAdc::new(&time, &SIGNALS), record: &record };
    let mut clock = SimClock::new(&time);
    let mut tx = SemihostingTx { record: &record };
    let mut hal: Registry<'_> = Registry::new();
    if hal.register("adc/0", &mut adc).is_err()
        || hal.register("clock", &mut clock).is_err()
        || hal.register("tx", &mut tx).is_err()
    {
        hprintln!("the HAL registry is full");
        return false;
    }
    let Ok(mut logger) = Logger::try_new_in(CAPACITY, p3) else {
        hprintln!("P3 ({} B) cannot hold the logger ring", p3.capacity());
        return false;
    };
    let router = RefCell::new(Router::new(&mut hal, &mut logger, 1));

    let mut kernel: Kernel<'_, '_, &Partition, &Partition, &Partition> = match Kernel::new_in(&core, &kcfg, p2) {
        Ok(k) => k,
        Err(_) => {
            hprintln!("P2 cannot hold the task table");
            return false;
        }
    };
    kernel.set_syscalls(&router);

    // Spawn the app in P5: linear memory is what P5 has left after its store and
    // task record (tried from the most down, 256 B at a time: a refused spawn frees everything).
    let footprint = module.static_footprint().unwrap_or(0);
    let Some(task) = kernel.next_task() else {
        hprintln!("no free task slot");
        return false;
    };
    router.borrow_mut().admit(task, "sensor", Grants::ALL);
    let mut budget = p5.free() as u32;
    loop {
        let limits = HostLimits { max_memory_bytes: u64::from(budget), max_table_elems: 64 };
        match kernel.spawn_wasm_with_stack(&module, "_start", p5, &stack, limits, thread_limits(&stack)) {
            Ok(_) => break,
            Err(SpawnError::OutOfMemory) if budget >= footprint + 256 => budget -= 256,
            Err(e) => {
                hprintln!("sensor: cannot spawn (linear memory {} B, footprint {} B): {}", budget, footprint, spawn_error(e));
                return false;
            }
        }
    }
    // The refusals while sizing its memory were this loop's, not the module's.
    let _ = p5.clear_exhausted();
    let mut ports = [NO_CHANNEL; PORTS];
    ports[0] = SINK as u8;
    kernel.bind_ports(task, ports);
    hprintln!(
        "plan for {} B: P1 {} B, P2 {} B, P3 {} B, P5 {} B; sensor: packed, {} B of metadata in P5, linear memory {} B (footprint {} B)",
        RAM_BYTES,
        p1.capacity(),
        p2.capacity(),
        p3.capacity(),
        p5.capacity(),
        module.metadata_bytes(),
        budget,
        footprint
    );

    // Run until FRAMES frames are out.
    let mut steps = 0u32;
    let mut sunk = 0u32;
    while record.sent.get() < FRAMES {
        if steps == MAX_STEPS {
            hprintln!("only {} of {} frames after {} steps", record.sent.get(), FRAMES, steps);
            return false;
        }
        steps += 1;
        let step = kernel.step();
        let mut drained = false;
        while ctx.try_recv(SINK).is_ok() {
            sunk += 1;
            drained = true;
        }
        time.advance_to_ms(kernel.totals().instructions / INSTRUCTIONS_PER_MS);
        // Log lines (none while the sensor is healthy); a dropped count is printed by the drain.
        let _ = router.borrow_mut().drain_log(&mut Console);
        match step {
            Step::Fatal(_, _) => {
                hprintln!("fatal: the sensor ran P1 or P2 dry (a device would reset here)");
                return false;
            }
            Step::Idle if !drained => {
                hprintln!("the sensor is blocked and nothing can unblock it");
                return false;
            }
            _ => {}
        }
        if matches!(kernel.state(task), TaskState::Done | TaskState::Terminated) {
            hprintln!("sensor stopped: {}", fault(kernel.stats(task).fault));
            return false;
        }
    }

    // Counters.
    let totals = kernel.totals();
    let stats = kernel.stats(task);
    let calls = router.borrow().stats().calls;
    hprintln!(
        "kernel: {} steps, {} instructions ({} ms simulated), {} switches, {} yields, {} channel ops; router {} calls; sink {} messages; adc {} reads",
        steps,
        totals.instructions as u32,
        (totals.instructions / INSTRUCTIONS_PER_MS) as u32,
        stats.counters.switches,
        stats.counters.yields,
        stats.counters.chan_ops,
        calls,
        sunk,
        record.reads.get()
    );
    for id in [PartitionId::Kernel, PartitionId::Runtime, PartitionId::Subsystems, PartitionId::Guest] {
        let s = mem.partition(id).stats();
        hprintln!(
            "{} {:<10} {:>6} B, {:>6} allocated, peak {:>6}, {} fails",
            id.tag(),
            id.name(),
            s.capacity,
            s.allocated,
            s.peak,
            s.fails
        );
    }
    hprintln!("kernel tables {} B in P1; global heap peak {} B", core.borrow().ram_bytes(), HEAP.peak_bytes());

    // The checksum, and the frames against the samples the ADC returned.
    if let Some(len) = record.bad_len.get() {
        hprintln!("a frame of {} bytes (expected {})", len, SAMPLES * 2);
        return false;
    }
    if record.reads.get() < FRAMES * SAMPLES {
        hprintln!("{} frames from only {} ADC reads", FRAMES, record.reads.get());
        return false;
    }
    let frames = record.frames.borrow();
    let samples = record.samples.borrow();
    let sum: i32 = frames.iter().flatten().map(|&s| i32::from(s)).sum();
    hprintln!("sensor: {} frames, sum={}", FRAMES, sum);
    for (k, (frame, read)) in frames.iter().zip(samples.chunks_exact(SAMPLES)).enumerate() {
        for (i, (&sent, &adc)) in frame.iter().zip(read).enumerate() {
            if sent != adc as i16 {
                hprintln!("frame {} sample {}: sent {}, the ADC returned {}", k, i, sent, adc);
                return false;
            }
        }
    }
    true
}

fn partition_error(e: PartitionError) -> &'static str {
    match e {
        PartitionError::Misaligned { .. } => "RAM misaligned",
        PartitionError::RamTooSmall { .. } => "RAM smaller than the plan",
        _ => "a region is too small for a partition",
    }
}

fn spawn_error(e: SpawnError) -> &'static str {
    match e {
        SpawnError::UnknownImport { .. } => "an import nobody provides",
        SpawnError::ImportSignature { .. } => "an import with the wrong signature",
        SpawnError::NoSlot => "no free task slot",
        SpawnError::OutOfMemory => "does not fit P5",
        SpawnError::NoEntry => "no `_start` entry",
        _ => "cannot instantiate",
    }
}

fn fault(f: Option<Fault>) -> &'static str {
    match f {
        None => "returned",
        Some(Fault::Trap(t)) => t.message(),
        Some(Fault::Killed) => "killed",
        Some(Fault::BadImport) => "broke an import's protocol",
        Some(Fault::Exhausted(_)) => "its partition ran dry",
    }
}
