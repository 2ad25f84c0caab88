//! The host simulator: one guest app and its services on the kernel, with the
//! subsystems behind the router, exactly as on a device — assembled by the
//! `fireball` facade, the same code a firmware runs; only the devices are
//! simulated and time is simulated too (so a run is reproducible).
//!
//! ```text
//! RunConfig ─► devices (sim ADC via AdcTap, clock, TX, BLE) ─► fireball::Builder
//!          ─► measure (the probe, in leaked scratch RAM) ─► sized_by ─► build (leaked RAM for --ram)
//! System::step ─► print the log lines, frames, console text and notices ─► until --for, Ctrl-C,
//!          every module finished, or nothing can make progress ─► the exit report
//! ```
//!
//! What stays here is what needs `std` or is the CLI's own: leaking the RAM
//! and the module bytes, the simulated devices that capture frames into
//! vectors, the text of the report and the one-line errors (which name
//! `--ram` and `fireball pack`).

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use fireball::{AdcTap, BuildError, Builder, CommandLine, Ended, EntryError, Guest, Image, Notice, Parts, Stop, Time};
use fireball_coos::sched::{Counters, Fault, SpawnError, TaskState};
use fireball_sys::hal::sim::{Signal, SimAdc, SimBle, SimClock, SimCrc32, SimGpio, SimI2c, SimSpi, SimTime, SimTx, SimUart};
use fireball_wasm::{LoadError, Module, Reason, StackLimits, TrapCode};

/// Simulated time: one millisecond per this many wasm instructions. A round guess
/// at the interpreter's rate on a 100 MHz Cortex-M (25 cycles per wasm
/// instruction), not a measurement: it only sets how fast simulated time runs.
pub const INSTRUCTIONS_PER_MS: u64 = 4_000;

/// Longest frame the simulated radio takes.
pub const TX_MAX_FRAME: usize = 512;

/// Messages each wired channel buffers.
pub const CHANNEL_CAPACITY: usize = fireball::CHANNEL_CAPACITY;

/// Heap a service gets past its static footprint (bytes of linear memory).
pub const SERVICE_HEAP: u32 = fireball::SERVICE_HEAP;

/// Most entries a module's function table may start with (see `fireball::MAX_TABLE_ELEMS`).
pub const MAX_TABLE_ELEMS: u32 = fireball::MAX_TABLE_ELEMS;

pub use fireball::thread_limits;

/// RAM a probe adds to the device's, so every partition has room to spare.
const PROBE_RAM: usize = 16 << 20;

/// The simulated board's GPIO (`hal/gpio/0`): pin 0 the LED, pin 1 the button
/// (high: released; it pulls low while pressed, as on a Nucleo).
pub fn sim_gpio() -> SimGpio {
    let mut gpio = SimGpio::new(2);
    let _ = gpio.drive(1, true);
    gpio
}

/// The simulated board's I2C bus (`hal/i2c/0`): a TMP102-style temperature
/// sensor at 0x48 reading 25.0 °C (register 0: 0x19 0x00, 1/16 °C left-aligned).
pub const SIM_SENSOR: u8 = 0x48;

/// The sensor on the simulated I2C bus.
pub fn sim_i2c() -> SimI2c {
    let mut i2c = SimI2c::new(SIM_SENSOR);
    i2c.set_register(0, 0x19);
    i2c.set_register(1, 0x00);
    i2c
}

/// The simulated UART behind `hal/uart/1` (as the board's): bits per second, 8N1.
const UART_BAUD: u32 = 115_200;

/// How long the simulated CRC-32 accelerator (`hal/crc/0`) takes per `sys_write`.
pub const CRC_DELAY_MS: u64 = 5;

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
    /// The wasm binary, or a packed module (`fireball pack`: wasm + side table). Shared:
    /// `inspect`'s trial runs build the same module a hundred times or more, and a run
    /// holds on to its bytes for good (a handle is leaked, not a copy).
    pub bytes: std::sync::Arc<[u8]>,
    /// Entry export (`[] -> []`); `None`: `_start`, else the only such export.
    pub entry: Option<String>,
    /// Its WASI command line after `argv[0]` (its name).
    pub args: Vec<String>,
    /// Its WASI environment, `KEY=VALUE` each.
    pub env: Vec<String>,
    /// The console input of a run whose guests do not read this process's stdin (the
    /// app's only): `inspect --stdin`'s file, so a trial run reads what `run … < FILE`
    /// will, and what a run read, replayed by the trial runs behind its RAM hint.
    pub input: Option<std::sync::Arc<[u8]>>,
}

impl ModuleSpec {
    /// A module loaded from `path`, named after the file's stem (`examples/sensor/sensor.wasm` → `sensor`).
    pub fn new(path: &str, bytes: Vec<u8>, entry: Option<String>) -> ModuleSpec {
        let name = std::path::Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("module").to_string();
        ModuleSpec { name, bytes: bytes.into(), entry, args: Vec::new(), env: Vec::new(), input: None }
    }

    /// A module named `name`, started at `_start` or its only `[] -> []` export.
    pub fn named(name: &str, bytes: Vec<u8>) -> ModuleSpec {
        ModuleSpec { name: name.to_string(), bytes: bytes.into(), entry: None, args: Vec::new(), env: Vec::new(), input: None }
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
    /// Bytes of each coroutine stack, where a task's interpreter stacks live (`None`:
    /// the plan's row for `ram`, 4 or 8 KiB). A device's plan sets the same figure.
    pub task_stack: Option<usize>,
    /// The logger's level filter (`None`: its default, Info).
    pub log_level: Option<fireball_sys::log::LevelFilter>,
    /// WASI's realtime clock at boot, in µs since 1970 (0: counts from 1970 at boot).
    pub realtime_at_boot_us: u64,
    /// Whether the guests read this process's stdin (`fd_read` on fd 0; else stdin is
    /// at its end, or the app's [`ModuleSpec::input`]): the run a user asked for, never a
    /// trial run, which would consume it.
    pub stdin: bool,
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
    /// Its global 0 as an i32 when the run ended (a C program's `__stack_pointer`;
    /// below 0 after its shadow stack overflowed).
    pub stack_pointer: Option<i32>,
    /// What it was blocked in when the run ended, in words ([`waiting_text`]).
    pub waiting: Option<String>,
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
    /// Modules a fault ended that a larger device may let run (their end notice said to
    /// give the system more RAM: a heap past what the partition backs, a refused
    /// `memory.grow`), in the order they ended.
    pub short_of_ram: Vec<String>,
    /// The console input the guests were given, as far as they read it, up to 16 MiB
    /// (empty past that): trial runs replay it (`ModuleSpec::input`).
    pub input: Vec<u8>,
    /// What each module took from its partition once spawned (app first, then services).
    pub footprints: Vec<Footprint>,
    /// Every partition's bytes in use before anything was spawned, when the run
    /// stopped, and once every task was unloaded: nothing leaked if the last equals the first.
    pub partitions: Vec<PartitionUse>,
}

/// One partition (P1..P6, a service's P4 sub-heap, a coroutine stack) at three moments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionUse {
    /// `Kernel` … `Reserve`, `P4 <service>`, `stack <module>`.
    pub name: String,
    /// Bytes allocated once every module was loaded, before the first spawn (the modules'
    /// metadata, the kernel's tables, the logger ring).
    pub baseline: usize,
    /// Bytes allocated when the run stopped.
    pub at_stop: usize,
    /// Bytes allocated after every task was unloaded.
    pub unloaded: usize,
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

impl From<&fireball::Footprint<'_>> for Footprint {
    fn from(f: &fireball::Footprint<'_>) -> Footprint {
        Footprint {
            name: f.name.to_string(),
            service: f.service,
            peak: f.peak,
            live: f.live,
            spawn_peak: f.spawn_peak,
            metadata: f.metadata,
            memory: f.memory,
            capacity: f.capacity,
            packed: f.packed,
            stack: f.stack,
        }
    }
}

/// The most one read of this process's stdin takes (a file's reads return this much).
const STDIN_CHUNK: usize = 4096;

/// The most console input a run keeps for its trial runs to replay (more: they get none).
const SEEN_MAX: usize = 16 << 20;

/// This process's stdin as the guests' console input, its bytes from a thread
/// started at the first read (a blocked `read` of stdin would not see Ctrl-C), so a
/// run whose guests never read stdin leaves it alone.
///
/// At a terminal it is ready when a line has come, as a board's UART is when a byte
/// has: until then a reading task stays parked, the other modules run, and the run
/// loop lets simulated time pass as real time does (a `poll` with a timeout times
/// out); the guests' text so far (a prompt) is written out first. A pipe or a file
/// is always ready: a read waits for its bytes, and simulated time with it, so a run
/// with piped input is the same every time. Ctrl-C ends the input.
struct HostStdin<'a> {
    pending: &'a RefCell<String>,
    open: &'a Cell<bool>,
    stop: Option<&'static AtomicBool>,
    chunks: Option<std::sync::mpsc::Receiver<Vec<u8>>>,
    /// The chunk being read, and how far.
    chunk: Vec<u8>,
    at: usize,
    ended: bool,
    /// Whether stdin is a terminal (else a pipe or a file).
    terminal: bool,
    /// Every chunk handed to the guests so far (`Report::input`), while they come to at
    /// most [`SEEN_MAX`] bytes; `None` past that (too much to keep for a replay).
    seen: Option<Vec<u8>>,
    /// Whether input counts as ready only once it has come (a terminal, or any stdin
    /// while lldb is served: a read that waited for a slow pipe would stop the run
    /// loop, and lldb with it). Else a read waits for the pipe, simulated time standing
    /// still, so a piped run is reproducible.
    live: bool,
}

impl<'a> HostStdin<'a> {
    /// `debugged`: lldb is served (`--gdb`).
    fn new(pending: &'a RefCell<String>, open: &'a Cell<bool>, stop: Option<&'static AtomicBool>, debugged: bool) -> Self {
        use std::io::IsTerminal;
        let terminal = std::io::stdin().is_terminal();
        HostStdin { pending, open, stop, chunks: None, chunk: Vec::new(), at: 0, ended: false, terminal, seen: Some(Vec::new()), live: terminal || debugged }
    }

    /// Input that is all here already (`inspect --stdin`), in the chunks the reader
    /// thread would have read from the same file on stdin, so a guest's reads return
    /// what they would under `run … < FILE` (a program's buffers grow as they would).
    fn of_bytes(pending: &'a RefCell<String>, open: &'a Cell<bool>, bytes: &[u8]) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        for c in bytes.chunks(STDIN_CHUNK).chain([&[][..]]) {
            let _ = tx.send(c.to_vec());
        }
        HostStdin { pending, open, stop: None, chunks: Some(rx), chunk: Vec::new(), at: 0, ended: false, terminal: false, seen: Some(Vec::new()), live: false }
    }

    /// At a terminal: the guests' text so far out, so a prompt shows before the wait.
    fn show_prompt(&self) {
        if self.terminal {
            let mut out = std::io::stdout();
            drain_text(self.pending, self.open, &mut out);
            let _ = out.flush();
        }
    }

    /// The next chunk if one has come (`live`) or once it comes (else); `false` while a
    /// live stdin has none yet.
    fn fetch(&mut self) -> bool {
        use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
        while self.at >= self.chunk.len() && !self.ended {
            let interrupted = self.stop.is_some_and(|s| s.load(Ordering::Relaxed));
            let chunks = self.chunks.get_or_insert_with(Self::reader);
            let got = if self.live {
                match chunks.try_recv() {
                    Err(TryRecvError::Empty) if !interrupted => return false,
                    Ok(c) => Ok(c),
                    Err(_) => Err(()),
                }
            } else {
                match chunks.recv_timeout(std::time::Duration::from_millis(100)) {
                    Err(RecvTimeoutError::Timeout) if !interrupted => continue,
                    Ok(c) => Ok(c),
                    Err(_) => Err(()),
                }
            };
            match got {
                Ok(c) if !c.is_empty() => {
                    // The terminal echoed the line: the output goes on at a line's start.
                    if self.terminal && c.last() == Some(&b'\n') {
                        self.open.set(false);
                    }
                    if self.seen.as_ref().is_some_and(|s| s.len() + c.len() > SEEN_MAX) {
                        self.seen = None;
                    }
                    if let Some(s) = &mut self.seen {
                        s.extend_from_slice(&c);
                    }
                    (self.chunk, self.at) = (c, 0);
                }
                _ => self.ended = true,
            }
        }
        true
    }

    /// The reader thread: stdin's bytes in chunks, then an empty one at its end.
    fn reader() -> std::sync::mpsc::Receiver<Vec<u8>> {
        use std::io::Read;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            loop {
                let mut buf = vec![0u8; STDIN_CHUNK];
                match stdin.read(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Ok(n) if n > 0 => {
                        buf.truncate(n);
                        if tx.send(buf).is_err() {
                            return;
                        }
                    }
                    _ => {
                        let _ = tx.send(Vec::new());
                        return;
                    }
                }
            }
        });
        rx
    }
}

impl embedded_io::ErrorType for HostStdin<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::ReadReady for HostStdin<'_> {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        let ready = self.fetch();
        if !ready {
            self.show_prompt();
        }
        Ok(ready)
    }
}

impl embedded_io::Read for HostStdin<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        // (The router reads only when ready; a read before that waits, as a pipe's does.)
        while !self.fetch() {
            self.show_prompt();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        if self.ended && self.at >= self.chunk.len() {
            return Ok(0);
        }
        let rest = self.chunk.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

/// The run's text written so far (frames, log lines, the guests' stdout) out to `out`;
/// `open` then says whether it ended mid-line.
fn drain_text(text: &RefCell<String>, open: &Cell<bool>, out: &mut dyn Write) {
    let text = std::mem::take(&mut *text.borrow_mut());
    let _ = out.write_all(text.as_bytes());
    if let Some(&last) = text.as_bytes().last() {
        open.set(last != b'\n');
    }
}

/// The run's text, in order: the radios' frame lines (`io::Write`), the
/// logger's lines and the guests' stdout (`fmt::Write`).
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

/// The logger's lines: into the run's text, in order with the rest, and kept apart
/// for the report. A line starts on a line of its own even after a guest's output
/// that did not end one (`open`: the text printed so far ends mid-line).
struct LogText<'a> {
    run: &'a RefCell<String>,
    log: &'a RefCell<String>,
    open: &'a Cell<bool>,
    line_start: bool,
}

impl std::fmt::Write for LogText<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut run = self.run.borrow_mut();
        if self.line_start && run.chars().last().map_or(self.open.get(), |c| c != '\n') {
            run.push('\n');
        }
        run.push_str(s);
        self.log.borrow_mut().push_str(s);
        if !s.is_empty() {
            self.line_start = s.ends_with('\n');
        }
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
    fireball::entry_of(module, None).map(str::to_string).map_err(entry_problem)
}

fn entry_problem(e: EntryError<'_>) -> String {
    match e {
        EntryError::Several { names, .. } => {
            let names: Vec<&str> = names.iter().flatten().copied().collect();
            format!("several possible entries ({}): name one with `name.wasm:entry`", names.join(", "))
        }
        _ => "no entry: export `_start` or a `[] -> []` function".to_string(),
    }
}

/// `n` bytes of zeroed, 16-byte aligned RAM for the simulated board, or the error a
/// `--ram` this host cannot give gets (an absurd size is a user's typo, not a crash).
fn leak_ram(n: usize) -> Result<&'static mut [u8], String> {
    let refused = || format!("--ram {}K: this host cannot allocate that much for the simulated board", n / 1024);
    let total = n.checked_add(64).ok_or_else(refused)?;
    // Zeroed by the allocator (calloc: fresh pages, untouched until the board uses
    // them), and a refusal is an error, not an abort. (Asking with `try_reserve_exact`
    // first and freeing made glibc raise its mmap threshold to that size, so every
    // later board of the same size came from the heap and was cleared byte by byte:
    // `inspect`'s hundred trial runs of a 3 MB module touched 3 GB.)
    let r: &'static mut [u8] = Box::leak(bytemuck::allocation::try_zeroed_slice_box::<u8>(total).map_err(|()| refused())?);
    let off = r.as_ptr().align_offset(16);
    r.get_mut(off..off + n).ok_or_else(refused)
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// What to do about a module that uses a proposal Fireball does not run (the
/// engine reports its first such instruction as an illegal opcode, or a `v128`
/// type): a sentence to add to the load error, or "" for other errors. `bytes` is
/// the module as given (a packed module gets no hint: its offsets are the wasm's).
pub fn load_hint(bytes: &[u8], e: &LoadError) -> &'static str {
    let (offset, reason) = match *e {
        LoadError::Decode(d) => (d.offset, d.reason),
        LoadError::Validate(v) => (v.offset, v.reason),
        _ => return "",
    };
    const SIMD: &str = "; it uses SIMD (v128), which Fireball does not run: build it without -msimd128 (Rust: without target-feature +simd128)";
    match (reason, bytes.starts_with(b"\0asm").then(|| bytes.get(offset)).flatten()) {
        // (The reason itself says "SIMD (v128) is not supported".)
        (Reason::SimdUnsupported, _) => "; build it without -msimd128 (Rust: without target-feature +simd128)",
        (Reason::IllegalOpcode, Some(0xfd)) => SIMD,
        (Reason::IllegalOpcode, Some(0xfe)) => {
            "; it uses atomic instructions (the threads proposal), and a Fireball module has one thread: build it without -pthread/-matomics (Rust: without target-feature +atomics)"
        }
        // (Or its tag section, id 13, before any code.)
        (Reason::IllegalOpcode, Some(0x06..=0x09 | 0x18 | 0x19 | 0x1f)) | (Reason::MalformedSectionId, Some(13)) => {
            "; it uses exception handling, which Fireball does not run: build it without -fwasm-exceptions (C++: -fno-exceptions; Rust: panic = \"abort\")"
        }
        (Reason::MemoryKindUnsupported, _) => "; build it for wasm32 with one unshared memory (no -pthread, no memory64)",
        _ => "",
    }
}

/// What to change on the command line so that the plan on `ram` bytes holds the app,
/// given `fits_in`, the least RAM whose plan does (`fireball::setup::ram_for`);
/// `task_stack`: whether fewer coroutine stacks (`--task-stack`) would do it too.
fn ram_fixes(ram: usize, fits_in: Option<usize>, task_stack: bool) -> Vec<String> {
    match fits_in {
        Some(r) if r < ram && !task_stack => vec![format!("--ram {}K (a smaller plan)", r / 1024)],
        // A smaller device's plan fits where this one does not: the seed's rows
        // give larger devices more coroutine stacks (for tasks this run does not
        // spawn); --task-stack plans one stack per task of the run instead.
        Some(r) if r < ram => {
            let row = fireball_coos::plan::Config::row(ram);
            vec![
                format!(
                    "--task-stack {}K (the {} KiB plan reserves {} coroutine stacks of {} KiB for up to as many tasks; this plans one per task of the run)",
                    row.stack / 1024,
                    ram / 1024,
                    row.n_coro,
                    row.stack / 1024
                ),
                format!("--ram {}K (a smaller plan)", r / 1024),
            ]
        }
        Some(r) => vec![format!("--ram {}K", r / 1024)],
        None => vec!["more RAM than any plan here gives".to_string()],
    }
}

/// The facade's error as the CLI's one line: what is wrong, and what to change on the
/// command line; `guests`: the modules it was built from (for [`load_hint`]).
fn describe(e: &BuildError<'_>, guests: &[Guest<'_>]) -> String {
    let bytes_of = |module: &str| guests.iter().find(|g| g.name == module).map_or(&[][..], |g| g.image.bytes());
    match *e {
        BuildError::NothingToRun => "nothing to run".into(),
        BuildError::Plan { ram, error, service_size, fits_in } => {
            let services = service_size.map_or(String::new(), |s| format!(" (with P4 sized for the services: {s} B each)"));
            // (Measured modules only: without them the plan failed for any module.)
            // (No --task-stack here: the services' P4 may be what does not fit.)
            let fix = if fits_in.is_some() { format!("; use {}", ram_fixes(ram, fits_in, false).join(", or ")) } else { String::new() };
            format!("--ram {ram}: {error}{services}{fix}")
        }
        BuildError::Memory(e) => format!("memory: {e}"),
        BuildError::Stack { size, error } => format!("a coroutine stack of {size} B: {error}: give each task a larger one (--task-stack)"),
        BuildError::SubHeap { module, size, error } => format!("{module}: no P4 sub-heap of {size} B ({error})"),
        BuildError::Load { module, error } => {
            let bytes = bytes_of(module);
            format!("{module}: {error}{}", load_hint(bytes, &error))
        }
        BuildError::DoesNotFit { module, service, need: Some(n), have, fits_in, ram } => {
            let place = if service { "its P4 sub-heap" } else { "the guest partition P5" };
            let mut fixes = if service { Vec::new() } else { ram_fixes(ram, fits_in, true) };
            if !n.packed && n.metadata > 0 {
                fixes.push("`fireball pack` it (its side table then stays in flash)".to_string());
            }
            // rustc names itself in the producers section (unless stripped): its users
            // pass linker flags another way, and its default stack is 1 MiB.
            let bytes = bytes_of(module);
            fixes.push(smaller_stack(bytes).to_string());
            format!(
                "{module}: needs {} B of {place} but it has {have} B on a {} KiB device ({} B module metadata, {} B linear memory, {} B store and task); use {}",
                n.peak,
                ram / 1024,
                n.metadata,
                n.memory,
                n.store_and_task(),
                fixes.join(", or ")
            )
        }
        // Only a probe (device RAM + PROBE_RAM) fails without a measured need: no device this
        // tool plans for holds it. What it declares says why (Zig links a 16 MiB stack), or
        // else loading it does (the validator's and the side table's needs grow with the code).
        BuildError::DoesNotFit { module, service, need: None, have, ram, .. } => {
            let bytes = bytes_of(module);
            let place = if service { "its P4 sub-heap" } else { "the guest partition P5" };
            let why = match declared_memory(bytes) {
                Some((declared, touched)) if touched.map_or(declared, u64::from) >= have as u64 / 2 => {
                    let touched = touched.map_or_else(String::new, |t| format!(", of which its data and stack take {t} B"));
                    format!("it declares {declared} B of linear memory{touched}; {}", smaller_stack(bytes))
                }
                _ => "loading it takes more than that (the engine's metadata for its code, and its linear memory)".to_string(),
            };
            format!("{module}: does not fit a {} KiB device, nor one with {} MiB more ({place} of {have} B is too small): {why}", ram / 1024, PROBE_RAM >> 20)
        }
        BuildError::Entry { module, error } => format!("{module}: {}", entry_problem(error)),
        BuildError::ManifestModule { name } => format!("manifest: no module named {name}"),
        BuildError::Manifest(e) => e.to_string(),
        BuildError::KernelTables { p1, tasks, channels } => {
            format!("P1 ({p1} B) cannot hold the kernel's tables for {tasks} tasks and {channels} channels")
        }
        BuildError::TaskTable => "P2 cannot hold the task table".into(),
        BuildError::LoggerRing => "P3 cannot hold the logger ring".into(),
        BuildError::Device { .. } => "the HAL registry is full".into(),
        BuildError::Spawn { module, error, import } => {
            let import = import.map_or_else(String::new, |(m, n)| format!("{m}.{n}"));
            match error {
                SpawnError::UnknownImport { .. } => format!(
                    "{module}: unknown import {import} (Fireball provides env.hal_*, env.ch_*, env.buf_*, env.co_yield, env.log_event, env.sys_request and WASI preview 1)"
                ),
                SpawnError::ImportSignature { .. } => format!("{module}: import {import} has the wrong signature"),
                SpawnError::NoSlot => format!("{module}: no free task slot"),
                SpawnError::OutOfMemory => format!("{module}: does not fit its partition"),
                SpawnError::Instantiate(e) => format!("{module}: {e}"),
                SpawnError::NoEntry => format!("{module}: the entry is not a `[] -> []` export"),
                e => format!("{module}: cannot spawn ({e:?})"),
            }
        }
        ref e => e.to_string(),
    }
}

/// The modules of `cfg`, app first, with their bytes, names and entries leaked
/// (on a device they stay in flash for good).
fn guests(app: Option<ModuleSpec>, services: Vec<ModuleSpec>) -> Vec<Guest<'static>> {
    let strings = |v: &[String]| -> &'static [&'static str] { Box::leak(v.iter().map(|s| leak_str(s)).collect::<Vec<_>>().into_boxed_slice()) };
    let leak = |s: ModuleSpec, service: bool| Guest {
        name: leak_str(&s.name),
        // (The system borrows the bytes for 'static: one more handle that is never
        // dropped keeps them, without a copy per run.)
        image: Image::Wasm(&Box::leak(Box::new(s.bytes))[..]),
        entry: s.entry.as_deref().map(leak_str),
        service,
        cmd: Box::leak(Box::new(CommandLine { args: strings(&s.args), env: strings(&s.env) })),
    };
    app.map(|a| leak(a, false)).into_iter().chain(services.into_iter().map(|s| leak(s, true))).collect()
}

/// The refusal's advice for a module whose stack or data make it too large, in the
/// words of the toolchain that built it: rustc names itself in the producers section
/// (unless stripped), and its users pass linker flags another way; Zig writes no
/// producers section, and links a 16 MiB stack unless told otherwise.
fn smaller_stack(bytes: &[u8]) -> &'static str {
    if bytes.windows(6).any(|w| w == b"\x05rustc") {
        "link it with a smaller stack (RUSTFLAGS=\"-C link-arg=-zstack-size=N\": rustc's default is 1 MiB)"
    } else {
        "link it with a smaller stack or data (clang: -Wl,-z,stack-size=N, --initial-memory; zig: --stack N, its default is 16 MiB)"
    }
}

/// A plain or packed module (told apart by their magic bytes).
pub fn load_module(bytes: &[u8]) -> Result<Module<'_>, LoadError> {
    if bytes.starts_with(&fireball_wasm::pack::MAGIC) {
        Module::from_packed(bytes)
    } else {
        Module::new(bytes)
    }
}

/// The bytes of linear memory a module declares (memory 0's minimum), and those its
/// data and stack take of them (`Module::static_footprint`), for a module that loads.
fn declared_memory(bytes: &[u8]) -> Option<(u64, Option<u32>)> {
    let m = load_module(bytes).ok()?;
    let declared = m.memories().first().map(|t| t.limits.min.saturating_mul(t.page_size()))?;
    Some((declared, m.static_footprint()))
}

/// The memory plan `run` makes for `ram` bytes (`task_stack`: a plan of its own, that
/// stack for each of `tasks` tasks and the kernel's), before a probe sizes the services.
fn plan_config(ram: usize, task_stack: Option<usize>, tasks: usize) -> fireball_coos::plan::Config {
    let mut plan = fireball_coos::plan::Config::row(ram);
    if let Some(s) = task_stack {
        // A plan of its own: this stack for each task the run has (the row's
        // coroutine count is a device's, sized for tasks this run does not spawn).
        plan.stack = s;
        plan.n_coro = tasks + 1;
    }
    plan
}

/// The most bytes the guest partition P5 has on `ram` bytes as `run` plans them for
/// `tasks` tasks: services sized by a probe only take more for P4. A size whose P5
/// is smaller than what loading and spawning the app takes cannot run it, so a search
/// for the size that does may start past them (`inspect` tries sizes from 8 KiB up).
pub fn p5_at_most(ram: usize, task_stack: Option<usize>, tasks: usize) -> usize {
    fireball_coos::plan::plan(&plan_config(ram, task_stack, tasks)).map_or(0, |l| l.partition(fireball_coos::mem::PartitionId::Guest).size)
}

/// A builder for `guests` over `ram` bytes of leaked RAM (or none, for a probe only).
fn builder<'a>(
    ram: &'static mut [u8],
    planned: usize,
    task_stack: Option<usize>,
    guests: &[Guest<'static>],
    manifest: Option<&'static str>,
) -> Builder<'a> {
    let mut b = Builder::new(ram).plan(plan_config(planned, task_stack, guests.len())).cpu_mhz(100);
    for g in guests {
        b = b.guest(*g);
    }
    if let Some(m) = manifest {
        b = b.manifest(m);
    }
    b
}

/// Run the app and services until `cfg.limit`, Ctrl-C, or until nothing can run.
pub fn run(cfg: RunConfig<'_>) -> Result<Report, String> {
    run_inner(cfg, None)
}

/// [`run`], served to lldb over `gdb` (`fireball run --gdb`): it waits for lldb before
/// the first instruction (unless `--gdb-nowait`), and nothing runs while lldb has the system stopped.
pub fn run_with_gdb(cfg: RunConfig<'_>, gdb: &crate::gdb::Gdb) -> Result<Report, String> {
    run_inner(cfg, Some(gdb))
}

fn run_inner(cfg: RunConfig<'_>, gdb: Option<&crate::gdb::Gdb>) -> Result<Report, String> {
    let RunConfig { app, services, ram, adc, limit, manifest, seed, out, stop, task_stack, log_level, realtime_at_boot_us, stdin } = cfg;
    // Input given as bytes (`inspect --stdin`) when the guests do not read this process's stdin.
    let input = app.as_ref().and_then(|a| a.input.clone()).filter(|_| !stdin);
    let guests = guests(app, services);
    let manifest: Option<&'static str> = manifest.as_deref().map(leak_str);

    // A run sizes the service sub-heaps and the app's memory from what a probe measured.
    let measured = builder(Default::default(), ram, task_stack, &guests, manifest)
        .measure(leak_ram(ram.saturating_add(PROBE_RAM))?)
        .map_err(|e| describe(&e, &guests))?;

    // Devices: a simulated ADC (every read recorded), clock, TX and BLE on simulated time,
    // the board's GPIO (LED and button), an I2C temperature sensor and an SPI loopback, and a
    // slow CRC-32 accelerator for the offloader (sys_write parks the caller for CRC_DELAY_MS).
    let time = SimTime::new();
    let reads = RefCell::new(Vec::new());
    let mut on_read = |ch: u8, v: u16| reads.borrow_mut().push((ch, v));
    let signals: &'static [Signal<'static>] = Box::leak(adc.into_boxed_slice());
    let mut adc_dev = AdcTap::new(SimAdc::new(&time, signals), &mut on_read);
    let mut clock = SimClock::new(&time);
    let console_text = RefCell::new(String::new());
    let log_text = RefCell::new(String::new());
    // 512-byte frames: the seed's 64 KB aggregator sends 256 bytes at once.
    let mut tx = SimTx::new().with_time(&time).with_writer(Text(&console_text)).with_max_frame(TX_MAX_FRAME);
    let mut ble = SimBle::new().with_time(&time).with_writer(Text(&console_text));
    let (mut gpio, mut i2c, mut spi) = (sim_gpio(), sim_i2c(), SimSpi::new());
    let mut crc = SimCrc32::new(&time, CRC_DELAY_MS);
    // `hal/uart/1`: the board's second UART, transmit only, at 115 200 baud; what it
    // sends goes to the console.
    let mut uart_text = Text(&console_text);
    let mut uart1 = SimUart::new(&time, UART_BAUD, &mut uart_text);
    let sink_values = RefCell::new(Vec::<Vec<u32>>::new());
    let mut on_sink = |k: usize, v: u32| {
        let mut s = sink_values.borrow_mut();
        if s.len() <= k {
            s.resize(k + 1, Vec::new());
        }
        s[k].push(v);
    };
    // Whether the output printed so far ends mid-line: a guest's last line without its
    // newline would otherwise run into the next log line or notice.
    let open = Cell::new(false);
    let mut log_out = LogText { run: &console_text, log: &log_text, open: &open, line_start: true };
    let mut console = Text(&console_text);
    let mut host_stdin = match &input {
        Some(bytes) => HostStdin::of_bytes(&console_text, &open, bytes),
        None => HostStdin::new(&console_text, &open, stop, gdb.is_some()),
    };
    // A terminal shows the lines typed: a guest's text after one starts a line.
    let echo = stdin && host_stdin.terminal;

    let mut report = Report::default();
    // The exit report, less its device line (the devices are the system's until it is gone).
    let (mut head, mut tail) = (String::new(), String::new());
    {
        let mut b = builder(leak_ram(ram)?, ram, task_stack, &guests, manifest);
        if !signals.is_empty() {
            b = b.device("adc/0", &mut adc_dev);
        }
        if stdin || input.is_some() {
            b = b.console_input(&mut host_stdin);
        }
        let mut parts = Parts::new();
        let mut system = b
            .device("clock", &mut clock)
            .device("tx", &mut tx)
            .device("ble", &mut ble)
            .device("gpio/0", &mut gpio)
            .device("i2c/0", &mut i2c)
            .device("spi/0", &mut spi)
            .device("crc/0", &mut crc)
            .device("uart/1", &mut uart1)
            .log_to(&mut log_out)
            .console(&mut console)
            .on_sink(&mut on_sink)
            .seed(seed)
            .time(Time::Simulated { time: &time, instructions_per_ms: INSTRUCTIONS_PER_MS })
            .sized_by(measured)
            .build(&mut parts)
            .map_err(|e| describe(&e, &guests))?;
        if let Ok(mut r) = system.router().try_borrow_mut() {
            if let Some(level) = log_level {
                r.logger().set_filter(level);
            }
            r.set_realtime_at_boot(realtime_at_boot_us);
            r.set_console_echo(echo);
        }
        let limit = match limit {
            Limit::Instructions(n) => fireball::Limit::Instructions(n),
            Limit::Millis(n) => {
                system.set_horizon_ms(n);
                fireball::Limit::Millis(n)
            }
        };

        // `--gdb`: lldb gets the system before its first instruction, or attaches later (crate::gdb);
        // the system goes to the session and comes back around every step.
        let tasks: Vec<u8> = system.modules().map(|m| m.task).collect();
        let (mut debugger, mut gdb_end) = (None, None);
        if let Some(g) = gdb {
            (debugger, system, gdb_end) = crate::gdb::start(g, &tasks, system, out)?;
        }

        // Run.
        let stopped = loop {
            if let Some(why) = gdb_end.take() {
                break why;
            }
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                break "interrupted (Ctrl-C)".to_string();
            }
            match system.reached(limit) {
                Some(Stop::Instructions(n)) => break format!("--for {n} instructions reached"),
                Some(Stop::Millis(n)) => break format!("--for {n}ms reached"),
                _ => {}
            }
            let tick = system.step();
            // Log lines, frames and console text, in the order they were written (the
            // router writes the log lines held before a guest's stdout text).
            report.log.push_str(&std::mem::take(&mut *log_text.borrow_mut()));
            drain_text(&console_text, &open, out);
            // Nothing ran and a task waits for the terminal's input: time passes as it
            // does outside, a simulated millisecond a real one (a `poll` with a timeout
            // times out then, not at once), and the prompt shows.
            if tick.step == fireball_coos::sched::Step::Idle && system.router().try_borrow().is_ok_and(|r| r.waiting_for_input()) {
                let _ = out.flush();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            if let Some(g) = gdb {
                (debugger, system, gdb_end) = crate::gdb::after_step(g, debugger, &tasks, system, tick.step, out)?;
            }
            for n in tick.notices() {
                let service = |m: &str| guests.iter().any(|g| g.name == m && g.service);
                // The notice's line, and the module if a larger device may let it run (the
                // line tells the system to give it more RAM; main.rs then names the size).
                let (line, short_of_ram) = match n {
                    &Notice::RestartFailed { module, error, import } => {
                        (format!("[{module}] cannot restart: {}", describe(&BuildError::Spawn { module, error, import }, &guests)), None)
                    }
                    // An out-of-bounds access with a C program's stack pointer below 0: its
                    // shadow stack (linked with --stack-first) overflowed. No RAM cures that.
                    &Notice::Ended { module, how: how @ Ended::Fault(Fault::Trap(TrapCode::MemoryOutOfBounds)), .. }
                        if let Some(sp) = stack_pointer(&system, module).filter(|&sp| sp < 0) =>
                    {
                        let plain = Notice::Ended { module, how, backed: None }.to_string();
                        (with_hint(&plain, &format!(" (its stack pointer, global 0, is {sp}: its shadow stack overflowed; link it with a larger one, -Wl,-z,stack-size=N)")), None)
                    }
                    // A trap a larger device may cure: say what ran out.
                    &Notice::Ended { module, how: Ended::Fault(Fault::Trap(code)), backed: None } => {
                        let line = n.to_string();
                        let refused = system.memory_refusals(module);
                        let hint = match code {
                            TrapCode::CallStackExhausted | TrapCode::StackOverflow => system.footprints().iter().find(|f| f.name == module).map(|f| {
                                format!(
                                    " (its coroutine stack holds {} call frames and {} value slots: --task-stack gives each task a larger one)",
                                    f.stack.frames, f.stack.value_slots
                                )
                            }),
                            // Rust's allocator aborts through `unreachable` when memory.grow is
                            // refused; C code that does not check malloc runs off its heap.
                            _ => refused.map(|r| refusal_hint(r, service(module))),
                        };
                        let line = match hint {
                            Some(h) => with_hint(&line, &h),
                            None => line,
                        };
                        (line, refused.filter(|_| !service(module)).map(|_| module))
                    }
                    // A program that gave up after its partition refused a memory.grow (Zig's
                    // allocators return OutOfMemory, and its `main` exits with status 1).
                    &Notice::Ended { module, how: Ended::Exited(c), .. } if c != 0 && let Some(refused) = system.memory_refusals(module) => {
                        (with_hint(&n.to_string(), &refusal_hint(refused, service(module))), Some(module).filter(|m| !service(m)))
                    }
                    // A service's memory backed only in part: more RAM gives it no more heap.
                    &Notice::Ended { module, how: how @ Ended::Fault(_), backed: Some((b, d)) } if service(module) => {
                        let plain = Notice::Ended { module, how, backed: None }.to_string();
                        (with_hint(&plain, &format!(" (its partition backs {b} B of the {d} B of linear memory it declares{SERVICE_HEAP_HINT}")), None)
                    }
                    // Its memory backed only in part (the notice says so), its stack pointer in range.
                    &Notice::Ended { module, how: Ended::Fault(_), backed: Some(_) } => {
                        (n.to_string(), stack_pointer(&system, module).is_none_or(|sp| sp >= 0).then_some(module))
                    }
                    n => (n.to_string(), None),
                };
                report.short_of_ram.extend(short_of_ram.map(str::to_string));
                if open.get() {
                    let _ = writeln!(out);
                    open.set(false);
                }
                let _ = writeln!(out, "{line}");
                if let &Notice::Ended { module, how: Ended::Fault(Fault::Trap(_)), .. } = n {
                    if let Some(trace) = trap_trace(&system, module, &guests) {
                        let _ = writeln!(out, "{trace}");
                    }
                }
                // A module left blocked on a channel whose every other end has now ended.
                if let &Notice::Ended { module, .. } = n {
                    for g in guests.iter().filter(|g| g.name != module) {
                        if let Some(w @ (_, fireball::Peers::Ended(_))) = system.waiting(g.name) {
                            let _ = writeln!(out, "[{}] is blocked for ever {}", g.name, waiting_text(w));
                        }
                    }
                }
                if matches!(n, Notice::Fatal { .. }) {
                    report.fatal = Some(line);
                }
            }
            match tick.stop {
                Some(Stop::Fatal { .. }) => break "fatal error".to_string(),
                Some(s @ (Stop::Finished | Stop::Blocked)) => break s.to_string(),
                _ => {}
            }
        };

        drop(debugger);
        // The report: tasks, partitions, counters.
        let totals = system.totals();
        for m in system.modules() {
            report.tasks.push(TaskReport {
                name: m.name.to_string(),
                state: m.state,
                fault: m.fault.map(|f| f.cause),
                exit_code: m.exit_code,
                counters: m.counters,
                worst_wait: m.worst_wait,
                restarts: m.restarts,
                stack_pointer: stack_pointer(&system, m.name),
                waiting: system.waiting(m.name).map(waiting_text),
            });
        }
        let router_stats = system.router_stats();
        report.log_dropped += system.log_dropped();
        report.router = router_stats;
        report.instructions = totals.instructions;
        report.millis = system.millis();
        report.stopped = stopped;
        report.footprints = system.footprints().iter().map(Footprint::from).collect();
        let values = sink_values.take();
        report.sinks = system
            .sinks()
            .enumerate()
            .map(|(k, s)| SinkReport {
                label: match s.port {
                    Some(p) => format!("{}:{p}", s.module),
                    None => format!("{}:0-3", s.module),
                },
                values: values.get(k).cloned().unwrap_or_default(),
            })
            .collect();

        let t = &mut head;
        let _ = writeln!(t, "\n-- stopped: {}; {} ms simulated --", report.stopped, report.millis);
        let _ = writeln!(t, "{:<12} {:>10} {:>12} {:>10} {:>7} {:>8}  state", "module", "instrs", "switches", "yields", "chan", "worst");
        for r in &report.tasks {
            let state = match (r.fault, r.exit_code) {
                (Some(f), _) => format!("terminated: {}", describe_fault(f)),
                (None, Some(c)) => format!("exit {c}"),
                (None, None) => match &r.waiting {
                    Some(w) if r.state == TaskState::Blocked => format!("Blocked {w}"),
                    _ => format!("{:?}", r.state),
                },
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
        let t = &mut tail;
        for sink in &report.sinks {
            if !sink.values.is_empty() {
                let _ = writeln!(t, "sink {}: {} messages, last {}", sink.label, sink.values.len(), sink.values.last().copied().unwrap_or(0) as i32);
            }
        }
        let _ = write!(t, "{}", system.partition_table());
        let _ = writeln!(t, "kernel tables: {} B in P1", system.kernel_ram());
        // Then unload every task, as a restart does, and see every partition back where it was.
        system.partition_use(|name, baseline, at_stop| {
            report.partitions.push(PartitionUse { name: name.to_string(), baseline, at_stop, unloaded: 0 });
        });
        system.unload_all();
        let mut k = 0;
        system.partition_use(|_, _, now| {
            if let Some(p) = report.partitions.get_mut(k) {
                p.unloaded = now;
            }
            k += 1;
        });
    }
    report.tx = tx.frames().to_vec();
    report.ble = ble.frames().to_vec();
    report.ble_profile = ble.profile();
    report.adc_reads = reads.take();
    report.input = host_stdin.seen.unwrap_or_default();
    let _ = writeln!(
        head,
        "tx: {} frames, ble: {} frames, adc: {} reads, log: {} events dropped",
        report.tx.len(),
        report.ble.len(),
        report.adc_reads.len(),
        report.log_dropped
    );
    head.push_str(&tail);
    let _ = out.write_all(head.as_bytes());
    Ok(report)
}

/// Why [`measure`] measured nothing.
#[derive(Debug, Clone)]
pub struct MeasureError {
    /// The error, as `run` says it.
    pub message: String,
    /// Not even the probe's partitions (the device's RAM and 16 MiB more) hold a
    /// module: no device does.
    pub too_large: bool,
}

/// What every module of `cfg` needs of its partition, measured by loading and
/// spawning it (no instruction runs) with room to spare. `cfg.out` gets nothing.
pub fn measure(cfg: &RunConfig<'_>) -> Result<Vec<Footprint>, MeasureError> {
    let guests = guests(cfg.app.clone(), cfg.services.clone());
    let manifest: Option<&'static str> = cfg.manifest.as_deref().map(leak_str);
    let scratch = leak_ram(cfg.ram.saturating_add(PROBE_RAM)).map_err(|message| MeasureError { message, too_large: false })?;
    let measured = builder(Default::default(), cfg.ram, cfg.task_stack, &guests, manifest)
        .measure(scratch)
        .map_err(|e| MeasureError { message: describe(&e, &guests), too_large: matches!(e, BuildError::DoesNotFit { .. }) })?;
    Ok(measured.as_slice().iter().map(Footprint::from).collect())
}

/// Sets up the system the way `run` does — plan, partitions, every module loaded
/// into and spawned in its own partition — and runs nothing: `Ok` with each
/// module's footprint if everything fits, else the error `run` would give.
/// `fireball inspect --ram` answers with this, so it and `run` always agree.
pub fn check(mut cfg: RunConfig<'_>) -> Result<Vec<Footprint>, String> {
    cfg.limit = Limit::Instructions(0);
    Ok(run(cfg)?.footprints)
}

/// `module`'s global 0 as an i32, while it is loaded: a C program's `__stack_pointer`.
fn stack_pointer(system: &fireball::System<'_>, module: &str) -> Option<i32> {
    let store = system.store_of(module)?;
    let g = store.instance_global(fireball_wasm::Instance(0), 0)?;
    match store.global_get(g)? {
        fireball_wasm::Value::I32(v) => Some(v),
        _ => None,
    }
}

/// What a blocked module waits for, in words: `(receiving on port 3: svc, at its
/// other end, has ended)`.
pub fn waiting_text((wait, peers): (fireball::Wait, fireball::Peers<'_>)) -> String {
    use fireball::{Peers, Wait};
    let what = match wait {
        Wait::Send(p) => format!("sending on port {p}"),
        Wait::Recv(p) => format!("receiving on port {p}"),
        Wait::Syscall => return "(in a device call, a sleep or a read of the console)".to_string(),
    };
    match peers {
        Peers::Live => format!("({what})"),
        Peers::Ended(m) => format!("({what}: {m}, at its other end, has ended)"),
        Peers::Nobody => format!("({what}: no module is at its other end)"),
    }
}

/// Most frames a trap's backtrace names (a runaway recursion has thousands).
const TRACE_FRAMES: usize = 12;

/// Where `module` trapped, as lines under its end notice: `[app] trapped in divide
/// @ 0x1a2 (/src/app.c:3:63)`, then `[app]   called from compute @ 0x1c4 (/src/app.c:4:55)`, …
/// (names from the module's name section, Rust's and C++'s demangled; offsets in its
/// bytes; the source lines, and the calls inlined there, from its DWARF, if it was
/// built with it).
fn trap_trace(system: &fireball::System<'_>, module: &str, guests: &[Guest<'static>]) -> Option<String> {
    let lines = guests.iter().find(|g| g.name == module).and_then(|g| match g.image {
        Image::Wasm(bytes) => crate::dwarf::Lines::new(bytes),
        _ => None,
    });
    // Each wasm frame, after the calls the compiler inlined into it there (innermost
    // first, as the DWARF lists them), each with where it is in the source.
    let mut frames = system.backtrace(module).flat_map(|(idx, name, pc)| {
        let name = name.map_or_else(|| format!("func {idx}"), crate::dwarf::demangle);
        let mut dwarf = lines.as_ref().map(|l| l.frames(pc)).unwrap_or_default();
        let own = dwarf.pop();
        let place = |at: Option<String>| at.map(|a| format!(" ({a})")).unwrap_or_default();
        let inlined = dwarf.into_iter().map(move |f| {
            format!("{} (inlined) @ {pc:#x}{}", f.name.as_deref().unwrap_or("?"), place(f.at))
        });
        inlined.chain(core::iter::once(format!("{name} @ {pc:#x}{}", place(own.and_then(|f| f.at)))))
    });
    let mut text = format!("[{module}] trapped in {}", frames.next()?);
    let mut more = 0usize;
    for (k, f) in frames.enumerate() {
        if k + 1 < TRACE_FRAMES {
            text.push_str(&format!("\n[{module}]   called from {f}"));
        } else {
            more += 1;
        }
    }
    if more > 0 {
        text.push_str(&format!("\n[{module}]   and {more} more frames"));
    }
    Some(text)
}

/// What a refused `memory.grow` tells the user: (refusals, bytes of linear memory the
/// module has, the most its partition backs), from [`fireball::System::memory_refusals`];
/// for a `service`, that no RAM gives it more ([`SERVICE_HEAP_HINT`]).
fn refusal_hint((n, has, most): (u32, u64, u64), service: bool) -> String {
    if service {
        return format!(" (its partition refused its memory.grow{SERVICE_HEAP_HINT}");
    }
    let times = if n == 1 { "once".to_string() } else { format!("{n} times") };
    format!(" (its partition refused its memory.grow {times}: it has {has} B of linear memory, the most it backs is {most} B; give the system more RAM)")
}

/// Why a service that ran out of heap cannot be given more with `--ram`, the end of a
/// hint (" (…" before it): the part of its linear memory its partition backs is its
/// static footprint (data and stack) and [`SERVICE_HEAP`] more, its sub-heap sized by
/// what spawning it took, neither by the RAM.
const SERVICE_HEAP_HINT: &str =
    "; a service's memory is backed up to its static data and stack and 64 B more, whatever the RAM: no --ram gives it more; keep its buffers static)";

/// A module's end notice with `hint` (" (…)") before its closing "; the other
/// modules keep running".
fn with_hint(notice: &str, hint: &str) -> String {
    notice.replacen("; the other modules keep running", &format!("{hint}; the other modules keep running"), 1)
}

/// Simulated time a trial run of `fireball inspect --ram` covers.
pub const TRIAL_MS: u64 = 1000;

/// The same with `--stdin`: a program given its input usually ends, so the trial
/// follows it up to this far (10 s at 100 MHz: 10⁹ instructions at most).
pub const INPUT_TRIAL_MS: u64 = 10_000;

/// The first module a trial run of `fireball inspect --ram` saw a fault end.
#[derive(Debug, Clone)]
pub struct TrialFault {
    /// The module.
    pub name: String,
    /// Wasm instructions it executed before the fault.
    pub instructions: u64,
    /// The fault; `None` for a module that gave up, exiting with a nonzero status after
    /// its partition refused a `memory.grow` (`exit_code`).
    pub fault: Option<Fault>,
    /// Its `proc_exit` status, when it exited.
    pub exit_code: Option<i32>,
    /// Its global 0 then, if an i32 (a C program's stack pointer).
    pub stack_pointer: Option<i32>,
    /// Its end notice blamed RAM (a heap past what its partition backs, a refused
    /// `memory.grow`): a larger device may let it run.
    pub short_of_ram: bool,
}

/// Runs `cfg`'s system for its first [`TRIAL_MS`] of simulated time, nothing
/// printed, and returns the first module a fault ended (`None`: none did). A load
/// that does not fit is `Err`, as in `run`.
///
/// A static check cannot see how far a program's heap or call depth will grow
/// (dlmalloc, Rust's allocator and wasi-libc's all take memory above `__heap_base`
/// at run time, with `memory.grow` or in memory the partition backs only in part),
/// so `inspect` runs the program before it calls it fitting.
pub fn trial(cfg: RunConfig<'_>) -> Result<Option<TrialFault>, String> {
    trial_for(cfg, TRIAL_MS)
}

/// [`trial`] over the first `ms` of simulated time.
pub fn trial_for(mut cfg: RunConfig<'_>, ms: u64) -> Result<Option<TrialFault>, String> {
    cfg.limit = Limit::Millis(ms);
    let report = run(cfg)?;
    Ok(report.tasks.iter().find_map(|t| {
        let short_of_ram = report.short_of_ram.contains(&t.name);
        // A nonzero exit is a failure of the trial only when RAM was refused first (one for
        // want of arguments or input is the program's business).
        let gave_up = t.exit_code.is_some_and(|c| c != 0) && short_of_ram;
        (t.fault.is_some() || gave_up).then(|| TrialFault {
            name: t.name.clone(),
            instructions: t.counters.instructions,
            fault: t.fault,
            exit_code: t.exit_code,
            stack_pointer: t.stack_pointer,
            short_of_ram,
        })
    }))
}

impl TrialFault {
    /// How the module ended, in words.
    pub fn describe(&self) -> String {
        match (self.fault, self.exit_code) {
            (Some(f), _) => describe_fault(f),
            (None, c) => format!("exited with status {} after its partition refused its memory.grow", c.unwrap_or(0)),
        }
    }
}

/// The most RAM a search for the size that runs a system tries while the system is
/// still short of RAM: 16 MiB, more than a microcontroller has (and the most for which
/// a memory's whole budget is taken at instantiation, [`fireball_wasm::store::RESERVE_LIMIT`]:
/// past it `memory.grow` reallocates, and in the partition that needs the old and the
/// new block at once, so a larger device can run short of RAM earlier).
pub const RAM_SEARCH_CAP_KIB: usize = (fireball_wasm::store::RESERVE_LIMIT / 1024) as usize;

/// How a search for the RAM that runs a system ended ([`search_ram`]).
#[derive(Debug, Clone)]
pub enum RamSearch {
    /// A trial ran clean on this many KiB.
    Runs(usize),
    /// On this many KiB, the last size tried, a trial still ended a module by a fault
    /// that was not for want of RAM.
    Fails(usize, TrialFault),
    /// Still short of RAM on this many KiB, the most tried.
    Short(usize),
}

impl RamSearch {
    /// The size that runs the system, if one was found.
    pub fn runs(&self) -> Option<usize> {
        match *self {
            RamSearch::Runs(k) => Some(k),
            _ => None,
        }
    }
}

/// The RAM size from `from` KiB up on which the system `make(bytes)` builds loads
/// and a [`trial_for`] of its first `ms` runs clean. Up to `other` KiB the sizes
/// grow in steps of ~3 %, past it by half; past `other` only while a trial fails
/// for want of RAM (the system does not load, a heap outgrew what its partition
/// backs, a `memory.grow` was refused), up to [`RAM_SEARCH_CAP_KIB`]: any other
/// fault there is not for want of RAM (below it, a larger plan row may still give
/// each task a larger coroutine stack). Then the size is bisected down between the
/// last that failed and the first that ran. The plan's rows give P5 less on some
/// larger devices (a row's coroutine stacks take more): the small steps find the
/// first size that runs within `other`, where most programs' needs lie; past it,
/// the size found runs, but a smaller one past a row's edge might too.
pub fn search_ram<'a>(make: &dyn Fn(usize) -> RunConfig<'a>, from: usize, other: usize, ms: u64) -> RamSearch {
    let trial = |kib: usize| trial_for(make(kib * 1024), ms);
    let cap = RAM_SEARCH_CAP_KIB.max(other);
    let (mut failed, mut kib) = (from.saturating_sub(1), from.max(1));
    if kib > cap {
        return RamSearch::Short(cap);
    }
    loop {
        match trial(kib) {
            Ok(None) => break,
            Ok(Some(fault)) if !fault.short_of_ram && kib >= other => return RamSearch::Fails(kib, fault),
            _ if kib >= cap => return RamSearch::Short(kib),
            _ => {}
        }
        failed = kib;
        kib = if kib < other { kib + (kib / 32).max(1) } else { kib + kib / 2 }.min(cap);
    }
    let mut ran = kib;
    while ran - failed > 1 {
        let mid = failed + (ran - failed) / 2;
        if matches!(trial(mid), Ok(None)) {
            ran = mid;
        } else {
            failed = mid;
        }
    }
    RamSearch::Runs(ran)
}

/// A refusal (`run`'s error for a module that does not fit) whose `--ram NK` is
/// checked by a trial run: the size the load needs does not cover a heap that grows
/// at run time (Rust's `std` hello world loads on 97K and its allocator then runs
/// past what P5 backs), so N becomes the size from N up on which the system
/// `make(bytes)` builds runs clean ([`search_ram`]); when none does, the refusal
/// says N only loads it, and what the largest trial saw. Other errors come back as
/// they are.
pub fn checked_refusal<'a>(msg: String, make: &dyn Fn(usize) -> RunConfig<'a>) -> String {
    let Some((head, fixes)) = msg.split_once("; use ") else { return msg };
    let Some(at) = fixes.find("--ram ") else { return msg };
    let digits: String = fixes[at + 6..].chars().take_while(char::is_ascii_digit).collect();
    let Some(kib) = digits.parse::<usize>().ok().filter(|_| fixes[at + 6 + digits.len()..].starts_with('K')) else { return msg };
    if matches!(trial(make(kib * 1024)), Ok(None)) {
        return msg;
    }
    let rest = &fixes[at + 6 + digits.len() + 1..];
    // N's own remark stays beside N, before what the trials add.
    const SMALLER: &str = " (a smaller plan)";
    let (note, rest) = match rest.strip_prefix(SMALLER) {
        Some(r) => (SMALLER, r),
        None => ("", rest),
    };
    match search_ram(make, kib + 1, kib * 2, TRIAL_MS) {
        RamSearch::Runs(k) => format!("{head}; use {}--ram {k}K{rest}", &fixes[..at]),
        // It loads on N, but does not run on any size tried: say so beside N.
        RamSearch::Short(k) => format!(
            "{head}; use {}--ram {kib}K{note} to load it (a trial run was still short of RAM on --ram {k}K: its heap grows past that){rest}",
            &fixes[..at]
        ),
        RamSearch::Fails(k, f) => format!(
            "{head}; use {}--ram {kib}K{note} to load it (a trial run on --ram {k}K ended {}: {}){rest}",
            &fixes[..at],
            f.name,
            f.describe()
        ),
    }
}

/// A fault in words.
pub fn describe_fault(f: Fault) -> String {
    fireball::describe_fault(f).to_string()
}
