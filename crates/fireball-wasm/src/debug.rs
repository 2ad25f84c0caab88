//! Debug (feature `debug`): Thread → **breakpoints, single step and a read-only
//! view of a suspended thread** (frames, locals, operands, globals), for a
//! debugger stub (`fireball-sys`'s `gdb`). Nothing here patches code — the
//! module's bytes may sit in flash — and none of it runs unless a breakpoint
//! is set or a step is asked for:
//!
//! ```text
//!   resume(fuel) ── no breakpoint, no step ──► the ordinary loop (unchanged)
//!        │
//!        └─ some set ──► the same loop compiled with `DEBUG`: a function is *watched*
//!                        if a breakpoint lies in its body (or a step is pending),
//!                        decided on entry and on return; only a watched function
//!                        checks its pc before each instruction.
//!
//!   Ready ── pc hits a breakpoint / a step completes ──► Exit::Breakpoint { offset }
//!     ▲                                                        │
//!     └──────────── resume: executes that instruction first ───┘
//! ```
//!
//! Only `resume` checks: `run` (the unmetered loop) never stops for a debugger.
//! A step is one wasm instruction: a call stops at the callee's first
//! instruction, a return at the instruction after the call, and a host call
//! is one step (the thread stops after it returns). Offsets are positions in
//! the module's bytes (the `.wasm` file), the addresses DWARF line tables use.

use allocator_api2::alloc::Allocator;

use crate::exec::{State, Thread};
use crate::module::Module;
use crate::reader::Reader;
use crate::store::{FuncAddr, FuncKind, Store};
use crate::types::ValType;
use crate::value::Value;

/// Breakpoints a thread holds: the user's and a debugger's temporary ones
/// (lldb's `next` and `finish` add their own).
pub const MAX_BREAKPOINTS: usize = 16;

/// A breakpoint: the instruction at `offset` in the module of store instance `instance`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Breakpoint {
    /// Store instance index (0 for a store with one module).
    pub instance: u32,
    /// Offset of the instruction in the module's bytes.
    pub offset: u32,
}

/// Why a breakpoint could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakpointError {
    /// [`MAX_BREAKPOINTS`] are set already.
    Full,
    /// The offset is in no function body of that instance's module.
    NotInCode,
}

/// A thread's debugging state (in the thread, so each task has its own).
#[derive(Debug, Clone, Default)]
pub(crate) struct DebugState {
    bps: [Breakpoint; MAX_BREAKPOINTS],
    len: u8,
    /// Stop before the next instruction executed.
    pub(crate) step: bool,
    /// The offset the thread stopped at, if it stopped for the debugger: resuming
    /// executes that instruction before anything is checked.
    pub(crate) stopped_at: Option<u32>,
}

impl DebugState {
    /// Whether `resume` needs the checking loop.
    #[inline(always)]
    pub(crate) fn active(&self) -> bool {
        self.len != 0 || self.step
    }

    fn list(&self) -> &[Breakpoint] {
        &self.bps[..self.len as usize]
    }

    /// Whether the function whose body is `[start, end)` in `instance` must check its pc.
    pub(crate) fn watches(&self, instance: u32, start: usize, end: usize) -> bool {
        self.step || self.list().iter().any(|b| b.instance == instance && (start..end).contains(&(b.offset as usize)))
    }

    /// Whether the instruction at `offset` of `instance` is a breakpoint.
    pub(crate) fn hit(&self, instance: u32, offset: usize) -> bool {
        self.list().iter().any(|b| b.instance == instance && b.offset as usize == offset)
    }
}

/// One frame of a suspended thread, innermost first (see [`Thread::frame`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameView {
    /// The function's store address.
    pub func: FuncAddr,
    /// Its store instance (`None` for a host function).
    pub instance: Option<u32>,
    /// Its index in its module's function index space (imports first).
    pub index: u32,
    /// The innermost frame: the instruction it is stopped before (or trapped at).
    /// An outer frame: its return address, the instruction after the call.
    pub pc: u32,
    fp: u32,
    locals: u32,
    /// One past its operand stack's top.
    top: u32,
}

impl<A: Allocator + Clone> Thread<A> {
    /// Stop before the instruction at `offset` in store instance `instance`'s module
    /// (setting one twice is one breakpoint). The offset must lie in a function body.
    pub fn set_breakpoint<SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &Store<'_, SA, M>, bp: Breakpoint) -> Result<(), BreakpointError> {
        let module = store.instances.get(bp.instance as usize).map(|i| i.module).ok_or(BreakpointError::NotInCode)?;
        if func_at(module, bp.offset).is_none() {
            return Err(BreakpointError::NotInCode);
        }
        let d = &mut self.debug;
        if d.list().contains(&bp) {
            return Ok(());
        }
        let slot = d.bps.get_mut(d.len as usize).ok_or(BreakpointError::Full)?;
        *slot = bp;
        d.len += 1;
        Ok(())
    }

    /// Remove a breakpoint; false if it was not set.
    pub fn clear_breakpoint(&mut self, bp: Breakpoint) -> bool {
        let d = &mut self.debug;
        match d.list().iter().position(|b| *b == bp) {
            Some(i) => {
                let n = d.len as usize;
                d.bps.copy_within(i + 1..n, i);
                d.len -= 1;
                true
            }
            None => false,
        }
    }

    /// The breakpoints set.
    pub fn breakpoints(&self) -> &[Breakpoint] {
        self.debug.list()
    }

    /// Stop after one instruction at the next `resume` (or not).
    pub fn set_step(&mut self, on: bool) {
        self.debug.step = on;
    }

    /// Whether a step is pending.
    pub fn stepping(&self) -> bool {
        self.debug.step
    }

    /// Frames of a suspended (or trapped) thread; 0 when it has none to show.
    pub fn frame_count(&self) -> usize {
        match self.state {
            State::Ready | State::Host | State::Trapped => self.depth as usize + 1,
            State::Idle | State::Done => 0,
        }
    }

    /// Frame `k`, 0 the innermost.
    pub fn frame<SA: Allocator + Clone, M: Allocator + Clone>(&self, store: &Store<'_, SA, M>, k: usize) -> Option<FrameView> {
        if k >= self.frame_count() {
            return None;
        }
        let depth = self.depth as usize;
        let (func, pc, fp, top) = if k == 0 {
            let pc = match (self.state, self.trap) {
                (State::Trapped, Some(t)) => t.offset,
                _ => self.pc,
            };
            (self.func, pc, self.fp, self.sp)
        } else {
            let f = self.frames.get(depth - k)?;
            // Its operands end where the frame it called begins.
            let callee_fp = if k == 1 { self.fp } else { self.frames.get(depth - k + 1)?.fp };
            (f.func, f.pc, f.fp, callee_fp)
        };
        let (instance, index, locals) = match store.funcs.get(func as usize)?.kind() {
            FuncKind::Wasm { instance, body } => {
                let m = store.instances.get(instance as usize)?.module;
                let locals = m.func_info(body).map_or(0, |b| b.header.locals as u32);
                (Some(instance), m.imported_func_count() + body, locals)
            }
            FuncKind::Host { .. } => (None, 0, 0),
        };
        Some(FrameView { func: FuncAddr(func), instance, index, pc, fp, locals, top })
    }

    /// Local `i` of frame `k` (parameters first), typed.
    pub fn local<SA: Allocator + Clone, M: Allocator + Clone>(&self, store: &Store<'_, SA, M>, k: usize, i: u32) -> Option<Value> {
        let f = self.frame(store, k)?;
        if i >= f.locals {
            return None;
        }
        let module = store.instances.get(f.instance? as usize)?.module;
        let ty = local_type(module, f.index, i)?;
        let bits = *self.stack.get(f.fp as usize + i as usize)?;
        Some(Value::from_bits(bits, ty))
    }

    /// Operand `i` of frame `k`, 0 the top of its stack, as the raw 64-bit slot
    /// (operands carry no type at run time: an i32 or f32 is in the low half, and
    /// its high half is undefined where the interpreter writes only the low one,
    /// `raw::LOW_WORD_I32`: 32-bit Arm).
    pub fn operand<SA: Allocator + Clone, M: Allocator + Clone>(&self, store: &Store<'_, SA, M>, k: usize, i: u32) -> Option<u64> {
        let f = self.frame(store, k)?;
        // Past the locals and the frame's spare slot.
        let bottom = f.fp as usize + f.locals as usize + 1;
        let at = (f.top as usize).checked_sub(1 + i as usize).filter(|&a| a >= bottom)?;
        self.stack.get(at).copied()
    }

    /// Global `i` of frame `k`'s instance.
    pub fn global<SA: Allocator + Clone, M: Allocator + Clone>(&self, store: &Store<'_, SA, M>, k: usize, i: u32) -> Option<Value> {
        let f = self.frame(store, k)?;
        let inst = store.instances.get(f.instance? as usize)?;
        let g = store.globals.get(*inst.globals.get(i as usize)? as usize)?;
        Some(Value::from_bits(g.value, g.ty.ty))
    }
}

impl<'m, A: Allocator + Clone, M: Allocator + Clone> Store<'m, A, M> {
    /// The module an instance was made from.
    pub fn instance_module(&self, inst: crate::store::Instance) -> Option<&'m Module<'m, M>> {
        self.instances.get(inst.0 as usize).map(|i| i.module)
    }

    /// A memory's current size in bytes as the guest sees it (pages × page size),
    /// of which [`Store::memory_data`] is the part the host backs.
    pub fn memory_size(&self, m: crate::store::MemoryAddr) -> Option<u64> {
        self.memories.get(m.0 as usize).map(|mi| mi.pages.saturating_mul(mi.ty.page_size()))
    }
}

/// The defined function (index without imports) whose body holds `offset`:
/// from its local declarations to its final `end`.
pub fn func_at<M: Allocator + Clone>(module: &Module<'_, M>, offset: u32) -> Option<u32> {
    let bodies = module.bodies();
    // Bodies are in code order: the last one starting at or before `offset`.
    let i = bodies.partition_point(|b| b.code_start <= offset).checked_sub(1)?;
    let info = module.func_info(i as u32)?;
    (offset < info.code_end).then_some(i as u32)
}

/// The type of local `i` of function `index` (module index space): a parameter's
/// from the signature, a declared local's from the body's local declarations.
fn local_type<M: Allocator + Clone>(module: &Module<'_, M>, index: u32, i: u32) -> Option<ValType> {
    let ty = module.func_type(index)?;
    if let Some(&t) = ty.params.get(i as usize) {
        return Some(t);
    }
    let mut left = i - ty.params.len() as u32;
    let body = index.checked_sub(module.imported_func_count())?;
    let bytes = module.bytes();
    let mut r = Reader::new(bytes, 8, bytes.len());
    // The code section (id 10), then the body's size-prefixed entry.
    loop {
        let id = r.u8().ok()?;
        let size = r.u32().ok()? as usize;
        if id == 10 {
            break;
        }
        r.skip(size).ok()?;
    }
    let count = r.u32().ok()?;
    if body >= count {
        return None;
    }
    for _ in 0..body {
        let size = r.u32().ok()? as usize;
        r.skip(size).ok()?;
    }
    r.u32().ok()?;
    for _ in 0..r.u32().ok()? {
        let n = r.u32().ok()?;
        let t = ValType::from_byte(r.u8().ok()?)?;
        if left < n {
            return Some(t);
        }
        left -= n;
    }
    None
}
