//! The running system: [`System::step`] is one scheduler slice plus the
//! housekeeping between slices; [`System::run_for`] and [`System::run_until`]
//! loop over it.
//!
//! ```text
//! step ─► Kernel::step (one task, one slice) ─► drain the sinks ─► wake calls a device completed ─► time
//!      ─► drain the logger to its sink ─► P3 ran dry? degrade
//!      ─► a task ended? report it; restart it if the manifest says so
//!      ─► Tick { step, notices, stop }
//! ```

use core::cell::RefCell;
use core::fmt::{self, Write as _};

use fireball_coos::mem::{Memory, Partition, PartitionId, Stats, SubPartition};
use fireball_coos::plan::Config;
use fireball_coos::sched::{self, Core, Counters, Ctx, TaskState};
use fireball_coos::TaskId;
use fireball_sys::router::RouterStats;

use crate::error::{describe_fault, BuildError, Fault, Stop};
use crate::setup::{self, spawn_error, Assembly, Footprint, Footprints, Launch, SysKernel, SysRouter, Time, MAX_TASKS};
use crate::{MAX_CHANNELS, MAX_MODULES};

/// Scheduler steps in a row with nothing ready before the system is declared blocked.
pub const BLOCKED_AFTER: u64 = 10_000;

/// When [`System::run_for`] stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this many wasm instructions (all tasks together).
    Instructions(u64),
    /// After this many milliseconds of the system's time.
    Millis(u64),
}

/// A channel the system drains: a manifest `sink`, or without a manifest a
/// module's ports 0..4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sink<'a> {
    /// The kernel channel.
    pub channel: usize,
    /// The module whose port it is.
    pub module: &'a str,
    /// The port (`None`: ports 0..4, the no-manifest default).
    pub port: Option<u8>,
    /// Messages drained so far.
    pub count: u32,
    /// The last one.
    pub last: u32,
}

/// One module's place in the running system.
#[derive(Clone, Copy)]
pub(crate) struct Slot<'a> {
    launch: Launch<'a>,
    task: TaskId,
    state: TaskState,
    restarted: u8,
}

impl<'a> Slot<'a> {
    pub(crate) fn new(launch: Launch<'a>, task: TaskId, state: TaskState) -> Self {
        Slot { launch, task, state, restarted: 0 }
    }
}

/// How a module ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// A fault terminated it.
    Fault(sched::Fault),
    /// It called `proc_exit` with this status.
    Exited(i32),
    /// Its entry returned.
    Returned,
}

/// Something the system did or saw during a step, worth telling the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// A module ended; the others keep running.
    Ended {
        /// The module.
        module: &'a str,
        /// How.
        how: Ended,
        /// When an out-of-bounds memory trap ended it and its partition backs its
        /// linear memory only in part: (bytes backed, bytes declared), saturated at
        /// 4 GiB (32-bit, so that printing them needs no 64-bit division on a device).
        /// The trap may then be its heap growing past what the device gives it.
        backed: Option<(u32, u32)>,
    },
    /// The manifest's restart policy loaded a faulted module again.
    Restarted {
        /// The module.
        module: &'a str,
        /// This restart's number.
        count: u8,
        /// Restarts allowed.
        of: u8,
    },
    /// A restart failed: the kernel would not spawn the module again.
    RestartFailed {
        /// The module.
        module: &'a str,
        /// Why.
        error: sched::SpawnError,
        /// The import the error is about (`module`, `name`), when it is about one.
        import: Option<(&'a str, &'a str)>,
    },
    /// P3 (subsystems) ran dry: the spec's policy is to degrade, and control continues.
    Degraded,
    /// A task ran dry a partition whose exhaustion is fatal (P1, P2) or critical (P6).
    Fatal {
        /// The task.
        task: TaskId,
        /// The policy.
        policy: fireball_coos::mem::Exhaustion,
    },
}

impl fmt::Display for Notice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Ended { module, how, backed } => {
                write!(f, "[{module}] ")?;
                match how {
                    Ended::Fault(fault) => write!(f, "terminated: {}", describe_fault(*fault))?,
                    Ended::Exited(c) => write!(f, "exited with status {c}")?,
                    Ended::Returned => f.write_str("returned")?,
                }
                if let Some((b, d)) = backed {
                    write!(
                        f,
                        " (its partition backs {b} B of the {d} B of linear memory it declares: if its heap grew past them, give the system more RAM)"
                    )?;
                }
                f.write_str("; the other modules keep running")
            }
            Notice::Restarted { module, count, of } => write!(f, "[{module}] restarted ({count} of {of})"),
            Notice::RestartFailed { module, error, import } => {
                write!(f, "[{module}] cannot restart: ")?;
                crate::error::write_spawn_error(f, module, *error, *import)
            }
            Notice::Degraded => f.write_str("[system] ERROR P3 (subsystems) ran dry: degrading, control continues"),
            Notice::Fatal { task, policy } => {
                write!(f, "fatal: task {task} ran a partition dry whose policy is {policy:?}: a device would reset here")
            }
        }
    }
}

/// Notices one step can produce at most: each module ends and restarts, P3, fatal.
const NOTICES: usize = 2 * MAX_MODULES + 2;

/// What one [`System::step`] did.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    /// The scheduler's step.
    pub step: sched::Step,
    /// Why the system cannot go on, if it cannot (finished, blocked, fatal).
    pub stop: Option<Stop>,
    notices: [Option<Notice<'a>>; NOTICES],
}

impl<'a> Tick<'a> {
    fn new(step: sched::Step) -> Self {
        Tick { step, stop: None, notices: [None; NOTICES] }
    }

    fn push(&mut self, n: Notice<'a>) {
        if let Some(slot) = self.notices.iter_mut().find(|s| s.is_none()) {
            *slot = Some(n);
        }
    }

    /// What happened, in order.
    pub fn notices(&self) -> impl Iterator<Item = &Notice<'a>> + '_ {
        self.notices.iter().flatten()
    }
}

/// Who can end a blocked module's wait on a channel ([`System::waiting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peers<'a> {
    /// A module still running at the channel's other end, or the host draining it as a
    /// sink (or, for a subsystem call, the device, the clock, the input).
    Live,
    /// Every module at the other end has ended (this is the first of them): the wait
    /// lasts for ever, unless one restarts.
    Ended(&'a str),
    /// Nothing is at the other end: the port is wired to no module and no sink.
    Nobody,
}

/// One module, as the system reports it.
#[derive(Debug, Clone, Copy)]
pub struct ModuleInfo<'a> {
    /// Its name.
    pub name: &'a str,
    /// Whether it is a service.
    pub service: bool,
    /// Its task id now (a restart may change it).
    pub task: TaskId,
    /// Its state.
    pub state: TaskState,
    /// Why it was terminated, if it was.
    pub fault: Option<Fault<'a>>,
    /// WASI `proc_exit` status, if it exited.
    pub exit_code: Option<i32>,
    /// Its counters (since its last restart).
    pub counters: Counters,
    /// Longest wait for the CPU (scheduler clock).
    pub worst_wait: u32,
    /// Times the restart policy loaded it again.
    pub restarts: u8,
    /// What it took from its partition when it was first spawned.
    pub footprint: Footprint<'a>,
}

/// The assembled system, running. Made by [`Builder::build`](crate::Builder::build).
pub struct System<'a> {
    baseline: Usage,
    kernel: SysKernel<'a>,
    router: &'a RefCell<SysRouter<'a>>,
    ctx: Ctx<'a, &'a Partition>,
    core: &'a RefCell<Core<&'a Partition>>,
    memory: &'a Memory,
    stacks: &'a [Option<Partition>; MAX_TASKS],
    sub_heaps: &'a [Option<SubPartition<'a>>; MAX_MODULES],
    // In the caller's `Parts`: a `System` is small to move.
    slots: &'a mut [Option<Slot<'a>>; MAX_MODULES],
    sinks: &'a mut [Option<Sink<'a>>; MAX_CHANNELS],
    footprints: &'a Footprints<'a>,
    plan: Config,
    time: Time<'a>,
    on_sink: Option<&'a mut dyn FnMut(usize, u32)>,
    log_dropped: u32,
    idle_ms: u64,
    /// Simulated time an idle jump does not pass ([`System::set_horizon_ms`]).
    horizon_ms: u64,
    idle_run: u64,
}

/// Every partition's bytes in use at one moment: P1..P6, each P4 sub-heap and
/// each coroutine stack, by position (see [`System::partition_use`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    parts: [usize; 6],
    subs: [usize; MAX_MODULES],
    stacks: [usize; MAX_TASKS],
}

impl Usage {
    pub(crate) fn of(memory: &Memory, subs: &[Option<SubPartition<'_>>; MAX_MODULES], stacks: &[Option<Partition>; MAX_TASKS]) -> Usage {
        let mut u = Usage { parts: [0; 6], subs: [0; MAX_MODULES], stacks: [0; MAX_TASKS] };
        for (slot, id) in u.parts.iter_mut().zip(PartitionId::ALL) {
            *slot = memory.partition(id).allocated();
        }
        for (slot, sub) in u.subs.iter_mut().zip(subs) {
            *slot = sub.as_ref().map_or(0, |s| s.allocated());
        }
        for (slot, stack) in u.stacks.iter_mut().zip(stacks) {
            *slot = stack.as_ref().map_or(0, Partition::allocated);
        }
        u
    }
}

impl<'a> System<'a> {
    /// The system [`assemble`](crate::setup) put together, keeping time as `time`.
    pub(crate) fn new(a: Assembly<'a, 'a>, time: Time<'a>, log: Option<&'a mut dyn fmt::Write>, on_sink: Option<&'a mut dyn FnMut(usize, u32)>) -> Self {
        let Assembly { baseline, kernel, router, ctx, core, memory, stacks, sub_heaps, slots, sinks, footprints, plan } = a;
        // The router holds the log sink: it writes the events held before a guest's
        // stdout text, so the two keep their order where they share a stream.
        if let (Some(out), Ok(mut r)) = (log, router.try_borrow_mut()) {
            r.set_log_sink(out);
        }
        System {
            baseline,
            kernel,
            router,
            ctx,
            core,
            memory,
            stacks,
            sub_heaps,
            slots,
            sinks,
            footprints,
            plan,
            time,
            on_sink,
            log_dropped: 0,
            idle_ms: 0,
            horizon_ms: u64::MAX,
            idle_run: 0,
        }
    }

    /// Run the next ready task for one slice, then: drain the sinks, advance
    /// simulated time, drain the logger to its sink, apply P3's degrade policy,
    /// report modules that ended and restart those the manifest says to.
    pub fn step(&mut self) -> Tick<'a> {
        let step = self.kernel.step();
        let mut tick = Tick::new(step);
        let total = self.kernel.instructions();
        let mut drained = false;
        for (k, sink) in self.sinks.iter_mut().flatten().enumerate() {
            while let Ok(v) = self.ctx.try_recv(sink.channel) {
                sink.count += 1;
                sink.last = v;
                if let Some(f) = self.on_sink.as_deref_mut() {
                    f(k, v);
                }
                drained = true;
            }
        }
        // Calls parked in a device (sys_read/sys_write): those that completed wake their task.
        if self.kernel.poll_parked() > 0 {
            drained = true;
        }
        // Nothing ready and nothing drained: time passes (a device would sleep), a
        // millisecond a step, or on simulated time straight towards the next wake-up
        // when tasks sleeping in `poll_oneoff` are all that waits (at most 100 ms a
        // step, so a run's `--for` is not overshot by more).
        let idle = step == sched::Step::Idle && !drained;
        // Blocked means nothing can make progress: not while a call parked in the
        // router (a sleep, a device transfer, a wait for the console input) will end
        // on its own. (Asked only of an idle step: most steps are not.)
        let stuck = idle && !self.router.try_borrow().is_ok_and(|r| r.has_parked_calls());
        if stuck {
            self.idle_run += 1;
        } else {
            self.idle_run = 0;
        }
        match self.time {
            Time::Simulated { time, instructions_per_ms } => {
                let busy = total / instructions_per_ms.max(1);
                if idle {
                    let wake = self.router.try_borrow().ok().and_then(|r| r.sleeping_until_ms());
                    let jump = wake.map_or(1, |t| t.saturating_sub(busy + self.idle_ms).clamp(1, 100));
                    // Not past the horizon (a run that stops there stops on time).
                    self.idle_ms += jump.min(self.horizon_ms.saturating_sub(busy + self.idle_ms).max(1));
                }
                time.advance_to_ms(busy + self.idle_ms);
            }
            Time::Device if idle => self.idle_ms += 1,
            Time::Device => {}
        }
        self.log_dropped += self.router.try_borrow_mut().map_or(0, |mut r| r.drain_log_sink());
        if self.memory.partition(PartitionId::Subsystems).clear_exhausted().is_some() {
            // The spec's P3 policy: degrade; the logger and the HAL go on with what they have.
            tick.push(Notice::Degraded);
        }
        if let sched::Step::Fatal(task, policy) = step {
            tick.push(Notice::Fatal { task, policy });
            tick.stop = Some(Stop::Fatal { task, policy });
            return tick;
        }
        for slot in self.slots.iter_mut().flatten() {
            let t = slot.task;
            let s = self.kernel.state(t);
            // Free: its partition's policy unloaded it (P5) within the step.
            if s != slot.state && matches!(s, TaskState::Terminated | TaskState::Done | TaskState::Free) {
                let st = self.kernel.stats(t);
                let how = match (st.fault, exit_code(self.router, t)) {
                    (Some(f), _) => Ended::Fault(f),
                    (None, Some(c)) => Ended::Exited(c),
                    (None, None) => Ended::Returned,
                };
                let launch = slot.launch;
                let backed = match how {
                    Ended::Fault(sched::Fault::Trap(fireball_wasm::TrapCode::MemoryOutOfBounds)) => partly_backed(&launch),
                    _ => None,
                };
                tick.push(Notice::Ended { module: launch.name, how, backed });
                if st.fault.is_some() && slot.restarted < launch.restarts {
                    // The restart policy: unload it (its memory goes back to its partition),
                    // then load it again, fresh, with the same grants and ports.
                    self.kernel.unload(t);
                    setup::dismiss(self.router, t);
                    match launch.start(&mut self.kernel, self.router) {
                        Ok(t) => {
                            slot.task = t;
                            slot.restarted += 1;
                            tick.push(Notice::Restarted { module: launch.name, count: slot.restarted, of: launch.restarts });
                            slot.state = self.kernel.state(t);
                            continue;
                        }
                        Err(e) => {
                            let import = match spawn_error(launch.name, launch.module, e) {
                                BuildError::Spawn { import, .. } => import,
                                _ => None,
                            };
                            tick.push(Notice::RestartFailed { module: launch.name, error: e, import });
                        }
                    }
                }
            }
            slot.state = s;
        }
        // (Free: its partition's policy unloaded it, P5's for a guest that ran it dry.)
        let finished = self.slots.iter().flatten().all(|s| matches!(s.state, TaskState::Done | TaskState::Terminated | TaskState::Free));
        if step == sched::Step::Idle && finished {
            tick.stop = Some(Stop::Finished);
        } else if self.idle_run > BLOCKED_AFTER {
            tick.stop = Some(Stop::Blocked);
        }
        tick
    }

    /// Whether `limit` has been reached: the [`Stop`] it means if so.
    pub fn reached(&self, limit: Limit) -> Option<Stop> {
        match limit {
            Limit::Instructions(n) if self.instructions() >= n => Some(Stop::Instructions(n)),
            Limit::Millis(n) if self.millis() >= n => Some(Stop::Millis(n)),
            _ => None,
        }
    }

    /// Step until `limit`, or until the system cannot go on. Each step's
    /// notices go to the log sink, as lines.
    pub fn run_for(&mut self, limit: Limit) -> Stop {
        if let Limit::Millis(n) = limit {
            self.set_horizon_ms(n);
        }
        self.run_checked(|s| s.reached(limit))
    }

    /// On simulated time, an idle system (every task asleep) moves straight towards
    /// the next wake-up, up to 100 ms a step: not past `ms` now, so a run that stops
    /// at `ms` ([`System::reached`]) stops there, not up to 100 ms later.
    pub fn set_horizon_ms(&mut self, ms: u64) {
        self.horizon_ms = ms;
    }

    /// Step until `done` holds (checked before every step), or until the
    /// system cannot go on. Each step's notices go to the log sink, as lines.
    pub fn run_until(&mut self, mut done: impl FnMut(&Self) -> bool) -> Stop {
        self.run_checked(|s| done(s).then_some(Stop::Condition))
    }

    fn run_checked(&mut self, mut check: impl FnMut(&Self) -> Option<Stop>) -> Stop {
        loop {
            if let Some(stop) = check(self) {
                return stop;
            }
            let tick = self.step();
            if let Ok(mut r) = self.router.try_borrow_mut() {
                for n in tick.notices() {
                    r.log_line(format_args!("{n}"));
                }
            }
            if let Some(stop) = tick.stop {
                return stop;
            }
        }
    }

    /// Wasm instructions executed, all tasks together.
    pub fn instructions(&self) -> u64 {
        self.kernel.instructions()
    }

    /// The system's time in milliseconds: simulated time, or the HAL clock's.
    pub fn millis(&self) -> u64 {
        match self.time {
            Time::Simulated { instructions_per_ms, .. } => self.instructions() / instructions_per_ms.max(1) + self.idle_ms,
            Time::Device => self.router.try_borrow_mut().map_or(0, |mut r| u64::from(r.now_ms())),
        }
    }

    /// Counters summed over every task ever run.
    pub fn totals(&self) -> Counters {
        self.kernel.totals()
    }

    /// The router's counters (calls, denials, malformed messages).
    pub fn router_stats(&self) -> RouterStats {
        self.router.try_borrow().map(|r| r.stats()).unwrap_or_default()
    }

    /// Logger events lost: overwritten in the ring before a drain (including
    /// the ones still counted in the ring now).
    pub fn log_dropped(&self) -> u32 {
        self.log_dropped + self.router.try_borrow_mut().map_or(0, |mut r| r.logger().dropped())
    }

    /// How many of `module`'s `memory.grow`s its partition refused, with the bytes of
    /// linear memory it has and the most its partition backs: `None` if none was. A
    /// refused grow ends many programs (Rust's allocator aborts through `unreachable`;
    /// a C program may not check `malloc`), so a tool explaining a trap asks this
    /// while the module is still loaded (until a restart or unload).
    pub fn memory_refusals(&self, module: &str) -> Option<(u32, u64, u64)> {
        let (store, launch) = self.module_store(module)?;
        let m = store.instance_memory(fireball_wasm::Instance(0), 0)?;
        let refused = store.memory_refused_grows(m);
        let bytes = store.memory_data(m).map_or(0, <[u8]>::len) as u64;
        (refused > 0).then_some((refused, bytes, launch.limits.max_memory_bytes))
    }

    /// `module`'s store (its one instance is `Instance(0)`), while it is loaded: for a
    /// tool that reads a guest's state after a trap (its memory, its globals).
    pub fn store_of(&self, module: &str) -> Option<&fireball_wasm::Store<'a, &'a Partition, &'a Partition>> {
        self.module_store(module).map(|(store, _)| store)
    }

    /// Where `module` is in its code, innermost call first, while it is loaded (after
    /// a trap, until a restart or unload: where it trapped). Each frame is the
    /// function's index in the module, its name (from the module's name section, else
    /// an export's), and an offset in the module's bytes (what wasm tools and, less the
    /// code section's start, DWARF line tables use): the instruction's for the innermost
    /// frame, for a caller one inside its call instruction (the return address less
    /// one, as native backtraces give).
    pub fn backtrace(&self, module: &str) -> impl Iterator<Item = (u32, Option<&'a str>, u32)> + '_ {
        let slot = self.slots.iter().flatten().find(|s| s.launch.name == module);
        let task = slot.and_then(|s| self.kernel.wasm_task(s.task));
        task.into_iter().flat_map(|(thread, store)| {
            thread.backtrace().enumerate().filter_map(move |(k, (f, pc))| {
                let (m, idx) = store.func_origin(f)?;
                let export = || m.exports().find(|&(_, kind, i)| kind == fireball_wasm::ExternKind::Func && i == idx).map(|(n, ..)| n);
                Some((idx, m.func_name(idx).or_else(export), if k == 0 { pc } else { pc.saturating_sub(1) }))
            })
        })
    }

    /// What `module` is blocked in, if it is parked in an import, and for a channel
    /// operation who can end the wait: a module at the channel's other end still
    /// running (or the host, draining a sink), all of them ended, or nobody.
    pub fn waiting(&self, module: &str) -> Option<(sched::Wait, Peers<'a>)> {
        let slot = self.slots.iter().flatten().find(|s| s.launch.name == module)?;
        let wait = self.kernel.waiting(slot.task)?;
        let (sched::Wait::Send(port) | sched::Wait::Recv(port)) = wait else { return Some((wait, Peers::Live)) };
        let ch = usize::try_from(port).ok().and_then(|p| slot.launch.ports.get(p)).copied().filter(|&c| c != fireball_coos::sched::NO_CHANNEL);
        let Some(ch) = ch else { return Some((wait, Peers::Nobody)) };
        if self.sinks.iter().flatten().any(|k| k.channel == usize::from(ch)) {
            return Some((wait, Peers::Live));
        }
        let mut ended = None;
        for other in self.slots.iter().flatten().filter(|o| o.task != slot.task && o.launch.ports.contains(&ch)) {
            match self.kernel.state(other.task) {
                TaskState::Done | TaskState::Terminated | TaskState::Free => {
                    ended.get_or_insert(other.launch.name);
                }
                _ => return Some((wait, Peers::Live)),
            }
        }
        Some((wait, ended.map_or(Peers::Nobody, Peers::Ended)))
    }

    fn module_store(&self, module: &str) -> Option<(&fireball_wasm::Store<'a, &'a Partition, &'a Partition>, &Launch<'a>)> {
        let slot = self.slots.iter().flatten().find(|s| s.launch.name == module)?;
        let (_, store) = self.kernel.wasm_task(slot.task)?;
        Some((store, &slot.launch))
    }

    /// Bytes of the kernel's tables (in P1).
    pub fn kernel_ram(&self) -> usize {
        self.core.try_borrow().map_or(0, |c| c.ram_bytes())
    }

    /// The modules, app first, then services in order.
    pub fn modules(&self) -> impl Iterator<Item = ModuleInfo<'a>> + '_ {
        self.slots.iter().flatten().enumerate().map(|(k, slot)| {
            let t = slot.task;
            let st = self.kernel.stats(t);
            let launch = slot.launch;
            ModuleInfo {
                name: launch.name,
                service: launch.service,
                task: t,
                state: self.kernel.state(t),
                fault: st.fault.map(|cause| Fault { module: launch.name, service: launch.service, cause }),
                exit_code: exit_code(self.router, t),
                counters: st.counters,
                worst_wait: st.worst_wait,
                restarts: slot.restarted,
                footprint: self.footprints.as_slice().get(k).copied().unwrap_or_default(),
            }
        })
    }

    /// What each module took from its partition when it was spawned (app first).
    pub fn footprints(&self) -> &[Footprint<'a>] {
        self.footprints.as_slice()
    }

    /// The drained channels, in the order they were wired.
    pub fn sinks(&self) -> impl Iterator<Item = &Sink<'a>> + '_ {
        self.sinks.iter().flatten()
    }

    /// The memory plan the system was built with.
    pub fn plan(&self) -> &Config {
        &self.plan
    }

    /// The partitions P1..P6.
    pub fn memory(&self) -> &'a Memory {
        self.memory
    }

    /// The partition table: P1..P6, each service's P4 sub-heap and each module's
    /// coroutine stack, with size, use, peak, allocations, failures and fragmentation.
    pub fn partition_table(&self) -> PartitionTable<'_, 'a> {
        PartitionTable { system: self }
    }

    /// Every partition's bytes in use now next to what they were once every module
    /// was loaded, before the first spawn: `f(label, baseline, now)` for P1..P6, each
    /// service's P4 sub-heap and each module's coroutine stack. After
    /// [`System::unload_all`] the two are equal unless something leaked.
    pub fn partition_use(&self, mut f: impl FnMut(fmt::Arguments<'_>, usize, usize)) {
        let now = Usage::of(self.memory, self.sub_heaps, self.stacks);
        for (k, id) in PartitionId::ALL.into_iter().enumerate() {
            f(format_args!("{id:?}"), self.baseline.parts[k], now.parts[k]);
        }
        let services = self.slots.iter().flatten().filter(|s| s.launch.service);
        let subs = self.sub_heaps.iter().enumerate().filter(|(_, s)| s.is_some());
        for ((k, _), slot) in subs.zip(services) {
            f(format_args!("P4 {}", slot.launch.name), self.baseline.subs[k], now.subs[k]);
        }
        for slot in self.slots.iter().flatten() {
            let t = usize::from(slot.task);
            if let (Some(b), Some(n)) = (self.baseline.stacks.get(t), now.stacks.get(t)) {
                f(format_args!("stack {}", slot.launch.name), *b, *n);
            }
        }
    }

    /// Unload every module's task (as a restart does): its store, thread and
    /// memory go back to its partitions. The system runs nothing after this.
    pub fn unload_all(&mut self) {
        for slot in self.slots.iter_mut().flatten() {
            self.kernel.unload(slot.task);
        }
    }

    /// The kernel, for what the facade does not cover (native tasks, channels).
    pub fn kernel(&mut self) -> &mut SysKernel<'a> {
        &mut self.kernel
    }

    /// The kernel, read only.
    pub fn kernel_ref(&self) -> &SysKernel<'a> {
        &self.kernel
    }

    /// The router (and through it the HAL registry and the logger), between steps.
    pub fn router(&self) -> &'a RefCell<SysRouter<'a>> {
        self.router
    }
}

/// [`System::partition_table`], as text lines.
pub struct PartitionTable<'s, 'a> {
    system: &'s System<'a>,
}

impl PartitionTable<'_, '_> {
    /// Every row: its label and the partition's statistics.
    pub fn for_each_row(&self, mut f: impl FnMut(fmt::Arguments<'_>, Stats)) {
        let sys = self.system;
        for id in PartitionId::ALL {
            f(format_args!("{id:?}"), sys.memory.partition(id).stats());
        }
        let services = sys.slots.iter().flatten().filter(|s| s.launch.service);
        for (sub, slot) in sys.sub_heaps.iter().flatten().zip(services) {
            f(format_args!("  P4 {}", slot.launch.name), sub.stats());
        }
        for slot in sys.slots.iter().flatten() {
            if let Some(stack) = sys.stacks.get(usize::from(slot.task)).and_then(Option::as_ref) {
                f(format_args!("  stack {}", slot.launch.name), stack.stats());
            }
        }
    }
}

/// A label padded like a string: written into a small buffer first.
struct Label<'x>(fmt::Arguments<'x>);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Buf { bytes: [0; 64], len: 0 };
        let _ = buf.write_fmt(self.0);
        f.pad(buf.as_str())
    }
}

struct Buf {
    bytes: [u8; 64],
    len: usize,
}

impl Buf {
    fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..self.len).unwrap_or(&[]);
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            // Cut inside a character: keep the valid prefix.
            Err(e) => bytes.get(..e.valid_up_to()).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or(""),
        }
    }
}

impl fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let free = self.bytes.get_mut(self.len..).unwrap_or(&mut []);
        let n = s.len().min(free.len());
        for (d, &b) in free.iter_mut().zip(s.as_bytes()) {
            *d = b;
        }
        self.len += n;
        Ok(())
    }
}

impl fmt::Display for PartitionTable<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<14} {:>8} {:>9} {:>8} {:>7} {:>7} {:>5}", "partition", "size", "allocated", "peak", "allocs", "fails", "frag")?;
        let mut r = Ok(());
        self.for_each_row(|label, s| {
            if r.is_ok() {
                r = writeln!(
                    f,
                    "{:<14} {:>8} {:>9} {:>8} {:>7} {:>7} {:>4}%",
                    Label(label),
                    s.capacity,
                    s.allocated,
                    s.peak,
                    s.allocs,
                    s.fails,
                    s.fragmentation
                );
            }
        });
        r
    }
}

/// (bytes backed, bytes declared) of `launch`'s first memory, if it declares more
/// initial memory than its limit lets the engine back.
fn partly_backed(launch: &crate::setup::Launch<'_>) -> Option<(u32, u32)> {
    let m = launch.module.memories().first()?;
    let declared = m.limits.min.checked_shl(u32::from(m.page_size_log2))?;
    let backed = launch.limits.max_memory_bytes;
    let narrow = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
    (backed < declared).then_some((narrow(backed), narrow(declared)))
}

/// Task `t`'s exit code, if it called `proc_exit` (none while the router is in use).
fn exit_code(router: &RefCell<SysRouter<'_>>, t: TaskId) -> Option<i32> {
    router.try_borrow().ok().and_then(|r| r.exit_code(t))
}

#[cfg(test)]
mod tests {
    /// The debugger takes the `System` by value and hands it back at every step
    /// (`fireball_sys::gdb::Debugger::after_step`), and embedders move it out of
    /// `Builder::build`: its tables live in `Parts`, so a move is a few hundred
    /// bytes (3.3 KB on x86-64 when they were inline), not kilobytes.
    #[test]
    fn a_system_is_small_to_move() {
        let words = core::mem::size_of::<super::System<'static>>() / core::mem::size_of::<usize>();
        assert!(words <= 64, "System is {words} words: keep its tables in Parts");
    }
}
