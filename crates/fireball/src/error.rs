//! Errors: [`BuildError`] when a [`Builder`](crate::Builder) cannot assemble
//! the system, [`Fault`] when a module ends at run time. Each says what went
//! wrong, where, and what to change.

use core::fmt;

use fireball_coos::mem::{Exhaustion, PartitionError};
use fireball_coos::plan::PlanError;
use fireball_coos::sched::{self, SpawnError};
use fireball_sys::manifest::ManifestError;
use fireball_wasm::LoadError;

use crate::Footprint;

/// What a probe measured a module needs ([`Footprint`], the figures a
/// [`BuildError::DoesNotFit`] reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Most bytes of its partition in use from loading through spawning.
    pub peak: u32,
    /// Bytes in use once spawned.
    pub live: u32,
    /// Of which the engine's metadata for the module.
    pub metadata: u32,
    /// Of which linear memory.
    pub memory: u32,
    /// Whether it was loaded packed (side table in flash).
    pub packed: bool,
}

impl Need {
    /// The figures of `f`.
    pub fn of(f: &Footprint<'_>) -> Need {
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Need { peak: n(f.peak), live: n(f.live), metadata: n(f.metadata), memory: n(f.memory), packed: f.packed }
    }

    /// Bytes of store, task record and allocator tags: what is neither metadata nor memory.
    pub fn store_and_task(&self) -> u32 {
        self.live.saturating_sub(self.metadata + self.memory)
    }
}

/// Most `[] -> []` exports a [`BuildError::Entry`] lists when a module has several.
pub const ENTRY_CANDIDATES: usize = 4;

/// Why a module has no entry the system can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryError<'a> {
    /// No `_start` and no `[] -> []` export.
    None,
    /// Several `[] -> []` exports and no `_start`: the first few of them, and how many.
    Several {
        /// Up to [`ENTRY_CANDIDATES`] of them, in export order.
        names: [Option<&'a str>; ENTRY_CANDIDATES],
        /// How many there are.
        count: usize,
    },
}

/// Why [`Builder::build`](crate::Builder::build) (or a restart) could not set the system up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError<'a> {
    /// Neither an app nor a service was given.
    NothingToRun,
    /// A second app: one guest app runs at a time (the others can be services).
    TwoApps {
        /// The second app's name.
        name: &'a str,
    },
    /// More modules than the router keeps grants for ([`MAX_MODULES`](crate::MAX_MODULES)).
    TooManyModules,
    /// The HAL registry refused a device: full (16 devices), or the path is taken.
    Device {
        /// The device's path.
        path: &'a str,
    },
    /// The manifest does not parse.
    Manifest(ManifestError),
    /// The manifest wires a port of a module that was not given.
    ManifestModule {
        /// The name the manifest uses.
        name: &'a str,
    },
    /// The manifest wires more channels than [`MAX_CHANNELS`](crate::MAX_CHANNELS).
    TooManyChannels,
    /// The memory plan has no layout for this RAM.
    Plan {
        /// The RAM planned for, in bytes.
        ram: usize,
        /// Why.
        error: PlanError,
        /// The P4 sub-heap size the services' measured need asked for, if that is why.
        service_size: Option<usize>,
        /// The least RAM (whole KiB) whose plan holds the measured modules, if measured.
        fits_in: Option<usize>,
    },
    /// The RAM region does not match the plan (too small, misaligned).
    Memory(PartitionError),
    /// A coroutine stack of the plan is too small to be a partition.
    Stack {
        /// Its size.
        size: usize,
        /// Why.
        error: PartitionError,
    },
    /// P4 could not give a service its sub-heap.
    SubHeap {
        /// The service.
        module: &'a str,
        /// The sub-heap size asked for.
        size: usize,
        /// Why.
        error: PartitionError,
    },
    /// The module's bytes do not load (malformed, invalid, a forged packed side table).
    Load {
        /// The module.
        module: &'a str,
        /// Why.
        error: LoadError,
    },
    /// A module the firmware cannot load: a plain `.wasm` without the facade's feature
    /// `plain`, or any module but a prevalidated one without its feature `validate`.
    NotPacked {
        /// The module.
        module: &'a str,
    },
    /// The module does not fit its partition (P5 for the app, its P4 sub-heap for a service).
    DoesNotFit {
        /// The module.
        module: &'a str,
        /// Whether it is a service.
        service: bool,
        /// What it needs, if a probe measured it ([`Builder::measure`](crate::Builder::measure)).
        need: Option<Need>,
        /// Bytes its partition holds.
        have: usize,
        /// The smallest RAM whose plan would fit it (an app with a measured need), in bytes.
        fits_in: Option<usize>,
        /// The device RAM planned for, in bytes.
        ram: usize,
    },
    /// No entry to start.
    Entry {
        /// The module.
        module: &'a str,
        /// Why.
        error: EntryError<'a>,
    },
    /// P1 cannot hold the kernel's tables.
    KernelTables {
        /// P1's capacity.
        p1: usize,
        /// Task slots asked for.
        tasks: usize,
        /// Channels asked for.
        channels: usize,
    },
    /// P2 cannot hold the task table.
    TaskTable,
    /// P3 cannot hold the logger ring.
    LoggerRing,
    /// The kernel would not spawn the module.
    Spawn {
        /// The module.
        module: &'a str,
        /// Why.
        error: SpawnError,
        /// The import the error is about (`module`, `name`), when it is about one.
        import: Option<(&'a str, &'a str)>,
    },
}

impl fmt::Display for BuildError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BuildError::NothingToRun => f.write_str("nothing to run: give the builder an app or a service"),
            BuildError::TwoApps { name } => {
                write!(f, "{name}: a second app; one guest app runs at a time: make it a service")
            }
            BuildError::TooManyModules => {
                write!(f, "more than {} modules: the router keeps grants for that many", crate::MAX_MODULES)
            }
            BuildError::Device { path } => write!(
                f,
                "device {path}: the HAL registry is full ({} devices) or the path is taken: register fewer, or under another path",
                fireball_sys::hal::DEFAULT_CAPACITY
            ),
            BuildError::Manifest(e) => write!(f, "{e}"),
            BuildError::ManifestModule { name } => write!(f, "manifest: no module named {name}"),
            BuildError::TooManyChannels => write!(
                f,
                "the manifest wires more than {} channels: connect fewer ports",
                crate::MAX_CHANNELS
            ),
            BuildError::Plan { ram, error, service_size, fits_in } => {
                write!(f, "a {ram}-byte plan: {error}")?;
                match service_size {
                    Some(s) => write!(f, " (with P4 sized for the services: {s} B each): give it more RAM, or fewer services")?,
                    None => f.write_str(": give it more RAM, or fewer coroutines (plan::Config::n_coro)")?,
                }
                match fits_in {
                    Some(r) => write!(f, " ({r} B is the least whose plan holds these modules)"),
                    None => Ok(()),
                }
            }
            BuildError::Memory(e) => {
                write!(f, "the RAM region: {e}: give a 16-byte aligned region at least as large as the plan")
            }
            BuildError::Stack { size, error } => {
                write!(f, "a coroutine stack of {size} B: {error}: plan larger stacks (plan::Config::stack)")
            }
            BuildError::SubHeap { module, size, error } => {
                write!(f, "{module}: no P4 sub-heap of {size} B ({error}): give the system more RAM, or fewer services")
            }
            BuildError::Load { module, error } => write!(f, "{module}: {error}"),
            BuildError::NotPacked { module } if cfg!(feature = "validate") => write!(
                f,
                "{module}: not a packed module, and this firmware loads packed modules only: pack it (`fireball pack {module} -o app.fbx`), or build with the facade's feature `plain`"
            ),
            BuildError::NotPacked { module } => write!(
                f,
                "{module}: this firmware loads only modules its build validated (`Guest::prevalidated_app`): pack it in build.rs, or build with the facade's feature `validate`"
            ),
            BuildError::DoesNotFit { module, service, need, have, fits_in, ram } => {
                let place = if service { "its P4 sub-heap" } else { "the guest partition P5" };
                match need {
                    Some(n) => write!(
                        f,
                        "{module}: needs {} B of {place} but it has {have} B on a {} KiB device ({} B module metadata, {} B linear memory, {} B store and task)",
                        n.peak,
                        ram / 1024,
                        n.metadata,
                        n.memory,
                        n.store_and_task()
                    )?,
                    None => write!(f, "{module}: does not fit {place} ({have} B on a {} KiB device)", ram / 1024)?,
                }
                f.write_str(": ")?;
                if let Some(r) = fits_in {
                    write!(f, "plan for {} KiB of RAM, or ", r / 1024)?;
                }
                if need.is_some_and(|n| !n.packed && n.metadata > 0) {
                    f.write_str("pack it (its side table then stays in flash), or ")?;
                }
                f.write_str("link it with a smaller stack or data")
            }
            BuildError::Entry { module, error: EntryError::None } => {
                write!(f, "{module}: no entry: export `_start` or a `[] -> []` function")
            }
            BuildError::Entry { module, error: EntryError::Several { names, count } } => {
                write!(f, "{module}: several possible entries (")?;
                for (i, n) in names.iter().flatten().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(n)?;
                }
                if count > ENTRY_CANDIDATES {
                    write!(f, ", … {count} in all")?;
                }
                f.write_str("): name one with `Guest::entry`")
            }
            BuildError::KernelTables { p1, tasks, channels } => write!(
                f,
                "P1 ({p1} B) cannot hold the kernel's tables for {tasks} tasks and {channels} channels: wire fewer channels, or plan more channels (plan::Config::n_chan)"
            ),
            BuildError::TaskTable => f.write_str("P2 cannot hold the task table: plan a larger P2"),
            BuildError::LoggerRing => f.write_str("P3 cannot hold the logger ring: plan a larger P3"),
            BuildError::Spawn { module, error, import } => write_spawn_error(f, module, error, import),
        }
    }
}

impl BuildError<'_> {
    /// The variant's name, for a firmware that keeps its flash for other things
    /// than error text (the `Display` text of every error is ~8 KB): the same
    /// set-up on the host, `fireball inspect --ram <size> <module>`, prints it whole.
    pub fn kind(&self) -> &'static str {
        match self {
            BuildError::NothingToRun => "NothingToRun",
            BuildError::TwoApps { .. } => "TwoApps",
            BuildError::TooManyModules => "TooManyModules",
            BuildError::Device { .. } => "Device",
            BuildError::Manifest(_) => "Manifest",
            BuildError::ManifestModule { .. } => "ManifestModule",
            BuildError::TooManyChannels => "TooManyChannels",
            BuildError::Plan { .. } => "Plan",
            BuildError::Memory(_) => "Memory",
            BuildError::Stack { .. } => "Stack",
            BuildError::SubHeap { .. } => "SubHeap",
            BuildError::Load { .. } => "Load",
            BuildError::NotPacked { .. } => "NotPacked",
            BuildError::DoesNotFit { .. } => "DoesNotFit",
            BuildError::Entry { .. } => "Entry",
            BuildError::KernelTables { .. } => "KernelTables",
            BuildError::TaskTable => "TaskTable",
            BuildError::LoggerRing => "LoggerRing",
            BuildError::Spawn { .. } => "Spawn",
        }
    }

    /// The module (or device path) the error is about, if it is about one.
    pub fn subject(&self) -> Option<&str> {
        match *self {
            BuildError::TwoApps { name } | BuildError::ManifestModule { name } => Some(name),
            BuildError::Device { path } => Some(path),
            BuildError::SubHeap { module, .. }
            | BuildError::Load { module, .. }
            | BuildError::NotPacked { module }
            | BuildError::DoesNotFit { module, .. }
            | BuildError::Entry { module, .. }
            | BuildError::Spawn { module, .. } => Some(module),
            _ => None,
        }
    }
}

/// Why the kernel would not spawn `module`, in words (a [`BuildError::Spawn`], a failed restart).
pub(crate) fn write_spawn_error(
    f: &mut fmt::Formatter<'_>,
    module: &str,
    error: SpawnError,
    import: Option<(&str, &str)>,
) -> fmt::Result {
    let (m, n) = import.unwrap_or(("?", "?"));
    match error {
        SpawnError::UnknownImport { .. } => write!(
            f,
            "{module}: unknown import {m}.{n} (Fireball provides env.hal_*, env.ch_*, env.buf_*, env.co_yield, env.log_event, env.sys_request, env.sys_read, env.sys_write and WASI preview 1)"
        ),
        SpawnError::ImportSignature { .. } => {
            write!(f, "{module}: import {m}.{n} has the wrong signature (see include/fireball.h)")
        }
        SpawnError::NoSlot => write!(f, "{module}: no free task slot: plan more coroutines"),
        SpawnError::OutOfMemory => write!(f, "{module}: does not fit its partition"),
        SpawnError::Instantiate(e) => write!(f, "{module}: {e}"),
        SpawnError::NoEntry => {
            write!(f, "{module}: the entry is not a `[] -> []` export")
        }
        _ => write!(f, "{module}: cannot spawn"),
    }
}

impl core::error::Error for BuildError<'_> {}

/// A module that ended because of a fault (the others keep running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault<'a> {
    /// The module.
    pub module: &'a str,
    /// Whether it is a service (P4) or the app (P5).
    pub service: bool,
    /// What happened.
    pub cause: sched::Fault,
}

impl Fault<'_> {
    /// What to change so it does not happen again.
    pub fn hint(&self) -> &'static str {
        match self.cause {
            sched::Fault::Trap(_) => "a bug in the guest: the trap names the instruction; fix the guest",
            sched::Fault::Killed => "the system stopped it",
            sched::Fault::BadImport => {
                "the guest misused a kernel import (a channel that is not wired, a closed channel): fix the guest or its manifest"
            }
            sched::Fault::Exhausted(_) => {
                "its partition ran dry: give the system more RAM, or the guest a smaller stack or heap"
            }
        }
    }
}

impl fmt::Display for Fault<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.module, describe_fault(self.cause), self.hint())
    }
}

/// A kernel fault in words: `trap (integer divide by zero)`, `killed`, …
pub fn describe_fault(f: sched::Fault) -> impl fmt::Display {
    struct D(sched::Fault);
    impl fmt::Display for D {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.0 {
                sched::Fault::Trap(code) => write!(f, "trap ({code})"),
                sched::Fault::Killed => f.write_str("killed"),
                sched::Fault::BadImport => f.write_str("broke an import's protocol"),
                sched::Fault::Exhausted(p) => write!(f, "its partition ran out of memory ({p:?})"),
            }
        }
    }
    D(f)
}

/// Why [`System`](crate::System) stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// The instruction budget of [`Limit::Instructions`](crate::Limit) is spent.
    Instructions(u64),
    /// The time of [`Limit::Millis`](crate::Limit) has passed.
    Millis(u64),
    /// The caller's condition ([`System::run_until`](crate::System::run_until)) holds.
    Condition,
    /// Every module returned, exited or was terminated.
    Finished,
    /// Every module waits on something only another module could give, and none can run.
    Blocked,
    /// A task ran dry a partition whose exhaustion the whole system must answer (P1, P2, P6):
    /// on a device, reset.
    Fatal {
        /// The task.
        task: fireball_coos::TaskId,
        /// The policy the spec gives that partition.
        policy: Exhaustion,
    },
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Instructions(n) => write!(f, "{n} instructions reached"),
            Stop::Millis(n) => write!(f, "{n}ms reached"),
            Stop::Condition => f.write_str("condition met"),
            Stop::Finished => f.write_str("every module has finished"),
            Stop::Blocked => f.write_str("every module is blocked: nothing can make progress"),
            Stop::Fatal { .. } => f.write_str("fatal error"),
        }
    }
}
