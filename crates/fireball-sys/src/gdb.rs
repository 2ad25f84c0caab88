//! Gdb (feature `gdb`): lldb ⇄ **GDB remote protocol** (`gdbstub`, with LLDB's
//! WebAssembly packets) ⇄ the kernel's wasm tasks. Each wasm task is one lldb
//! thread (thread id = task + 1) and one library (module id = task), so a
//! breakpoint can sit in the app or in any service. Addresses are LLDB's wasm
//! encoding: bits 63–62 the space (0 linear memory, 1 module bytes), the module
//! id from bit 32, the offset below; a pc is `0x4000_0000_0000_0000 | id << 32 |
//! offset in the .wasm file`. lldb-22 sends linear-memory addresses without a
//! module id (module 0): they name the memory of the module that stopped last,
//! so after a stop in a service its variables read from its own memory, but
//! after `thread select` to another module's thread, variables that live in
//! linear memory still read from the stopped module's (a limit of the protocol
//! as lldb-22 speaks it; locals in wasm locals and code are exact).
//!
//! The embedder keeps its own run loop and hands the debuggee (the [`Kernel`],
//! by value) to the session around each scheduling step; while a task is
//! stopped, nothing is stepped, so every task stays stopped:
//!
//! ```text
//!            attach (serve until lldb continues)
//!  Waiting ─────────────────────────────────────► Running ◄──────────────────┐
//!                                                    │ after_step:             │
//!     breakpoint / step done (Step::Stopped) ────────┤                         │
//!     trap (task Terminated, Fault::Trap) ───────────┤ stop reply: T05 (pc),   │
//!     Ctrl-C (0x03 from lldb) ───────────────────────┤ SIGSEGV…, SIGINT        │
//!                                                    ▼                         │
//!                                                 Stopped ── vCont;c / vCont;s ┘
//!                                                    │ D (detach), a dropped connection or a
//!                                                    │ broken stream; or, while Running, every
//!                                                    ▼ task ended (W00, or X<sig> if one trapped)
//!                              Detached: breakpoints cleared, the system runs on
//!                              k (kill): Flow::Kill, the embedder ends the run
//! ```
//!
//! Anything lldb may send that the session cannot serve — an unknown packet, a
//! breakpoint outside any function body, a read past a memory — is an error reply.
//! A noisy link is survived (`Framer`): a packet that arrives damaged is asked
//! again (`-`; an error reply once acks are off), an oversized one is refused, stray
//! bytes between packets are dropped, and a command intact on the wire whose
//! arguments gdbstub could not parse (it would give up its state machine, and the
//! connection with it) is answered with an error before gdbstub sees it
//! (`fatal_to_gdbstub`). Only a broken stream ends the session: a detach. Nothing
//! here panics.

use core::num::NonZeroUsize;

use fireball_coos::sched::{Fault, Kernel, Policy, Step, TaskState};
use fireball_coos::TaskId;
use fireball_wasm::debug::Breakpoint;
use fireball_wasm::{Instance, TrapCode, Value};
use gdbstub::arch::lldb::{Encoding, Format, Generic, Register};
use gdbstub::common::{Endianness, Pid, Signal, Tid};
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::state_machine::GdbStubStateMachine;
use gdbstub::stub::{DisconnectReason, GdbStub, GdbStubBuilder, MultiThreadStopReason};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking, MultiThreadSchedulerLockingOps, MultiThreadSingleStep,
    MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{Breakpoints, BreakpointsOps, SwBreakpoint, SwBreakpointOps};
use gdbstub::target::ext::host_info::{HostInfo, HostInfoOps, HostInfoResponse};
use gdbstub::target::ext::libraries::{Libraries, LibrariesOps};
use gdbstub::target::ext::lldb_register_info_override::{Callback, CallbackToken, LldbRegisterInfoOverride, LldbRegisterInfoOverrideOps};
use gdbstub::target::ext::process_info::{ProcessInfo, ProcessInfoOps, ProcessInfoResponse};
use gdbstub::target::ext::wasm::{Wasm, WasmOps};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::wasm::addr::{WasmAddr, WasmAddrType};
use gdbstub_arch::wasm::reg::WasmRegisters;

/// Modules (tasks) a session can name; task ids at or above it are not shown.
pub const MAX_MODULES: usize = 8;

/// How a task looks to the debugger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No wasm task in that slot.
    Absent,
    /// Running, ready or blocked: resumable.
    Live,
    /// Ended by a trap; its frames, locals and memory stay inspectable.
    Trapped(TrapCode),
    /// Returned, exited, or ended otherwise.
    Ended,
}

/// What the session needs of the system it debugs: the wasm tasks' code, frames,
/// values and memory, and their breakpoints. [`Kernel`] implements it.
pub trait Debuggee {
    /// Task slots (ids `0..n`).
    fn task_slots(&self) -> usize;
    /// Task `t`'s state.
    fn status(&self, t: TaskId) -> Status;
    /// Task `t`'s module bytes (the `.wasm` file).
    fn code(&self, t: TaskId) -> Option<&[u8]>;
    /// Its frames (0 when it has none to show).
    fn frame_count(&self, t: TaskId) -> usize;
    /// Frame `k`'s pc (0 innermost; outer frames: the return address).
    fn frame_pc(&self, t: TaskId, k: usize) -> Option<u32>;
    /// Local `i` of frame `k`.
    fn local(&self, t: TaskId, k: usize, i: u32) -> Option<Value>;
    /// Operand `i` of frame `k` (0: top), as its raw 64-bit slot.
    fn operand(&self, t: TaskId, k: usize, i: u32) -> Option<u64>;
    /// Global `i` of frame `k`'s module.
    fn global(&self, t: TaskId, k: usize, i: u32) -> Option<Value>;
    /// Its linear memory (memory 0), the part that is backed.
    fn memory(&self, t: TaskId) -> Option<&[u8]>;
    /// Its linear memory's size as the guest sees it (at least `memory(t)`'s length).
    fn memory_size(&self, t: TaskId) -> u64;
    /// Stop before the instruction at `offset` of its module; false if refused.
    fn set_breakpoint(&mut self, t: TaskId, offset: u32) -> bool;
    /// Remove one; false if it was not set.
    fn clear_breakpoint(&mut self, t: TaskId, offset: u32) -> bool;
    /// Stop after one instruction when it next runs (or not).
    fn set_step(&mut self, t: TaskId, on: bool);
}

impl<A, P, M> Debuggee for Kernel<'_, '_, A, P, M>
where
    A: allocator_api2::alloc::Allocator + Clone + Policy,
    P: allocator_api2::alloc::Allocator + Clone + Policy,
    M: allocator_api2::alloc::Allocator + Clone,
{
    fn task_slots(&self) -> usize {
        Kernel::task_slots(self)
    }

    fn status(&self, t: TaskId) -> Status {
        if self.wasm_task(t).is_none() {
            return Status::Absent;
        }
        match (self.state(t), self.stats(t).fault) {
            (TaskState::Free, _) => Status::Absent,
            (TaskState::Terminated, Some(Fault::Trap(c))) => Status::Trapped(c),
            (TaskState::Done | TaskState::Terminated, _) => Status::Ended,
            _ => Status::Live,
        }
    }

    fn code(&self, t: TaskId) -> Option<&[u8]> {
        let (_, store) = self.wasm_task(t)?;
        Some(store.instance_module(Instance(0))?.bytes())
    }

    fn frame_count(&self, t: TaskId) -> usize {
        self.wasm_task(t).map_or(0, |(th, _)| th.frame_count())
    }

    fn frame_pc(&self, t: TaskId, k: usize) -> Option<u32> {
        let (th, store) = self.wasm_task(t)?;
        th.frame(store, k).map(|f| f.pc)
    }

    fn local(&self, t: TaskId, k: usize, i: u32) -> Option<Value> {
        let (th, store) = self.wasm_task(t)?;
        th.local(store, k, i)
    }

    fn operand(&self, t: TaskId, k: usize, i: u32) -> Option<u64> {
        let (th, store) = self.wasm_task(t)?;
        th.operand(store, k, i)
    }

    fn global(&self, t: TaskId, k: usize, i: u32) -> Option<Value> {
        let (th, store) = self.wasm_task(t)?;
        th.global(store, k, i)
    }

    fn memory(&self, t: TaskId) -> Option<&[u8]> {
        let (_, store) = self.wasm_task(t)?;
        store.memory_data(store.instance_memory(Instance(0), 0)?)
    }

    fn memory_size(&self, t: TaskId) -> u64 {
        self.wasm_task(t).and_then(|(_, store)| store.memory_size(store.instance_memory(Instance(0), 0)?)).unwrap_or(0)
    }

    fn set_breakpoint(&mut self, t: TaskId, offset: u32) -> bool {
        match self.wasm_task_mut(t) {
            Some((th, store)) => th.set_breakpoint(store, Breakpoint { instance: 0, offset }).is_ok(),
            None => false,
        }
    }

    fn clear_breakpoint(&mut self, t: TaskId, offset: u32) -> bool {
        match self.wasm_task_mut(t) {
            Some((th, _)) => th.clear_breakpoint(Breakpoint { instance: 0, offset }),
            None => false,
        }
    }

    fn set_step(&mut self, t: TaskId, on: bool) {
        if let Some((th, _)) = self.wasm_task_mut(t) {
            th.set_step(on);
        }
    }
}

/// What the embedder's run loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Step the system; call [`Debugger::after_step`] after each step.
    Run,
    /// lldb detached or the connection broke: breakpoints are cleared; run on without it.
    Detached,
    /// lldb killed the process: end the run.
    Kill,
}

/// The gdbstub target: the session's state and, while the session holds it, the debuggee.
pub struct Session<'n, D: Debuggee> {
    dbg: Option<D>,
    names: [&'n str; MAX_MODULES],
    /// Tasks lldb asked to step at the next resume, and those stepping now.
    resume_step: u32,
    stepping: u32,
    /// Tasks that were live at the last look (to notice one ending).
    live: u32,
    /// The task of the last stop: linear-memory addresses without a module id are its.
    focus: TaskId,
    /// Breakpoints as lldb set them (module, offset), to clear on detach.
    bps: [(TaskId, u32); 2 * fireball_wasm::debug::MAX_BREAKPOINTS],
    n_bps: usize,
}

/// A debugging session over connection `C` (a TCP stream on a host, a UART on a board).
pub struct Debugger<'a, 'n, D: Debuggee, C: ConnectionExt> {
    sm: Option<GdbStubStateMachine<'a, Session<'n, D>, C>>,
    target: Session<'n, D>,
    framer: Framer<'a>,
}

/// Where the framer is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// Between packets.
    Between,
    /// After `$`, before `#`.
    Body,
    /// After `#`: the checksum's first and second hex digit.
    Sum1,
    Sum2,
}

/// What a byte from the link completed ([`Framer::push`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framed {
    /// Nothing yet: a byte inside a packet, or one dropped between packets.
    Nothing,
    /// A byte for gdbstub as it came: an ack (`+`) or lldb's Ctrl-C (0x03).
    Byte(u8),
    /// A packet whose checksum matches; its body is [`Framer::body`].
    Packet,
    /// A packet that arrived damaged (its checksum does not match, or is not hex).
    Damaged,
    /// An intact packet longer than the stub's buffer.
    TooLong,
}

/// The GDB remote protocol's framing, checked before gdbstub sees a byte.
///
/// gdbstub 0.7 ends its state machine — and with it the connection it owns — on a
/// checksum mismatch, an oversized packet or a stray byte between packets: on a noisy
/// UART one flipped bit would end the session. The framer keeps each packet's body
/// until its checksum arrives and hands gdbstub only whole packets that are intact
/// and fit its buffer. A damaged packet is answered `-`, which makes the client send
/// it again (GDB's own recovery), or, once acks are off (`QStartNoAckMode`), with
/// error `E05`; an oversized one with `E07`; a stray byte is dropped. A `-` from the
/// client (our reply arrived damaged) is dropped too: gdbstub keeps no copy of its
/// reply to send again, and treats `-` as fatal. An intact packet whose command
/// gdbstub could not parse gets `E08` ([`fatal_to_gdbstub`]).
struct Framer<'a> {
    /// The body of the packet being received.
    buf: &'a mut [u8],
    len: usize,
    /// The longest body gdbstub's buffer holds with its `$`, `#` and checksum.
    max: usize,
    state: Frame,
    /// The body's checksum so far, and the first digit of the one sent.
    sum: u8,
    hi: u8,
    long: bool,
    /// `QStartNoAckMode` went through: no `+`/`-` any more.
    no_ack: bool,
    /// The last `Hc` named all threads (gdbstub's resume thread; `s` then is fatal to it).
    step_all: bool,
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl<'a> Framer<'a> {
    fn new(buf: &'a mut [u8], stub_len: usize) -> Self {
        let max = buf.len().min(stub_len.saturating_sub(4));
        Framer { buf, len: 0, max, state: Frame::Between, sum: 0, hi: 0, long: false, no_ack: false, step_all: false }
    }

    /// The last complete packet's body.
    fn body(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The next byte from the link; `running`: the system runs, so lldb sends no packet
    /// (all-stop mode) and a Ctrl-C is one even inside what looked like one (a stray
    /// `$` from the line must not swallow it).
    fn push(&mut self, byte: u8, running: bool) -> Framed {
        if running && byte == 0x03 {
            self.state = Frame::Between;
            return Framed::Byte(byte);
        }
        match self.state {
            Frame::Between => match byte {
                b'$' => self.start(),
                b'+' | 0x03 => return Framed::Byte(byte),
                _ => {}
            },
            Frame::Body => match byte {
                b'#' => self.state = Frame::Sum1,
                // (`$` is escaped inside a body: this one starts a new packet, the
                // one before it lost its end.)
                b'$' => self.start(),
                _ => {
                    self.sum = self.sum.wrapping_add(byte);
                    match self.buf.get_mut(self.len).filter(|_| self.len < self.max) {
                        Some(slot) => {
                            *slot = byte;
                            self.len += 1;
                        }
                        None => self.long = true,
                    }
                }
            },
            Frame::Sum1 => match hex_digit(byte) {
                Some(h) => {
                    self.hi = h;
                    self.state = Frame::Sum2;
                }
                None => {
                    self.state = Frame::Between;
                    return Framed::Damaged;
                }
            },
            Frame::Sum2 => {
                self.state = Frame::Between;
                return match hex_digit(byte) {
                    Some(lo) if self.hi << 4 | lo == self.sum => {
                        if self.long {
                            Framed::TooLong
                        } else {
                            Framed::Packet
                        }
                    }
                    _ => Framed::Damaged,
                };
            }
        }
        Framed::Nothing
    }

    fn start(&mut self) {
        self.state = Frame::Body;
        self.len = 0;
        self.sum = 0;
        self.long = false;
    }
}

/// A hex number that fits a `usize` (gdbstub's `decode_hex`: one digit at least).
fn hex_usize(s: &[u8]) -> Option<usize> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0usize, |n, &b| n.checked_mul(16)?.checked_add(usize::from(hex_digit(b)?)))
}

/// Hex bytes, possibly none or an odd count (gdbstub's `decode_hex_buf`).
fn hex_bytes(s: &[u8]) -> bool {
    s.iter().all(|&b| hex_digit(b).is_some())
}

/// Hex bytes whose value fits `bytes` bytes (gdbstub's `BeBytes::from_be_bytes`: an
/// address lldb's wasm arch reads as a u64, a breakpoint kind as a usize).
fn hex_fits(s: &[u8], bytes: usize) -> bool {
    hex_bytes(s) && s.iter().skip_while(|&&b| b == b'0').count() <= 2 * bytes
}

/// A thread id's part, as gdbstub reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    /// `-1`.
    All,
    /// `0`.
    Any,
    /// A nonzero hex number.
    One,
}

fn id_kind(s: &[u8]) -> Option<Id> {
    match s {
        b"-1" => Some(Id::All),
        b"0" => Some(Id::Any),
        _ => hex_usize(s).filter(|&n| n != 0).map(|_| Id::One),
    }
}

/// A thread id, `tid` or `p<pid>[.<tid>]` (a pid alone: all its threads): (pid, tid).
fn thread_id(s: &[u8]) -> Option<(Option<Id>, Id)> {
    match s {
        [b'p', rest @ ..] => {
            let mut parts = rest.split(|&b| b == b'.');
            let pid = id_kind(parts.next()?)?;
            let tid = match parts.next() {
                Some(t) => id_kind(t)?,
                None => Id::All,
            };
            Some((Some(pid), tid))
        }
        _ => Some((None, id_kind(s)?)),
    }
}

/// One named thread of one process (gdbstub's `ConcreteThreadId`).
fn concrete_thread(s: &[u8]) -> bool {
    matches!(thread_id(s), Some((None | Some(Id::One), Id::One)))
}

/// A decimal `usize`, as Rust's `str::parse` reads it (gdbstub's qWasm* arguments): an
/// optional `+`, then digits, the value in range. (By hand: `parse` costs flash.)
fn dec_usize(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"+").unwrap_or(s);
    !digits.is_empty()
        && digits.iter().try_fold(0usize, |n, &b| if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(usize::from(b - b'0')) } else { None }).is_some()
}

/// `:frame;index` in decimal, exactly two (qWasmLocal, qWasmGlobal, qWasmStackValue).
fn frame_and_index(rest: &[u8]) -> bool {
    let Some(args) = rest.strip_prefix(b":") else { return false };
    let mut parts = args.split(|&b| b == b';');
    matches!((parts.next(), parts.next(), parts.next()), (Some(f), Some(i), None) if dec_usize(f) && dec_usize(i))
}

/// Whether gdbstub 0.7.10 gives up on this intact packet — and with its state machine
/// the connection it owns, ending the session — rather than answer it: a command it
/// parses whose arguments do not parse, or one its handlers refuse as fatal (`Hg` and
/// `T` for all threads, a `vCont` that steps every thread, stops, or range-steps).
/// The framer answers such a packet `E08` itself and gdbstub never sees it. This
/// mirrors gdbstub's parsers for the commands this target enables, in its order of
/// prefixes; a packet it does not know gets its empty reply, as before. `step_all`:
/// the last `Hc` named all threads ([`Framer::step_all`]).
fn fatal_to_gdbstub(body: &[u8], step_all: bool) -> bool {
    // Commands without arguments: anything after the name does not parse.
    const BARE: [&[u8]; 10] = [b"?", b"!", b"g", b"k", b"qC", b"qHostInfo", b"qProcessInfo", b"qfThreadInfo", b"qsThreadInfo", b"QStartNoAckMode"];
    let ok = if let Some(name) = BARE.iter().find(|n| body.starts_with(n)) {
        body.len() == name.len()
    } else if let Some(rest) = body.strip_prefix(b"qWasmCallStack") {
        rest.strip_prefix(b":").is_some_and(concrete_thread)
    } else if let Some(rest) = body.strip_prefix(b"qWasmLocal").or_else(|| body.strip_prefix(b"qWasmGlobal")).or_else(|| body.strip_prefix(b"qWasmStackValue")) {
        frame_and_index(rest)
    } else if let Some(rest) = body.strip_prefix(b"qRegisterInfo") {
        hex_usize(rest).is_some()
    } else if let Some(rest) = body.strip_prefix(b"qThreadExtraInfo") {
        rest.strip_prefix(b",").is_some_and(concrete_thread)
    } else if let Some(rest) = body.strip_prefix(b"qXfer:libraries:read") {
        // `:annex:offset,length`, the annex empty.
        let mut parts = rest.split(|&b| b == b':').skip(1);
        parts.next() == Some(b"")
            && parts.next().is_some_and(|r| {
                let mut r = r.split(|&b| b == b',');
                matches!((r.next(), r.next()), (Some(o), Some(l)) if !o.is_empty() && hex_fits(o, 8) && hex_usize(l).is_some())
            })
    } else if let Some(rest) = body.strip_prefix(b"qSupported") {
        // `:feature;feature…`, none of them empty.
        rest.strip_prefix(b":").is_some_and(|f| f.split(|&b| b == b';').all(|f| !f.is_empty()))
    } else if let Some(rest) = body.strip_prefix(b"qAttached") {
        rest.strip_prefix(b":").is_none_or(|pid| hex_usize(pid).is_some_and(|p| p != 0))
    } else if let Some(rest) = body.strip_prefix(b"vKill") {
        rest.strip_prefix(b";").and_then(hex_usize).is_some_and(|p| p != 0)
    } else if let Some(rest) = body.strip_prefix(b"vCont") {
        rest == b"?" || rest.split(|&b| b == b';').skip(1).all(vcont_action)
    } else {
        match body {
            [b'D', rest @ ..] => rest.strip_prefix(b";").is_none_or(|pid| hex_usize(pid).is_some_and(|p| p != 0)),
            // Registers are read-only here (an error either way), and gdbstub gives up on
            // a `G` whose values do not fit the arch's registers.
            [b'G', ..] => false,
            // `Hg` for all threads: "PacketUnexpected".
            [b'H', b'g', t @ ..] => thread_id(t).is_some_and(|(_, tid)| tid != Id::All),
            [b'H', b'c', t @ ..] => thread_id(t).is_some(),
            [b'H', ..] => false,
            [b'm', rest @ ..] => {
                let mut parts = rest.split(|&b| b == b',');
                matches!((parts.next(), parts.next()), (Some(a), Some(n)) if hex_fits(a, 8) && hex_usize(n).is_some())
            }
            [b'M', rest @ ..] => {
                let mut parts = rest.split(|&b| b == b',' || b == b':');
                matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(n), Some(v)) if hex_fits(a, 8) && hex_usize(n).is_some() && hex_bytes(v))
            }
            // Binary data: `}` escapes the byte after it, so it cannot come last.
            [b'X', rest @ ..] => {
                let mut parts = rest.splitn(3, |&b| b == b',' || b == b':');
                let escaped_end = |v: &[u8]| {
                    let mut i = 0;
                    while let Some(&b) = v.get(i) {
                        i += if b == b'}' { 2 } else { 1 };
                    }
                    i > v.len()
                };
                matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(n), Some(v)) if hex_fits(a, 8) && hex_usize(n).is_some() && !escaped_end(v))
            }
            // `T` for all or any thread: "PacketUnexpected".
            [b'T', t @ ..] => thread_id(t).is_some_and(|(_, tid)| tid == Id::One),
            [b'c', rest @ ..] => hex_bytes(rest),
            // `s` steps the thread the last `Hc` named: all of them is "PacketUnexpected".
            [b's', rest @ ..] => hex_bytes(rest) && !step_all,
            [b'Z' | b'z', rest @ ..] => {
                let mut parts = rest.splitn(4, |&b| b == b',' || b == b';');
                // (The type is a u8; the kind is read only for a software breakpoint, the
                // one type served.)
                matches!((parts.next(), parts.next(), parts.next()), (Some(t), Some(a), Some(k))
                    if hex_fits(a, 8) && hex_bytes(k) && hex_usize(t).is_some_and(|t| t <= 0xff && (t != 0 || hex_fits(k, core::mem::size_of::<usize>()))))
            }
            _ => true,
        }
    };
    !ok
}

/// One `vCont` action this target's gdbstub carries out: continue (with a signal or
/// not) any threads, or step one named thread; a thread "any" counts as all, a
/// process "any" does not parse.
fn vcont_action(action: &[u8]) -> bool {
    let mut parts = action.split(|&b| b == b':');
    let kind = parts.next().unwrap_or_default();
    let one = match parts.next().map(thread_id) {
        None => false,
        Some(Some((pid, tid))) if pid != Some(Id::Any) => tid == Id::One,
        Some(_) => return false,
    };
    let signal = |s: &[u8]| hex_usize(s).is_some_and(|n| n <= 0xff);
    match kind {
        b"c" => true,
        [b'C', sig @ ..] => signal(sig),
        b"s" => one,
        [b'S', sig @ ..] => signal(sig) && one,
        _ => false,
    }
}

/// Why a session could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartError;

/// The code space (bits 63–62 = 1); linear memory is space 0.
const CODE: u64 = 1 << 62;

/// Task `t`'s bit in a task set (none for a task past [`MAX_MODULES`]).
fn bit(t: TaskId) -> u32 {
    if (t as usize) < MAX_MODULES {
        1 << t
    } else {
        0
    }
}

fn tid(t: TaskId) -> Tid {
    NonZeroUsize::MIN.saturating_add(t as usize)
}

fn task_of(tid: Tid) -> Option<TaskId> {
    TaskId::try_from(tid.get() - 1).ok()
}

fn pc_addr(t: TaskId, offset: u32) -> u64 {
    CODE | (t as u64) << 32 | offset as u64
}

/// A value as lldb wants it: little-endian, its own width.
fn put_value(v: Value, buf: &mut [u8]) -> usize {
    let (bits, n) = match v {
        Value::I32(x) => (x as u32 as u64, 4),
        Value::F32(x) => (x as u64, 4),
        Value::I64(x) => (x as u64, 8),
        Value::F64(x) => (x, 8),
        other => (other.to_bits(), 4),
    };
    put_bits(bits, n, buf)
}

fn put_bits(bits: u64, n: usize, buf: &mut [u8]) -> usize {
    let b = bits.to_le_bytes();
    let n = n.min(buf.len());
    buf[..n].copy_from_slice(&b[..n]);
    n
}

impl<'n, D: Debuggee> Session<'n, D> {
    fn tasks(&self) -> impl Iterator<Item = TaskId> + '_ {
        let n = self.dbg.as_ref().map_or(0, |d| d.task_slots()).min(MAX_MODULES);
        (0..n as TaskId).filter(move |&t| self.dbg.as_ref().is_some_and(|d| d.status(t) != Status::Absent))
    }

    fn live_mask(&self) -> u32 {
        self.tasks().filter(|&t| self.dbg.as_ref().is_some_and(|d| matches!(d.status(t), Status::Live))).fold(0, |m, t| m | bit(t))
    }

    /// Forget every breakpoint and step (detach).
    fn clear_all(&mut self) {
        if let Some(d) = self.dbg.as_mut() {
            for &(t, o) in &self.bps[..self.n_bps] {
                d.clear_breakpoint(t, o);
            }
            for t in 0..MAX_MODULES as TaskId {
                d.set_step(t, false);
            }
        }
        self.n_bps = 0;
        self.resume_step = 0;
        self.stepping = 0;
    }

    /// lldb's code address: (task, offset), for a task that has code.
    fn code_addr(&self, addr: u64) -> Option<(TaskId, u32)> {
        let a = WasmAddr::from_raw(addr)?;
        if a.addr_type() != WasmAddrType::Object {
            return None;
        }
        let t = TaskId::try_from(a.module_index()).ok()?;
        self.dbg.as_ref()?.code(t)?;
        Some((t, a.offset()))
    }
}

impl<'a, 'n, D: Debuggee, C: ConnectionExt> Debugger<'a, 'n, D, C> {
    /// A session on `conn`, its packets assembled in `buf`: half of it checks a packet
    /// as it arrives, half is gdbstub's (the `PacketSize` announced, from which lldb
    /// sizes its memory reads; 8 KiB is plenty, 1 KiB works).
    pub fn new(conn: C, buf: &'a mut [u8]) -> Result<Self, StartError> {
        // Half for the framer, which holds a packet until its checksum is known; half
        // (the `PacketSize` announced) for gdbstub.
        let (mine, stub_buf) = buf.split_at_mut(buf.len() / 2);
        let framer = Framer::new(mine, stub_buf.len());
        let stub: GdbStub<'a, Session<'n, D>, C> = GdbStubBuilder::new(conn).with_packet_buffer(stub_buf).build().map_err(|_| StartError)?;
        let mut target = Session {
            dbg: None,
            names: [""; MAX_MODULES],
            resume_step: 0,
            stepping: 0,
            live: 0,
            focus: 0,
            bps: [(0, 0); 2 * fireball_wasm::debug::MAX_BREAKPOINTS],
            n_bps: 0,
        };
        let sm = stub.run_state_machine(&mut target).map_err(|_| StartError)?;
        Ok(Debugger { sm: Some(sm), target, framer })
    }

    /// Name task `t`'s module for lldb (a path lldb can open finds its DWARF without
    /// reading the module through the stub).
    pub fn set_name(&mut self, t: TaskId, name: &'n str) {
        if let Some(n) = self.target.names.get_mut(t as usize) {
            *n = name;
        }
    }

    /// Whether lldb is still attached.
    pub fn attached(&self) -> bool {
        self.sm.is_some()
    }

    /// Before the first instruction: serve lldb until it resumes the system.
    /// `None` only if the session lost the debuggee, which it never does.
    pub fn attach(&mut self, dbg: D) -> Option<(D, Flow)> {
        self.target.dbg = Some(dbg);
        self.target.live = self.target.live_mask();
        let flow = self.serve();
        self.target.dbg.take().map(|d| (d, flow))
    }

    /// After one scheduling step: report a stop (breakpoint, finished step, trap,
    /// every task ended) or a Ctrl-C from lldb, and serve lldb until it resumes.
    pub fn after_step(&mut self, dbg: D, step: Step) -> Option<(D, Flow)> {
        self.target.dbg = Some(dbg);
        let flow = self.on_step(step);
        self.target.dbg.take().map(|d| (d, flow))
    }

    fn on_step(&mut self, step: Step) -> Flow {
        let Some(GdbStubStateMachine::Running(_)) = &self.sm else {
            return if self.sm.is_some() { self.serve() } else { Flow::Detached };
        };
        let t = &mut self.target;
        let reason: Option<MultiThreadStopReason<u64>> = match step {
            Step::Stopped(task, _) => {
                let stepped = t.stepping & bit(task) != 0;
                Some(if stepped { MultiThreadStopReason::SignalWithThread { tid: tid(task), signal: Signal::SIGTRAP } } else { MultiThreadStopReason::SwBreak(tid(task)) })
            }
            _ => {
                // A task that was live and is not any more: a trap is a stop, an end is
                // reported once every task has ended.
                let live = t.live_mask();
                let ended = t.live & !live;
                t.live = live;
                let trapped = t.tasks().find(|&k| ended & bit(k) != 0 && matches!(t.dbg.as_ref().map(|d| d.status(k)), Some(Status::Trapped(_))));
                let signal_of = |k: TaskId| match t.dbg.as_ref().map(|d| d.status(k)) {
                    Some(Status::Trapped(TrapCode::IntegerDivideByZero | TrapCode::IntegerOverflow | TrapCode::InvalidConversionToInteger)) => Signal::SIGFPE,
                    Some(Status::Trapped(TrapCode::MemoryOutOfBounds | TrapCode::TableOutOfBounds | TrapCode::StackOverflow | TrapCode::CallStackExhausted)) => Signal::SIGSEGV,
                    _ => Signal::SIGILL,
                };
                match trapped {
                    Some(k) => Some(MultiThreadStopReason::SignalWithThread { tid: tid(k), signal: signal_of(k) }),
                    // The last one ended: "exited" (0), or "terminated by a signal" if a module trapped.
                    None if live == 0 => Some(
                        match t.tasks().find(|&k| matches!(t.dbg.as_ref().map(|d| d.status(k)), Some(Status::Trapped(_)))) {
                            Some(k) => MultiThreadStopReason::Terminated(signal_of(k)),
                            None => MultiThreadStopReason::Exited(0),
                        },
                    ),
                    None => None,
                }
            }
        };
        match reason {
            Some(r) => self.stop(r),
            None => self.poll_interrupt(),
        }
    }

    /// Report `reason` (with the pc, LLDB's register 0) and serve lldb.
    fn stop(&mut self, reason: MultiThreadStopReason<u64>) -> Flow {
        let t = &mut self.target;
        // Whatever stopped, no step is pending any more.
        for k in 0..MAX_MODULES as TaskId {
            if t.stepping & bit(k) != 0 {
                if let Some(d) = t.dbg.as_mut() {
                    d.set_step(k, false);
                }
            }
        }
        t.stepping = 0;
        let pc = match reason {
            MultiThreadStopReason::SwBreak(tid) | MultiThreadStopReason::SignalWithThread { tid, .. } => task_of(tid).and_then(|k| {
                t.focus = k;
                Some(pc_addr(k, t.dbg.as_ref()?.frame_pc(k, 0)?))
            }),
            _ => None,
        };
        let sm = match self.sm.take() {
            Some(GdbStubStateMachine::Running(r)) => match pc {
                Some(pc) => {
                    let bytes = pc.to_le_bytes();
                    let mut regs = core::iter::once((gdbstub_arch::wasm::reg::id::WasmRegId::Pc, &bytes[..]));
                    r.report_stop_with_regs(&mut self.target, reason, &mut regs)
                }
                None => r.report_stop(&mut self.target, reason),
            },
            other => {
                self.sm = other;
                return self.serve();
            }
        };
        self.sm = sm.ok();
        if matches!(reason, MultiThreadStopReason::Exited(_) | MultiThreadStopReason::Terminated(_)) {
            // After `W`, lldb is gone; the stub waits for nothing more.
            return self.detach();
        }
        self.serve()
    }

    /// While running: a Ctrl-C (0x03) from lldb stops the system.
    fn poll_interrupt(&mut self) -> Flow {
        let Some(GdbStubStateMachine::Running(mut r)) = self.sm.take() else { return Flow::Run };
        let byte = match r.borrow_conn().peek() {
            Ok(None) => {
                self.sm = Some(GdbStubStateMachine::Running(r));
                return Flow::Run;
            }
            Ok(Some(_)) => r.borrow_conn().read().ok(),
            Err(_) => None,
        };
        self.sm = Some(GdbStubStateMachine::Running(r));
        let Some(byte) = byte else { return self.detach() };
        if !self.take_byte(byte) {
            return self.detach();
        }
        match self.sm.take() {
            Some(GdbStubStateMachine::CtrlCInterrupt(c)) => {
                // Stop in the first live task (the app, when it runs).
                let k = self.target.tasks().find(|&k| self.target.dbg.as_ref().is_some_and(|d| d.status(k) == Status::Live));
                let reason = k.map(|k| MultiThreadStopReason::SignalWithThread { tid: tid(k), signal: Signal::SIGINT });
                self.sm = c.interrupt_handled(&mut self.target, reason).ok();
                self.serve()
            }
            // Still running (a byte of a packet, an ack): the steps in flight stay as they are.
            Some(GdbStubStateMachine::Running(r)) => {
                self.sm = Some(GdbStubStateMachine::Running(r));
                Flow::Run
            }
            other => {
                self.sm = other;
                self.serve()
            }
        }
    }

    /// Serve packets (blocking) while the system is stopped, until lldb resumes it.
    fn serve(&mut self) -> Flow {
        loop {
            let sm = match self.sm.take() {
                None => return self.detach(),
                Some(sm) => sm,
            };
            let next = match sm {
                GdbStubStateMachine::Running(r) => {
                    self.sm = Some(GdbStubStateMachine::Running(r));
                    // Steps lldb asked for take effect now.
                    let t = &mut self.target;
                    t.stepping = t.resume_step;
                    for k in 0..MAX_MODULES as TaskId {
                        if t.resume_step & bit(k) != 0 {
                            if let Some(d) = t.dbg.as_mut() {
                                d.set_step(k, true);
                            }
                        }
                    }
                    t.resume_step = 0;
                    return Flow::Run;
                }
                GdbStubStateMachine::Idle(mut i) => {
                    let byte = i.borrow_conn().read();
                    self.sm = Some(GdbStubStateMachine::Idle(i));
                    match byte {
                        Ok(b) if self.take_byte(b) => continue,
                        _ => return self.detach(),
                    }
                }
                GdbStubStateMachine::CtrlCInterrupt(c) => c.interrupt_handled(&mut self.target, None::<MultiThreadStopReason<u64>>),
                GdbStubStateMachine::Disconnected(mut d) => {
                    return match d.get_reason() {
                        DisconnectReason::Kill => {
                            // lldb waits for an exit status after `k` (GDB's `k` has no
                            // reply, gdbstub sends none): "terminated by SIGKILL".
                            let c = d.borrow_conn();
                            let _ = b"$X09#c1".iter().try_for_each(|&b| c.write(b)).and_then(|()| c.flush());
                            self.target.clear_all();
                            Flow::Kill
                        }
                        _ => self.detach(),
                    };
                }
            };
            match next {
                Ok(sm) => self.sm = Some(sm),
                // A broken stream: end the session cleanly.
                Err(_) => return self.detach(),
            }
        }
    }

    /// One byte from the link, through the framer: gdbstub gets the whole packets
    /// that arrived intact, the client an answer for the others. False if the
    /// stream broke (a write failed, or gdbstub gave up).
    fn take_byte(&mut self, byte: u8) -> bool {
        let running = matches!(self.sm, Some(GdbStubStateMachine::Running(_)));
        match self.framer.push(byte, running) {
            Framed::Nothing => true,
            Framed::Byte(b) => self.feed(b),
            // A command gdbstub would give up on (and the session with it): an error instead.
            Framed::Packet if fatal_to_gdbstub(self.framer.body(), self.framer.step_all) => self.reply(if self.framer.no_ack { b"" } else { b"+" }, b"E08"),
            Framed::Packet => {
                if let Some(t) = self.framer.body().strip_prefix(b"Hc") {
                    match thread_id(t) {
                        Some((_, Id::All)) => self.framer.step_all = true,
                        Some((_, Id::One)) => self.framer.step_all = false,
                        // (Any: gdbstub picks a thread if it has one, else keeps its choice.)
                        _ => {}
                    }
                }
                // (The checksum the framer checked the body against.)
                let sum = self.framer.sum;
                let mut ok = self.feed(b'$');
                for i in 0..self.framer.len {
                    let b = self.framer.body().get(i).copied().unwrap_or(0);
                    ok = ok && self.feed(b);
                }
                if self.framer.body() == b"QStartNoAckMode" {
                    self.framer.no_ack = true;
                }
                ok && self.feed(b'#') && self.feed(HEX[usize::from(sum >> 4)]) && self.feed(HEX[usize::from(sum & 15)])
            }
            Framed::Damaged if !self.framer.no_ack => self.reply(b"-", b""),
            Framed::Damaged => self.reply(b"", b"E05"),
            Framed::TooLong => self.reply(if self.framer.no_ack { b"" } else { b"+" }, b"E07"),
        }
    }

    /// Pass one byte to gdbstub; false if it ended the session.
    fn feed(&mut self, byte: u8) -> bool {
        let next = match self.sm.take() {
            Some(GdbStubStateMachine::Idle(i)) => i.incoming_data(&mut self.target, byte),
            Some(GdbStubStateMachine::Running(r)) => r.incoming_data(&mut self.target, byte),
            // (A packet's last byte may leave either; no byte follows it.)
            other => {
                self.sm = other;
                return true;
            }
        };
        match next {
            Ok(sm) => {
                self.sm = Some(sm);
                true
            }
            Err(_) => false,
        }
    }

    /// Write `ack`, then `body` as a packet (if not empty), to the client ourselves.
    fn reply(&mut self, ack: &[u8], body: &[u8]) -> bool {
        let sum = body.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        let tail = [b'#', HEX[usize::from(sum >> 4)], HEX[usize::from(sum & 15)]];
        let packet = if body.is_empty() { None } else { Some(body) };
        let conn = match self.sm.as_mut() {
            Some(GdbStubStateMachine::Idle(i)) => i.borrow_conn(),
            Some(GdbStubStateMachine::Running(r)) => r.borrow_conn(),
            Some(GdbStubStateMachine::CtrlCInterrupt(c)) => c.borrow_conn(),
            Some(GdbStubStateMachine::Disconnected(d)) => d.borrow_conn(),
            None => return false,
        };
        let mut bytes = ack.iter().chain(packet.into_iter().flat_map(|b| b"$".iter().chain(b).chain(&tail)));
        bytes.try_for_each(|&b| conn.write(b)).and_then(|()| conn.flush()).is_ok()
    }

    fn detach(&mut self) -> Flow {
        self.sm = None;
        self.target.clear_all();
        Flow::Detached
    }
}

impl<D: Debuggee> Target for Session<'_, D> {
    type Arch = gdbstub_arch::wasm::Wasm;
    type Error = ();

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_lldb_register_info_override(&mut self) -> Option<LldbRegisterInfoOverrideOps<'_, Self>> {
        Some(self)
    }

    fn support_host_info(&mut self) -> Option<HostInfoOps<'_, Self>> {
        Some(self)
    }

    fn support_process_info(&mut self) -> Option<ProcessInfoOps<'_, Self>> {
        Some(self)
    }

    fn support_libraries(&mut self) -> Option<LibrariesOps<'_, Self>> {
        Some(self)
    }

    fn support_wasm(&mut self) -> Option<WasmOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> MultiThreadBase for Session<'_, D> {
    fn read_registers(&mut self, regs: &mut WasmRegisters, tid: Tid) -> TargetResult<(), Self> {
        let t = task_of(tid).ok_or(TargetError::NonFatal)?;
        let pc = self.dbg.as_ref().and_then(|d| d.frame_pc(t, 0)).ok_or(TargetError::NonFatal)?;
        regs.pc = pc_addr(t, pc);
        Ok(())
    }

    fn write_registers(&mut self, _regs: &WasmRegisters, _tid: Tid) -> TargetResult<(), Self> {
        Err(TargetError::NonFatal)
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], _tid: Tid) -> TargetResult<usize, Self> {
        let a = WasmAddr::from_raw(start).ok_or(TargetError::NonFatal)?;
        let d = self.dbg.as_ref().ok_or(TargetError::NonFatal)?;
        let t = TaskId::try_from(a.module_index()).map_err(|_| TargetError::NonFatal)?;
        let offset = a.offset() as usize;
        let (src, size) = match a.addr_type() {
            WasmAddrType::Object => {
                let code = d.code(t).ok_or(TargetError::NonFatal)?;
                (code, code.len())
            }
            // lldb-22 sends memory addresses without a module id (a C pointer as it
            // is), whichever thread it looks at, and not always after an `Hg` for
            // that thread: module 0 means the module that stopped last.
            WasmAddrType::Memory => {
                let t = if t == 0 { self.focus } else { t };
                let mem = d.memory(t).ok_or(TargetError::NonFatal)?;
                (mem, usize::try_from(d.memory_size(t)).unwrap_or(usize::MAX).max(mem.len()))
            }
        };
        if offset >= size {
            return Err(TargetError::NonFatal);
        }
        // Up to the memory's size; what the device does not back (a memory larger
        // than its partition) reads as 0 — the guest itself would trap there.
        let n = (size - offset).min(data.len());
        let backed = src.get(offset..).unwrap_or(&[]);
        let k = backed.len().min(n);
        data[..k].copy_from_slice(&backed[..k]);
        data[k..n].fill(0);
        Ok(n)
    }

    fn write_addrs(&mut self, _start: u64, _data: &[u8], _tid: Tid) -> TargetResult<(), Self> {
        // Code may be in flash and memory writes are not offered (yet).
        Err(TargetError::NonFatal)
    }

    fn list_active_threads(&mut self, thread_is_active: &mut dyn FnMut(Tid)) -> Result<(), Self::Error> {
        for t in self.tasks() {
            thread_is_active(tid(t));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> MultiThreadResume for Session<'_, D> {
    fn resume(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), Self::Error> {
        self.resume_step = 0;
        Ok(())
    }

    fn set_resume_action_continue(&mut self, _tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

/// lldb steps one thread "with the others locked" (`vCont;s:p1.1` and no `c`). The
/// kernel has no way to run one task alone, so the others run their slices as usual
/// until the stepped task stops; they are stopped again whenever it is.
impl<D: Debuggee> MultiThreadSchedulerLocking for Session<'_, D> {
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<D: Debuggee> MultiThreadSingleStep for Session<'_, D> {
    fn set_resume_action_step(&mut self, tid: Tid, _signal: Option<Signal>) -> Result<(), Self::Error> {
        if let Some(t) = task_of(tid).filter(|&t| (t as usize) < MAX_MODULES) {
            self.resume_step |= bit(t);
        }
        Ok(())
    }
}

impl<D: Debuggee> Breakpoints for Session<'_, D> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl<D: Debuggee> SwBreakpoint for Session<'_, D> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let Some((t, offset)) = self.code_addr(addr) else { return Ok(false) };
        if self.n_bps >= self.bps.len() {
            return Ok(false);
        }
        let ok = self.dbg.as_mut().is_some_and(|d| d.set_breakpoint(t, offset));
        if ok {
            self.bps[self.n_bps] = (t, offset);
            self.n_bps += 1;
        }
        Ok(ok)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        let Some((t, offset)) = self.code_addr(addr) else { return Ok(false) };
        if let Some(i) = self.bps[..self.n_bps].iter().position(|&b| b == (t, offset)) {
            self.bps.copy_within(i + 1..self.n_bps, i);
            self.n_bps -= 1;
        }
        Ok(self.dbg.as_mut().is_some_and(|d| d.clear_breakpoint(t, offset)))
    }
}

impl<D: Debuggee> LldbRegisterInfoOverride for Session<'_, D> {
    fn lldb_register_info<'a>(&mut self, reg_id: usize, reg_info: Callback<'a>) -> Result<CallbackToken<'a>, Self::Error> {
        Ok(match reg_id {
            0 => reg_info.write(Register {
                name: "pc",
                alt_name: None,
                bitsize: 64,
                offset: 0,
                encoding: Encoding::Uint,
                format: Format::Hex,
                set: "General Purpose Registers",
                gcc: None,
                dwarf: None,
                generic: Some(Generic::Pc),
                container_regs: None,
                invalidate_regs: None,
            }),
            _ => reg_info.done(),
        })
    }
}

const TRIPLE: &str = "wasm32-unknown-unknown-wasm";

impl<D: Debuggee> HostInfo for Session<'_, D> {
    fn host_info(&self, write_item: &mut dyn FnMut(&HostInfoResponse<'_>)) -> Result<(), Self::Error> {
        write_item(&HostInfoResponse::Triple(TRIPLE));
        write_item(&HostInfoResponse::Endianness(Endianness::Little));
        write_item(&HostInfoResponse::PointerSize(4));
        Ok(())
    }
}

impl<D: Debuggee> ProcessInfo for Session<'_, D> {
    fn process_info(&self, write_item: &mut dyn FnMut(&ProcessInfoResponse<'_>)) -> Result<(), Self::Error> {
        write_item(&ProcessInfoResponse::Pid(Pid::MIN));
        write_item(&ProcessInfoResponse::Triple(TRIPLE));
        write_item(&ProcessInfoResponse::Endianness(Endianness::Little));
        write_item(&ProcessInfoResponse::PointerSize(4));
        Ok(())
    }
}

/// Writes the library list into a window `[offset, offset + buf.len())` of the whole document.
struct Window<'b> {
    buf: &'b mut [u8],
    offset: usize,
    pos: usize,
    written: usize,
}

impl Window<'_> {
    fn put(&mut self, s: &str) {
        for &b in s.as_bytes() {
            if self.pos >= self.offset {
                if let Some(slot) = self.buf.get_mut(self.pos - self.offset) {
                    *slot = b;
                    self.written += 1;
                }
            }
            self.pos += 1;
        }
    }
}

impl core::fmt::Write for Window<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.put(s);
        Ok(())
    }
}

/// Escapes the five XML specials of a module name.
fn put_xml(w: &mut Window<'_>, s: &str) {
    for c in s.chars() {
        match c {
            '<' => w.put("&lt;"),
            '>' => w.put("&gt;"),
            '&' => w.put("&amp;"),
            '"' => w.put("&quot;"),
            '\'' => w.put("&apos;"),
            c => {
                let mut b = [0u8; 4];
                w.put(c.encode_utf8(&mut b));
            }
        }
    }
}

impl<D: Debuggee> Libraries for Session<'_, D> {
    fn get_libraries(&self, offset: u64, length: usize, buf: &mut [u8]) -> TargetResult<usize, Self> {
        use core::fmt::Write as _;
        let n = length.min(buf.len());
        let mut w = Window { buf: &mut buf[..n], offset: usize::try_from(offset).unwrap_or(usize::MAX), pos: 0, written: 0 };
        w.put("<library-list>");
        for t in self.tasks() {
            w.put("<library name=\"");
            match self.names.get(t as usize).filter(|n| !n.is_empty()) {
                Some(name) => put_xml(&mut w, name),
                None => {
                    let _ = write!(w, "module{t}.wasm");
                }
            }
            let _ = write!(w, "\"><section address=\"0x{:x}\"/></library>", pc_addr(t, 0));
        }
        w.put("</library-list>");
        Ok(w.written)
    }
}

impl<D: Debuggee> Wasm for Session<'_, D> {
    fn wasm_call_stack(&self, tid: Tid, next_pc: &mut dyn FnMut(u64)) -> Result<(), Self::Error> {
        let (Some(t), Some(d)) = (task_of(tid), self.dbg.as_ref()) else { return Ok(()) };
        for k in 0..d.frame_count(t) {
            if let Some(pc) = d.frame_pc(t, k) {
                next_pc(pc_addr(t, pc));
            }
        }
        Ok(())
    }

    fn read_wasm_local(&self, tid: Tid, frame: usize, local: usize, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let v = task_of(tid).zip(self.dbg.as_ref()).and_then(|(t, d)| d.local(t, frame, u32::try_from(local).ok()?));
        Ok(v.map_or(0, |v| put_value(v, buf)))
    }

    fn read_wasm_stack(&self, tid: Tid, frame: usize, index: usize, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let v = task_of(tid).zip(self.dbg.as_ref()).and_then(|(t, d)| d.operand(t, frame, u32::try_from(index).ok()?));
        Ok(v.map_or(0, |bits| put_bits(bits, 8, buf)))
    }

    fn read_wasm_global(&self, tid: Tid, frame: usize, global: usize, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let v = task_of(tid).zip(self.dbg.as_ref()).and_then(|(t, d)| d.global(t, frame, u32::try_from(global).ok()?));
        Ok(v.map_or(0, |v| put_value(v, buf)))
    }
}
