//! co_sched: the cooperative scheduler. plan → mem → **sched** ⇄ chan / own.
//!
//! One round-robin loop runs two kinds of task:
//! - a **wasm task**: a module instance with its own store and thread, both in
//!   its own partition, resumed with fuel = `YIELD_INTERVAL` (the automatic
//!   yield: a guest in `while (1) {}` gets one slice, then the next task runs);
//!   its kernel imports (`ch_send`, `ch_recv`, `co_yield`, `buf_*`) leave the
//!   interpreter as host calls, which the kernel serves or parks; the channel
//!   numbers it names are its own ports, mapped to kernel channels per task
//!   (`bind_ports`); every other import goes to the [`Syscalls`] object the
//!   system installed (the subsystems' router), resolved by name at spawn;
//! - a **native task**: a Rust future (the subsystems are written this way),
//!   polled once per turn, which blocks only on kernel primitives (`Ctx`).
//!
//! Both block on the same channels (`chan`), so a wasm guest and a native
//! service can ping-pong. The ready queue is an intrusive list through the
//! tasks' links: O(1) push and pop.
//!
//! A wasm task lives in its own partition (a service's sub-heap in P4, the
//! guest's in P5). When it runs that partition dry, the scheduler applies the
//! spec's table to that task alone: P4 → the service is terminated, P5 → the
//! guest is terminated and unloaded (its memory returns to P5), P3 → degrade
//! (the task runs on with what it has), P1/P2/P6 → `Step::Fatal` for the
//! system to answer; every other task keeps running.
//!
//! ```text
//!              spawn                 pick (O(1))
//!   Free ───────────────► Ready ───────────────► Running
//!                          ▲  ▲                    │ │ │
//!        wake (completion) │  └─ slice spent/yield ┘ │ │ trap, kill, partition policy
//!                          │                         │ ▼
//!                       Blocked ◄── park on chan ────┘ Terminated ── unload ──► Free
//!                                                    │
//!                                            returns ▼
//!                                                   Done ──────────── unload ──► Free
//! ```

use core::cell::{Ref, RefCell, RefMut};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;

use fireball_wasm::{
    Exit, Extern, FuncAddr, FuncType, HostLimits, ImportDesc, Instance, MemoryAddr, Module, OutOfMemory, StackLimits,
    Store, Thread, ValType, Value,
};

use crate::mem::{Exhaustion, Partition};
use crate::chan::{Channels, Completion, Link, List, Message, Progress, Tagged, TryRecvError, TrySendError, Wake};
use crate::own::{Handle, OwnError, Registry};
use crate::TaskId;

/// Where a task is in its life (see the module diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum TaskState {
    /// Slot unused.
    #[default]
    Free,
    /// In the ready queue.
    Ready,
    /// Being run.
    Running,
    /// Waiting on a channel.
    Blocked,
    /// Returned.
    Done,
    /// Stopped by a trap, a kill or its partition's exhaustion policy; its resources
    /// (ownership entries, channel waits) are released, its memory stays until `unload`.
    Terminated,
}

/// Why a task was terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The guest trapped (the thread keeps the offset and backtrace).
    Trap(fireball_wasm::TrapCode),
    /// The kernel stopped it (`Kernel::terminate`), for example its partition ran dry.
    Killed,
    /// A kernel import was misused (unknown channel, a channel closed under a blocked `ch_send`).
    BadImport,
    /// Its partition ran dry; the value is the policy the spec gives that partition.
    Exhausted(Exhaustion),
}

/// A task's memory as the scheduler sees it: whether it ran dry, and so what
/// the spec's exhaustion table says to do with the task.
pub trait Policy {
    /// The exhaustion policy triggered since the last check, if any (and clear it).
    fn take_exhausted(&self) -> Option<Exhaustion>;
}

impl Policy for allocator_api2::alloc::Global {
    fn take_exhausted(&self) -> Option<Exhaustion> {
        None
    }
}

impl Policy for &Partition {
    fn take_exhausted(&self) -> Option<Exhaustion> {
        self.clear_exhausted()
    }
}

/// The imports a wasm task may call beyond the kernel's own: the subsystems
/// (HAL, logger, WASI…) behind the IPC router, which checks each module's grants.
///
/// The kernel asks [`Syscalls::resolve`] for every import it does not serve
/// itself when it spawns a task, and forwards each call to [`Syscalls::call`]
/// with the task's linear memory. An import nobody resolves fails the spawn
/// with the import's index, so the loader can name it.
pub trait Syscalls {
    /// Bind import `module.name` of type `ty` for `task`: an id passed back to [`Syscalls::call`].
    fn resolve(&mut self, task: TaskId, module: &str, name: &str, ty: FuncType<'_>) -> Result<u32, Refused>;
    /// Serve call `id` (from [`Syscalls::resolve`]) made by `task` with `args` (raw
    /// value slots); `memory` is the task's linear memory (empty if it has none).
    fn call(&mut self, task: TaskId, id: u32, args: &[u64], memory: &mut [u8]) -> SysAction;
    /// The kernel refused `task` a channel operation on `port` (not in its port map).
    fn denied_port(&mut self, task: TaskId, port: i32) {
        let _ = (task, port);
    }
    /// A call that answered [`SysAction::Park`]: `Some(action)` once it completed
    /// (the kernel answers the guest with it and makes the task ready), `None`
    /// while it is in progress. `memory` is the task's linear memory (where a
    /// read's bytes go). [`Kernel::poll_parked`] asks, once per parked task.
    fn poll(&mut self, task: TaskId, memory: &mut [u8]) -> Option<SysAction> {
        let _ = (task, memory);
        None
    }
    /// The task parked in a call is gone (terminated, unloaded): abandon the call.
    fn cancel(&mut self, task: TaskId) {
        let _ = task;
    }
}

/// Why [`Syscalls::resolve`] would not bind an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No subsystem provides it.
    Unknown,
    /// It exists with another signature.
    Signature,
}

/// What the kernel does after a [`Syscalls::call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysAction {
    /// Return this value (or none, for a `void` import) and go on.
    Return(Option<Value>),
    /// Return the value, then end the task's slice.
    ReturnAndYield(Option<Value>),
    /// The task asked to end (WASI `proc_exit`): it is Done. The status is the
    /// subsystems' to keep (the kernel's per-task record stays at 32 bytes).
    Exit,
    /// The call broke the protocol: terminate the task ([`Fault::BadImport`]).
    Fault,
    /// The call goes on without the task (a device completes it later): park the
    /// task — the others run — until [`Syscalls::poll`] answers. `lend` is a range
    /// of the task's linear memory (`ptr`, `len`) the device works on meanwhile:
    /// the kernel registers it in the ownership table as lent, and reclaims it
    /// when the call completes or the task dies.
    Park {
        /// The guest buffer lent to the device, if any.
        lend: Option<(u32, u32)>,
    },
}

/// Channel ports a wasm task may name in `ch_*`/`buf_*` calls (0..PORTS).
pub const PORTS: usize = 8;

/// A port with no channel behind it: operations on it are refused.
pub const NO_CHANNEL: u8 = 0xff;

/// Import ids at or above this are the subsystems' ([`Syscalls`]).
const SYS_BASE: u32 = 0x100;

/// What a parked call returns when it cannot be parked (the HAL's `Busy`).
const BUSY: i32 = -6;

/// Counters kept per task and in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Wasm instructions executed.
    pub instructions: u64,
    /// Times the task was switched in.
    pub switches: u32,
    /// Slices ended by the automatic yield or a voluntary yield.
    pub yields: u32,
    /// Channel operations completed.
    pub chan_ops: u32,
}

impl Counters {
    /// The sum of two sets of counters (wrapping, as the counters do).
    fn plus(&self, o: &Counters) -> Counters {
        Counters {
            instructions: self.instructions.wrapping_add(o.instructions),
            switches: self.switches.wrapping_add(o.switches),
            yields: self.yields.wrapping_add(o.yields),
            chan_ops: self.chan_ops.wrapping_add(o.chan_ops),
        }
    }
}

/// How a parked operation ended, as kept in a task's record (the message is in its link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
enum Inbox {
    #[default]
    Empty,
    Sent,
    Received,
    Closed,
}

/// The scheduler's record of one task: its state and its statistics side by side, so
/// a switch reaches both through one index. With its [`Link`] this is the whole
/// per-task overhead (40 bytes, 26 of them statistics); stacks, store and module live
/// in the task's partition.
///
/// The statistics are flat here, not a [`TaskStats`] (built on demand): nested, the
/// counters' and the stats' padding made 40 bytes, and a multiply by 40 costs a switch
/// two instructions per look-up where 32 takes a shifted add. `worst_wait` and
/// `ready_since` side by side: a switch reads both in one `ldrd` on a Cortex-M.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct TaskRecord {
    instructions: u64,
    switches: u32,
    yields: u32,
    chan_ops: u32,
    worst_wait: u32,
    /// When the task last became ready (scheduler clock, wrapping).
    ready_since: u32,
    fault: Option<Fault>,
    /// Lifecycle state.
    pub state: TaskState,
    inbox: Inbox,
}

impl TaskRecord {
    /// Its counters.
    fn counters(&self) -> Counters {
        Counters { instructions: self.instructions, switches: self.switches, yields: self.yields, chan_ops: self.chan_ops }
    }

    /// What it has done (kept after it ends, until its slot is reused).
    fn stats(&self) -> TaskStats {
        TaskStats { counters: self.counters(), worst_wait: self.worst_wait, fault: self.fault }
    }

    /// A fresh record with `old`'s statistics and the rest as new.
    fn keeping(old: &TaskRecord) -> TaskRecord {
        TaskRecord {
            instructions: old.instructions,
            switches: old.switches,
            yields: old.yields,
            chan_ops: old.chan_ops,
            worst_wait: old.worst_wait,
            fault: old.fault,
            ..TaskRecord::default()
        }
    }
}

/// What a task has done, and how long it ever waited for the CPU.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskStats {
    /// Its counters.
    pub counters: Counters,
    /// Longest time from ready to running (scheduler clock units).
    pub worst_wait: u32,
    /// Why it was terminated, if it was.
    pub fault: Option<Fault>,
}

/// No task (`Core::current` between runs): past every task table.
const NOBODY: TaskId = TaskId::MAX;

/// The state native tasks and the scheduler share: channels, ownership table,
/// ready queue and task records. It lives in the kernel partition (P1).
pub struct Core<A: Allocator + Clone> {
    chans: Channels<A>,
    own: Registry<A>,
    links: Vec<Link, A>,
    records: Vec<TaskRecord, A>,
    ready: List,
    /// The task whose turn it is, which a native channel operation is counted to;
    /// [`NOBODY`] between runs (the host's own operations count to no task).
    current: TaskId,
    /// Scheduler clock: wasm instructions executed plus one per native poll
    /// (wrapping; only differences of it are read: the waits for the CPU).
    now: u32,
    /// Counters of the tasks whose slots were reused since (the others' are in their records).
    retired: Counters,
}

/// Sizes the kernel is built for (from the memory plan).
#[derive(Debug, Clone, Copy)]
pub struct KernelConfig {
    /// Most tasks alive at once (N_coro, at most 254).
    pub tasks: usize,
    /// Channel capacities; channel `i` buffers `channels[i]` messages (0: rendezvous).
    pub channels: &'static [usize],
    /// Ownership-table entries (64 by default).
    pub owned: usize,
    /// CPU clock in MHz: the automatic yield is `fireball_wasm::yield_interval(cpu_mhz)` instructions.
    pub cpu_mhz: u32,
}

/// Channels of the default configuration: 16 rendezvous channels (N_chan = 16).
pub const DEFAULT_CHANNELS: &[usize] = &[0; 16];

impl Default for KernelConfig {
    /// The spec's defaults: 8 coroutines, 16 channels, 64 ownership entries, 100 MHz.
    fn default() -> Self {
        KernelConfig { tasks: 8, channels: DEFAULT_CHANNELS, owned: 64, cpu_mhz: 100 }
    }
}

fn filled<T: Clone, A: Allocator>(n: usize, x: T, alloc: A) -> Result<Vec<T, A>, OutOfMemory> {
    let mut v = Vec::new_in(alloc);
    v.try_reserve_exact(n).map_err(|_| OutOfMemory)?;
    v.resize(n, x);
    Ok(v)
}

impl<A: Allocator + Clone> Core<A> {
    /// The kernel's shared state, allocated once from `alloc`.
    pub fn new_in(cfg: &KernelConfig, alloc: A) -> Result<Self, OutOfMemory> {
        let tasks = cfg.tasks.min(crate::NIL as usize - 1);
        Ok(Core {
            chans: Channels::new_in(cfg.channels, alloc.clone())?,
            own: Registry::new_in(cfg.owned, alloc.clone())?,
            links: filled(tasks, Link::default(), alloc.clone())?,
            records: filled(tasks, TaskRecord::default(), alloc)?,
            ready: List::default(),
            current: NOBODY,
            now: 0,
            retired: Counters::default(),
        })
    }

    /// Bytes of RAM the kernel state holds: task records and links, statistics,
    /// channel headers and message pool, the ownership table (and live buffers).
    pub fn ram_bytes(&self) -> usize {
        core::mem::size_of::<Self>()
            + self.chans.ram_bytes()
            + self.own.ram_bytes()
            + self.links.capacity() * core::mem::size_of::<Link>()
            + self.records.capacity() * core::mem::size_of::<TaskRecord>()
    }

    /// Close channel `ch`: its waiters are woken with an error.
    pub fn close(&mut self, ch: usize) {
        self.chans.close(ch);
        while let Some(t) = self.chans.take_waiter(ch, &mut self.links) {
            self.wake(Wake { task: t, completion: Completion::Closed });
        }
    }

    fn wake(&mut self, w: Wake) {
        let Core { links, records, ready, now, .. } = self;
        deliver(records, links, ready, *now, w);
    }

    /// Task `t`'s channel operation completed; `woke` is the task it completed for the other side.
    fn completed(&mut self, t: TaskId, woke: Option<Wake>) {
        if let Some(w) = woke {
            self.wake(w);
        }
        self.count_op(t);
    }

    /// A message native code received: its value. Native code owns no buffers, so a
    /// buffer handle it receives (a guest's `buf_send` to a native task, or to a sink
    /// the host drains) is released here; otherwise it would stay in flight, its entry
    /// and bytes lost to everyone, for good.
    fn native_value(&mut self, m: Tagged) -> Message {
        if m.handle {
            let _ = self.own.release_in_flight(Handle(m.msg));
        }
        m.msg
    }

    /// Task `t`'s state (an id past the table: nothing; every caller has a live task's).
    fn set_state(&mut self, t: TaskId, state: TaskState) {
        if let Some(r) = self.records.get_mut(t as usize) {
            r.state = state;
        }
    }

    /// Task `t`'s inbox, emptied.
    fn take_inbox(&mut self, t: TaskId) -> Inbox {
        self.records.get_mut(t as usize).map(|r| core::mem::take(&mut r.inbox)).unwrap_or_default()
    }

    /// Task `t` executed `ran` more wasm instructions: the clock and its counter.
    #[inline(always)]
    fn account(&mut self, t: TaskId, ran: u64) {
        self.now = self.now.wrapping_add(ran as u32);
        if let Some(r) = self.records.get_mut(t as usize) {
            r.instructions = r.instructions.wrapping_add(ran);
        }
    }

    fn count_op(&mut self, t: TaskId) {
        if let Some(r) = self.records.get_mut(t as usize) {
            r.chan_ops += 1;
        }
    }

    /// Task `t`'s turn is over (`done`: its body returned), after `ran` wasm
    /// instructions not counted yet (the clock's and the task's; one look-up of its
    /// record for both). Still running means its slice was spent or it yielded: it
    /// goes to the back of the ready queue, which the caller does (`Core::finish`, or
    /// `List::push_pop` in `Core::finish_pick`). Its state now, and whether to queue it.
    #[inline(always)]
    fn close_turn(&mut self, t: TaskId, done: bool, ran: u64) -> (TaskState, bool) {
        self.now = self.now.wrapping_add(ran as u32);
        let now = self.now;
        let Some(r) = self.records.get_mut(t as usize) else { return (TaskState::Free, false) };
        r.instructions = r.instructions.wrapping_add(ran);
        if done {
            r.state = TaskState::Done;
        } else if r.state == TaskState::Running {
            r.state = TaskState::Ready;
            r.ready_since = now;
            r.yields += 1;
            return (TaskState::Ready, true);
        }
        (r.state, false)
    }
}

/// Deliver a completion to a parked task and make it ready.
fn deliver(records: &mut [TaskRecord], links: &mut [Link], ready: &mut List, now: u32, w: Wake) {
    let Some(r) = records.get_mut(w.task as usize) else { return };
    r.inbox = match w.completion {
        Completion::Sent => Inbox::Sent,
        Completion::Closed => Inbox::Closed,
        Completion::Received(m) => {
            if let Some(l) = links.get_mut(w.task as usize) {
                l.msg = m.msg;
                l.handle = m.handle;
            }
            Inbox::Received
        }
    };
    if r.state == TaskState::Blocked {
        r.state = TaskState::Ready;
        r.ready_since = now;
        ready.push(links, w.task);
    }
}

/// What a blocked wasm task waits for ([`Kernel::waiting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// In `ch_send` or `buf_send` on this port: for room, or a receiver.
    Send(i32),
    /// In `ch_recv` or `buf_recv` on this port: for a message.
    Recv(i32),
    /// In a subsystem call: a device transfer, a sleep, the console input.
    Syscall,
}

/// The kernel imports a guest sees in module `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Import {
    /// `void ch_send(int ch, int value)`: blocks while the channel is full.
    ChSend = 1,
    /// `void ch_recv(int ch, int *value)`: blocks until a message arrives.
    ChRecv,
    /// `void co_yield(void)`: end this slice.
    Yield,
    /// `int buf_create(const void *data, int len)`: copy a buffer into the kernel, get its handle.
    BufCreate,
    /// `int buf_send(int ch, int handle)`: move the buffer to whoever receives it (0, or an error < 0).
    BufSend,
    /// `int buf_recv(int ch)`: receive a buffer handle (blocks).
    BufRecv,
    /// `int buf_read(int handle, void *dst, int cap)`: copy an owned buffer out; its length, or < 0.
    BufRead,
    /// `int buf_release(int handle)`: 0, or < 0.
    BufRelease,
    /// Not a guest import: the task is parked in a subsystem call ([`SysAction::Park`]).
    Syscall = 0xff,
}

const IMPORTS: [(&str, Import, &[ValType], &[ValType]); 8] = {
    use ValType::I32;
    [
        ("ch_send", Import::ChSend, &[I32, I32], &[]),
        ("ch_recv", Import::ChRecv, &[I32, I32], &[]),
        ("co_yield", Import::Yield, &[], &[]),
        ("buf_create", Import::BufCreate, &[I32, I32], &[I32]),
        ("buf_send", Import::BufSend, &[I32, I32], &[I32]),
        ("buf_recv", Import::BufRecv, &[I32], &[I32]),
        ("buf_read", Import::BufRead, &[I32, I32, I32], &[I32]),
        ("buf_release", Import::BufRelease, &[I32], &[I32]),
    ]
};

/// Whether the kernel itself serves import `module.name` (`env.ch_send`, …).
pub fn provides(module: &str, name: &str) -> bool {
    module == "env" && IMPORTS.iter().any(|(n, ..)| *n == name)
}

/// A wasm task's instance and interpreter state, allocated in its own partition.
pub struct WasmTask<'m, P: Allocator + Clone, M: Allocator + Clone> {
    partition: P,
    store: Store<'m, P, M>,
    thread: Thread<P>,
    memory: Option<MemoryAddr>,
    /// The kernel import the thread is parked in.
    parked: Option<Import>,
    /// The kernel channel behind each of the task's ports ([`NO_CHANNEL`]: refused).
    ports: [u8; PORTS],
    /// The ownership entry of the buffer lent to a device while parked in a syscall.
    lent: Option<Handle>,
    /// The calls that follow the running one, in order: the entry (and a reactor's
    /// `_initialize`) after a start function or `_initialize` that stopped at spawn at a
    /// host call or a trap (see `spawn_wasm_with_stack`).
    then: [Option<FuncAddr>; 2],
}

/// A task slot's body. 16 bytes on a 32-bit target (12 would do): a switch finds the
/// slot with one shifted add instead of a multiply by 12 (three instructions on a
/// Cortex-M), for 4 bytes a task. (24 bytes on a 64-bit host, where the multiply is two
/// cheap instructions: left as it is.)
#[cfg_attr(target_pointer_width = "32", repr(align(16)))]
enum Body<'k, 'm, P: Allocator + Clone, M: Allocator + Clone> {
    Empty,
    Wasm(Box<WasmTask<'m, P, M>, P>),
    Native(Pin<&'k mut (dyn Future<Output = ()> + 'k)>),
}

/// Why a task could not be spawned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpawnError {
    /// Every task slot is in use.
    NoSlot,
    /// The task's partition could not hold its store, thread or record.
    OutOfMemory,
    /// The module imports something neither the kernel nor the subsystems provide: import number `index`.
    UnknownImport {
        /// Index in the module's import section.
        index: u32,
    },
    /// Import number `index` exists, but with another signature.
    ImportSignature {
        /// Index in the module's import section.
        index: u32,
    },
    /// Instantiation failed otherwise (type mismatch, segment out of bounds).
    Instantiate(fireball_wasm::InstantiateError),
    /// No exported function with the entry name and type `[] -> []`.
    NoEntry,
}

/// What one scheduling step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Task ran; it is now in this state.
    Ran(TaskId, TaskState),
    /// Nothing is ready.
    Idle,
    /// A task's partition is one whose exhaustion the whole system must answer
    /// (P1/P2: fatal, reset; P6: critical). The task is terminated; the caller decides the rest.
    Fatal(TaskId, Exhaustion),
    /// A wasm task stopped for a debugger before the instruction at this offset of its
    /// module (`Exit::Breakpoint`: a breakpoint or a finished single step). It is Ready;
    /// nothing runs until the caller steps the kernel again.
    Stopped(TaskId, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    Continue,
    Yield,
    Parked,
    Fault,
}

/// The kernel's state, borrowed for one operation; `None` if it is borrowed already.
///
/// Each borrow of [`Core`] lasts a statement or a block and ends before the kernel
/// calls out (a native task's poll, the interpreter, a subsystem), and a native task
/// borrows it only inside one [`Ctx`] call. `None` therefore means code the kernel
/// called re-entered it in the middle of an operation (a [`Syscalls`] or future that
/// holds a [`Ctx`] and a borrow at once). The kernel answers it as it answers its other
/// cases that cannot happen: the operation does nothing, or reports a fault, an empty
/// channel, an idle step. Never a panic, which on a device stops every module.
#[inline(always)]
fn lock<A: Allocator + Clone>(core: &RefCell<Core<A>>) -> Option<RefMut<'_, Core<A>>> {
    core.try_borrow_mut().ok()
}

/// [`lock`] for reading.
#[inline(always)]
fn view<A: Allocator + Clone>(core: &RefCell<Core<A>>) -> Option<Ref<'_, Core<A>>> {
    core.try_borrow().ok()
}

/// Change the kernel's state in one step: `f`'s result, or `R::default()` if the
/// state is borrowed already (see [`lock`]).
#[inline(always)]
fn with<A: Allocator + Clone, R: Default>(core: &RefCell<Core<A>>, f: impl FnOnce(&mut Core<A>) -> R) -> R {
    lock(core).map(|mut c| f(&mut c)).unwrap_or_default()
}

/// The scheduler: task bodies here, shared state in [`Core`].
pub struct Kernel<'k, 'm, A: Allocator + Clone, P: Allocator + Clone + Policy, M: Allocator + Clone> {
    bodies: Vec<Body<'k, 'm, P, M>, A>,
    k: Sched<'k, A>,
}

impl<'k, 'm, A: Allocator + Clone + Policy, P: Allocator + Clone + Policy, M: Allocator + Clone> Kernel<'k, 'm, A, P, M> {
    /// A kernel over `core` (which native tasks share through [`Ctx`]); its table of
    /// task bodies (a pointer each) is allocated from `alloc`.
    pub fn new_in(core: &'k RefCell<Core<A>>, cfg: &KernelConfig, alloc: A) -> Result<Self, OutOfMemory> {
        let tasks = view(core).map_or(0, |c| c.records.len());
        let mut bodies = Vec::new_in(alloc);
        bodies.try_reserve_exact(tasks).map_err(|_| OutOfMemory)?;
        for _ in 0..tasks {
            // (Room reserved just above: `push_within_capacity` has no growth path to panic in.)
            if bodies.push_within_capacity(Body::Empty).is_err() {
                return Err(OutOfMemory);
            }
        }
        let k = Sched { core, slice: fireball_wasm::yield_interval(cfg.cpu_mhz), sys: None, stopped: None };
        Ok(Kernel { bodies, k })
    }

    /// The handle native tasks use to reach channels and the ownership table.
    pub fn ctx(&self) -> Ctx<'k, A> {
        Ctx { core: self.k.core }
    }

    /// Serve every import beyond the kernel's own through `sys` (tasks spawned from now on).
    pub fn set_syscalls(&mut self, sys: &'k RefCell<dyn Syscalls + 'k>) {
        self.k.sys = Some(sys);
    }

    /// Map task `t`'s ports to kernel channels: port `p` is channel `ports[p]`,
    /// [`NO_CHANNEL`] refuses it. A new task's ports are the identity (port `p` is channel `p`).
    pub fn bind_ports(&mut self, t: TaskId, ports: [u8; PORTS]) -> bool {
        match self.bodies.get_mut(t as usize) {
            Some(Body::Wasm(w)) => {
                w.ports = ports;
                true
            }
            _ => false,
        }
    }

    /// Instructions per slice (the automatic-yield interval).
    pub fn slice(&self) -> u64 {
        self.k.slice
    }

    /// The id the next spawn will get (to admit the module to the router first).
    pub fn next_task(&self) -> Option<TaskId> {
        self.free_slot().ok()
    }

    fn free_slot(&self) -> Result<TaskId, SpawnError> {
        let core = view(self.k.core).ok_or(SpawnError::NoSlot)?;
        core.records.iter().position(|r| r.state == TaskState::Free).map(|i| i as TaskId).ok_or(SpawnError::NoSlot)
    }

    fn make_ready(&self, t: TaskId) {
        let Some(mut core) = lock(self.k.core) else { return };
        let now = core.now;
        let Core { records, links, ready, retired, .. } = &mut *core;
        // The slot's last task leaves the totals' live part: keep its counts.
        let Some(r) = records.get_mut(t as usize) else { return };
        *retired = retired.plus(&r.counters());
        *r = TaskRecord { state: TaskState::Ready, inbox: Inbox::Empty, ready_since: now, ..TaskRecord::default() };
        ready.push(links, t);
    }

    /// Spawn a wasm task: instantiate `module` in a store and thread allocated from
    /// `partition`, binding its `env` imports to the kernel, and start `entry` (`[] -> []`).
    pub fn spawn_wasm(
        &mut self,
        module: &'m Module<'m, M>,
        entry: &str,
        partition: P,
        limits: HostLimits,
        stack: StackLimits,
    ) -> Result<TaskId, SpawnError> {
        self.spawn_wasm_with_stack(module, entry, partition.clone(), partition, limits, stack)
    }

    /// [`Kernel::spawn_wasm`] with the interpreter's stacks (the thread) allocated from
    /// `stack_alloc` — the task's coroutine stack in the memory plan — and everything
    /// else (store, instance, linear memory, the task record) from `partition`.
    pub fn spawn_wasm_with_stack(
        &mut self,
        module: &'m Module<'m, M>,
        entry: &str,
        partition: P,
        stack_alloc: P,
        limits: HostLimits,
        stack: StackLimits,
    ) -> Result<TaskId, SpawnError> {
        let t = self.free_slot()?;
        let mut store = Store::new_in(limits, partition.clone());
        // One host function per function import, registered in import order: the
        // kernel's own (`env.ch_*`, `buf_*`, `co_yield`), the rest resolved by the subsystems.
        let n_imports = module.imports().count();
        store
            .reserve_funcs(module.imported_func_count() as usize + module.bodies().len())
            .map_err(|_| SpawnError::OutOfMemory)?;
        let mut bound: Vec<Option<FuncAddr>, P> = Vec::new_in(partition.clone());
        bound.try_reserve_exact(n_imports).map_err(|_| SpawnError::OutOfMemory)?;
        let mut func_index = 0u32;
        for (index, (m, n, desc)) in module.imports().enumerate() {
            let index = index as u32;
            let mut f = None;
            if let ImportDesc::Func(_) = desc {
                let kernel = if m == "env" { IMPORTS.iter().find(|(name, ..)| *name == n) } else { None };
                f = Some(match kernel {
                    Some((_, id, params, results)) => {
                        store.host_func(params, results, *id as u32).map_err(|_| SpawnError::OutOfMemory)?
                    }
                    None => {
                        let ty = module.func_type(func_index).ok_or(SpawnError::UnknownImport { index })?;
                        let sys = self.k.sys.ok_or(SpawnError::UnknownImport { index })?;
                        // (A subsystem busy in a call it made into the kernel resolves nothing.)
                        let resolved = sys.try_borrow_mut().map_or(Err(Refused::Unknown), |mut s| s.resolve(t, m, n, ty));
                        let id = resolved.map_err(|r| match r {
                            Refused::Unknown => SpawnError::UnknownImport { index },
                            Refused::Signature => SpawnError::ImportSignature { index },
                        })?;
                        let id = id.checked_add(SYS_BASE).ok_or(SpawnError::UnknownImport { index })?;
                        store.host_func(ty.params, ty.results, id).map_err(|_| SpawnError::OutOfMemory)?
                    }
                });
                func_index += 1;
            }
            // (Room for every import reserved above: no growth path to panic in.)
            if bound.push_within_capacity(f).is_err() {
                return Err(SpawnError::OutOfMemory);
            }
        }
        let mut next = 0usize;
        let inst = store.instantiate(module, |_, _, _| {
            let f = bound.get(next).copied().flatten();
            next += 1;
            f.map(Extern::Func)
        });
        drop(bound);
        let inst: Instance = match inst {
            Ok(i) => i,
            Err(fireball_wasm::InstantiateError::UnknownImport { index }) => return Err(SpawnError::UnknownImport { index }),
            Err(fireball_wasm::InstantiateError::IncompatibleImport { index }) => {
                return Err(SpawnError::ImportSignature { index })
            }
            Err(fireball_wasm::InstantiateError::OutOfMemory) => return Err(SpawnError::OutOfMemory),
            Err(e) => return Err(SpawnError::Instantiate(e)),
        };
        let void = |f: FuncAddr| {
            let ty = store.func_type(f);
            ty.params.is_empty() && ty.results.is_empty()
        };
        let f = store.export_func(inst, entry).filter(|&f| void(f)).ok_or(SpawnError::NoEntry)?;
        let mut thread = Thread::new_in(stack, stack_alloc).map_err(|_| SpawnError::OutOfMemory)?;
        // The module's start function, then a WASI reactor's `_initialize` (when the entry
        // is not `_start`, which calls the constructors itself), then the entry. The first
        // two run here, at spawn, as far as they go without a host call: what they allocate
        // (a C++ plugin's global maps and strings) is then part of what spawning takes,
        // which the facade's probe measures. At their first host call (a constructor that
        // prints, wasi-libc finding its preopened directories) or trap they stop, and the
        // task goes on from there in its own slices: resuming a thread stopped at a host
        // call returns that call again, which the kernel serves, and a trapped one its
        // trap, the task's fault with its backtrace. The calls still to come are invoked
        // each when the one before returns (`WasmTask::then`, `Sched::slice_ended`).
        let init = store.export_func(inst, "_initialize").filter(|&i| entry != "_start" && void(i));
        let inits = [store.start_func(inst), init];
        let mut stopped = None;
        for (i, g) in inits.iter().enumerate() {
            let Some(g) = *g else { continue };
            thread.invoke(&store, g, &[]).map_err(|_| SpawnError::NoEntry)?;
            if thread.resume(&mut store, u64::MAX) != Exit::Done {
                stopped = Some(i);
                break;
            }
        }
        let then = match stopped {
            Some(i) => {
                let mut rest = inits.iter().skip(i + 1).flatten().copied().chain(Some(f));
                [rest.next(), rest.next()]
            }
            None => {
                thread.invoke(&store, f, &[]).map_err(|_| SpawnError::NoEntry)?;
                [None, None]
            }
        };
        let memory = store.instance_memory(inst, 0);
        let mut ports = [NO_CHANNEL; PORTS];
        for (p, c) in ports.iter_mut().enumerate() {
            *c = p as u8;
        }
        let task = WasmTask { partition: partition.clone(), store, thread, memory, parked: None, ports, lent: None, then };
        let body = Box::try_new_in(task, partition).map_err(|_| SpawnError::OutOfMemory)?;
        *self.bodies.get_mut(t as usize).ok_or(SpawnError::NoSlot)? = Body::Wasm(body);
        self.make_ready(t);
        Ok(t)
    }

    /// Spawn a native task (a future the caller keeps pinned for the kernel's lifetime).
    pub fn spawn_native(&mut self, fut: Pin<&'k mut (dyn Future<Output = ()> + 'k)>) -> Result<TaskId, SpawnError> {
        let t = self.free_slot()?;
        *self.bodies.get_mut(t as usize).ok_or(SpawnError::NoSlot)? = Body::Native(fut);
        self.make_ready(t);
        Ok(t)
    }

    /// Bytes of linear memory (memory 0) a wasm task has backed; 0 for a native task or none.
    pub fn memory_bytes(&self, t: TaskId) -> usize {
        match self.bodies.get(t as usize) {
            Some(Body::Wasm(w)) => w.memory.and_then(|m| w.store.memory_data(m)).map_or(0, <[u8]>::len),
            _ => 0,
        }
    }

    /// Task slots (task ids are `0..task_slots()`).
    pub fn task_slots(&self) -> usize {
        self.bodies.len()
    }

    /// A wasm task's interpreter thread and store (a debugger's view of it), while it
    /// is not running: between steps, and after it ended until it is unloaded.
    pub fn wasm_task(&self, t: TaskId) -> Option<(&Thread<P>, &Store<'m, P, M>)> {
        match self.bodies.get(t as usize) {
            Some(Body::Wasm(w)) => Some((&w.thread, &w.store)),
            _ => None,
        }
    }

    /// What wasm task `t` is blocked in, if it is parked in an import: a channel
    /// operation on one of its ports (as the guest named it), or a subsystem call.
    pub fn waiting(&self, t: TaskId) -> Option<Wait> {
        let Some(Body::Wasm(w)) = self.bodies.get(t as usize) else { return None };
        let port = || w.thread.host_args_raw().first().map_or(-1, |&v| v as u32 as i32);
        match w.parked? {
            Import::ChSend | Import::BufSend => Some(Wait::Send(port())),
            Import::ChRecv | Import::BufRecv => Some(Wait::Recv(port())),
            Import::Syscall => Some(Wait::Syscall),
            _ => None,
        }
    }

    /// [`Kernel::wasm_task`], with the thread writable (to set breakpoints or a step).
    pub fn wasm_task_mut(&mut self, t: TaskId) -> Option<(&mut Thread<P>, &Store<'m, P, M>)> {
        match self.bodies.get_mut(t as usize) {
            Some(Body::Wasm(w)) => {
                let WasmTask { thread, store, .. } = &mut **w;
                Some((thread, &*store))
            }
            _ => None,
        }
    }

    /// A task's state.
    pub fn state(&self, t: TaskId) -> TaskState {
        view(self.k.core).and_then(|c| c.records.get(t as usize).map(|r| r.state)).unwrap_or_default()
    }

    /// A task's counters, worst wait and fault.
    pub fn stats(&self, t: TaskId) -> TaskStats {
        view(self.k.core).and_then(|c| c.records.get(t as usize).map(TaskRecord::stats)).unwrap_or_default()
    }

    /// Wasm instructions executed by every task ever run (`totals().instructions`,
    /// summing one field: the system reads it after every step for its clock).
    pub fn instructions(&self) -> u64 {
        let Some(core) = view(self.k.core) else { return 0 };
        core.records.iter().fold(core.retired.instructions, |sum, r| sum.wrapping_add(r.instructions))
    }

    /// Counters summed over every task ever run.
    pub fn totals(&self) -> Counters {
        let Some(core) = view(self.k.core) else { return Counters::default() };
        core.records.iter().fold(core.retired, |sum, r| sum.plus(&r.counters()))
    }

    /// Stop a task now: it is Terminated, its channel waits and owned buffers are released.
    /// Its memory stays (for inspection) until [`Kernel::unload`].
    pub fn terminate(&mut self, t: TaskId, fault: Fault) {
        let w = match self.bodies.get_mut(t as usize) {
            Some(Body::Wasm(w)) => Some(&mut **w),
            _ => None,
        };
        self.k.terminate(t, w, fault);
    }

    /// Free a finished or terminated task's slot and everything it allocated
    /// (its store, thread and stacks go back to its partition).
    pub fn unload(&mut self, t: TaskId) -> bool {
        match self.state(t) {
            TaskState::Free => return false,
            TaskState::Done | TaskState::Terminated => {}
            _ => self.terminate(t, Fault::Killed),
        }
        if let Some(b) = self.bodies.get_mut(t as usize) {
            *b = Body::Empty;
        }
        let Some(mut core) = lock(self.k.core) else { return false };
        core.own.release_all(t);
        // Its counters stay (`stats`, `totals`) until the slot is reused.
        if let Some(r) = core.records.get_mut(t as usize) {
            *r = TaskRecord::keeping(r);
        }
        true
    }

    /// Ask the subsystems about every task parked in a call ([`SysAction::Park`]):
    /// each one that completed gets its answer, its lent buffer back, and is
    /// ready again. Returns how many woke. The system calls it between steps.
    pub fn poll_parked(&mut self) -> usize {
        let Some(sys) = self.k.sys else { return 0 };
        let mut woke = 0;
        for t in 0..self.bodies.len() {
            let Some(Body::Wasm(w)) = self.bodies.get_mut(t) else { continue };
            if w.parked != Some(Import::Syscall) {
                continue;
            }
            let action = {
                let memory = match w.memory.and_then(|m| w.store.memory_data_mut(m)) {
                    Some(m) => m,
                    None => &mut [],
                };
                sys.try_borrow_mut().ok().and_then(|mut s| s.poll(t as TaskId, memory))
            };
            let Some(action) = action else { continue };
            w.parked = None;
            if let Some(h) = w.lent.take() {
                // The device is done with it: the entry goes back to the task, which drops it.
                with(self.k.core, |c| {
                    let _ = c.own.give_back(h, t as TaskId).and_then(|()| c.own.release(h, t as TaskId));
                });
            }
            let served = match action {
                SysAction::Return(v) | SysAction::ReturnAndYield(v) => {
                    let r = match v {
                        Some(v) => w.thread.host_return_raw(&[v.to_bits()]),
                        None => w.thread.host_return_void(),
                    };
                    if r.is_ok() {
                        Served::Continue
                    } else {
                        Served::Fault
                    }
                }
                SysAction::Exit => {
                    with(self.k.core, |c| c.set_state(t as TaskId, TaskState::Done));
                    continue;
                }
                SysAction::Fault | SysAction::Park { .. } => Served::Fault,
            };
            if served == Served::Fault {
                self.terminate(t as TaskId, Fault::BadImport);
                continue;
            }
            let Some(mut core) = lock(self.k.core) else { continue };
            let now = core.now;
            let Core { records, links, ready, .. } = &mut *core;
            if let Some(r) = records.get_mut(t).filter(|r| r.state == TaskState::Blocked) {
                r.state = TaskState::Ready;
                r.ready_since = now;
                ready.push(links, t as TaskId);
                woke += 1;
            }
        }
        woke
    }

    /// Buffers lent to devices now (ownership entries of parked calls).
    pub fn lent(&self) -> usize {
        view(self.k.core).map_or(0, |c| c.own.lent())
    }

    /// Run tasks until nothing is ready or `max_steps` slices have run; returns the steps taken.
    ///
    /// The same steps as [`Kernel::step`], but one borrow of the core ends a turn and
    /// picks the next task: a switch acquires and releases the core twice, not three
    /// times, and reloads the ready queue once.
    pub fn run(&mut self, max_steps: usize) -> usize {
        // One context for every native poll of the run (no waker: the kernel polls
        // whatever is ready, and a native task is made ready by the kernel's state).
        let mut cx = Context::from_waker(Waker::noop());
        if max_steps == 0 {
            return 0;
        }
        let Some(mut t) = lock(self.k.core).and_then(|mut c| c.pick()) else { return 0 };
        let mut left = max_steps;
        loop {
            let turn = self.turn(t, &mut cx);
            left -= 1;
            // Borrowed already (see `lock`): the turn cannot end; `step` would be idle next.
            let Some(mut core) = lock(self.k.core) else { return max_steps - left };
            match core.finish_pick(t, turn, left == 0) {
                Some(next) => t = next,
                None => return max_steps - left,
            }
        }
    }

    /// Run the next ready task for one slice (O(1) pick). The body runs where it
    /// lies in the table: nothing is moved out and back per switch.
    pub fn step(&mut self) -> Step {
        let Some(t) = lock(self.k.core).and_then(|mut c| c.pick()) else { return Step::Idle };
        let turn = self.turn(t, &mut Context::from_waker(Waker::noop()));
        match lock(self.k.core) {
            Some(mut core) => core.finish(t, turn),
            None => Step::Ran(t, TaskState::Running),
        }
    }

    /// Task `t`'s turn, picked and Running: one poll of a native task, one slice of a
    /// wasm task. What is left of its end is [`Core::finish`]'s, in the caller's borrow.
    #[inline(always)]
    fn turn(&mut self, t: TaskId, cx: &mut Context<'_>) -> Turn {
        let (mut ran, exhausted) = match self.bodies.get_mut(t as usize) {
            Some(Body::Native(f)) => {
                // One poll; a native task has no partition to run dry and no breakpoint.
                return Turn::Native { done: f.as_mut().poll(cx).is_ready() };
            }
            Some(Body::Wasm(w)) => (self.k.run_wasm(t, w), w.partition.take_exhausted()),
            _ => {
                self.k.terminate::<P, M>(t, None, Fault::Killed);
                (0, None)
            }
        };
        match exhausted {
            // The spec's exhaustion table, applied to the task whose partition ran dry.
            None | Some(Exhaustion::Degrade) => {}
            Some(policy) => {
                // The slice's instructions are the task's, whatever happens to its slot now.
                with(self.k.core, |c| c.account(t, ran));
                ran = 0;
                self.terminate(t, Fault::Exhausted(policy));
                match policy {
                    Exhaustion::UnloadGuest => {
                        self.unload(t);
                    }
                    Exhaustion::Fatal | Exhaustion::Critical => return Turn::Over(Step::Fatal(t, policy)),
                    _ => {}
                }
            }
        }
        // The slice's instructions are counted with the end of its turn: one borrow of the core.
        Turn::Wasm { ran, stopped: self.k.stopped.take() }
    }
}

/// How a task's turn ended, for the borrow of the core that ends it.
#[derive(Debug, Clone, Copy)]
enum Turn {
    /// A native task was polled; `done`: its future completed.
    Native { done: bool },
    /// A wasm slice ran `ran` instructions not counted yet, and stopped at a breakpoint or not.
    Wasm { ran: u64, stopped: Option<u32> },
    /// Nothing left to do: the step's result.
    Over(Step),
}

impl<A: Allocator + Clone> Core<A> {
    /// Take the next ready task and make it Running (O(1)).
    #[inline(always)]
    fn pick(&mut self) -> Option<TaskId> {
        let Core { ready, links, .. } = self;
        let t = ready.pop(links)?;
        self.start(t)
    }

    /// Make `t`, just taken off the ready queue, the Running task.
    #[inline(always)]
    fn start(&mut self, t: TaskId) -> Option<TaskId> {
        let now = self.now;
        let r = self.records.get_mut(t as usize)?;
        r.state = TaskState::Running;
        r.worst_wait = r.worst_wait.max(now.wrapping_sub(r.ready_since));
        r.switches += 1;
        self.current = t;
        Some(t)
    }

    /// [`Core::finish`] then [`Core::pick`], the result of the step aside (`Kernel::run`),
    /// or only the finish when this is the `last` step: a task still running goes to the
    /// back of the queue and the head comes off in one step ([`List::push_pop`]), which
    /// with one other task ready touches no link.
    #[inline(always)]
    fn finish_pick(&mut self, t: TaskId, turn: Turn, last: bool) -> Option<TaskId> {
        let (_, queue) = self.end(t, turn);
        let Core { ready, links, .. } = self;
        if last {
            if queue {
                ready.push(links, t);
            }
            self.current = NOBODY;
            return None;
        }
        let next = if queue { ready.push_pop(links, t) } else { ready.pop(links) };
        match next {
            Some(next) => self.start(next),
            None => {
                self.current = NOBODY;
                None
            }
        }
    }

    /// End task `t`'s turn: the step's result.
    #[inline(always)]
    fn finish(&mut self, t: TaskId, turn: Turn) -> Step {
        let (step, queue) = self.end(t, turn);
        if queue {
            let Core { ready, links, .. } = self;
            ready.push(links, t);
        }
        self.current = NOBODY;
        step
    }

    /// End task `t`'s turn but for the queueing: the step's result, and whether `t`
    /// goes to the back of the ready queue (the caller queues it).
    #[inline(always)]
    fn end(&mut self, t: TaskId, turn: Turn) -> (Step, bool) {
        match turn {
            Turn::Native { done } => {
                // A native poll advances the clock by one.
                self.now = self.now.wrapping_add(1);
                let (state, queue) = self.close_turn(t, done, 0);
                (Step::Ran(t, state), queue)
            }
            Turn::Wasm { ran, stopped } => {
                let (state, queue) = self.close_turn(t, false, ran);
                let step = match stopped {
                    Some(offset) => Step::Stopped(t, offset),
                    None => Step::Ran(t, state),
                };
                (step, queue)
            }
            Turn::Over(step) => (step, false),
        }
    }
}

/// The scheduler's state apart from the task bodies, so a body runs in place while
/// the scheduler serves it.
struct Sched<'k, A: Allocator + Clone> {
    core: &'k RefCell<Core<A>>,
    slice: u64,
    sys: Option<&'k RefCell<dyn Syscalls + 'k>>,
    /// Set by a wasm task's slice that ended at `Exit::Breakpoint` (its offset).
    stopped: Option<u32>,
}

impl<'k, A: Allocator + Clone + Policy> Sched<'k, A> {
    /// [`Kernel::terminate`], given the task's body (`None` for a native task).
    fn terminate<P: Allocator + Clone, M: Allocator + Clone>(&mut self, t: TaskId, w: Option<&mut WasmTask<'_, P, M>>, fault: Fault) {
        // A call parked in a device: abandon it, and reclaim what was lent for it.
        let blocked = view(self.core).is_some_and(|c| c.records.get(t as usize).is_some_and(|r| r.state == TaskState::Blocked));
        if let Some(w) = w {
            if w.parked == Some(Import::Syscall) && blocked {
                w.parked = None;
                if let Some(mut sys) = self.sys.and_then(|s| s.try_borrow_mut().ok()) {
                    sys.cancel(t);
                }
                if let Some(h) = w.lent.take() {
                    with(self.core, |c| {
                        let _ = c.own.reclaim(h);
                    });
                }
            }
        }
        let Some(mut core) = lock(self.core) else { return };
        let Core { chans, own, ready, links, records, .. } = &mut *core;
        let Some(r) = records.get_mut(t as usize) else { return };
        if matches!(r.state, TaskState::Free | TaskState::Terminated | TaskState::Done) {
            return;
        }
        if r.state == TaskState::Ready {
            ready.remove(links, t);
        }
        r.state = TaskState::Terminated;
        r.inbox = Inbox::Empty;
        chans.forget(t, links);
        own.release_all(t);
        r.fault = Some(fault);
    }

    /// A parked task's turn: collect the completion it waited for and answer its call.
    /// False if it stays parked (nothing came) or was terminated. Out of the switch's
    /// path (a `co_yield` or a slice's end never parks).
    #[inline(never)]
    fn collect<P: Allocator + Clone + Policy, M: Allocator + Clone>(&mut self, t: TaskId, w: &mut WasmTask<'_, P, M>, import: Import) -> bool {
        // One borrow of the core: the completion, its message, and the operation counted
        // when it completed the call the task is parked in.
        let (inbox, msg) = with(self.core, |c| {
            let inbox = c.take_inbox(t);
            if matches!((import, inbox), (Import::ChSend | Import::BufSend, Inbox::Sent) | (Import::ChRecv | Import::BufRecv, Inbox::Received)) {
                c.count_op(t);
            }
            (inbox, c.links.get(t as usize).map_or(Tagged::default(), Link::tagged))
        });
        let served = match (import, inbox) {
            (_, Inbox::Empty) => {
                w.parked = Some(import);
                with(self.core, |c| c.set_state(t, TaskState::Blocked));
                return false;
            }
            (Import::ChSend, Inbox::Sent) => reply(w, None),
            (Import::BufSend, Inbox::Sent) => reply(w, Some(0)),
            (Import::ChRecv | Import::BufRecv, Inbox::Received) => {
                // The destination pointer is still the host call's second argument.
                let ptr = w.thread.host_args_raw().get(1).map_or(0, |&v| v as u32 as i32);
                self.receive(t, w, import, msg, ptr)
            }
            (Import::BufSend, Inbox::Closed) => {
                // The message never left: the buffer is the sender's again.
                with(self.core, |c| {
                    let _ = c.own.receive(Handle(msg.msg), t);
                });
                reply(w, Some(-1))
            }
            (Import::BufRecv, Inbox::Closed) => reply(w, Some(-1)),
            _ => Served::Fault,
        };
        if served == Served::Fault {
            self.terminate(t, Some(w), Fault::BadImport);
            return false;
        }
        true
    }

    /// Run wasm task `t` for one slice. Returns the instructions it executed that are
    /// not counted yet: the caller counts them when it ends the turn, in the same borrow
    /// of the core (a call served on the way counts those before it first, since it may
    /// wake a task, which reads the clock).
    fn run_wasm<P: Allocator + Clone + Policy, M: Allocator + Clone>(&mut self, t: TaskId, w: &mut WasmTask<'_, P, M>) -> u64 {
        if let Some(import) = w.parked.take() {
            if !self.collect(t, w, import) {
                return 0;
            }
        }
        let mut fuel = self.slice;
        let mut from = w.thread.instructions();
        loop {
            match w.thread.resume(&mut w.store, fuel) {
                Exit::OutOfFuel => break,
                Exit::HostCall { id, .. } => {
                    if id == Import::Yield as u32 {
                        // The switch itself (no arguments, no result): answered at once.
                        if w.thread.host_return_void().is_err() {
                            self.terminate(t, Some(w), Fault::BadImport);
                        }
                        break;
                    }
                    // (What `resume` left of the budget: `fuel` less what ran, at least 0.)
                    fuel = w.thread.fuel_left();
                    let now = w.thread.instructions();
                    with(self.core, |c| c.account(t, now.wrapping_sub(from)));
                    from = now;
                    match self.serve(t, w, id) {
                        Served::Continue if fuel > 0 => continue,
                        Served::Continue | Served::Yield | Served::Parked => break,
                        Served::Fault => {
                            self.terminate(t, Some(w), Fault::BadImport);
                            break;
                        }
                    }
                }
                exit => {
                    self.slice_ended(t, w, exit);
                    break;
                }
            }
        }
        w.thread.instructions().wrapping_sub(from)
    }

    /// A slice that ended other than by the automatic yield or a host call: the task's
    /// end, a trap, a breakpoint (out of line: the switch's path keeps nothing for them).
    #[inline(never)]
    #[cold]
    fn slice_ended<P: Allocator + Clone + Policy, M: Allocator + Clone>(&mut self, t: TaskId, w: &mut WasmTask<'_, P, M>, exit: Exit) {
        match exit {
            // A start function or `_initialize` that went on in the task returned: the next
            // call (see `WasmTask::then`); the last one returned: the task is done.
            Exit::Done => match w.then[0].take() {
                Some(f) => {
                    w.then.rotate_left(1);
                    if w.thread.invoke(&w.store, f, &[]).is_err() {
                        self.terminate(t, Some(w), Fault::Killed);
                    }
                }
                None => with(self.core, |c| c.set_state(t, TaskState::Done)),
            },
            Exit::Trap(trap) => self.terminate(t, Some(w), Fault::Trap(trap.code)),
            Exit::Breakpoint { offset } => self.stopped = Some(offset),
            Exit::OutOfFuel | Exit::HostCall { .. } => {}
        }
    }

    /// Serve a kernel import: answered (the thread may go on), parked, or a fault.
    fn serve<P: Allocator + Clone + Policy, M: Allocator + Clone>(&mut self, t: TaskId, w: &mut WasmTask<'_, P, M>, id: u32) -> Served {
        // Every kernel import takes and returns i32s: read the raw slots (three at most;
        // one the call does not have reads as 0).
        let args = w.thread.host_args_raw();
        let arg = |i: usize| args.get(i).map_or(0, |&v| v as u32 as i32);
        let a = [arg(0), arg(1), arg(2)];
        if id >= SYS_BASE {
            return self.syscall(t, w, id - SYS_BASE);
        }
        // Row `id - 1` (the ids are 1..=8 in table order; the row's own id confirms it).
        let row = (id as usize).checked_sub(1).and_then(|i| IMPORTS.get(i)).filter(|(_, i, ..)| *i as u32 == id);
        let Some(&(_, import, ..)) = row else { return Served::Fault };
        let ch = match import {
            Import::ChSend | Import::ChRecv | Import::BufSend | Import::BufRecv => {
                match usize::try_from(a[0]).ok().and_then(|p| w.ports.get(p)).filter(|&&c| c != NO_CHANNEL) {
                    Some(&c) => usize::from(c),
                    None => return self.refuse_port(t, w, import, a[0]),
                }
            }
            _ => 0,
        };
        match import {
            Import::ChSend | Import::BufSend => {
                let Some(mut core) = lock(self.core) else { return Served::Fault };
                let core = &mut *core;
                let m = if import == Import::BufSend {
                    if let Err(e) = core.own.send(Handle(a[1] as u32), t) {
                        return reply(w, Some(e.code()));
                    }
                    Tagged { msg: a[1] as u32, handle: true }
                } else {
                    Tagged::value(a[1] as u32)
                };
                match core.chans.send(ch, m, Some(t), &mut core.links) {
                    Ok((Progress::Done(()), woke)) => {
                        core.completed(t, woke);
                        reply(w, (import == Import::BufSend).then_some(0))
                    }
                    Ok((Progress::Parked, _)) => {
                        core.set_state(t, TaskState::Blocked);
                        w.parked = Some(import);
                        Served::Parked
                    }
                    Err(TrySendError::Closed(m) | TrySendError::Full(m) | TrySendError::NoChannel(m)) => {
                        if m.handle {
                            // The buffer never left: it is the sender's again.
                            let _ = core.own.receive(Handle(m.msg), t);
                        }
                        if import == Import::BufSend {
                            reply(w, Some(-1))
                        } else {
                            Served::Fault
                        }
                    }
                }
            }
            Import::ChRecv | Import::BufRecv => {
                let got = {
                    let Some(mut core) = lock(self.core) else { return Served::Fault };
                    let core = &mut *core;
                    match core.chans.recv(ch, Some(t), &mut core.links) {
                        Ok((Progress::Done(m), woke)) => {
                            core.completed(t, woke);
                            Ok(Some(m))
                        }
                        Ok((Progress::Parked, _)) => {
                            core.set_state(t, TaskState::Blocked);
                            Ok(None)
                        }
                        Err(e) => Err(e),
                    }
                };
                match got {
                    Ok(Some(m)) => self.receive(t, w, import, m, a[1]),
                    Ok(None) => {
                        w.parked = Some(import);
                        Served::Parked
                    }
                    Err(TryRecvError::Closed | TryRecvError::Empty | TryRecvError::NoChannel) => {
                        if import == Import::BufRecv {
                            reply(w, Some(-1))
                        } else {
                            Served::Fault
                        }
                    }
                }
            }
            // Answered at the top, before the arguments are read: never reached.
            Import::Yield => Served::Fault,
            Import::BufCreate => {
                let (ptr, len) = (a[0] as u32 as usize, a[1] as u32 as usize);
                let Some(mut core) = lock(self.core) else { return Served::Fault };
                let r = match guest_bytes(w, ptr, len).map(|bytes| core.own.create_buffer(t, bytes)) {
                    Some(Ok(h)) => h.0 as i32,
                    Some(Err(e)) => {
                        if e == OwnError::OutOfMemory {
                            // The guest's buffer did not fit the kernel's pool: the guest's
                            // error (-3), not the kernel's, whose own tables are all allocated
                            // up front. Leaving the kernel partition marked exhausted would let
                            // a guest trigger its policy (P1: a system reset).
                            let _ = core.own.allocator().take_exhausted();
                        }
                        e.code()
                    }
                    None => OwnError::BadHandle.code(),
                };
                drop(core);
                reply(w, Some(r))
            }
            Import::BufRead => {
                let (h, ptr, cap) = (Handle(a[0] as u32), a[1] as u32 as usize, a[2] as u32 as usize);
                let Some(core) = view(self.core) else { return Served::Fault };
                let r = match core.own.bytes(h, t) {
                    Ok(bytes) => {
                        let n = bytes.len().min(cap);
                        let dst = w.memory.and_then(|m| w.store.memory_data_mut(m));
                        match dst.and_then(|d| d.get_mut(ptr..ptr.checked_add(n)?)) {
                            Some(d) => {
                                d.copy_from_slice(&bytes[..n]);
                                bytes.len() as i32
                            }
                            None => -1,
                        }
                    }
                    Err(e) => e.code(),
                };
                drop(core);
                reply(w, Some(r))
            }
            Import::BufRelease => {
                let Some(r) = lock(self.core).map(|mut c| c.own.release(Handle(a[0] as u32), t).map_or_else(|e| e.code(), |()| 0)) else {
                    return Served::Fault;
                };
                reply(w, Some(r))
            }
            // Never an import id (the IMPORTS table has no such row).
            Import::Syscall => Served::Fault,
        }
    }

    /// A channel operation on a port the task was not given: the subsystems log it,
    /// `buf_*` return -1, and `ch_send`/`ch_recv` (void) return with nothing sent or
    /// stored; each ends the slice, so a guest retrying in a loop cannot spin.
    fn refuse_port<P: Allocator + Clone + Policy, M: Allocator + Clone>(&mut self, t: TaskId, w: &mut WasmTask<'_, P, M>, import: Import, port: i32) -> Served {
        if let Some(mut sys) = self.sys.and_then(|s| s.try_borrow_mut().ok()) {
            sys.denied_port(t, port);
        }
        let v = matches!(import, Import::BufSend | Import::BufRecv).then_some(-1);
        match reply(w, v) {
            Served::Continue => Served::Yield,
            other => other,
        }
    }

    /// Forward a call to the subsystems.
    fn syscall<P: Allocator + Clone + Policy, M: Allocator + Clone>(&mut self, t: TaskId, w: &mut WasmTask<'_, P, M>, id: u32) -> Served {
        let Some(sys) = self.sys else { return Served::Fault };
        let mut args = [0u64; 8];
        let raw = w.thread.host_args_raw();
        let n = raw.len().min(args.len());
        args[..n].copy_from_slice(&raw[..n]);
        let action = {
            let memory = match w.memory.and_then(|m| w.store.memory_data_mut(m)) {
                Some(m) => m,
                None => &mut [],
            };
            // (A subsystem re-entered through its own call has broken the protocol.)
            sys.try_borrow_mut().map_or(SysAction::Fault, |mut s| s.call(t, id, &args[..n], memory))
        };
        let (v, then) = match action {
            SysAction::Return(v) => (v, Served::Continue),
            SysAction::ReturnAndYield(v) => (v, Served::Yield),
            SysAction::Exit => {
                with(self.core, |c| c.set_state(t, TaskState::Done));
                return Served::Parked;
            }
            SysAction::Fault => return Served::Fault,
            SysAction::Park { lend } => {
                let Some(mut core) = lock(self.core) else { return Served::Fault };
                if let Some((ptr, _)) = lend {
                    // The range is registered as the task's, then lent: only the kernel gives it back.
                    let own = &mut core.own;
                    match own.create_value(t, ptr).and_then(|h| own.lend(h, t).map(|()| h)) {
                        Ok(h) => w.lent = Some(h),
                        Err(_) => {
                            // The table is full: the call cannot go on; the guest sees Busy.
                            drop(core);
                            if let Ok(mut s) = sys.try_borrow_mut() {
                                s.cancel(t);
                            }
                            return reply(w, Some(BUSY));
                        }
                    }
                }
                core.set_state(t, TaskState::Blocked);
                w.parked = Some(Import::Syscall);
                return Served::Parked;
            }
        };
        let r = match v {
            Some(v) => w.thread.host_return_raw(&[v.to_bits()]),
            None => w.thread.host_return_void(),
        };
        match r {
            Ok(()) => then,
            Err(_) => Served::Fault,
        }
    }

    /// Finish a receive: store the message where the guest asked, or hand over the buffer.
    fn receive<P: Allocator + Clone + Policy, M: Allocator + Clone>(&mut self, t: TaskId, w: &mut WasmTask<'_, P, M>, import: Import, m: Tagged, ptr: i32) -> Served {
        if m.handle {
            with(self.core, |c| {
                let _ = c.own.receive(Handle(m.msg), t);
            });
        }
        if import == Import::BufRecv {
            // A plain value (a `ch_send`) is not a buffer: its number is no handle of the
            // receiver's, and passing it on as one would look like a handle or an error code.
            return reply(w, Some(if m.handle { m.msg as i32 } else { OwnError::BadHandle.code() }));
        }
        let ptr = ptr as u32 as usize;
        let dst = w.memory.and_then(|mem| w.store.memory_data_mut(mem));
        match dst.and_then(|d| d.get_mut(ptr..ptr.checked_add(4)?)) {
            Some(d) => {
                d.copy_from_slice(&m.msg.to_le_bytes());
                reply(w, None)
            }
            None => Served::Fault,
        }
    }
}

/// Answer the pending host call (with an `i32` for the imports that return one).
fn reply<P: Allocator + Clone, M: Allocator + Clone>(w: &mut WasmTask<'_, P, M>, v: Option<i32>) -> Served {
    let r = match v {
        Some(v) => w.thread.host_return_raw(&[Value::I32(v).to_bits()]),
        None => w.thread.host_return_void(),
    };
    if r.is_ok() {
        Served::Continue
    } else {
        Served::Fault
    }
}

fn guest_bytes<'a, P: Allocator + Clone, M: Allocator + Clone>(w: &'a WasmTask<'_, P, M>, ptr: usize, len: usize) -> Option<&'a [u8]> {
    w.store.memory_data(w.memory?)?.get(ptr..ptr.checked_add(len)?)
}

/// What native tasks hold to use the kernel: channels and yield.
pub struct Ctx<'k, A: Allocator + Clone> {
    core: &'k RefCell<Core<A>>,
}

impl<A: Allocator + Clone> Clone for Ctx<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: Allocator + Clone> Copy for Ctx<'_, A> {}

/// A native channel operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChanError {
    /// No such channel.
    NoChannel,
    /// The channel is closed (a send hands its message back).
    Closed(Option<Message>),
}

impl<'k, A: Allocator + Clone> Ctx<'k, A> {
    /// A context over `core` (for native tasks created before the kernel).
    pub fn new(core: &'k RefCell<Core<A>>) -> Self {
        Ctx { core }
    }

    /// Send without blocking: `Err(Full(msg))` hands the message back.
    pub fn try_send(&self, ch: usize, msg: Message) -> Result<(), TrySendError> {
        // (Kernel state in use: no room now; see `lock`.)
        let Some(mut core) = lock(self.core) else { return Err(TrySendError::Full(Tagged::value(msg))) };
        let core = &mut *core;
        let t = core.current;
        let (_, woke) = core.chans.send(ch, Tagged::value(msg), None, &mut core.links)?;
        core.completed(t, woke);
        Ok(())
    }

    /// Receive without blocking.
    pub fn try_recv(&self, ch: usize) -> Result<Message, TryRecvError> {
        let Some(mut core) = lock(self.core) else { return Err(TryRecvError::Empty) };
        let core = &mut *core;
        let t = core.current;
        match core.chans.recv(ch, None, &mut core.links)? {
            (Progress::Done(m), woke) => {
                core.completed(t, woke);
                Ok(core.native_value(m))
            }
            (Progress::Parked, _) => Err(TryRecvError::Empty),
        }
    }

    /// Send, waiting while the channel is full.
    pub fn send(&self, ch: usize, msg: Message) -> SendFuture<'k, A> {
        SendFuture { core: self.core, ch, msg, parked: false }
    }

    /// Receive, waiting until a message arrives.
    pub fn recv(&self, ch: usize) -> RecvFuture<'k, A> {
        RecvFuture { core: self.core, ch, parked: false }
    }

    /// End this turn: the task goes to the back of the ready queue.
    pub fn yield_now(&self) -> YieldFuture {
        YieldFuture { yielded: false }
    }

    /// Close a channel: its waiters are woken with an error.
    pub fn close(&self, ch: usize) {
        with(self.core, |c| c.close(ch));
    }
}

/// A parked native operation: collect its completion, or stay blocked.
fn collect<A: Allocator + Clone>(core: &mut Core<A>, t: TaskId) -> Option<(Inbox, Tagged)> {
    let inbox = core.take_inbox(t);
    if inbox == Inbox::Empty {
        core.set_state(t, TaskState::Blocked);
        return None;
    }
    if inbox != Inbox::Closed {
        core.count_op(t);
    }
    Some((inbox, core.links[t as usize].tagged()))
}

/// [`Ctx::send`].
pub struct SendFuture<'k, A: Allocator + Clone> {
    core: &'k RefCell<Core<A>>,
    ch: usize,
    msg: Message,
    parked: bool,
}

impl<A: Allocator + Clone> Future for SendFuture<'_, A> {
    type Output = Result<(), ChanError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let cell = self.core;
        // (Kernel state in use: not now, the task polls again on its next turn; see `lock`.)
        let Some(mut core) = lock(cell) else { return Poll::Pending };
        let core = &mut *core;
        let t = core.current;
        if self.parked {
            return match collect(core, t) {
                None => Poll::Pending,
                Some((Inbox::Sent, _)) => Poll::Ready(Ok(())),
                Some(_) => Poll::Ready(Err(ChanError::Closed(Some(self.msg)))),
            };
        }
        match core.chans.send(self.ch, Tagged::value(self.msg), Some(t), &mut core.links) {
            Ok((Progress::Done(()), woke)) => {
                core.completed(t, woke);
                Poll::Ready(Ok(()))
            }
            Ok((Progress::Parked, _)) => {
                core.set_state(t, TaskState::Blocked);
                self.parked = true;
                Poll::Pending
            }
            Err(TrySendError::NoChannel(_)) => Poll::Ready(Err(ChanError::NoChannel)),
            Err(TrySendError::Closed(m) | TrySendError::Full(m)) => Poll::Ready(Err(ChanError::Closed(Some(m.msg)))),
        }
    }
}

/// [`Ctx::recv`].
pub struct RecvFuture<'k, A: Allocator + Clone> {
    core: &'k RefCell<Core<A>>,
    ch: usize,
    parked: bool,
}

impl<A: Allocator + Clone> Future for RecvFuture<'_, A> {
    type Output = Result<Message, ChanError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let cell = self.core;
        // (Kernel state in use: not now, the task polls again on its next turn; see `lock`.)
        let Some(mut core) = lock(cell) else { return Poll::Pending };
        let core = &mut *core;
        let t = core.current;
        if self.parked {
            return match collect(core, t) {
                None => Poll::Pending,
                Some((Inbox::Received, m)) => Poll::Ready(Ok(core.native_value(m))),
                Some(_) => Poll::Ready(Err(ChanError::Closed(None))),
            };
        }
        match core.chans.recv(self.ch, Some(t), &mut core.links) {
            Ok((Progress::Done(m), woke)) => {
                core.completed(t, woke);
                Poll::Ready(Ok(core.native_value(m)))
            }
            Ok((Progress::Parked, _)) => {
                core.set_state(t, TaskState::Blocked);
                self.parked = true;
                Poll::Pending
            }
            Err(TryRecvError::NoChannel) => Poll::Ready(Err(ChanError::NoChannel)),
            Err(_) => Poll::Ready(Err(ChanError::Closed(None))),
        }
    }
}

/// [`Ctx::yield_now`].
pub struct YieldFuture {
    yielded: bool,
}

impl Future for YieldFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_task_overhead_is_small() {
        assert_eq!(core::mem::size_of::<TaskRecord>(), 32);
        assert_eq!(core::mem::size_of::<Link>(), 8);
        assert!(core::mem::size_of::<TaskStats>() <= 32);
    }
}
