//! The assembly, once: [`Builder`] → plan → partitions → kernel core in P1 →
//! task table in P2 → logger ring in P3 → devices → router → every module
//! loaded into its own partition (the app into P5, each service into its own
//! P4 sub-heap) → spawned with its interpreter stacks in one of the plan's
//! coroutine stacks → [`System`].
//!
//! Everything the system keeps lives in [`Parts`], a plain struct the caller
//! owns (a local in `main`, or a `static`): the builder fills it and the
//! [`System`] borrows it, so the facade needs neither a heap nor `unsafe`.
//! What lives in `Parts` is never dropped (a device is reset, not torn
//! down); the RAM it points into is the caller's `&'static mut` region.
//!
//! # Sizing
//!
//! A module's need is *measured*, not estimated: [`Builder::measure`] does
//! the whole setup in a scratch region with room to spare, every module's
//! linear memory cut to its static footprint, and reads each partition's
//! peak. [`Builder::sized_by`] then sizes the services' P4 sub-heaps from those
//! needs (P4 grows by the plan's formula), gives each service
//! [`SERVICE_HEAP`] bytes of heap past its footprint and the app the rest of
//! P5 as linear memory, and reports a module that does not fit with what it
//! needs. Without a measurement (a device has no scratch RAM to spare) the
//! services get the plan's `MAX_SERVICE_SIZE` and the app as much of P5 as
//! spawns: it is spawned once with its footprint, which tells what spawning takes
//! besides linear memory, unloaded, and spawned again with all that P5 can spare
//! past that. Either way, when a spawn is refused for memory the facade bisects
//! the linear memory down towards the footprint, and then clears the
//! partition's exhausted flag: those refusals were the sizing's, not the
//! module's.

use core::cell::RefCell;
use core::fmt;
use core::mem::ManuallyDrop;

use fireball_coos::mem::{Memory, Partition, PartitionId, SubPartition};
use fireball_coos::plan::{plan, Config};
use fireball_coos::sched::{Core, Ctx, Kernel, KernelConfig, SpawnError, NO_CHANNEL, PORTS};
use fireball_coos::TaskId;
use fireball_sys::hal::sim::SimTime;
use fireball_sys::hal::{Device, Registry};
use fireball_sys::log::{ring_in, Event, Logger, CAPACITY};
use fireball_sys::manifest::{Manifest, PortRef, Wire};
use fireball_sys::router::{CommandLine, ConsoleInput, Grants, Router};
use fireball_wasm::{ExternKind, Features, HostLimits, LoadError, Module, Prevalidated, StackLimits};

use crate::error::{BuildError, EntryError, Need, ENTRY_CANDIDATES};
use crate::system::{Sink, Slot, System, Usage};
use crate::{CHANNEL_CAPACITY, MAX_CHANNELS, MAX_DEVICES, MAX_MODULES, MAX_TABLE_ELEMS, SERVICE_HEAP};

/// Task slots the facade gives coroutine stacks to: every module and one spare.
pub(crate) const MAX_TASKS: usize = MAX_MODULES + 1;

/// Bytes a sub-heap of P4 costs beyond what its allocations may use: talc's bookkeeping
/// (36 words: 144 B on Cortex-M, 288 B on a 64-bit host), and room for the holes loading
/// and spawning leave in a heap that is only just large enough (a module measured at
/// 3 712 B by the probe did not spawn in a 3 808-byte sub-heap). A large service leaves
/// larger holes: [`subheap_for`] adds a 32nd of its need.
const SUBHEAP_OVERHEAD: usize = 36 * core::mem::size_of::<usize>() + 128;

/// The P4 sub-heap a service that needs `need` bytes (its measured peak and
/// [`SERVICE_HEAP`]) is given: [`SUBHEAP_OVERHEAD`] and a 32nd of the need more, in
/// 256-byte steps. (A C++ plugin measured at 123 584 B, 81 KB of it libc++'s metadata,
/// did not load in a sub-heap of 123 872 B of capacity; it did with 1 KiB more.)
fn subheap_for(need: usize) -> usize {
    (need + need / 32 + SUBHEAP_OVERHEAD + 255) & !255
}

/// Bytes left unclaimed when the unmeasured app's linear memory is sized from what its
/// first spawn took: talc's tags and alignment on the memory and the spawn's other blocks.
const FILL_SLACK: usize = 256;

/// Every kernel channel buffers [`CHANNEL_CAPACITY`] messages.
static CAPACITIES: [usize; MAX_CHANNELS] = [CHANNEL_CAPACITY; MAX_CHANNELS];

/// The router the system uses: the HAL registry and the logger ring in P3.
pub(crate) type SysRouter<'a> = Router<'a, 'a, &'a mut [Event]>;
/// The kernel the system uses: its core in P1, tasks in their own partitions.
pub(crate) type SysKernel<'a> = Kernel<'a, 'a, &'a Partition, &'a Partition, &'a Partition>;

/// What a module is loaded from. Borrowed, never copied.
#[derive(Debug, Clone, Copy)]
pub enum Image<'a> {
    /// A wasm binary, or a packed module (`fireball pack`, `Module::write_packed`: the
    /// side table stays with it in flash), validated when the system is built (the
    /// facade's feature `validate`; a plain binary also needs `plain`).
    Wasm(&'a [u8]),
    /// A packed module the firmware's own build validated ([`Prevalidated`]: the
    /// promise is made where it is constructed, with `unsafe`): loaded without the
    /// validator, in a few instructions per byte (README, start-up figures). A
    /// firmware whose guests are all prevalidated can leave out the facade's feature
    /// `validate`, and with it the validator's flash.
    Prevalidated(Prevalidated<'a>),
}

impl<'a> Image<'a> {
    /// The bytes, as given.
    pub const fn bytes(&self) -> &'a [u8] {
        match self {
            Image::Wasm(b) => b,
            Image::Prevalidated(p) => p.bytes(),
        }
    }
}

/// One module to run: a guest app (in P5) or a service (in its own P4 sub-heap).
#[derive(Debug, Clone, Copy)]
pub struct Guest<'a> {
    /// Its name: the manifest's and the log's.
    pub name: &'a str,
    /// What it is loaded from.
    pub image: Image<'a>,
    /// The `[] -> []` export to start; `None`: `_start`, else the only such export.
    pub entry: Option<&'a str>,
    /// Whether it is a service.
    pub service: bool,
    /// Its WASI command line after `argv[0]` (its name) and its environment.
    pub cmd: &'a CommandLine<'a>,
}

impl<'a> Guest<'a> {
    /// The guest app, from a wasm binary or a packed module (validated when the system is built).
    pub const fn app(name: &'a str, bytes: &'a [u8]) -> Guest<'a> {
        Guest { name, image: Image::Wasm(bytes), entry: None, service: false, cmd: &CommandLine::EMPTY }
    }

    /// A service plugin, from a wasm binary or a packed module (validated when the system is built).
    pub const fn service(name: &'a str, bytes: &'a [u8]) -> Guest<'a> {
        Guest { name, image: Image::Wasm(bytes), entry: None, service: true, cmd: &CommandLine::EMPTY }
    }

    /// The guest app, from a packed module the firmware's build validated (see [`Image::Prevalidated`]).
    pub const fn prevalidated_app(name: &'a str, packed: Prevalidated<'a>) -> Guest<'a> {
        Guest { name, image: Image::Prevalidated(packed), entry: None, service: false, cmd: &CommandLine::EMPTY }
    }

    /// A service plugin, from a packed module the firmware's build validated (see [`Image::Prevalidated`]).
    pub const fn prevalidated_service(name: &'a str, packed: Prevalidated<'a>) -> Guest<'a> {
        Guest { name, image: Image::Prevalidated(packed), entry: None, service: true, cmd: &CommandLine::EMPTY }
    }

    /// Start `entry` instead of `_start`.
    pub const fn entry(mut self, entry: &'a str) -> Guest<'a> {
        self.entry = Some(entry);
        self
    }

    /// Give it a command line: WASI `args_get` answers its name, then `cmd.args`;
    /// `environ_get` answers `cmd.env` (a restart keeps both).
    pub const fn command_line(mut self, cmd: &'a CommandLine<'a>) -> Guest<'a> {
        self.cmd = cmd;
        self
    }
}

/// What one module takes from its own partition (P5 for the app, its P4
/// sub-heap for a service), measured: its metadata, store, task record and
/// linear memory. Its interpreter stacks are in its coroutine stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint<'a> {
    /// The module's name.
    pub name: &'a str,
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
    /// Bytes of its partition's region the allocator keeps for itself (region − capacity).
    pub bookkeeping: usize,
    /// Whether it was loaded packed (side table in flash).
    pub packed: bool,
    /// Its interpreter stacks, in its coroutine stack.
    pub stack: StackLimits,
}

impl Footprint<'_> {
    const EMPTY: Self = Footprint {
        name: "",
        service: false,
        peak: 0,
        live: 0,
        spawn_peak: 0,
        metadata: 0,
        memory: 0,
        capacity: 0,
        bookkeeping: 0,
        packed: false,
        stack: StackLimits { value_slots: 0, frames: 0 },
    };
}

impl Default for Footprint<'_> {
    fn default() -> Self {
        Footprint::EMPTY
    }
}

/// The footprints of every module, app first, then services in order.
#[derive(Debug, Clone, Copy)]
pub struct Footprints<'a> {
    items: [Footprint<'a>; MAX_MODULES],
    len: usize,
}

impl Default for Footprints<'_> {
    fn default() -> Self {
        Footprints::EMPTY
    }
}

impl<'a> Footprints<'a> {
    const EMPTY: Self = Footprints { items: [Footprint::EMPTY; MAX_MODULES], len: 0 };

    /// As a slice.
    pub fn as_slice(&self) -> &[Footprint<'a>] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, f: Footprint<'a>) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = f;
            self.len += 1;
        }
    }

    fn get(&self, k: usize) -> Option<&Footprint<'a>> {
        self.as_slice().get(k)
    }
}

/// How the system keeps time.
#[derive(Clone, Copy)]
pub enum Time<'a> {
    /// The HAL's clock device (a registered device with the clock capability):
    /// real time; an idle step just counts.
    Device,
    /// Simulated, for a reproducible run: `time` is one millisecond per
    /// `instructions_per_ms` wasm instructions executed, plus one per idle step
    /// (nothing ready, nothing drained: a device would sleep; up to 100 when the
    /// only tasks waiting sleep in `poll_oneoff`, towards their wake-up). Simulated
    /// devices read the same `time`.
    Simulated {
        /// The time simulated devices read.
        time: &'a SimTime,
        /// Wasm instructions per simulated millisecond.
        instructions_per_ms: u64,
    },
}

impl fmt::Debug for Time<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Time::Device => f.write_str("Device"),
            Time::Simulated { instructions_per_ms, .. } => write!(f, "Simulated({instructions_per_ms}/ms)"),
        }
    }
}

/// Where the system lives: filled by [`Builder::build`], borrowed by the
/// [`System`] for as long as it runs. Declare it after the devices and logger
/// sinks you register (they must outlive it), e.g. as a local of `main`.
///
/// `'a` is the lifetime of what the builder was given (module bytes, names,
/// devices), `'p` the lifetime of the borrow of the parts themselves; after
/// [`Builder::build`] both are the same.
pub struct Parts<'a, 'p> {
    memory: Option<Memory>,
    stacks: [Option<Partition>; MAX_TASKS],
    sub_heaps: ManuallyDrop<[Option<SubPartition<'p>>; MAX_MODULES]>,
    modules: ManuallyDrop<[Option<Module<'a, &'p Partition>>; MAX_MODULES]>,
    core: Option<ManuallyDrop<RefCell<Core<&'p Partition>>>>,
    registry: Registry<'p>,
    logger: Option<Logger<&'p mut [Event]>>,
    router: Option<RefCell<SysRouter<'p>>>,
    // The running system's tables, here rather than in `System` so that a `System`
    // is small to move (the debugger takes it and hands it back at every step).
    slots: [Option<Slot<'p>>; MAX_MODULES],
    sinks: [Option<Sink<'a>>; MAX_CHANNELS],
    footprints: Footprints<'a>,
}

impl Parts<'_, '_> {
    /// Empty parts.
    pub const fn new() -> Self {
        Parts {
            memory: None,
            stacks: [const { None }; MAX_TASKS],
            sub_heaps: ManuallyDrop::new([const { None }; MAX_MODULES]),
            modules: ManuallyDrop::new([const { None }; MAX_MODULES]),
            core: None,
            registry: Registry::new(),
            logger: None,
            router: None,
            slots: [None; MAX_MODULES],
            sinks: [None; MAX_CHANNELS],
            footprints: Footprints::EMPTY,
        }
    }
}

impl Default for Parts<'_, '_> {
    fn default() -> Self {
        Parts::new()
    }
}

/// Assembles a [`System`]: RAM and plan, devices by name, the app and its
/// services with their manifest, where the logger's text goes, the clock.
pub struct Builder<'a> {
    ram: &'static mut [u8],
    plan: Config,
    devices: [Option<(&'a str, &'a mut dyn Device)>; MAX_DEVICES],
    guests: [Option<Guest<'a>>; MAX_MODULES],
    n_guests: usize,
    manifest: Option<&'a str>,
    log: Option<&'a mut dyn fmt::Write>,
    console: Option<&'a mut dyn fmt::Write>,
    console_in: Option<&'a mut dyn ConsoleInput>,
    on_sink: Option<&'a mut dyn FnMut(usize, u32)>,
    time: Time<'a>,
    seed: u64,
    cpu_mhz: u32,
    max_table_elems: u32,
    measured: Option<Footprints<'a>>,
    error: Option<BuildError<'a>>,
}

/// The system as it is being assembled: shared by the probe and the real build.
pub(crate) struct Assembly<'a, 'p> {
    pub(crate) baseline: Usage,
    pub(crate) kernel: SysKernel<'p>,
    pub(crate) router: &'p RefCell<SysRouter<'p>>,
    pub(crate) ctx: Ctx<'p, &'p Partition>,
    pub(crate) core: &'p RefCell<Core<&'p Partition>>,
    pub(crate) memory: &'p Memory,
    pub(crate) stacks: &'p [Option<Partition>; MAX_TASKS],
    pub(crate) sub_heaps: &'p [Option<SubPartition<'p>>; MAX_MODULES],
    pub(crate) slots: &'p mut [Option<Slot<'p>>; MAX_MODULES],
    pub(crate) sinks: &'p mut [Option<Sink<'a>>; MAX_CHANNELS],
    pub(crate) footprints: &'p Footprints<'a>,
    pub(crate) plan: Config,
}

impl<'a> Builder<'a> {
    /// A system over `ram` (16-byte aligned; see [`Ram`](crate::Ram)), planned
    /// by the spec's row for its size (`plan::Config::row`).
    pub fn new(ram: &'static mut [u8]) -> Self {
        let plan = Config::row(ram.len());
        Builder {
            ram,
            plan,
            devices: [const { None }; MAX_DEVICES],
            guests: [None; MAX_MODULES],
            n_guests: 0,
            manifest: None,
            log: None,
            console: None,
            console_in: None,
            on_sink: None,
            time: Time::Device,
            seed: 1,
            cpu_mhz: 100,
            max_table_elems: MAX_TABLE_ELEMS,
            measured: None,
            error: None,
        }
    }

    fn fail(&mut self, e: BuildError<'a>) {
        self.error.get_or_insert(e);
    }

    /// Plan with `config` instead of the spec's row (its `ram` should be the region's length).
    pub fn plan(mut self, config: Config) -> Self {
        self.plan = config;
        self
    }

    /// Register `device` under `path` (`adc/0`, `tx`, `clock`, `gpio/0`…: what
    /// guests reach as `hal/<path>`), in registration order.
    pub fn device(mut self, path: &'a str, device: &'a mut dyn Device) -> Self {
        match self.devices.iter_mut().find(|d| d.is_none()) {
            Some(slot) => *slot = Some((path, device)),
            None => self.fail(BuildError::Device { path }),
        }
        self
    }

    /// Add a module ([`Guest::app`] or [`Guest::service`]).
    pub fn guest(mut self, guest: Guest<'a>) -> Self {
        if !guest.service && self.guests.iter().flatten().any(|g| !g.service) {
            self.fail(BuildError::TwoApps { name: guest.name });
        } else if let Some(slot) = self.guests.get_mut(self.n_guests) {
            *slot = Some(guest);
            self.n_guests += 1;
        } else {
            self.fail(BuildError::TooManyModules);
        }
        self
    }

    /// Add the guest app, entry `_start` (or its only `[] -> []` export).
    pub fn app(self, name: &'a str, bytes: &'a [u8]) -> Self {
        self.guest(Guest::app(name, bytes))
    }

    /// Add a service, entry `_start` (or its only `[] -> []` export).
    pub fn service(self, name: &'a str, bytes: &'a [u8]) -> Self {
        self.guest(Guest::service(name, bytes))
    }

    /// The manifest (grants, channel wiring, restarts; the `manifest` feature:
    /// its parser costs some 6 KB of flash). Without one, every
    /// module is granted everything and its ports 0..4 share one sink.
    #[cfg(feature = "manifest")]
    pub fn manifest(mut self, text: &'a str) -> Self {
        self.manifest = Some(text);
        self
    }

    /// Where the logger's events go as text lines, drained after every step
    /// (a UART, semihosting, a host buffer). Without one, events wait in the
    /// ring (256 × 8 B in P3), the oldest overwritten.
    pub fn log_to(mut self, out: &'a mut dyn fmt::Write) -> Self {
        self.log = Some(out);
        self
    }

    /// Where the guests' stdout and stderr text goes (each line once, prefixed
    /// with the module's name). Without one, only byte counts are logged.
    pub fn console(mut self, out: &'a mut dyn fmt::Write) -> Self {
        self.console = Some(out);
        self
    }

    /// What the guests read from stdin (a UART's receiver, a host's stdin; see
    /// [`Router::set_console_input`](fireball_sys::router::Router::set_console_input)).
    /// Without one, stdin is at its end.
    pub fn console_input(mut self, input: &'a mut dyn ConsoleInput) -> Self {
        self.console_in = Some(input);
        self
    }

    /// Call `f(sink, message)` for every message drained from a sink (`sink`
    /// counts the sinks in wiring order, as [`System::sinks`] lists them).
    pub fn on_sink(mut self, f: &'a mut dyn FnMut(usize, u32)) -> Self {
        self.on_sink = Some(f);
        self
    }

    /// How the system keeps time ([`Time::Device`] by default: the HAL clock).
    pub fn time(mut self, time: Time<'a>) -> Self {
        self.time = time;
        self
    }

    /// Seed of the guests' `random_get` (`sys/random`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The CPU clock in MHz: a time slice is `yield_interval(cpu_mhz)` instructions (100 by default).
    pub fn cpu_mhz(mut self, mhz: u32) -> Self {
        self.cpu_mhz = mhz;
        self
    }

    /// Most entries a module's function table may start with ([`MAX_TABLE_ELEMS`] by default).
    pub fn max_table_elems(mut self, n: u32) -> Self {
        self.max_table_elems = n;
        self
    }

    /// Size the partitions from what [`Builder::measure`] measured.
    pub fn sized_by(mut self, footprints: Footprints<'a>) -> Self {
        self.measured = Some(footprints);
        self
    }

    /// The modules, app first, then services in the order given.
    fn ordered(&self) -> ([Option<Guest<'a>>; MAX_MODULES], usize) {
        let mut out = [None; MAX_MODULES];
        let mut n = 0;
        let app = self.guests.iter().flatten().filter(|g| !g.service);
        let services = self.guests.iter().flatten().filter(|g| g.service);
        for (slot, g) in out.iter_mut().zip(app.chain(services)) {
            *slot = Some(*g);
            n += 1;
        }
        (out, n)
    }

    /// What every module needs of its partition, measured by the whole setup
    /// (plan, partitions, every module loaded and spawned; no instruction runs)
    /// in `scratch`, a region larger than the device's RAM: the plan gets the
    /// extra bytes, a quarter of them shared by the services' sub-heaps, and
    /// each module's linear memory is cut to its static footprint. Devices and
    /// sinks are not touched. Pass the result to [`Builder::sized_by`].
    pub fn measure(&self, scratch: &'static mut [u8]) -> Result<Footprints<'a>, BuildError<'a>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut parts = Parts::new();
        let (guests, n) = self.ordered();
        let mut cfg = self.plan;
        let extra = scratch.len().saturating_sub(cfg.ram);
        cfg.n_svc = cfg.n_svc.max(guests.iter().flatten().filter(|g| g.service).count());
        cfg.ram = scratch.len();
        cfg.max_service_size = extra / 4 / cfg.n_svc.max(1);
        let a = assemble(
            &mut parts,
            Inputs {
                ram: scratch,
                cfg,
                device_ram: self.plan.ram,
                guests: guests.get(..n).unwrap_or(&[]),
                manifest: self.manifest,
                devices: &mut [],
                console: None,
                console_in: None,
                seed: self.seed,
                cpu_mhz: self.cpu_mhz,
                max_table_elems: self.max_table_elems,
                measured: None,
                probe: true,
            },
        )?;
        // The names are the builder's (the probe's parts are gone when it returns).
        let mut out = Footprints::default();
        for f in a.footprints.as_slice() {
            out.push(*f);
        }
        Ok(out)
    }

    /// Assemble the system in `parts`.
    pub fn build(mut self, parts: &'a mut Parts<'a, 'a>) -> Result<System<'a>, BuildError<'a>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (guests, n) = self.ordered();
        let mut cfg = self.plan;
        cfg.n_svc = cfg.n_svc.max(guests.iter().flatten().filter(|g| g.service).count());
        if let Some(m) = &self.measured {
            // P4: one sub-heap per service, each as large as the largest service needs
            // (FIREBALL.md §3: P4 = max(4 KB, N_svc × MAX_SERVICE_SIZE + 1 KB)).
            let need = m.as_slice().iter().filter(|f| f.service).map(|f| f.peak + SERVICE_HEAP as usize).max().unwrap_or(0);
            cfg.max_service_size = cfg.max_service_size.max(subheap_for(need));
        }
        let time = self.time;
        let log = self.log.take();
        let on_sink = self.on_sink.take();
        let a = assemble(
            parts,
            Inputs {
                ram: self.ram,
                cfg,
                device_ram: cfg.ram,
                guests: guests.get(..n).unwrap_or(&[]),
                manifest: self.manifest,
                devices: &mut self.devices,
                console: self.console,
                console_in: self.console_in,
                seed: self.seed,
                cpu_mhz: self.cpu_mhz,
                max_table_elems: self.max_table_elems,
                measured: self.measured.as_ref(),
                probe: false,
            },
        )?;
        Ok(System::new(a, time, log, on_sink))
    }
}

/// What [`assemble`] works from.
struct Inputs<'a, 'b> {
    ram: &'static mut [u8],
    cfg: Config,
    /// The device's RAM (what errors name; the probe plans for more).
    device_ram: usize,
    guests: &'b [Option<Guest<'a>>],
    manifest: Option<&'a str>,
    devices: &'b mut [Option<(&'a str, &'a mut dyn Device)>],
    console: Option<&'a mut dyn fmt::Write>,
    console_in: Option<&'a mut dyn ConsoleInput>,
    seed: u64,
    cpu_mhz: u32,
    max_table_elems: u32,
    /// What a probe measured, if the build is sized by it.
    measured: Option<&'b Footprints<'a>>,
    /// This is the probe: linear memory cut to the static footprint, no bisection.
    probe: bool,
}

/// A task's interpreter stacks in its coroutine stack (`slot`, one of the plan's
/// `N_coro × STACK`): one frame per 128 bytes of it, the rest value slots.
pub fn thread_limits(slot: &Partition) -> StackLimits {
    // Two blocks, each with an allocator tag and rounding: 64 bytes of slack.
    let cap = slot.capacity().saturating_sub(64);
    let frames = (slot.region_size() / 128).max(4) as u32;
    let value_slots = (cap.saturating_sub(frames as usize * 16) / 8) as u32;
    StackLimits { value_slots, frames }
}

/// The smallest RAM (a whole number of KiB, by the spec's rows) whose plan gives
/// the app `p5` bytes of P5 and P4 `max_service` bytes for each of `n_svc` services.
pub fn ram_for(p5: usize, n_svc: usize, max_service: usize) -> Option<usize> {
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

/// The entry of `module`: `want`, else `_start`, else its only `[] -> []` export.
pub fn entry_of<'a>(
    module: &Module<'a, impl allocator_api2::alloc::Allocator + Clone>,
    want: Option<&'a str>,
) -> Result<&'a str, EntryError<'a>> {
    if let Some(w) = want {
        return Ok(w);
    }
    if module.export("_start").is_some() {
        return Ok("_start");
    }
    let mut names = [None; ENTRY_CANDIDATES];
    let mut count = 0;
    let candidates = module.exports().filter(|(n, k, i)| {
        *k == ExternKind::Func
            && !n.starts_with('_')
            && module.func_type(*i).is_some_and(|t| t.params.is_empty() && t.results.is_empty())
    });
    let mut first = None;
    for (n, ..) in candidates {
        first.get_or_insert(n);
        if let Some(slot) = names.get_mut(count) {
            *slot = Some(n);
        }
        count += 1;
    }
    match (count, first) {
        (1, Some(one)) => Ok(one),
        (0, _) | (_, None) => Err(EntryError::None),
        _ => Err(EntryError::Several { names, count }),
    }
}

/// The import a spawn error is about.
/// Forget an unloaded task in the router (its grants, its parked call). Not when the
/// router is in use by the caller of this: the next spawn's `admit` replaces the entry.
pub(crate) fn dismiss(router: &RefCell<SysRouter<'_>>, t: TaskId) {
    if let Ok(mut r) = router.try_borrow_mut() {
        r.dismiss(t);
    }
}

fn import_of<'a>(module: &Module<'a, &Partition>, e: SpawnError) -> Option<(&'a str, &'a str)> {
    match e {
        SpawnError::UnknownImport { index } | SpawnError::ImportSignature { index } => {
            module.imports().nth(index as usize).map(|(m, n, _)| (m, n))
        }
        _ => None,
    }
}

pub(crate) fn spawn_error<'a>(name: &'a str, module: &Module<'a, &Partition>, error: SpawnError) -> BuildError<'a> {
    BuildError::Spawn { module: name, error, import: import_of(module, error) }
}

/// How one module is started: everything `Kernel::spawn_wasm_with_stack`, the
/// router and the port map need, kept so the restart policy can start it again.
#[derive(Clone, Copy)]
pub(crate) struct Launch<'a> {
    pub(crate) name: &'a str,
    pub(crate) service: bool,
    pub(crate) entry: &'a str,
    pub(crate) heap: &'a Partition,
    pub(crate) stacks: &'a [Option<Partition>; MAX_TASKS],
    pub(crate) limits: HostLimits,
    pub(crate) grants: Grants<'a>,
    pub(crate) restarts: u8,
    pub(crate) ports: [u8; PORTS],
    pub(crate) module: &'a Module<'a, &'a Partition>,
    pub(crate) cmd: &'a CommandLine<'a>,
}

impl<'a> Launch<'a> {
    /// Admit it to the router under the id the kernel will give it, spawn it, wire its ports.
    pub(crate) fn start(&self, kernel: &mut SysKernel<'a>, router: &RefCell<SysRouter<'a>>) -> Result<TaskId, SpawnError> {
        let t = kernel.next_task().ok_or(SpawnError::NoSlot)?;
        let slot = self.stacks.get(usize::from(t)).and_then(Option::as_ref).ok_or(SpawnError::NoSlot)?;
        // (The router in use by its caller: no grants, so the spawn fails closed.)
        if let Ok(mut r) = router.try_borrow_mut() {
            r.admit(t, self.name, self.grants);
            r.set_command_line(t, self.cmd);
        }
        let t = kernel.spawn_wasm_with_stack(self.module, self.entry, self.heap, slot, self.limits, thread_limits(slot))?;
        kernel.bind_ports(t, self.ports);
        Ok(t)
    }
}

/// The whole setup, for the probe (no devices, memory cut to footprints) and the real build.
fn assemble<'a: 'p, 'p>(parts: &'p mut Parts<'a, 'p>, inp: Inputs<'a, '_>) -> Result<Assembly<'a, 'p>, BuildError<'a>> {
    let Parts { memory, stacks, sub_heaps, modules, core, registry, logger, router, slots: slots_out, sinks: sinks_out, footprints: footprints_out } =
        parts;
    let probe = inp.probe;
    let guests = inp.guests;
    if guests.is_empty() {
        return Err(BuildError::NothingToRun);
    }
    #[cfg(feature = "manifest")]
    let manifest = match inp.manifest {
        Some(text) if !text.is_empty() => Some(Manifest::parse(text).map_err(BuildError::Manifest)?),
        _ => None,
    };
    #[cfg(not(feature = "manifest"))]
    let manifest: Option<Manifest<'a>> = inp.manifest.and(None);

    // Memory: the plan's partitions over the caller's RAM.
    let cfg = inp.cfg;
    // (What a smaller or larger device's plan must hold: these services, not as many
    // as this device's row plans for.)
    let n_services = guests.iter().flatten().filter(|g| g.service).count();
    let layout = plan(&cfg).map_err(|error| BuildError::Plan {
        ram: inp.device_ram,
        error,
        service_size: inp.measured.filter(|m| m.as_slice().iter().any(|f| f.service)).map(|_| cfg.max_service_size),
        // With the modules measured, the least RAM whose plan holds the app as well
        // (as `DoesNotFit` finds it below): not merely the `short_by` more, since a
        // larger device's row plans more and larger coroutine stacks.
        fits_in: inp.measured.and_then(|m| {
            let app = m.as_slice().iter().find(|f| !f.service).map_or(0, |f| f.peak + 64 + f.bookkeeping);
            ram_for(app, n_services, cfg.max_service_size)
        }),
    })?;
    let mem: &'p mut Memory = memory.insert(Memory::new(&layout, inp.ram).map_err(BuildError::Memory)?);
    // The coroutine stacks: each task's interpreter stacks (its thread) live in one.
    if let Some(chunks) = mem.take_stacks() {
        for (slot, chunk) in stacks.iter_mut().zip(chunks) {
            let size = chunk.len();
            *slot = Some(Partition::new(PartitionId::Guest, chunk).map_err(|error| BuildError::Stack { size, error })?);
        }
    }
    let mem: &'p Memory = mem;
    let stacks: &'p [Option<Partition>; MAX_TASKS] = stacks;
    let p1 = mem.partition(PartitionId::Kernel);
    let p2 = mem.partition(PartitionId::Runtime);
    let p3 = mem.partition(PartitionId::Subsystems);
    let p4 = mem.partition(PartitionId::Services);
    let p5 = mem.partition(PartitionId::Guest);

    // Sub-heaps: one per service in P4 (the app gets P5).
    let n_services = guests.iter().flatten().filter(|g| g.service).count();
    let svc_heap_size = (p4.capacity() / n_services.max(1)).min(cfg.max_service_size) & !15;
    for (slot, (i, g)) in sub_heaps.iter_mut().zip(guests.iter().flatten().filter(|g| g.service).enumerate()) {
        let sub = p4
            .sub_partition(svc_heap_size, i as u16 + 1)
            .map_err(|error| BuildError::SubHeap { module: g.name, size: svc_heap_size, error })?;
        *slot = Some(sub);
    }
    let sub_heaps: &'p [Option<SubPartition<'p>>; MAX_MODULES] = sub_heaps;
    let heap_of = |k: usize| -> &'p Partition {
        let is_service = guests.get(k).and_then(|g| g.as_ref()).is_some_and(|g| g.service);
        let i = guests.iter().take(k).flatten().filter(|g| g.service).count();
        match sub_heaps.get(i).and_then(Option::as_ref) {
            Some(sub) if is_service => sub,
            _ => p5,
        }
    };
    if inp.probe {
        // Measure each module's need as if no block could grow in place (see
        // `Partition::set_worst_case_grows`): a heap only as large as the need, or
        // laid out otherwise than this roomy one, may have to move a growing vector.
        p5.set_worst_case_grows(true);
        for sub in sub_heaps.iter().flatten() {
            sub.set_worst_case_grows(true);
        }
    }
    let fit_error = |k: usize| -> BuildError<'a> {
        let heap = heap_of(k);
        let g = guests.get(k).copied().flatten().unwrap_or(Guest::app("?", &[]));
        let measured = inp.measured.and_then(|m| m.get(k)).copied();
        // P5 must hold the app plus a little slack for the allocator; `ram_for` compares
        // the plan's region sizes, and a partition holds its region less its allocator's
        // bookkeeping (without it, the suggestion could be the very RAM that failed).
        let bookkeeping = p5.region_size().saturating_sub(p5.capacity());
        let fits_in = measured.filter(|f| !f.service).and_then(|f| ram_for(f.peak + 64 + bookkeeping, n_services, cfg.max_service_size));
        let need = measured.as_ref().map(Need::of);
        BuildError::DoesNotFit {
            module: g.name,
            service: g.service,
            need,
            have: heap.capacity(),
            fits_in,
            ram: inp.device_ram,
        }
    };

    // Modules: every byte of their metadata in their own partition (the bytes stay where they are: flash).
    let mut load_peaks = [0usize; MAX_MODULES];
    for (k, g) in guests.iter().enumerate() {
        let Some(g) = g else { continue };
        let heap = heap_of(k);
        heap.reset_peak();
        // Each loader is its own code (see `Module::new_in`): a firmware links only the
        // ones its features allow (`validate`: packed modules, validated; `plain`: wasm).
        let loaded = match g.image {
            Image::Prevalidated(p) => Module::from_prevalidated_in(p, Features::default(), heap),
            Image::Wasm(b) if cfg!(feature = "validate") && b.starts_with(&fireball_wasm::pack::MAGIC) => {
                Module::from_packed_in(b, Features::default(), heap)
            }
            Image::Wasm(b) if cfg!(feature = "plain") => Module::new_in(b, Features::default(), heap),
            Image::Wasm(_) => return Err(BuildError::NotPacked { module: g.name }),
        };
        let m = loaded.map_err(|e| match e {
            LoadError::OutOfMemory => fit_error(k),
            error => BuildError::Load { module: g.name, error },
        })?;
        if let Some(p) = load_peaks.get_mut(k) {
            *p = heap.stats().peak;
        }
        if let Some(slot) = modules.get_mut(k) {
            *slot = Some(m);
        }
    }
    let modules: &'p [Option<Module<'a, &'p Partition>>; MAX_MODULES] = modules;
    if let Some(measured) = inp.measured {
        // Fail early, with the measured need, rather than half-way through the spawns.
        for k in 0..guests.len() {
            if measured.get(k).is_some_and(|f| f.peak > heap_of(k).capacity()) {
                return Err(fit_error(k));
            }
        }
    }

    // Channels: one per manifest wire (or one sink per module for its ports 0..4 without a manifest).
    let mut ports = [[NO_CHANNEL; PORTS]; MAX_MODULES];
    let mut sinks: [Option<Sink<'a>>; MAX_CHANNELS] = [None; MAX_CHANNELS];
    let mut n_sinks = 0usize;
    let mut n_chan = 0usize;
    let index_of = |p: &PortRef<'_>| guests.iter().position(|g| g.is_some_and(|g| g.name == p.module));
    match &manifest {
        Some(m) => {
            for w in m.wires() {
                let (a, b) = match w {
                    Wire::Connect(a, b) => (a, Some(b)),
                    Wire::Sink(a) => (a, None),
                };
                let c = n_chan;
                if c >= MAX_CHANNELS {
                    return Err(BuildError::TooManyChannels);
                }
                n_chan += 1;
                for p in core::iter::once(a).chain(b) {
                    let i = index_of(&p).ok_or(BuildError::ManifestModule { name: p.module })?;
                    // (The manifest parser bounds the port; the module index is a guest's.)
                    if let Some(port) = ports.get_mut(i).and_then(|ps| ps.get_mut(usize::from(p.port))) {
                        *port = c as u8;
                    }
                }
                if b.is_none() {
                    // (At most one sink per channel, and `c < MAX_CHANNELS`.)
                    if let Some(s) = sinks.get_mut(n_sinks) {
                        *s = Some(Sink { channel: c, module: a.module, port: Some(a.port), count: 0, last: 0 });
                    }
                    n_sinks += 1;
                }
            }
        }
        None => {
            for (i, g) in guests.iter().enumerate() {
                let Some(g) = g else { continue };
                if let Some(ps) = ports.get_mut(i) {
                    for port in ps.iter_mut().take(4) {
                        *port = n_chan as u8;
                    }
                }
                if let Some(s) = sinks.get_mut(n_sinks) {
                    *s = Some(Sink { channel: n_chan, module: g.name, port: None, count: 0, last: 0 });
                }
                n_sinks += 1;
                n_chan += 1;
            }
        }
    }
    // Task slots: the modules and one spare (the plan's N_coro is an upper bound).
    let kcfg = KernelConfig {
        tasks: cfg.n_coro.min(guests.len() + 1),
        channels: CAPACITIES.get(..n_chan).ok_or(BuildError::TooManyChannels)?,
        owned: 32,
        cpu_mhz: inp.cpu_mhz,
    };
    let kernel_core = Core::new_in(&kcfg, p1).map_err(|_| BuildError::KernelTables {
        p1: p1.capacity(),
        tasks: kcfg.tasks,
        channels: n_chan,
    })?;
    let core: &'p RefCell<Core<&'p Partition>> = core.insert(ManuallyDrop::new(RefCell::new(kernel_core)));
    let ctx = Ctx::new(core);

    // Devices, the logger (its ring in P3) and the router.
    for (path, device) in inp.devices.iter_mut().filter_map(Option::take) {
        registry.register(path, device).map_err(|_| BuildError::Device { path })?;
    }
    let ring = ring_in(CAPACITY, p3).map_err(|_| BuildError::LoggerRing)?;
    let logger = logger.insert(Logger::new(ring));
    let router: &'p RefCell<SysRouter<'p>> = router.insert(RefCell::new(Router::new(registry, logger, inp.seed)));
    if let Ok(mut r) = router.try_borrow_mut() {
        if let Some(console) = inp.console {
            r.set_console(console);
        }
        if let Some(input) = inp.console_in {
            r.set_console_input(input);
        }
    }
    let mut kernel: SysKernel<'p> = Kernel::new_in(core, &kcfg, p2).map_err(|_| BuildError::TaskTable)?;
    kernel.set_syscalls(router);
    // Every partition's use before the first spawn: what unloading every task comes back to.
    let baseline = Usage::of(mem, sub_heaps, stacks);

    // Spawn: the app in P5, each service in its own P4 sub-heap.
    let mut slots: [Option<Slot<'p>>; MAX_MODULES] = [None; MAX_MODULES];
    let mut footprints = Footprints::default();
    for (k, g) in guests.iter().enumerate() {
        let (Some(g), Some(module)) = (g, modules.get(k).and_then(Option::as_ref)) else { continue };
        let entry = entry_of(module, g.entry).map_err(|error| BuildError::Entry { module: g.name, error })?;
        let heap = heap_of(k);
        let footprint = u64::from(module.static_footprint().unwrap_or(0));
        // Linear memory: its static footprint, and what the partition can spare past what
        // the module measured it needs (a service: SERVICE_HEAP more at most; the probe: none).
        let max_memory = match (probe, inp.measured.and_then(|m| m.get(k))) {
            (true, _) => footprint,
            (false, Some(f)) => {
                // The probe spawned it with exactly its footprint: what is left past that peak
                // (less a little for allocator rounding) can back more of its memory.
                let spare = heap.capacity().saturating_sub(f.spawn_peak + 64) as u64;
                let spare = if g.service { spare.min(u64::from(SERVICE_HEAP)) } else { spare };
                footprint + spare
            }
            // Unmeasured: a service gets SERVICE_HEAP past its footprint; the app as much of
            // P5 as spawns (sized below).
            (false, None) if g.service => footprint + u64::from(SERVICE_HEAP),
            (false, None) => footprint,
        };
        let fill = !probe && !g.service && inp.measured.and_then(|m| m.get(k)).is_none();
        let mut launch = Launch {
            name: g.name,
            service: g.service,
            entry,
            heap,
            stacks,
            limits: HostLimits { max_memory_bytes: max_memory, max_table_elems: inp.max_table_elems },
            grants: manifest.as_ref().map_or(Grants::ALL, |m| m.grants(g.name)),
            restarts: manifest.as_ref().map_or(0, |m| m.restarts(g.name)),
            ports: ports.get(k).copied().unwrap_or([NO_CHANNEL; PORTS]),
            module,
            cmd: g.cmd,
        };
        heap.reset_peak();
        if fill {
            // The unmeasured app: spawned once with its footprint, which tells what spawning
            // takes besides linear memory; then all that P5 can spare past that backs its
            // memory. (Bisecting from all of P5 instead spawned it ten times, each zeroing
            // up to the whole partition: ~290 000 Cortex-M4 instructions for the sensor
            // example's system, scripts/startup-qemu.sh.)
            // (If even that is refused, the spawn below is refused the same way and says why.)
            let free = heap.free();
            if let Ok(t) = launch.start(&mut kernel, router) {
                let others = free.saturating_sub(heap.free()).saturating_sub(kernel.memory_bytes(t));
                kernel.unload(t);
                dismiss(router, t);
                // A little less than exact, for the allocator's tags and alignment.
                let spare = heap.free().saturating_sub(others + FILL_SLACK) as u64;
                launch.limits.max_memory_bytes = footprint.max(spare);
            }
        }
        // The most memory that still spawns: the spare computed above is exact but for the
        // holes loading may leave in the heap, so on a refusal bisect down towards the footprint.
        let t = match launch.start(&mut kernel, router) {
            Ok(t) => t,
            Err(SpawnError::OutOfMemory) if !probe => {
                let (mut lo, mut hi) = (footprint, launch.limits.max_memory_bytes);
                while hi - lo > 256 {
                    let mid = lo + (hi - lo) / 2;
                    launch.limits.max_memory_bytes = mid;
                    match launch.start(&mut kernel, router) {
                        Ok(t) => {
                            kernel.unload(t);
                            dismiss(router, t);
                            lo = mid;
                        }
                        Err(SpawnError::OutOfMemory) => hi = mid,
                        Err(e) => return Err(spawn_error(g.name, module, e)),
                    }
                }
                launch.limits.max_memory_bytes = lo;
                launch.start(&mut kernel, router).map_err(|e| match e {
                    SpawnError::OutOfMemory => fit_error(k),
                    e => spawn_error(g.name, module, e),
                })?
            }
            Err(SpawnError::OutOfMemory) => return Err(fit_error(k)),
            Err(e) => return Err(spawn_error(g.name, module, e)),
        };
        // The refusals while sizing its memory were the sizing's, not the module's.
        let _ = heap.clear_exhausted();
        let stats = heap.stats();
        let footprint = Footprint {
            name: g.name,
            service: g.service,
            peak: stats.peak.max(load_peaks.get(k).copied().unwrap_or(0)),
            live: stats.allocated,
            spawn_peak: stats.peak,
            metadata: module.metadata_bytes(),
            memory: kernel.memory_bytes(t),
            capacity: stats.capacity,
            bookkeeping: heap.region_size().saturating_sub(stats.capacity),
            packed: module.is_packed(),
            stack: stacks
                .get(usize::from(t))
                .and_then(Option::as_ref)
                .map_or(StackLimits { value_slots: 0, frames: 0 }, thread_limits),
        };
        footprints.push(footprint);
        if let Some(s) = slots.get_mut(k) {
            *s = Some(Slot::new(launch, t, kernel.state(t)));
        }
    }
    *slots_out = slots;
    *sinks_out = sinks;
    *footprints_out = footprints;
    Ok(Assembly {
        baseline,
        kernel,
        router,
        ctx,
        core,
        memory: mem,
        stacks,
        sub_heaps,
        slots: slots_out,
        sinks: sinks_out,
        footprints: footprints_out,
        plan: cfg,
    })
}
