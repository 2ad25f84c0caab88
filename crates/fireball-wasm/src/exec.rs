//! Exec: Instance → **Thread::resume(fuel)** → [`Exit`]. The interpreter runs
//! validated code in place, straight from the module bytes, with the side
//! table for branches (see `sidetable`). Its state is explicit — a value stack
//! and a frame stack allocated once from the embedder's allocator, no native
//! recursion for wasm calls — so it can stop at any instruction and be resumed:
//!
//! ```text
//!            invoke(func, args)
//!   Idle ───────────────────────► Ready ◄─────────────────┐
//!                                   │ resume(fuel) / run()│
//!        ┌──────────────────────────┼───────────────┐     │
//!        ▼                          ▼               ▼     │
//!   Done(results)   Trap(code, offset, trace)   OutOfFuel ┘ (resume again)
//!                                   │
//!                          HostCall{func, id} ── host_return(results) ──► Ready
//! ```
//!
//! Fuel counts executed wasm instructions; `resume(YIELD_INTERVAL)` is the
//! scheduler's time slice. `run()` is the same loop without the fuel check.

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::vec::Vec;

use crate::float;
use crate::module::{FuncBody, FuncInfo, Module};
use crate::raw::{LOW_WORD_I32, side_word, Code, Slot, Stack};
#[cfg(not(m0_bottom))]
use crate::raw::{mem_load, mem_store};
#[cfg(m0_bottom)]
use crate::raw::Bottom;
use core::cell::Cell;
use crate::sidetable::{Entry, Header, HEADER_ENTRIES, WIDE_BYTES};
use crate::store::{drop_elem, memory_init, table_init, FuncAddr, FuncInst, FuncKind, InstanceData, MemoryInst, Store, TableInst};
use crate::trap::{Trap, TrapCode};
use crate::value::Value;

/// Why `resume` returned.
///
/// With an explicit tag byte (`repr(u8)`): without it the tag hides in the niche of
/// `Trap`'s code, and every `match` on an exit decodes it (8 Cortex-M instructions in
/// the scheduler's switch: `co_yield` 398 → 394 on the M4; engine flash −76 B).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The invoked function returned; read its results with [`Thread::results`].
    Done,
    /// Execution trapped; [`Thread::backtrace`] gives the call stack at the trap.
    Trap(Trap),
    /// Wasm called a host function. Read its arguments with [`Thread::host_args`],
    /// then call [`Thread::host_return`] (or [`Thread::host_trap`]) and resume.
    HostCall {
        /// The host function's store address.
        func: FuncAddr,
        /// The id it was registered with.
        id: u32,
    },
    /// The fuel budget is spent; resume to continue exactly where it stopped.
    OutOfFuel,
    /// Stopped for a debugger (feature `debug`: a breakpoint, or a completed single
    /// step) before the instruction at `offset` in the running module's bytes;
    /// resume to execute it and go on. Never returned without the feature.
    Breakpoint {
        /// Offset of the instruction not yet executed.
        offset: u32,
    },
}

/// Why a call could not be started or continued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvokeError {
    /// Arguments (or host results) do not match the signature.
    Signature,
    /// No such function.
    UnknownFunction,
    /// The thread is not waiting for that (e.g. `host_return` without a host call).
    State,
}

/// Sizes of a thread's stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackLimits {
    /// Value-stack slots (8 bytes each): locals and operands of every frame.
    pub value_slots: u32,
    /// Maximum call depth.
    pub frames: u32,
}

impl Default for StackLimits {
    fn default() -> Self {
        StackLimits { value_slots: 64 * 1024, frames: 1024 }
    }
}

/// The most fuel one run of the loop counts (it counts in a machine word).
const FUEL_CHUNK: u64 = (isize::MAX >> 1) as u64;

/// A suspended caller: where to continue and its frame pointer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Frame {
    pub(crate) func: u32,
    pub(crate) pc: u32,
    stp: u32,
    pub(crate) fp: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Idle,
    Ready,
    Host,
    Done,
    Trapped,
}

/// One line of execution: value stack, frame stack and the registers of the
/// suspended interpreter. A scheduler task owns one.
pub struct Thread<A: Allocator + Clone = Global> {
    pub(crate) stack: Vec<u64, A>,
    /// Full-length from the start; `depth` of them are in use.
    pub(crate) frames: Vec<Frame, A>,
    pub(crate) depth: u32,
    pub(crate) state: State,
    // Suspended registers.
    pub(crate) pc: u32,
    stp: u32,
    pub(crate) sp: u32,
    pub(crate) fp: u32,
    pub(crate) func: u32,
    /// What the loop knew of `func` when it last exited, so that resuming skips its
    /// lookup (store function, body, header): its instance (`u32::MAX`: not known,
    /// as after `invoke`), where its body ends (a code offset) and its result count.
    ctx_inst: u32,
    ctx_end: u32,
    ctx_results: u16,
    /// Host function being called, and whether it was a tail call.
    host: u32,
    tail_host: bool,
    /// Whether the embedder invoked a host function itself (answering it ends the run).
    host_entry: bool,
    /// Its parameter and result counts (cached at the call, for the raw accessors).
    host_params: u16,
    host_results: u16,
    /// Function invoked by the embedder (its signature gives the results).
    entry: u32,
    /// The store it was invoked in (`Store::id`; 0: none yet).
    store: u32,
    pub(crate) trap: Option<Trap>,
    fuel_left: i64,
    instructions: u64,
    /// Fuel owed for the entered-but-not-yet-charged run of the invoked function.
    debt: u32,
    /// Memory 0's bytes of the running instance as the loop last took them
    /// (`cfg(m0_bottom)`: 32-bit Arm; `refresh_m0!` in `execute_in`); taken again at
    /// every entry, so stale between runs, and never read outside the loop.
    #[cfg(m0_bottom)]
    m0: Bottom,
    /// Breakpoints and the pending step (`debug`).
    #[cfg(feature = "debug")]
    pub(crate) debug: crate::debug::DebugState,
}

impl Thread<Global> {
    /// A thread on the global allocator.
    pub fn new(limits: StackLimits) -> Result<Self, crate::error::OutOfMemory> {
        Self::new_in(limits, Global)
    }
}

impl<A: Allocator + Clone> Thread<A> {
    /// A thread whose stacks come from `alloc`, allocated once, now.
    pub fn new_in(limits: StackLimits, alloc: A) -> Result<Self, crate::error::OutOfMemory> {
        let mut stack = Vec::new_in(alloc.clone());
        crate::error::try_resize(&mut stack, limits.value_slots as usize, 0)?;
        // Allocated at its full length and filled in place, without `try_resize`: a
        // second instance of it (for `Frame`) cost 272 B of Cortex-M flash.
        let n = limits.frames as usize;
        let mut frames = Vec::new_in(alloc);
        frames.try_reserve_exact(n).map_err(|_| crate::error::OutOfMemory)?;
        while frames.len() < n && frames.push_within_capacity(Frame::default()).is_ok() {}
        Ok(Thread {
            stack,
            frames,
            depth: 0,
            state: State::Idle,
            pc: 0,
            stp: 0,
            sp: 0,
            fp: 0,
            func: 0,
            ctx_inst: u32::MAX,
            ctx_end: 0,
            ctx_results: 0,
            host: 0,
            tail_host: false,
            #[cfg(m0_bottom)]
            m0: Bottom::EMPTY,
            host_entry: false,
            host_params: 0,
            host_results: 0,
            entry: 0,
            store: 0,
            trap: None,
            fuel_left: 0,
            instructions: 0,
            debt: 0,
            #[cfg(feature = "debug")]
            debug: crate::debug::DebugState::default(),
        })
    }

    /// Bytes of RAM the thread's stacks occupy.
    pub fn ram_bytes(&self) -> usize {
        self.stack.capacity() * 8 + self.frames.capacity() * core::mem::size_of::<Frame>()
    }

    /// Fuel left after the last `resume`.
    pub fn fuel_left(&self) -> u64 {
        self.fuel_left.max(0) as u64
    }

    /// Wasm instructions executed under `resume` (metered runs) since creation.
    pub fn instructions(&self) -> u64 {
        self.instructions
    }

    /// Start a call of `func` with `args`. Run it with [`Thread::resume`] or [`Thread::run`].
    pub fn invoke<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &Store<'m, SA, M>, func: FuncAddr, args: &[Value]) -> Result<(), InvokeError> {
        let fi = *store.funcs.get(func.0 as usize).ok_or(InvokeError::UnknownFunction)?;
        let sig = store.sig(fi.sig());
        if sig.params.len() != args.len() || sig.params.iter().zip(args).any(|(t, a)| *t != a.ty()) {
            return Err(InvokeError::Signature);
        }
        self.depth = 0;
        self.trap = None;
        self.entry = func.0;
        self.store = store.id;
        self.func = func.0;
        self.ctx_inst = u32::MAX;
        self.tail_host = false;
        self.host_entry = false;
        if args.len() > self.stack.len() {
            self.fail(Trap { code: TrapCode::StackOverflow, offset: 0, func: func.0 });
            return Ok(());
        }
        for (slot, a) in self.stack.iter_mut().zip(args) {
            *slot = a.to_bits();
        }
        self.sp = args.len() as u32;
        match fi.kind() {
            FuncKind::Wasm { instance, body } => {
                let b: FuncInfo = match store.instances.get(instance as usize).and_then(|i| i.module.func_info(body)) {
                    Some(b) => b,
                    None => return Err(InvokeError::UnknownFunction),
                };
                let h = b.header;
                // Locals, the frame's spare slot (see `execute`), the deepest operand stack.
                let end = h.locals as usize + 1 + h.max_height as usize;
                if end > self.stack.len() {
                    self.fail(Trap { code: TrapCode::StackOverflow, offset: b.code_start, func: func.0 });
                    return Ok(());
                }
                // (A hidden zero: a store loop, not a call to `memclr8`; see `try_resize`.)
                if let Some(locals) = self.stack.get_mut(args.len()..h.locals as usize) {
                    locals.fill(core::hint::black_box(0));
                }
                self.fp = 0;
                self.sp = h.locals as u32 + 1;
                self.pc = b.code_start;
                self.stp = b.stp_start;
                self.debt = h.entry_cost;
                self.state = State::Ready;
            }
            FuncKind::Host { .. } => {
                self.host = func.0;
                self.host_params = sig.params.len() as u16;
                self.host_results = sig.results.len() as u16;
                self.host_entry = true;
                self.state = State::Host;
            }
        }
        Ok(())
    }

    fn fail(&mut self, t: Trap) {
        self.trap = Some(t);
        self.state = State::Trapped;
    }

    /// The invoked function's results, once `resume` returned `Exit::Done`.
    pub fn results<'s, 'm, SA: Allocator + Clone, M: Allocator + Clone>(&'s self, store: &'s Store<'m, SA, M>) -> impl Iterator<Item = Value> + 's {
        let ty = store.func_type(FuncAddr(self.entry));
        let n = if self.state == State::Done { ty.results.len() } else { 0 };
        self.stack[..n].iter().zip(ty.results).map(|(&b, &t)| Value::from_bits(b, t))
    }

    /// Arguments of the pending host call.
    pub fn host_args<'s, 'm, SA: Allocator + Clone, M: Allocator + Clone>(&'s self, store: &'s Store<'m, SA, M>) -> impl Iterator<Item = Value> + 's {
        let ty = store.func_type(FuncAddr(self.host));
        let n = if self.state == State::Host { ty.params.len() } else { 0 };
        let sp = self.sp as usize;
        let start = sp.saturating_sub(n);
        self.stack[start..sp].iter().zip(ty.params).map(|(&b, &t)| Value::from_bits(b, t))
    }

    /// Finish the pending host call with `results`; the next `resume` continues after the call.
    pub fn host_return<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &Store<'m, SA, M>, results: &[Value]) -> Result<(), InvokeError> {
        if self.state != State::Host {
            return Err(InvokeError::State);
        }
        let ty = store.func_type(FuncAddr(self.host));
        if ty.results.len() != results.len() || ty.results.iter().zip(results).any(|(t, r)| *t != r.ty()) {
            return Err(InvokeError::Signature);
        }
        self.finish_host(results.iter().map(Value::to_bits), results.len());
        Ok(())
    }

    /// Arguments of the pending host call as raw slots (the engine's encoding, see
    /// `value`): for embedders that know their imports' signatures, without a store lookup.
    /// An i32 or f32 argument is the slot's low 32 bits; read it as `v as u32`: the
    /// high half is undefined on targets where the interpreter writes 32-bit results
    /// to the low word only (32-bit Arm).
    pub fn host_args_raw(&self) -> &[u64] {
        if self.state != State::Host {
            return &[];
        }
        let sp = self.sp as usize;
        self.stack.get(sp.saturating_sub(self.host_params as usize)..sp).unwrap_or(&[])
    }

    /// Finish the pending host call with raw result slots. The count must match the
    /// host function's signature; the embedder vouches for the types (a slot is untyped,
    /// so a wrong type is a wrong value for the guest, never unsoundness).
    pub fn host_return_raw(&mut self, results: &[u64]) -> Result<(), InvokeError> {
        if self.state != State::Host {
            return Err(InvokeError::State);
        }
        if results.len() != self.host_results as usize {
            return Err(InvokeError::Signature);
        }
        self.finish_host(results.iter().copied(), results.len());
        Ok(())
    }

    /// Finish the pending call to a host function that returns nothing (a scheduler's
    /// `yield`, a channel send): [`Thread::host_return_raw`]`(&[])` in a few
    /// instructions, its arguments dropped and nothing put in their place.
    #[inline]
    pub fn host_return_void(&mut self) -> Result<(), InvokeError> {
        if self.state != State::Host {
            return Err(InvokeError::State);
        }
        if self.host_results != 0 {
            return Err(InvokeError::Signature);
        }
        // `finish_host` with no results: the arguments lie below `sp`, inside the stack.
        self.sp = self.sp.saturating_sub(self.host_params as u32);
        self.host_done();
        Ok(())
    }

    /// Replace the host call's arguments by its `n` results (already checked against its
    /// signature) and make the thread ready, or done if the embedder invoked the host function.
    fn finish_host(&mut self, results: impl Iterator<Item = u64>, n: usize) {
        let base = (self.sp as usize).saturating_sub(self.host_params as usize);
        let Some(slots) = self.stack.get_mut(base..base + n) else {
            self.fail(Trap { code: TrapCode::StackOverflow, offset: self.pc, func: self.func });
            return;
        };
        for (slot, bits) in slots.iter_mut().zip(results) {
            *slot = bits;
        }
        self.sp = (base + n) as u32;
        self.host_done();
    }

    /// The host call is answered: the thread is ready, or done if the embedder invoked
    /// the host function directly.
    #[inline(always)]
    fn host_done(&mut self) {
        self.state = if self.host_entry { State::Done } else { State::Ready };
    }

    /// Fail the pending host call: the thread traps with `TrapCode::Host`.
    pub fn host_trap(&mut self) {
        let t = Trap { code: TrapCode::Host, offset: self.pc, func: self.func };
        self.fail(t);
    }

    /// Call stack at the last trap (or suspension), innermost first: (function address, code offset).
    pub fn backtrace(&self) -> impl Iterator<Item = (FuncAddr, u32)> + '_ {
        let top = self.trap.map_or((self.func, self.pc), |t| (t.func, t.offset));
        let frames = self.frames.get(..self.depth as usize).unwrap_or(&[]);
        core::iter::once(top).chain(frames.iter().rev().map(|f| (f.func, f.pc))).map(|(f, pc)| (FuncAddr(f), pc))
    }

    /// Continue with a budget of `fuel` wasm instructions.
    pub fn resume<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &mut Store<'m, SA, M>, fuel: u64) -> Exit {
        #[cfg(feature = "debug")]
        if !self.debug.active() {
            self.debug.stopped_at = None;
        }
        // A time slice fits one chunk: one entry, and the same accounting as
        // `resume_chunked` without its 64-bit bookkeeping (every host call and slice
        // comes here; that function out of line, this path's frame is small: with the
        // split, `resume` + `enter` went from 41 to 33 Cortex-M4 instructions a switch).
        if fuel <= FUEL_CHUNK {
            let exit = self.enter_metered(store, fuel);
            // A slice may overshoot by up to one basic block: `fuel_left` is then negative.
            // In a machine word, as the loop counts: it left an `isize` there, and the
            // budget is at most `FUEL_CHUNK`, so the difference is a few runs from it.
            let left = (self.fuel_left as isize).min(fuel as isize);
            self.instructions += (fuel as isize).wrapping_sub(left) as usize as u64;
            self.fuel_left = left as i64;
            return exit;
        }
        self.resume_chunked(store, fuel)
    }

    /// [`Thread::resume`] with a budget larger than the loop counts in a machine word:
    /// spent in chunks (out of the slices' path: its 64-bit bookkeeping would cost
    /// their entry a larger frame).
    #[inline(never)]
    fn resume_chunked<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &mut Store<'m, SA, M>, fuel: u64) -> Exit {
        let mut used = 0u64;
        loop {
            let chunk = (fuel - used.min(fuel)).min(FUEL_CHUNK);
            let exit = self.enter_metered(store, chunk);
            // A slice may overshoot its budget by up to one basic block (see `out_of_fuel!`).
            used += (chunk as i64 - self.fuel_left.min(chunk as i64)) as u64;
            if exit != Exit::OutOfFuel || used >= fuel {
                self.instructions += used;
                self.fuel_left = (fuel.min(i64::MAX as u64) as i64).saturating_sub(used.min(i64::MAX as u64) as i64);
                return exit;
            }
        }
    }

    /// One metered entry with a budget of `fuel` (at most `FUEL_CHUNK`): with a
    /// breakpoint set or a step pending, the loop that checks (`debug`).
    #[inline(always)]
    fn enter_metered<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &mut Store<'m, SA, M>, fuel: u64) -> Exit {
        #[cfg(feature = "debug")]
        if self.debug.active() {
            return self.enter::<SA, M, true, true>(store, fuel);
        }
        self.enter::<SA, M, true, false>(store, fuel)
    }

    /// Continue without a fuel budget, until done, trapped or a host call.
    pub fn run<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &mut Store<'m, SA, M>) -> Exit {
        // The unmetered loop does not keep the running function's context (`ctx_*`)
        // at its exits: forget it here, outside the loop, whose code it would move.
        self.ctx_inst = u32::MAX;
        self.enter::<SA, M, false, false>(store, 0)
    }

    fn enter<'m, SA: Allocator + Clone, M: Allocator + Clone, const METERED: bool, const DEBUG: bool>(
        &mut self,
        store: &mut Store<'m, SA, M>,
        fuel: u64,
    ) -> Exit {
        self.fuel_left = fuel.min(FUEL_CHUNK) as i64;
        match self.state {
            State::Ready if self.store == store.id => self.execute::<SA, M, METERED, DEBUG>(store, fuel.min(FUEL_CHUNK) as isize),
            // Resumed in another store than the one it was invoked in: its saved code
            // position and frames would be read in that store's code. It ends here.
            State::Ready => {
                let t = Trap { code: TrapCode::Internal, offset: self.pc, func: self.func };
                self.fail(t);
                Exit::Trap(t)
            }
            State::Done => Exit::Done,
            State::Trapped => Exit::Trap(self.trap.unwrap_or(Trap { code: TrapCode::Internal, offset: 0, func: 0 })),
            State::Host => {
                let id = match store.funcs.get(self.host as usize).map(|f| f.kind()) {
                    Some(FuncKind::Host { id }) => id,
                    _ => 0,
                };
                Exit::HostCall { func: FuncAddr(self.host), id }
            }
            State::Idle => Exit::Trap(Trap { code: TrapCode::Internal, offset: 0, func: 0 }),
        }
    }

    /// The interpreter loop.
    ///
    /// Registers, in locals for the whole loop and written back only on exit:
    /// `pc` (a pointer into the code), `sp` and `fp` (pointers into the value
    /// stack: one past the operand stack's top, and the frame's first local),
    /// `stp` (side-table index) and `fuel` (a machine word). A frame is its
    /// locals, one spare slot, then its operands: the spare slot lets the loop
    /// read "the operand below" before it knows an instruction needs one (the
    /// `i32.const` fusion), even on an empty stack.
    ///
    /// Entering, the metered loop takes the running function's instance, body end
    /// and result count from the thread (`ctx_*`, written at each of its exits;
    /// `invoke` and `run` forget them), so resuming after a host call or a time slice
    /// looks up no store function, body or header: a `co_yield` switch 457 → 438
    /// Cortex-M4 instructions, an automatic yield 354 → 342.
    ///
    /// The instructions that branch, call or return do not do it in their own
    /// arm: they hand an [`Act`] to one shared path after the dispatch, so the
    /// branch, call and return sequences exist once in flash.
    ///
    /// Measured and not kept: caching the top of the stack in a register (6 % more
    /// host instructions on x86-64, 40 % more Cortex-M4 instructions: it costs two
    /// registers there); moving i64 and float arithmetic out of the loop (a second
    /// dispatch: 20 % more on SHA-512, and no gain on the i32-only CoreMark); keeping a
    /// pointer *at* the top value instead of one past it, so pushes and pops are single
    /// pre/post-indexed accesses (x86 unchanged, SHA-2 +2 %, M4 CoreMark +0.2 %: at
    /// opt-level "s" LLVM still carries the stack pointer in two registers and copies it
    /// at every dispatch, which opt-level 2 then did not (README, "engine crate at opt-level 2":
    /// since then the "s" loop has become faster than the opt-level 2 one, by 4.3 %);
    /// memory 0's backed bytes held as a slice for the whole loop (taken again after a rare
    /// instruction or another instance), loads and stores of other memories and the tail
    /// window in two cold functions (x86 CoreMark −1.7 %, fib +1.9 %; M4 CoreMark +0.7 %: the
    /// arms' shared tail gained a register copy; +588 B); memory 0 held as a `&mut
    /// MemoryInst` for the whole loop instead (let go for another memory or a rare
    /// instruction; no `memories` bounds check or multiply per access): M4 CoreMark +6.3 %,
    /// one more live pointer; the table limit read in the rare instructions' arm instead of
    /// the prologue (a `co_yield` switch −3 instructions, M4 CoreMark +1.8 %: register
    /// allocation); `core::hint::cold_path()` on the two out-of-fuel exits (same M4 code;
    /// x86 fuel column unchanged within noise, the unmetered loop 5 % slower: layout);
    /// the dispatch leaving `pc` at the opcode, each arm moving it past (so the dispatch
    /// keeps no copy of the old `pc` for `at!()`): M4 CoreMark +11 %, LLVM copied `pc`
    /// at the dispatch all the same and spilled `fp` (the copy went with `Code::next_op`,
    /// which hides from LLVM that the new `pc` is the old plus one); with `next_op`,
    /// branch offsets relative to the byte after the opcode and traps that find their
    /// instruction's start afterwards, so no arm names the old `pc`: M4 CoreMark a
    /// further −0.6 % only, not worth a side-table format change; (loads and stores
    /// without `at!()`, a trap finding the instruction's start by peeling its memarg's
    /// LEBs off backwards from `pc`, first measured at −1.2 % and +500 B with each trap
    /// site its own call, landed later with one shared cold function: `MEMARG_BACK`);
    /// side-table entries with each field
    /// within one 32-bit half (`dstp` decoded by one `sxth` instead of three instructions
    /// across the halves) and the escape mark in `drop`: M4 CoreMark −1.0 %, but x86-64
    /// +3 to +6 % host instructions on every workload (callgrind: `stp` and the memarg
    /// spilled around the loop), the same with the mark left in `keep`; stores with a
    /// `mem_store` of constant width per opcode group instead of one of variable width:
    /// M4 +3.8 %, +1.2 KB; a memarg read as one halfword when its alignment and offset
    /// are a byte each (one test instead of two byte loads and three): M4 +1.7 %; memory
    /// 0's bottom part as a raw (pointer, length) pair refreshed after a rare instruction
    /// or another instance: M4 +3.7 % (in registers, it displaced others), and the pair
    /// read through `black_box` to keep it in memory: +17 % (its memory clobber made the
    /// loop reload everything else). Measured after `LOW_WORD_I32` (M4 CoreMark
    /// 14 003 982): stores checking their bounds against a constant 8 bytes and choosing
    /// their width from the opcode (`mem_store` exact only near the end): stores −3
    /// instructions each, but loads +5.7 (the loop's registers moved: `pc` copied at
    /// every load), +1.6 % in all, and +2.7 % with a one-compare memarg fast path too
    /// (that path alone −0.16 %); `i32.load` in an arm of its own again: −0.23 %, too
    /// little for a second copy of the load path (the engine was then 137 B under
    /// the line at "z"); the store's rarely used fields
    /// (functions, instances, tables, signatures, limits) read from `store` where needed
    /// instead of held in locals from the prologue: automatic yield −4 instructions,
    /// CoreMark +2.1 %; calls marked cold (a `#[cold]` empty call in their arms):
    /// +1.9 % (`core::hint::cold_path` there changed nothing: rustc ignores it in a
    /// `match` of more than two arms). LLVM options for the board builds, on top of
    /// the critical-edge split: `-enable-tail-merge=false` −0.2 %,
    /// `-enable-ext-tsp-block-placement` −0.3 %, `-regalloc=pbqp` +1.5 %,
    /// `-split-spill-mode=size` +22 %; `-split-spill-mode=speed`,
    /// `-enable-local-reassign`, `-consider-local-interval-cost`,
    /// `-exhaustive-register-search` and the tail-duplication limits changed nothing
    /// (a Thumb jump table is never duplicated: its table is inline). Nor does
    /// `-C force-frame-pointers=no`: rustc keeps the Thumb targets' own setting (frame
    /// pointers always, for debuggers), so `r7` stays the frame pointer and the loop has
    /// twelve registers to allocate, not thirteen; only a custom target could change it.
    /// The engine crate at opt-level 2 or 3 instead of "s": +3.4 % (README).
    /// Measured after `MEMARG_BACK` and the `i32.store` arm (M4 CoreMark 13 387 657):
    /// `i32.load` in an arm of its own again +0.8 %, `i32.load8_u` +1.5 %; `i32.store8` in one too −0.02 %
    /// for +160 B; the store arms choosing a constant-width `mem_store` by opcode group
    /// +1.8 %; the store's `memories` as a slice taken in the prologue +0.15 % (LLVM
    /// gave the register it freed to `pc`, not to the locals' `fp`); profile-guided
    /// optimisation of the board build (`-Cprofile-use` with a CoreMark profile taken
    /// on QEMU through the `minicov` runtime) +4.5 %, the locals' `fp` still spilled.
    /// Measured in stop 34: the outer loop below tests `act` at its head on every pass
    /// (three M4 instructions a taken branch, call or return: `movs`, `lsls`, `beq`),
    /// because a `return_call` to a host function enters it with `Act::Return`; resuming
    /// such a call at its function's final `end` instead, so the loop always begins
    /// with a dispatch: `br_if` taken 31 → 29, but loads 38 → 41.7 (register copies at
    /// their join), M4 CoreMark +1.0 %, and x86-64 unmetered +3.6 % (fib) and +4.3 %
    /// (CoreMark) host instructions. Handlers that tail-call each other through a table
    /// (wasm3's design), prototyped for the hot opcodes on thumbv7em at opt-level "s":
    /// LLVM does make the sibling calls (`bx`), but every handler sets up a frame
    /// (`push {r7, lr}`, `mov r7, sp`, `pop`: the Thumb targets keep frame pointers) and
    /// loads the table's address (`movw`, `movt`), so `local.get` takes 16 instructions
    /// and `i32.add` 12, against this loop's 10 and 7; with three arguments (the locals'
    /// base in the context) no better. The metered loop's side-table index kept in the
    /// thread (`self.stp`) rather than a local, on 32-bit Arm: −1.2 % (13 387 657 →
    /// 13 230 164; `local.get` and the like one instruction fewer, a taken `br_if` three
    /// more), landed, then replaced by memory 0 in the thread (`raw::Bottom`, −3.7 %
    /// from there): with both, 13.08 M, so the index is a local again. (The unmetered
    /// loop had taken +18 % with the index in the thread.) Measured in stop 37: the
    /// outer loop rotated (the shared paths' `match` first, then the dispatch loop, so
    /// no `act` test after a branch): M4 CoreMark +32 % (12.74 M → 16.81 M); the i32
    /// divisions in arms of their own on x86-64 (inline `int_div32`, one arm per opcode:
    /// `int_div` was 11 % of Fireball's time on the bench's Adler-32 kernel): the memory
    /// kernel −4.5 % host instructions, but CoreMark +5.1 %, JSON +4.6 %, deflate
    /// +3.5 %, fib +3.2 % (`scripts/bench-instructions.sh`: the loop's registers moved).
    #[cfg(not(feature = "checked"))]
    #[inline(always)]
    fn execute<'m, SA: Allocator + Clone, M: Allocator + Clone, const METERED: bool, const DEBUG: bool>(
        &mut self,
        store: &mut Store<'m, SA, M>,
        budget: isize,
    ) -> Exit {
        self.execute_in::<SA, M, METERED, DEBUG>(store, budget)
    }

    #[cfg(feature = "checked")]
    #[inline(always)]
    fn execute<'m, SA: Allocator + Clone, M: Allocator + Clone, const METERED: bool, const DEBUG: bool>(
        &mut self,
        store: &mut Store<'m, SA, M>,
        budget: isize,
    ) -> Exit {
        // Raised when a value-stack access fell outside the stack (a broken validator
        // guarantee): the guest ends with an internal error.
        let poison = Cell::new(false);
        let exit = self.execute_in::<SA, M, METERED, DEBUG>(store, budget, &poison);
        if poison.get() {
            let t = Trap { code: TrapCode::Internal, offset: self.pc, func: self.func };
            self.trap = Some(t);
            self.state = State::Trapped;
            return Exit::Trap(t);
        }
        exit
    }

    #[inline(never)]
    #[allow(clippy::cognitive_complexity)]
    // Single-byte arms, not ranges, in the dispatch: see `Thumb dispatch` in the body.
    #[allow(clippy::manual_range_patterns)]
    fn execute_in<'m, SA: Allocator + Clone, M: Allocator + Clone, const METERED: bool, const DEBUG: bool>(
        &mut self,
        store: &mut Store<'m, SA, M>,
        budget: isize,
        #[cfg(feature = "checked")] poison: &Cell<bool>,
    ) -> Exit {
        #[cfg(not(feature = "checked"))]
        let poison = &Cell::new(false);
        let Store { funcs, tables, memories, globals, instances, elem_items, data_dropped, limits, sigs, .. } = store;
        let funcs: &[FuncInst] = &funcs[..];
        let instances = &instances[..];
        let max_table = limits.max_table_elems as u64;
        let stack = Stack::new(&mut self.stack[..], poison);
        // The frame stack: `depth` frames in use (the vector is full-length from the start).
        let frames = &mut self.frames[..];
        let mut depth = self.depth as usize;
        // Slot indices for frames and the saved registers are counted from here.
        let base = stack;
        // One past the last slot: a call is admitted only if its frame ends at or below it.
        let stack_top = Slot::at(stack, stack.len());

        let mut pc: Code;
        let mut stp = self.stp as usize;
        let mut sp = Slot::at(stack, self.sp as usize);
        let mut fp = Slot::at(stack, self.fp as usize);
        let mut cur = self.func;
        let mut fuel = budget;
        if METERED {
            fuel -= self.debt as isize;
            self.debt = 0;
        }

        // The running function's instance, and what the loop needs of it.
        let mut inst_idx: u32 = u32::MAX;
        let mut inst: &InstanceData<'m, SA, M>;
        let mut code: &[u8] = &[];
        let mut side: &[u8] = &[];
        let mut overflow: &[u8] = &[];
        let mut bodies: &[FuncBody] = &[];
        let mut imported: u32 = 0;
        let mut mem0: usize = usize::MAX;
        // Memory 0's bytes in the thread (`self.m0`, see `Bottom`) for the loads and
        // stores on 32-bit Arm (`cfg(m0_bottom)`), taken again on entry (every entry
        // enters an instance), when the instance changes and after every rare
        // instruction (`memory.grow` among them): an access then reads the bytes'
        // pointer and length from the thread instead of looking the memory up in the
        // store (its index spilled, a bounds check and a multiply by the instance's
        // size): M4 CoreMark 13 230 164 → 12 738 586 instructions (−3.7 %) metered,
        // the unmetered loop −7.2 %; engine flash +204 B at "s".
        #[cfg(m0_bottom)]
        macro_rules! refresh_m0 {
            () => {
                self.m0 = memories.get_mut(mem0).map_or(Bottom::EMPTY, |m| Bottom::of(&mut m.data))
            };
        }
        #[cfg(not(m0_bottom))]
        macro_rules! refresh_m0 {
            () => {};
        }
        // The running function: one past its final `end`, and its result count.
        let mut body_end: Code;
        let mut nresults: usize;
        // The saved pc, until the running function's code is known.
        let saved_pc = self.pc as usize;
        // `DEBUG`: whether the running function checks its pc before each instruction
        // (a breakpoint in its body, or a step pending), and the instruction the thread
        // stopped at for the debugger, which resuming executes unchecked.
        #[cfg(feature = "debug")]
        let mut watch = false;
        #[cfg(not(feature = "debug"))]
        let watch = false;
        #[cfg(feature = "debug")]
        let mut resume_at = if DEBUG { self.debug.stopped_at.take().map_or(usize::MAX, |o| o as usize) } else { usize::MAX };

        // Every trap leaves this block as (code, offset) to the one epilogue below.
        let (trap_code, trap_at): (TrapCode, usize) = 'exec: {

        // Trap at code offset `$at` (a `usize`).
        macro_rules! trap {
            ($code:expr, $at:expr) => {
                break 'exec ($code, $at)
            };
        }
        // Trap at the instruction at `$at` (a `Code` of the running function).
        macro_rules! trap_at {
            ($code:expr, $at:expr) => {
                break 'exec ($code, $at.offset(code))
            };
        }
        macro_rules! push {
            ($v:expr) => {{
                let v = $v;
                sp.set(v);
                sp = sp.add(1);
            }};
        }
        macro_rules! pop {
            () => {{
                sp = sp.sub(1);
                sp.get()
            }};
        }
        macro_rules! top {
            () => {
                sp.sub(1).get()
            };
        }
        macro_rules! set_top {
            ($v:expr) => {{
                let v = $v;
                sp.sub(1).set(v);
            }};
        }
        macro_rules! save {
            () => {{
                self.pc = pc.offset(code) as u32;
                self.stp = stp as u32;
                self.sp = sp.index(base) as u32;
                self.fp = fp.index(base) as u32;
                self.func = cur;
                self.depth = depth as u32;
                // (The metered loops only: `run` forgets them before it enters.)
                if METERED {
                    self.ctx_inst = inst_idx;
                    self.ctx_end = body_end.offset(code) as u32;
                    self.ctx_results = nresults as u16;
                }
            }};
        }
        macro_rules! enter_instance {
            ($i:expr) => {{
                inst_idx = $i;
                inst = match instances.get(inst_idx as usize) {
                    Some(i) => i,
                    None => trap!(TrapCode::Internal, 0),
                };
                let m: &Module<'m, M> = inst.module;
                code = m.bytes;
                side = m.side.side();
                overflow = m.side.overflow();
                bodies = &m.bodies;
                imported = m.imported_funcs;
                mem0 = inst.memories.first().map_or(usize::MAX, |&a| a as usize);
                refresh_m0!();
            }};
        }
        // Defined function `body` of the running instance: where it starts, and its header.
        macro_rules! body {
            ($body:expr) => {{
                let b = match bodies.get($body as usize) {
                    Some(b) => *b,
                    None => trap!(TrapCode::Internal, 0),
                };
                let at = b.stp_start as usize;
                match (side_word(side, at), side_word(side, at + 1)) {
                    (Some(w0), Some(w1)) => (b, Header::unpack(w0, w1)),
                    _ => trap!(TrapCode::Internal, 0),
                }
            }};
        }
        // `DEBUG`: decide whether the function whose body starts at `$start` is watched.
        macro_rules! rewatch {
            ($start:expr, $len:expr) => {
                #[cfg(feature = "debug")]
                if DEBUG {
                    let start = $start;
                    watch = self.debug.watches(inst_idx, start, start + $len);
                }
            };
        }
        // The context of function `cur` (on entry, and after a return).
        macro_rules! load_func {
            () => {{
                match funcs.get(cur as usize).map(|f| f.kind()) {
                    Some(FuncKind::Wasm { instance, body }) => {
                        if instance != inst_idx {
                            enter_instance!(instance);
                        }
                        let (b, h) = body!(body);
                        body_end = Code::at(code, b.code_start as usize + h.code_len as usize);
                        nresults = h.results as usize;
                        rewatch!(b.code_start as usize, h.code_len as usize);
                    }
                    _ => trap!(TrapCode::Internal, 0),
                }
            }};
        }
        inst = match instances.first() {
            Some(i) => i,
            None => trap!(TrapCode::Internal, saved_pc),
        };
        // The running function as the last exit left it (not with a debugger: it
        // decides which functions are watched), else looked up.
        if METERED && !DEBUG && self.ctx_inst != u32::MAX {
            enter_instance!(self.ctx_inst);
            body_end = Code::at(code, self.ctx_end as usize);
            nresults = self.ctx_results as usize;
        } else {
            load_func!();
        }
        pc = Code::at(code, saved_pc);

        // Fuel: each straight-line run is charged in full when entered (its
        // length is in the side table; see `sidetable`), and the budget is
        // tested where execution can repeat (taken branches, calls), so a slice
        // overshoots by at most one run.
        //
        // Measured and not kept: runs that go on through a `br_if` (its fall-through
        // charged with the run before it, given back when it is taken), so that a
        // `br_if` not taken reads no side-table word. Host time with fuel −8 % on
        // CoreMark, deflate and i64_arith (bench fuel column +5.7 % → −1.2 %), but no
        // fewer host instructions (callgrind, ±1 %), and on the Cortex-M +2.6 %
        // CoreMark instructions, +3.2 % load, +628 B of engine flash (over its line):
        // the validator's open fall-throughs, the signed per-entry counts a give-back
        // after a host call needs, and the budget test that must come before the
        // give-back (tests/fuel.rs `a_slice_ends_even_when_the_back_edge_gives_back`).
        macro_rules! charge {
            ($n:expr) => {
                if METERED {
                    fuel -= $n as isize;
                }
            };
        }
        // Side-table entry `$idx`, unpacked (an escape reads its overflow record).
        macro_rules! entry {
            ($idx:expr) => {{
                let w = match side_word(side, $idx) {
                    Some(w) => w,
                    None => trap!(TrapCode::Internal, 0),
                };
                match Entry::escaped(w) {
                    None => Entry::unpack(w),
                    Some(o) => Entry::from_wide(overflow.get(o as usize * WIDE_BYTES..).unwrap_or(&[])),
                }
            }};
        }
        macro_rules! leb {
            () => {
                pc.leb_u32()
            };
        }
        // i32.const, `pc` at its immediate: with `PEEK_FUSIONS`, fused with the i32
        // operator that consumes it, when one follows (the constant operand of
        // compilers' address arithmetic, masks and compares), except when watched (each
        // instruction is a place to stop).
        macro_rules! i32_const {
            () => {
                let c = pc.leb_i32() as u32;
                match if !PEEK_FUSIONS || (DEBUG && watch) { None } else { fuse_i32_const(pc.byte(), top!() as u32, c) } {
                    Some(v) => {
                        pc = pc.add(1);
                        set_top!(v as u64);
                    }
                    None if LOW_WORD_I32 => {
                        sp.set_i32(c);
                        sp = sp.add(1);
                    }
                    None => push!(c as u64),
                }
            };
        }
        // `PEEK_FUSIONS`: an i32.const that follows, executed here as its own arm does.
        macro_rules! then_i32_const {
            () => {
                if PEEK_FUSIONS && !(DEBUG && watch) && pc.byte() == 0x41 {
                    pc = pc.add(1);
                    i32_const!();
                }
            };
        }
        // `PEEK_FUSIONS`: a local.get that follows, executed here rather than dispatched
        // (it follows a local.set, a br_if not taken, a store, a local.tee or a block a
        // tenth to a fifth of the time; not when watched: each instruction is a place to stop).
        macro_rules! then_local_get {
            () => {
                if PEEK_FUSIONS && !(DEBUG && watch) && pc.byte() == 0x20 {
                    pc = pc.add(1);
                    let j = leb!() as usize;
                    push!(fp.add(j).get_local());
                }
            };
        }
        // Memory `$idx` of the running instance (0 is cached in `mem0`).
        #[cfg(not(m0_bottom))]
        macro_rules! memory_inst {
            ($at:expr, $idx:expr) => {{
                let idx = $idx;
                let a = if idx == 0 { mem0 } else { inst.memories.get(idx as usize).map_or(usize::MAX, |&a| a as usize) };
                match memories.get_mut(a) {
                    Some(m) => m,
                    None => trap!(TrapCode::Internal, memory_trap_at!($at)),
                }
            }};
        }
        // Where a load or store that traps starts, `$at` its opcode (as `at!()` gave it
        // before the memarg was read). With `MEMARG_BACK`, found from `pc` (past the
        // memarg) instead, so `$at` goes unused and the arm keeps no copy of it.
        macro_rules! memory_trap_at {
            ($at:expr) => {
                if MEMARG_BACK { memory_op_start(code, pc.offset(code)) } else { $at.offset(code) }
            };
        }
        // A memarg: alignment (bit 6 flags an explicit memory index), then the offset.
        #[cfg(not(m0_bottom))]
        macro_rules! memarg {
            () => {{
                let align = leb!();
                let idx = if align & 0x40 != 0 { leb!() } else { 0 };
                (idx, leb!() as u64)
            }};
        }
        // A memarg with `cfg(m0_bottom)`: the thread's copy of memory 0 when it names no
        // other memory (else an empty one, so every access misses and `access_slow`
        // reads the memarg again), then the offset.
        #[cfg(m0_bottom)]
        macro_rules! m0_memarg {
            () => {{
                let m: &Bottom = if leb!() & 0x40 == 0 {
                    &self.m0
                } else {
                    let _ = leb!();
                    &Bottom::EMPTY
                };
                (m, leb!() as u64)
            }};
        }
        // A store, its width from the opcode `$op` (a constant in `i32.store`'s own arm,
        // where the width folds to 4); the value and then the address popped.
        macro_rules! store {
            ($op:expr) => {{
                let at = at!();
                #[cfg(not(m0_bottom))]
                let (idx, off) = memarg!();
                #[cfg(m0_bottom)]
                let (m, off) = m0_memarg!();
                let v = pop!();
                let addr = pop!();
                let ea = bottom_ea(addr as u32, off);
                #[cfg(not(m0_bottom))]
                let mi = memory_inst!(at, idx);
                let n = match $op {
                    0x36 | 0x38 | 0x3e => 4,
                    0x37 | 0x39 => 8,
                    0x3a | 0x3c => 1,
                    _ => 2,
                };
                #[cfg(not(m0_bottom))]
                if mem_store(&mut mi.data, ea, v, n as usize).is_none() && !tail_store(mi, addr as u32 as u64 + off, v, n) {
                    // Leave the operands where they were, for whoever inspects the trap
                    // (their slots still hold them: re-pushing would keep both values
                    // live, and spilled, on every store).
                    sp = sp.add(2);
                    trap!(TrapCode::MemoryOutOfBounds, memory_trap_at!(at));
                }
                // Memory 0 from the thread's `m0`, the rest out of line (as loads).
                #[cfg(m0_bottom)]
                if m.store(ea, v, n as usize).is_none() {
                    if let Err(c) = access_slow(memories, &inst.memories, mem0, code, pc.offset(code), addr as u32, $op, v) {
                        sp = sp.add(2);
                        trap!(c, memory_trap_at!(at));
                    }
                }
                then_local_get!();
                continue;
            }};
        }
        // The operators: each ends its arm (`continue`: no branch, call or return).
        macro_rules! un {
            ($f:expr) => {{
                set_top!($f(top!()));
                continue;
            }};
        }
        macro_rules! bin {
            ($f:expr) => {{
                let b = pop!();
                set_top!($f(top!(), b));
                continue;
            }};
        }
        // An i32 result (see `LOW_WORD_I32`).
        macro_rules! un32 {
            ($f:expr) => {{
                let v: u32 = $f(top!());
                sp.sub(1).set_i32(v);
                continue;
            }};
        }
        macro_rules! bin32 {
            ($f:expr) => {{
                let b = pop!();
                let v: u32 = $f(top!(), b);
                sp.sub(1).set_i32(v);
                continue;
            }};
        }
        macro_rules! bin_trap {
            ($at:expr, $f:expr) => {{
                let b = pop!();
                match $f(top!(), b) {
                    Ok(v) => set_top!(v),
                    Err(c) => {
                        push!(b);
                        trap_at!(c, $at)
                    }
                }
                continue;
            }};
        }
        #[inline(always)]
        fn f32_(x: u64) -> f32 {
            f32::from_bits(x as u32)
        }
        #[inline(always)]
        fn f64_(x: u64) -> f64 {
            f64::from_bits(x)
        }
        #[inline(always)]
        fn s64(x: f64) -> u64 {
            x.to_bits()
        }
        #[inline(always)]
        fn b32(x: bool) -> u32 {
            x as u32
        }

        // A `return_call` to a host function has just been answered: return its results.
        let mut act = if self.tail_host {
            self.tail_host = false;
            Act::Return
        } else {
            Act::Next
        };
        loop {
            if let Act::Next = act {
                // The dispatch loop: an instruction that neither branches, calls nor
                // returns goes straight on to the next (`continue`); the others leave it
                // with an `act` for the shared paths below.
                act = loop {
            #[cfg(feature = "debug")]
            if DEBUG && watch {
                let at = pc.offset(code);
                if at == resume_at {
                    resume_at = usize::MAX;
                } else if self.debug.step || self.debug.hit(inst_idx, at) {
                    save!();
                    self.debug.step = false;
                    self.debug.stopped_at = Some(at as u32);
                    self.fuel_left = fuel as i64;
                    return Exit::Breakpoint { offset: at as u32 };
                }
            }
            let op = pc.next_op();
            // `at!()`: this instruction, in arms that need it (recomputed there, so the
            // dispatch does not keep a copy of the old `pc` for every instruction).
            macro_rules! at {
                () => {
                    pc.offset_by(-1)
                };
            }
            // Thumb dispatch: the arms list single bytes, never ranges (`a..=b` becomes
            // compares before the switch, and LLVM then keeps a bounds check in the dispatch),
            // so the 256 cases are the whole switch and the table needs no check; and no arm
            // is the bare loop head (`continue` alone), so every target follows the table and
            // it can be a `tbh`. Dispatch is then four Cortex-M instructions (M4 CoreMark
            // −8.8 %, x86 −10 %; scripts/coremark-qemu.sh); two since the boards split
            // critical edges (a copy of `sp` gone) and the opcode's read became one opaque
            // post-indexed load (`Code::next_op`: a copy of `pc` gone).
            break match op {
                0x00 => trap_at!(TrapCode::Unreachable, at!()),
                // nop: a block of its own, not the loop head (see `Thumb dispatch` above).
                0x01 => {
                    core::hint::black_box(());
                    continue;
                }
                0x02 | 0x03 => {
                    // block, loop: nothing to do but skip the block type; a run of
                    // empty-typed blocks (compilers nest them deep) goes in one step.
                    if pc.byte() == 0x40 {
                        pc = pc.add(1);
                        // (Not when watched: each block is a place to stop.)
                        // Opcode and block type read together: after an empty-typed block the
                        // body holds at least two more bytes (that block's `end`, the body's).
                        // From the third block of a run on (a C `switch`'s `br_table` sits
                        // in a dozen), two blocks a word: the three blocks entered leave a
                        // byte each for their `end`s, and the body its own, so four bytes
                        // are there, and two more for each two blocks skipped. M4 CoreMark
                        // −0.57 % instructions (its runs of 14 blocks 83 → 64), engine
                        // flash +76 B at "s"; x86-64 −0.4 to −0.8 % (CoreMark, JSON, regex).
                        if !(DEBUG && watch) && pc.pair() & 0xfffe == 0x4002 {
                            pc = pc.add(2);
                            if pc.pair() & 0xfffe == 0x4002 {
                                pc = pc.add(2);
                                // Two `block`s or `loop`s (bit 0 set in each opcode). In a
                                // `black_box`: as a constant LLVM builds it again on every
                                // pass of the loop (`movw`, `movt`), not in a register.
                                let two = core::hint::black_box(0x4003_4003u32);
                                while pc.quad() | 0x0001_0001 == two {
                                    pc = pc.add(4);
                                }
                                if pc.pair() & 0xfffe == 0x4002 {
                                    pc = pc.add(2);
                                }
                            }
                        }
                    } else {
                        pc.skip_leb();
                    }
                    then_local_get!();
                    continue;
                }
                0x04 => {
                    // if: true enters the then-arm; false jumps like a branch (forward: no fuel test).
                    let at = at!();
                    let c = pop!();
                    let e = entry!(stp);
                    if c as u32 != 0 {
                        charge!(e.fall);
                        stp += 1;
                        pc.skip_leb();
                    } else {
                        charge!(e.cost);
                        pc = at.offset_by(e.dpc as isize);
                        stp = (stp as isize + e.dstp as isize) as usize;
                    }
                    continue;
                }
                0x05 => {
                    // else, reached from the then-arm: over the else-arm (forward).
                    let at = at!();
                    let e = entry!(stp);
                    charge!(e.cost);
                    pc = at.offset_by(e.dpc as isize);
                    stp = (stp as isize + e.dstp as isize) as usize;
                    continue;
                }
                0x0b => {
                    if pc != body_end {
                        continue;
                    }
                    Act::Return
                }
                0x0c => Act::Branch(stp, at!()),
                0x0d => {
                    if pop!() as u32 != 0 {
                        Act::Branch(stp, at!())
                    } else {
                        if METERED {
                            charge!(entry!(stp).fall);
                        }
                        pc.skip_leb();
                        stp += 1;
                        then_local_get!();
                        continue;
                    }
                }
                0x0e => {
                    let at = at!();
                    let n = leb!() as usize;
                    let i = pop!() as u32 as usize;
                    Act::Branch(stp + if i < n { i } else { n }, at)
                }
                0x0f => Act::Return,
                0x10 | 0x12 => {
                    let at = at!().offset(code);
                    let f = leb!();
                    let addr = match inst.funcs.get(f as usize) {
                        Some(&a) => a,
                        None => trap!(TrapCode::Internal, at),
                    };
                    // A function of this very module needs no store lookup.
                    Act::Call { addr, body: f.checked_sub(imported), at, tail: op == 0x12 }
                }
                0x11 | 0x13 => {
                    let at = at!().offset(code);
                    let ty = leb!();
                    let t = leb!();
                    let i = pop!() as u32 as usize;
                    let table = match inst.tables.get(t as usize).and_then(|&a| tables.get(a as usize)) {
                        Some(t) => t,
                        None => trap!(TrapCode::Internal, at),
                    };
                    let r = match table.elems.get(i) {
                        Some(&r) => r,
                        None => trap!(TrapCode::TableOutOfBounds, at),
                    };
                    if r == 0 {
                        trap!(TrapCode::UninitializedElement, at);
                    }
                    let addr = (r - 1) as u32;
                    let want = inst.sigs.get(ty as usize).copied().unwrap_or(u32::MAX);
                    if funcs.get(addr as usize).map(|f| f.sig()) != Some(want) {
                        trap!(TrapCode::IndirectCallTypeMismatch, at);
                    }
                    Act::Call { addr, body: None, at, tail: op == 0x13 }
                }
                0x1a => {
                    pop!();
                    continue;
                }
                0x1b | 0x1c => {
                    if op == 0x1c {
                        let n = leb!() as usize;
                        pc = pc.add(n);
                    }
                    let c = pop!();
                    let v2 = pop!();
                    if c as u32 == 0 {
                        set_top!(v2);
                    }
                    continue;
                }
                0x20 => {
                    let i = leb!() as usize;
                    push!(fp.add(i).get_local());
                    // `PEEK_FUSIONS`: fused with a second local.get (a quarter of them are
                    // followed by one; not when watched: each instruction is a place to stop).
                    if PEEK_FUSIONS && !(DEBUG && watch) && pc.byte() == 0x20 {
                        pc = pc.add(1);
                        let j = leb!() as usize;
                        push!(fp.add(j).get_local());
                    } else {
                        // Or with an i32.const (a tenth to a sixth of all dispatches: `x + C`,
                        // `x & C`, `x < C`).
                        then_i32_const!();
                        // Or with the i32 operator that consumes it and the value below.
                        if PEEK_FUSIONS && !(DEBUG && watch) {
                            if let Some(r) = fuse_i32_const(pc.byte(), sp.sub(2).get() as u32, top!() as u32) {
                                pc = pc.add(1);
                                sp = sp.sub(1);
                                set_top!(r as u64);
                            }
                        }
                    }
                    continue;
                }
                0x21 => {
                    let i = leb!() as usize;
                    // One `ldrd` with write-back on Arm (`Slot::pop_wide`); elsewhere the
                    // plain pop.
                    #[cfg(arm_ldrb_post)]
                    let v = sp.pop_wide();
                    #[cfg(not(arm_ldrb_post))]
                    let v = pop!();
                    fp.add(i).set_local(v);
                    then_local_get!();
                    continue;
                }
                0x22 => {
                    let i = leb!() as usize;
                    fp.add(i).set_local(top!());
                    then_local_get!();
                    then_i32_const!();
                    continue;
                }
                0x23 => {
                    let at = at!();
                    let g = leb!() as usize;
                    let v = match inst.globals.get(g).and_then(|&a| globals.get(a as usize)) {
                        Some(g) => g.value,
                        None => trap_at!(TrapCode::Internal, at),
                    };
                    push!(v);
                    continue;
                }
                0x24 => {
                    let at = at!();
                    let g = leb!() as usize;
                    let v = pop!();
                    match inst.globals.get(g).and_then(|&a| globals.get_mut(a as usize)) {
                        Some(g) => g.value = v,
                        None => trap_at!(TrapCode::Internal, at),
                    }
                    continue;
                }
                0x28 | 0x29 | 0x2a | 0x2b | 0x2c | 0x2d | 0x2e | 0x2f | 0x30 | 0x31 | 0x32 | 0x33 | 0x34 | 0x35 => {
                    // Loads, each width and extension its own case (a table-driven load
                    // measured both larger and slower).
                    let at = at!();
                    #[cfg(not(m0_bottom))]
                    let (idx, off) = memarg!();
                    #[cfg(not(m0_bottom))]
                    let mi = memory_inst!(at, idx);
                    // Memory 0 (a memarg without an index) from the thread's `m0`; any other
                    // memory, the tail window and out of bounds in one function out of line,
                    // which reads the memarg again (so the fast path keeps no index live).
                    #[cfg(m0_bottom)]
                    let (m, off) = m0_memarg!();
                    let addr = top!() as u32;
                    let ea = bottom_ea(addr, off);
                    // A 32-bit value (i32, f32) to the low word only (`LOW_WORD_I32`), each
                    // width and extension its own case; `ld!` reads the memory, one for
                    // each build below.
                    macro_rules! low_word_loads {
                        () => {
                            let top = sp.sub(1);
                            match op {
                                0x28 | 0x2a => top.set_i32(ld!(4, Ext::U32) as u32),
                                0x29 | 0x2b => top.set(ld!(8, Ext::U64)),
                                0x2c => top.set_i32(ld!(1, Ext::S32) as u32),
                                0x2d => top.set_i32(ld!(1, Ext::U32) as u32),
                                0x2e => top.set_i32(ld!(2, Ext::S32) as u32),
                                0x2f => top.set_i32(ld!(2, Ext::U32) as u32),
                                0x30 => top.set(ld!(1, Ext::S64)),
                                0x31 => top.set(ld!(1, Ext::U32)),
                                0x32 => top.set(ld!(2, Ext::S64)),
                                0x33 => top.set(ld!(2, Ext::U32)),
                                0x34 => top.set(ld!(4, Ext::S64)),
                                _ => top.set(ld!(4, Ext::U64)),
                            }
                        };
                    }
                    #[cfg(not(m0_bottom))]
                    macro_rules! ld {
                        ($n:literal, $ext:expr) => {
                            match mem_load(&mi.data, ea, $n) {
                                Some(v) => extend(v, $n, $ext),
                                None => match tail_load(mi, addr as u64 + off, $n) {
                                    Some(v) => extend(v, $n, $ext),
                                    None => trap!(TrapCode::MemoryOutOfBounds, memory_trap_at!(at)),
                                },
                            }
                        };
                    }
                    // Memory 0 from the thread's `m0` (see `refresh_m0!`); every miss (other
                    // memories, the tail window, out of bounds) to one call out of line.
                    #[cfg(m0_bottom)]
                    {
                        let hit = 'slow: {
                            macro_rules! ld {
                                ($n:literal, $ext:expr) => {
                                    match m.load(ea, $n) {
                                        Some(v) => extend(v, $n, $ext),
                                        None => break 'slow false,
                                    }
                                };
                            }
                            low_word_loads!();
                            true
                        };
                        if !hit {
                            match access_slow(memories, &inst.memories, mem0, code, pc.offset(code), addr, op, 0) {
                                Ok(v) => set_top!(v),
                                Err(c) => trap!(c, memory_trap_at!(at)),
                            }
                        }
                    }
                    // Without `LOW_WORD_I32` (64-bit hosts) the form from before it, one
                    // store of the extended value: the split form below, which gives the
                    // same results there, moved the host's metered loop by +3.6 to +5.4 %
                    // instructions (`scripts/bench-instructions.sh`: fib, CoreMark, SHA-2).
                    #[cfg(not(m0_bottom))]
                    if !LOW_WORD_I32 {
                        set_top!(match op {
                            0x28 | 0x2a => ld!(4, Ext::U32),
                            0x29 | 0x2b => ld!(8, Ext::U64),
                            0x2c => ld!(1, Ext::S32),
                            0x2d | 0x31 => ld!(1, Ext::U32),
                            0x2e => ld!(2, Ext::S32),
                            0x2f | 0x33 => ld!(2, Ext::U32),
                            0x30 => ld!(1, Ext::S64),
                            0x32 => ld!(2, Ext::S64),
                            0x34 => ld!(4, Ext::S64),
                            _ => ld!(4, Ext::U64),
                        });
                        continue;
                    }
                    #[cfg(not(m0_bottom))]
                    low_word_loads!();
                    continue;
                }
                // i32.store, the most frequent store, in an arm of its own on a Cortex-M:
                // its width needs no look-up (M4 CoreMark 13 582 831 → 13 387 657
                // instructions, −1.4 %, engine +244 B at "s"). On x86-64 it cost +1 to +2 %
                // host instructions (fib, deflate, SHA-2; `scripts/bench-instructions.sh`):
                // one arm for every store there.
                #[cfg(any(target_arch = "arm", feature = "device-dispatch"))]
                0x36 => store!(0x36),
                #[cfg(any(target_arch = "arm", feature = "device-dispatch"))]
                0x37 | 0x38 | 0x39 | 0x3a | 0x3b | 0x3c | 0x3d | 0x3e => store!(op),
                #[cfg(not(any(target_arch = "arm", feature = "device-dispatch")))]
                0x36 | 0x37 | 0x38 | 0x39 | 0x3a | 0x3b | 0x3c | 0x3d | 0x3e => store!(op),
                0x41 => {
                    i32_const!();
                    continue;
                }
                0x42 => {
                    push!(pc.leb_i64() as u64);
                    continue;
                }
                0x43 | 0x44 => {
                    let n = if op == 0x43 { 4 } else { 8 };
                    let mut v = 0u64;
                    for i in (0..n).rev() {
                        v = v << 8 | pc.peek(i) as u64;
                    }
                    pc = pc.add(n);
                    push!(v);
                    continue;
                }
                0x45 => un32!(|a: u64| b32(a as u32 == 0)),
                0x46 => bin32!(|a: u64, c: u64| b32(a as u32 == c as u32)),
                0x47 => bin32!(|a: u64, c: u64| b32(a as u32 != c as u32)),
                0x48 => bin32!(|a: u64, c: u64| b32((a as i32) < c as i32)),
                0x49 => bin32!(|a: u64, c: u64| b32((a as u32) < c as u32)),
                0x4a => bin32!(|a: u64, c: u64| b32(a as i32 > c as i32)),
                0x4b => bin32!(|a: u64, c: u64| b32(a as u32 > c as u32)),
                0x4c => bin32!(|a: u64, c: u64| b32(a as i32 <= c as i32)),
                0x4d => bin32!(|a: u64, c: u64| b32(a as u32 <= c as u32)),
                0x4e => bin32!(|a: u64, c: u64| b32(a as i32 >= c as i32)),
                0x4f => bin32!(|a: u64, c: u64| b32(a as u32 >= c as u32)),
                0x50 => un32!(|a: u64| b32(a == 0)),
                0x51 => bin32!(|a: u64, c: u64| b32(a == c)),
                0x52 => bin32!(|a: u64, c: u64| b32(a != c)),
                0x53 => bin32!(|a: u64, c: u64| b32((a as i64) < c as i64)),
                0x54 => bin32!(|a: u64, c: u64| b32(a < c)),
                0x55 => bin32!(|a: u64, c: u64| b32(a as i64 > c as i64)),
                0x56 => bin32!(|a: u64, c: u64| b32(a > c)),
                0x57 => bin32!(|a: u64, c: u64| b32(a as i64 <= c as i64)),
                0x58 => bin32!(|a: u64, c: u64| b32(a <= c)),
                0x59 => bin32!(|a: u64, c: u64| b32(a as i64 >= c as i64)),
                0x5a => bin32!(|a: u64, c: u64| b32(a >= c)),
                0x5b => bin32!(|a, c| b32(f32_(a) == f32_(c))),
                0x5c => bin32!(|a, c| b32(f32_(a) != f32_(c))),
                0x5d => bin32!(|a, c| b32(f32_(a) < f32_(c))),
                0x5e => bin32!(|a, c| b32(f32_(a) > f32_(c))),
                0x5f => bin32!(|a, c| b32(f32_(a) <= f32_(c))),
                0x60 => bin32!(|a, c| b32(f32_(a) >= f32_(c))),
                // f64 comparisons: inline where the CPU compares f64s, else one function on bits.
                #[cfg(hard_f64)]
                0x61 => bin32!(|a, c| b32(f64_(a) == f64_(c))),
                #[cfg(hard_f64)]
                0x62 => bin32!(|a, c| b32(f64_(a) != f64_(c))),
                #[cfg(hard_f64)]
                0x63 => bin32!(|a, c| b32(f64_(a) < f64_(c))),
                #[cfg(hard_f64)]
                0x64 => bin32!(|a, c| b32(f64_(a) > f64_(c))),
                #[cfg(hard_f64)]
                0x65 => bin32!(|a, c| b32(f64_(a) <= f64_(c))),
                #[cfg(hard_f64)]
                0x66 => bin32!(|a, c| b32(f64_(a) >= f64_(c))),
                #[cfg(not(hard_f64))]
                0x61 | 0x62 | 0x63 | 0x64 | 0x65 | 0x66 => bin!(|a, c| float::cmp64_op(op, a, c)),
                // clz, ctz, popcnt of both widths: one out-of-line function.
                0x67 | 0x68 | 0x69 | 0x79 | 0x7a | 0x7b => un!(|a| bit_count(op, a)),
                0x6a => bin32!(|a: u64, c: u64| (a as u32).wrapping_add(c as u32)),
                0x6b => bin32!(|a: u64, c: u64| (a as u32).wrapping_sub(c as u32)),
                0x6c => bin32!(|a: u64, c: u64| (a as u32).wrapping_mul(c as u32)),
                0x6d | 0x6e | 0x6f | 0x70 | 0x7f | 0x80 | 0x81 | 0x82 => bin_trap!(at!(), |a: u64, c: u64| int_div(op, a, c)),
                0x71 => bin32!(|a: u64, c: u64| (a & c) as u32),
                0x72 => bin32!(|a: u64, c: u64| (a | c) as u32),
                0x73 => bin32!(|a: u64, c: u64| (a ^ c) as u32),
                0x74 => bin32!(|a: u64, c: u64| (a as u32).wrapping_shl(c as u32)),
                0x75 => bin32!(|a: u64, c: u64| (a as i32).wrapping_shr(c as u32) as u32),
                0x76 => bin32!(|a: u64, c: u64| (a as u32).wrapping_shr(c as u32)),
                0x77 => bin32!(|a: u64, c: u64| (a as u32).rotate_left(c as u32 % 32)),
                0x78 => bin32!(|a: u64, c: u64| (a as u32).rotate_right(c as u32 % 32)),
                0x7c => bin!(|a: u64, c: u64| a.wrapping_add(c)),
                0x7d => bin!(|a: u64, c: u64| a.wrapping_sub(c)),
                0x7e => bin!(|a: u64, c: u64| a.wrapping_mul(c)),
                0x83 => bin!(|a: u64, c: u64| a & c),
                0x84 => bin!(|a: u64, c: u64| a | c),
                0x85 => bin!(|a: u64, c: u64| a ^ c),
                0x86 => bin!(|a: u64, c: u64| a.wrapping_shl(c as u32)),
                0x87 => bin!(|a: u64, c: u64| (a as i64).wrapping_shr(c as u32) as u64),
                0x88 => bin!(|a: u64, c: u64| a.wrapping_shr(c as u32)),
                0x89 => bin!(|a: u64, c: u64| a.rotate_left((c % 64) as u32)),
                0x8a => bin!(|a: u64, c: u64| a.rotate_right((c % 64) as u32)),
                0x8b => un32!(|a: u64| a as u32 & 0x7fff_ffff),
                0x8c => un32!(|a: u64| a as u32 ^ 0x8000_0000),
                // Rounding and square roots (libm), both widths.
                0x8d | 0x8e | 0x8f | 0x90 | 0x91 | 0x9b | 0x9c | 0x9d | 0x9e | 0x9f => un!(|a| float_round(op, a)),
                0x92 => bin32!(|a, c| (f32_(a) + f32_(c)).to_bits()),
                0x93 => bin32!(|a, c| (f32_(a) - f32_(c)).to_bits()),
                0x94 => bin32!(|a, c| (f32_(a) * f32_(c)).to_bits()),
                0x95 => bin32!(|a, c| (f32_(a) / f32_(c)).to_bits()),
                0x96 => bin32!(|a, c| float::minmax32(f32_(a), f32_(c), false).to_bits()),
                0x97 => bin32!(|a, c| float::minmax32(f32_(a), f32_(c), true).to_bits()),
                0x98 => bin32!(|a: u64, c: u64| (a as u32 & 0x7fff_ffff) | (c as u32 & 0x8000_0000)),
                0x99 => un!(|a: u64| a & 0x7fff_ffff_ffff_ffff),
                0x9a => un!(|a: u64| a ^ 0x8000_0000_0000_0000),
                // f64 arithmetic: the CPU's where it has f64 instructions, else one function on bits.
                #[cfg(hard_f64)]
                0xa0 => bin!(|a, c| s64(f64_(a) + f64_(c))),
                #[cfg(hard_f64)]
                0xa1 => bin!(|a, c| s64(f64_(a) - f64_(c))),
                #[cfg(hard_f64)]
                0xa2 => bin!(|a, c| s64(f64_(a) * f64_(c))),
                #[cfg(hard_f64)]
                0xa3 => bin!(|a, c| s64(f64_(a) / f64_(c))),
                #[cfg(not(hard_f64))]
                0xa0 | 0xa1 | 0xa2 | 0xa3 => bin!(|a, c| float::arith64(op, a, c)),
                0xa4 => bin!(|a, c| s64(float::fmin64(f64_(a), f64_(c)))),
                0xa5 => bin!(|a, c| s64(float::fmax64(f64_(a), f64_(c)))),
                0xa6 => bin!(|a: u64, c: u64| (a & 0x7fff_ffff_ffff_ffff) | (c & 0x8000_0000_0000_0000)),
                // (A whole write: as a low-word write of its own low word `i32.wrap_i64` is
                // empty, its arm the bare loop head, and the dispatch then lost its `tbh`
                // for a table of branches: M4 CoreMark +18 %.)
                0xa7 => un!(|a: u64| a as u32 as u64),
                // Trapping float-to-int truncations: one function.
                0xa8 | 0xa9 | 0xaa | 0xab | 0xae | 0xaf | 0xb0 | 0xb1 => {
                    match float::trunc_trapping(op, top!()) {
                        Ok(v) => set_top!(v),
                        Err(c) => trap_at!(c, at!()),
                    }
                    continue;
                }
                0xac => un!(|a: u64| a as i32 as i64 as u64),
                0xad => un!(|a: u64| a as u32 as u64),
                // Conversions to float: one out-of-line function (on a Cortex-M most
                // are soft-float calls anyway; inline, each arm cost its own stack code).
                0xb2 | 0xb3 | 0xb4 | 0xb5 | 0xb6 | 0xb7 | 0xb8 | 0xb9 | 0xba | 0xbb => un!(|a| to_float(op, a)),
                // Reinterpretations: the bits stay (a block of their own, as nop's).
                0xbc | 0xbd | 0xbe | 0xbf => {
                    core::hint::black_box(());
                    continue;
                }
                0xc0 => un32!(|a: u64| a as i8 as i32 as u32),
                0xc1 => un32!(|a: u64| a as i16 as i32 as u32),
                0xc2 => un!(|a: u64| a as i8 as i64 as u64),
                0xc3 => un!(|a: u64| a as i16 as i64 as u64),
                0xc4 => un!(|a: u64| a as i32 as i64 as u64),
                0xd0 => {
                    pc = pc.add(1);
                    push!(0);
                    continue;
                }
                0xd1 => un32!(|a: u64| b32(a == 0)),
                // (0xff, never valid, has an arm of its own so the table reaches it.)
                0xff => trap_at!(TrapCode::Internal, at!()),
                // Every other byte, listed so the dispatch table covers all 256 and needs no range check.
                0x06 | 0x07 | 0x08 | 0x09 | 0x0a | 0x14 | 0x15 | 0x16 | 0x17 | 0x18 | 0x19 | 0x1d | 0x1e | 0x1f | 0x25 | 0x26 | 0x27 | 0x3f | 0x40 | 0xc5 | 0xc6 | 0xc7 | 0xc8 | 0xc9 | 0xca | 0xcb | 0xcc | 0xcd | 0xce | 0xcf | 0xd2 | 0xd3 | 0xd4 | 0xd5 | 0xd6 | 0xd7 | 0xd8 | 0xd9 | 0xda | 0xdb | 0xdc | 0xdd | 0xde | 0xdf | 0xe0 | 0xe1 | 0xe2 | 0xe3 | 0xe4 | 0xe5 | 0xe6 | 0xe7 | 0xe8 | 0xe9 | 0xea | 0xeb | 0xec | 0xed | 0xee | 0xef | 0xf0 | 0xf1 | 0xf2 | 0xf3 | 0xf4 | 0xf5 | 0xf6 | 0xf7 | 0xf8 | 0xf9 | 0xfa | 0xfb | 0xfc | 0xfd | 0xfe => {
                    // The rare instructions, out of line.
                    let at = at!().offset(code);
                    let mut cold = Cold {
                        stack,
                        sp: sp.index(base),
                        code,
                        pc: pc.offset(code),
                        inst,
                        tables,
                        memories,
                        elem_items,
                        data_dropped,
                        mem0,
                        max_table,
                    };
                    let r = cold.op(op);
                    let (csp, cpc) = (cold.sp, cold.pc);
                    refresh_m0!();
                    sp = Slot::at(stack, csp);
                    pc = Code::at(code, cpc);
                    if let Err(c) = r {
                        trap!(c, at);
                    }
                    continue;
                }
            };
                };
            }
            match core::mem::replace(&mut act, Act::Next) {
                Act::Next => {}
                // Take the branch at `site` whose side-table entry is `idx`.
                Act::Branch(idx, site) => {
                    // The entry's fields are read where they are used: from the packed
                    // word (see `Entry::cost_of`), or from an escape's overflow record.
                    macro_rules! take {
                        ($cost:expr, $drop:expr, $keep:expr, $dpc:expr, $dstp:expr) => {{
                            charge!($cost);
                            let drop = $drop as usize;
                            if drop != 0 {
                                let keep = $keep as usize;
                                if keep == 1 {
                                    sp.sub(1 + drop).set(sp.sub(1).get());
                                } else if keep != 0 {
                                    Slot::copy_down(sp.sub(keep), sp.sub(keep + drop), keep);
                                }
                                sp = sp.sub(drop);
                            }
                            pc = site.offset_by($dpc as isize);
                            stp = (idx as isize + $dstp as isize) as usize;
                        }};
                    }
                    let w = match side_word(side, idx) {
                        Some(w) => w,
                        None => trap!(TrapCode::Internal, 0),
                    };
                    if Entry::escaped(w).is_none() {
                        take!(Entry::cost_of(w), Entry::drop_of(w), Entry::keep_of(w), Entry::dpc_of(w), Entry::dstp_of(w));
                    } else {
                        let e = entry!(idx);
                        take!(e.cost, e.drop, e.keep, e.dpc, e.dstp);
                    }
                    if METERED && fuel <= 0 {
                        save!();
                        self.fuel_left = fuel as i64;
                        return Exit::OutOfFuel;
                    }
                }
                // Return from the running function: its results replace its frame.
                Act::Return => {
                    let n = nresults;
                    Slot::copy_down(sp.sub(n), fp, n);
                    sp = fp.add(n);
                    if depth == 0 {
                        save!();
                        self.state = State::Done;
                        self.fuel_left = fuel as i64;
                        return Exit::Done;
                    }
                    depth -= 1;
                    let f = match frames.get(depth) {
                        Some(f) => *f,
                        None => trap!(TrapCode::Internal, 0),
                    };
                    stp = f.stp as usize;
                    fp = Slot::at(stack, f.fp as usize);
                    cur = f.func;
                    load_func!();
                    pc = Code::at(code, f.pc as usize);
                }
                // Call store function `addr`: `body` if it is a function of the running
                // instance (no store lookup); `at` is the call's offset; `tail` reuses the frame.
                Act::Call { addr, body, at, tail } => {
                    let body = match body {
                        Some(b) => b,
                        None => {
                            let fi = match funcs.get(addr as usize) {
                                Some(f) => *f,
                                None => trap!(TrapCode::Internal, at),
                            };
                            match fi.kind() {
                                FuncKind::Wasm { instance, body } => {
                                    if instance != inst_idx {
                                        // Frames keep the caller's pc as an offset in its own code.
                                        let ret = pc.offset(code);
                                        enter_instance!(instance);
                                        pc = Code::at(code, 0).add(ret);
                                    }
                                    body
                                }
                                FuncKind::Host { id } => {
                                    save!();
                                    let (np, nr) = sigs.get(fi.sig() as usize).map_or((0, 0), |t| (t.params, t.results));
                                    self.host_params = np;
                                    self.host_results = nr;
                                    self.host = addr;
                                    self.tail_host = tail;
                                    self.state = State::Host;
                                    self.fuel_left = fuel as i64;
                                    return Exit::HostCall { func: FuncAddr(addr), id };
                                }
                            }
                        }
                    };
                    let (b, h) = body!(body);
                    let params = h.params as usize;
                    let new_fp = if tail { fp } else { sp.sub(params) };
                    let locals_end = new_fp.add(h.locals as usize);
                    if locals_end.add(1 + h.max_height as usize) > stack_top {
                        trap!(TrapCode::StackOverflow, at);
                    }
                    if tail {
                        Slot::copy_down(sp.sub(params), fp, params);
                    } else {
                        match frames.get_mut(depth) {
                            Some(f) => *f = Frame { func: cur, pc: pc.offset(code) as u32, stp: stp as u32, fp: fp.index(base) as u32 },
                            None => trap!(TrapCode::CallStackExhausted, at),
                        }
                        depth += 1;
                    }
                    let mut i = new_fp.add(params);
                    while i < locals_end {
                        i.set(0);
                        i = i.add(1);
                    }
                    cur = addr;
                    fp = new_fp;
                    // Empty operand stack (past the frame's spare slot).
                    sp = locals_end.add(1);
                    pc = Code::at(code, b.code_start as usize);
                    stp = b.stp_start as usize + HEADER_ENTRIES as usize;
                    body_end = pc.add(h.code_len as usize);
                    nresults = h.results as usize;
                    rewatch!(b.code_start as usize, h.code_len as usize);
                    charge!(h.entry_cost);
                    if METERED && fuel <= 0 {
                        save!();
                        self.fuel_left = fuel as i64;
                        return Exit::OutOfFuel;
                    }
                }
            }
        }
        };
        self.pc = trap_at as u32;
        self.stp = stp as u32;
        self.sp = sp.index(base) as u32;
        self.fp = fp.index(base) as u32;
        self.func = cur;
        self.depth = depth as u32;
        let t = Trap { code: trap_code, offset: trap_at as u32, func: cur };
        self.trap = Some(t);
        self.state = State::Trapped;
        self.fuel_left = fuel as i64;
        Exit::Trap(t)
    }
}

/// What an instruction leaves for the loop's shared paths to do before the next dispatch.
#[derive(Clone, Copy)]
enum Act<'a> {
    /// Nothing: dispatch the next instruction.
    Next,
    /// Take the branch at `.1` whose side-table entry is `.0`.
    Branch(usize, Code<'a>),
    /// Return from the running function.
    Return,
    /// Call store function `addr` (`body`: the running instance's defined function, when it
    /// is one); `at` is the call's offset, `tail` reuses the frame.
    Call { addr: u32, body: Option<u32>, at: usize, tail: bool },
}

/// How a loaded value of fewer bytes than its type extends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ext {
    U32,
    S32,
    U64,
    S64,
}

/// `raw` (its low `n` bytes loaded, the rest zero) extended as `ext` says.
#[inline(always)]
fn extend(raw: u64, n: u8, ext: Ext) -> u64 {
    let shift = 64 - 8 * n as u32;
    match ext {
        Ext::U32 | Ext::U64 => raw,
        Ext::S32 => ((raw << shift) as i64 >> shift) as u32 as u64,
        Ext::S64 => ((raw << shift) as i64 >> shift) as u64,
    }
}

/// The conversions to a float, `0xb2..=0xbb` (`f32.convert_i32_s` to `f64.promote_f32`).
#[inline(never)]
fn to_float(op: u8, a: u64) -> u64 {
    match op {
        0xb6 => float::demote(a) as u64,
        0xbb => float::promote(a as u32),
        // The integer conversions: b2..b5 to f32, b7..ba to f64, each i32 s/u then i64 s/u.
        _ => {
            let k = if op >= 0xb7 { op - 0xb7 } else { op - 0xb2 };
            let (signed, wide_int) = (k & 1 == 0, k >= 2);
            let v = if wide_int { a } else if signed { a as i32 as i64 as u64 } else { a as u32 as u64 };
            let neg = signed && (v as i64) < 0;
            float::from_int(if neg { v.wrapping_neg() } else { v }, neg, op >= 0xb7)
        }
    }
}

/// i32 `clz`, `ctz`, `popcnt` (`0x67..=0x69`) and the same for i64 (`0x79..=0x7b`),
/// out of the loop: −212 B on a Cortex-M. The call costs the bench's synthetic
/// `i32_arith` kernel 1.6 % more host instructions; JSON, regex and deflate (hash
/// tables' `ctz`) ±0.01 %.
#[inline(never)]
fn bit_count(op: u8, a: u64) -> u64 {
    let r = match op {
        0x67 => (a as u32).leading_zeros(),
        0x68 => (a as u32).trailing_zeros(),
        0x69 => (a as u32).count_ones(),
        0x79 => a.leading_zeros(),
        0x7a => a.trailing_zeros(),
        _ => a.count_ones(),
    };
    r as u64
}

/// i32/i64 `div_s`, `div_u`, `rem_s`, `rem_u` (`0x6d..=0x70`, `0x7f..=0x82`), with their traps.
/// (Measured on x86-64 and not kept: an arm per opcode with this inlined and the CPU's
/// signed division: i32_arith −4.6 % and i64_arith −3.6 % host instructions, but
/// CoreMark +2.7 %, fib +2.3 %, SHA-2 +1.0 %: the loop's registers moved.)
#[inline(never)]
fn int_div(op: u8, a: u64, c: u64) -> Result<u64, TrapCode> {
    if op < 0x7f {
        let (a, c) = (a as u32, c as u32);
        if c == 0 {
            return Err(TrapCode::IntegerDivideByZero);
        }
        Ok(match op {
            0x6d if a as i32 == i32::MIN && c as i32 == -1 => return Err(TrapCode::IntegerOverflow),
            0x6d => ((a as i32) / (c as i32)) as u32,
            0x6e => a / c,
            0x6f => (a as i32).wrapping_rem(c as i32) as u32,
            _ => a % c,
        } as u64)
    } else {
        if c == 0 {
            return Err(TrapCode::IntegerDivideByZero);
        }
        if op == 0x7f && a as i64 == i64::MIN && c as i64 == -1 {
            return Err(TrapCode::IntegerOverflow);
        }
        let signed = op & 1 != 0; // 0x7f div_s, 0x81 rem_s
        let (na, nc) = (signed && (a as i64) < 0, signed && (c as i64) < 0);
        let (q, r) = divrem64(if na { a.wrapping_neg() } else { a }, if nc { c.wrapping_neg() } else { c });
        // A quotient is negative when the signs differ, a remainder takes the dividend's.
        Ok(match op {
            0x7f | 0x80 if na != nc => q.wrapping_neg(),
            0x7f | 0x80 => q,
            _ if na => r.wrapping_neg(),
            _ => r,
        })
    }
}

/// Unsigned 64-bit quotient and remainder, `c != 0`. On 64-bit hosts, the
/// CPU's division. On 32-bit targets, [`divrem64_bits`]: ~200 B instead of
/// compiler-builtins' ~1 KB `__aeabi_uldivmod` (i64 division is rare in guests).
#[inline(always)]
fn divrem64(a: u64, c: u64) -> (u64, u64) {
    #[cfg(target_pointer_width = "64")]
    {
        (a / c, a % c)
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        divrem64_bits(a, c)
    }
}

/// Unsigned 64-bit division on 32-bit operations: the CPU's 32-bit division
/// when both operands fit, else shift-and-subtract over the quotient's
/// possible bits only (`clz(c) − clz(a) + 1` steps). `c != 0`.
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
#[inline(never)]
fn divrem64_bits(a: u64, c: u64) -> (u64, u64) {
    if (a | c) >> 32 == 0 {
        let (a, c) = (a as u32, c as u32);
        return ((a / c) as u64, (a % c) as u64);
    }
    if c > a {
        return (0, a);
    }
    let shift = c.leading_zeros() - a.leading_zeros();
    let (mut q, mut r, mut d) = (0u64, a, c << shift);
    for _ in 0..=shift {
        q <<= 1;
        if r >= d {
            r -= d;
            q |= 1;
        }
        d >>= 1;
    }
    (q, r)
}

/// `ceil`, `floor`, `trunc`, `nearest`, `sqrt` of either width (`0x8d..=0x91`, `0x9b..=0x9f`), NaNs made quiet.
#[inline(never)]
fn float_round(op: u8, a: u64) -> u64 {
    let wide = op >= 0x9b;
    let mode = match op - if wide { 0x9b } else { 0x8d } {
        0 => float::Round::Up,
        1 => float::Round::Down,
        2 => float::Round::Zero,
        3 => float::Round::Even,
        _ => return float::sqrt(a, wide),
    };
    float::round(a, wide, mode)
}

/// Whether a load's or store's trap finds the instruction's start from the end of its
/// memarg (`memory_op_start`) rather than from a copy of `pc` the arm keeps: on a
/// Cortex-M (32-bit Arm) that copy is two register moves in every load and store
/// (M4 CoreMark 13 886 404 → 13 582 831 instructions, −2.2 %; engine flash +172 B
/// at "s", +592 B at "z"). On x86-64 the loop's registers moved the other way: the
/// metered loop −2.4 to −3.4 % host instructions but the unmetered one +2 to +4 %
/// (`scripts/bench-instructions.sh`), so the host keeps the copy. (Feature
/// `device-dispatch` walks back on the host too, for tests of the device's path.)
const MEMARG_BACK: bool = cfg!(target_arch = "arm") || cfg!(feature = "device-dispatch");

/// Where the load or store whose memarg ends at code offset `end` starts (its opcode),
/// found backwards, so the loop keeps no copy of the opcode's position for its traps.
/// A memarg is two or three LEB128 numbers: the alignment, with bit 6 flagging a
/// memory index after it, then the offset. Backwards, a number is its last byte (no
/// continuation bit) and the continued bytes before it. After two numbers comes the
/// opcode (0x28..=0x3e) or, with a memory index, the alignment's last byte, which is
/// never in that range for a validated memarg (its value is at most 0x43: one byte
/// 0x40..=0x43, or padded bytes ending in 0x00).
#[cold]
#[inline(never)]
fn memory_op_start(code: &[u8], end: usize) -> usize {
    let back = |k: usize| {
        let mut k = k.saturating_sub(1);
        while k > 0 && code.get(k - 1).is_some_and(|&b| b & 0x80 != 0) {
            k -= 1;
        }
        k
    };
    let k = back(back(end));
    let k = if code.get(k.wrapping_sub(1)).is_some_and(|b| (0x28..=0x3e).contains(b)) { k } else { back(k) };
    k.saturating_sub(1)
}

/// The effective address `addr + off` of a load or store, in 32 bits for the
/// bounds check of the bottom part: a carry is past any wasm32 memory, and comes
/// back as `usize::MAX`, which no bottom part holds (the tail window's slow path
/// takes the address in full).
#[inline(always)]
fn bottom_ea(addr: u32, off: u64) -> usize {
    match addr.checked_add(off as u32) {
        Some(ea) => ea as usize,
        None => usize::MAX,
    }
}

/// A load or store the thread's copy of memory 0 could not serve (another memory,
/// the tail window, or out of bounds; `Bottom`): opcode `op` (a store writes `v`),
/// whose memarg ends at code offset `end` and is read again here, at `addr`. A load's
/// value, extended as its opcode says; 0 for a store.
#[cfg(m0_bottom)]
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn access_slow<A: Allocator>(memories: &mut [MemoryInst<A>], mems: &[u32], mem0: usize, code: &[u8], end: usize, addr: u32, op: u8, v: u64) -> Result<u64, TrapCode> {
    let (n, ext) = match op {
        0x28 | 0x2a | 0x36 | 0x38 | 0x3e => (4, Ext::U32),
        0x29 | 0x2b | 0x37 | 0x39 => (8, Ext::U64),
        0x2c => (1, Ext::S32),
        0x2d | 0x31 | 0x3a | 0x3c => (1, Ext::U32),
        0x2e => (2, Ext::S32),
        0x2f | 0x33 | 0x3b | 0x3d => (2, Ext::U32),
        0x30 => (1, Ext::S64),
        0x32 => (2, Ext::S64),
        0x34 => (4, Ext::S64),
        _ => (4, Ext::U64),
    };
    // The memarg again, with the module reader's LEB decoding (linked anyway, for loading).
    let mut r = crate::reader::Reader::new(code, memory_op_start(code, end) + 1, end);
    let align = r.u32().map_err(|_| TrapCode::Internal)?;
    let idx = if align & 0x40 != 0 { r.u32().map_err(|_| TrapCode::Internal)? } else { 0 };
    let off = u64::from(r.u32().map_err(|_| TrapCode::Internal)?);
    let a = if idx == 0 { mem0 } else { mems.get(idx as usize).map_or(usize::MAX, |&a| a as usize) };
    let mi = memories.get_mut(a).ok_or(TrapCode::Internal)?;
    let w = mi.window_mut(u64::from(addr) + off, n as u64).ok_or(TrapCode::MemoryOutOfBounds)?;
    let mut b = v.to_le_bytes();
    if op >= 0x36 {
        for (d, x) in w.iter_mut().zip(b) {
            *d = x;
        }
        return Ok(0);
    }
    for (d, x) in b.iter_mut().zip(w.iter()) {
        *d = *x;
    }
    Ok(extend(u64::from_le_bytes(b), n, ext))
}

/// A load from the tail window (the slow path of a load that missed the bottom part).
#[cfg(not(m0_bottom))]
#[cold]
#[inline(never)]
fn tail_load<A: Allocator>(m: &mut MemoryInst<A>, ea: u64, n: u8) -> Option<u64> {
    let t = m.tail_mut(ea, n as u64)?;
    Some(t.iter().rev().fold(0u64, |v, &b| v << 8 | b as u64))
}

/// A store into the tail window; false if `ea` is out of bounds there too.
#[cfg(not(m0_bottom))]
#[cold]
#[inline(never)]
fn tail_store<A: Allocator>(m: &mut MemoryInst<A>, ea: u64, v: u64, n: u8) -> bool {
    match m.tail_mut(ea, n as u64) {
        Some(t) => {
            for (i, b) in t.iter_mut().enumerate() {
                *b = (v >> (8 * i)) as u8;
            }
            true
        }
        None => false,
    }
}

/// Whether an instruction executes the one after it when that is a `local.get` or
/// an `i32.const` (peeking at the next opcode, no dispatch): `local.get` with a
/// following `i32.const` (and its fused operator), `local.get` or i32 operator;
/// `local.set`, `local.tee`, a `br_if` not taken, a store and a block with a following
/// `local.get`; `local.tee` with an `i32.const`. On the host each replaces an indirect
/// jump (the dispatch) by a test of one opcode, which the branch predictor gets right
/// far more often: 17–21 % fewer dispatches, −6 % time on the bench (x86-64: geomean
/// 3.12× → 2.93× wasmi; `cargo bench -p fireball-bench`). A fusion that picks its
/// operator with a `match` saves little there (that `match` is an indirect jump too).
/// Tried on x86-64 and not kept: a `local.set` after a constant or its fused operation,
/// an `i32.const` after a `local.set`, a `local.get` at a taken branch's target (+2 to
/// +12 % time); `i64.const` fused with its operator as `i32.const` is (i64_arith and
/// SHA-2 +10 %); one table for the i32 and i64 operators after either constant or a
/// local (+4 to +18 %, i64_arith −8 %); a `br` after `local.set` taken from the
/// `local.set`'s arm (+10 to +30 %: a second way out of an arm to the shared branch
/// path changes how LLVM lays out the whole loop). None on a Cortex-M (32-bit Arm): a
/// dispatch is two instructions there (`Code::next_op`), less than the test each
/// fusion adds to a common arm, with the registers it takes in the loop
/// (`scripts/coremark-qemu.sh`, `scripts/size.sh`): the pair of `local.get`s fused
/// cost CoreMark 4.95 % more instructions, the `i32.const` fused with its operator
/// 0.4 % and 256 B of engine flash (both kept while the dispatch was four
/// instructions: the `i32.const` fusion then saved 3.1 %, with `le`/`ge` fused too,
/// one jump table, 1.0 % more; the pair was even); `local.get` + `i32.const` was
/// +0.6 % and +392 B at four.
/// Also measured and not kept (host instructions, `scripts/bench-instructions.sh`): a
/// compare (`i32`/`i64` `eqz`, `eq` … `ge_u`) that decides a following `br_if` in its own
/// arm, the flag never pushed: +2 to +3 % on CoreMark, JSON, regex, deflate, fib and
/// SHA-2 (the 22 arms' new ways into the branch path moved the loop's registers);
/// integer arithmetic (`i32`/`i64` `add` … `rotr`, 22 arms) whose result a following
/// `local.set` stores straight into the local: +4 % host instructions on i32_arith,
/// +13 % on i64_arith, +11 % on SHA-2, +3 % on CoreMark, and no faster in time.
/// (Feature `device-dispatch` turns them off on the host too, for tests of the device's
/// path.)
const PEEK_FUSIONS: bool = !cfg!(target_arch = "arm") && !cfg!(feature = "device-dispatch");

/// `a op c` for the i32 operator `op` that follows an `i32.const c` (operand
/// `a` below it), or `None` if `op` is not one the interpreter fuses.
#[inline(always)]
fn fuse_i32_const(op: u8, a: u32, c: u32) -> Option<u32> {
    Some(match op {
        0x46 => (a == c) as u32,
        0x47 => (a != c) as u32,
        0x48 => ((a as i32) < c as i32) as u32,
        0x49 => (a < c) as u32,
        0x4a => (a as i32 > c as i32) as u32,
        0x4b => (a > c) as u32,
        // (Not `le`/`ge`: on x86-64 they cost SHA-2 12 %, code layout.)
        0x6a => a.wrapping_add(c),
        0x6b => a.wrapping_sub(c),
        0x6c => a.wrapping_mul(c),
        0x71 => a & c,
        0x72 => a | c,
        0x73 => a ^ c,
        0x74 => a.wrapping_shl(c),
        0x75 => (a as i32).wrapping_shr(c) as u32,
        0x76 => a.wrapping_shr(c),
        0x77 => a.rotate_left(c % 32),
        _ => return None,
    })
}

/// The rare instructions (tables, bulk memory, `memory.size`/`grow`, `ref.func`),
/// executed out of the interpreter loop on the operand stack `stack[..sp]`.
struct Cold<'e, 'm, SA: Allocator + Clone, M: Allocator + Clone> {
    stack: Stack<'e>,
    sp: usize,
    code: &'e [u8],
    pc: usize,
    inst: &'e InstanceData<'m, SA, M>,
    // The store's vectors themselves, not slices of them: a slice is a pointer and a
    // length that the loop would load (and, on a Cortex-M, spill) at every entry.
    tables: &'e mut Vec<TableInst<SA>, SA>,
    memories: &'e mut Vec<MemoryInst<SA>, SA>,
    elem_items: &'e mut Vec<Vec<u64, SA>, SA>,
    data_dropped: &'e mut Vec<bool, SA>,
    mem0: usize,
    max_table: u64,
}

impl<SA: Allocator + Clone, M: Allocator + Clone> Cold<'_, '_, SA, M> {
    // Cold code: the operand stack through `Slot` (the guarantee the loop relies on),
    // everything else through checked accesses that the validator makes never fail.
    // pop/push/memory/table are out of line: inlined into every rare opcode they
    // cost 304 B more flash (scripts/size.sh), and speed does not matter here.
    fn leb(&mut self) -> u32 {
        let mut r = crate::reader::Reader::new(self.code, self.pc, self.code.len());
        let v = r.u32().unwrap_or(0);
        self.pc = r.pos();
        v
    }

    #[inline(never)]
    fn pop(&mut self) -> u64 {
        self.sp = self.sp.saturating_sub(1);
        Slot::at(self.stack, self.sp).get()
    }

    #[inline(never)]
    fn push(&mut self, v: u64) {
        Slot::at(self.stack, self.sp).set(v);
        self.sp += 1;
    }

    #[inline(never)]
    fn memory(&mut self, idx: u32) -> Result<&mut MemoryInst<SA>, TrapCode> {
        let a = if idx == 0 { self.mem0 } else { self.inst.memories.get(idx as usize).map_or(usize::MAX, |&a| a as usize) };
        self.memories.get_mut(a).ok_or(TrapCode::Internal)
    }

    #[inline(never)]
    fn table(&mut self, idx: u32) -> Result<&mut TableInst<SA>, TrapCode> {
        let a = *self.inst.tables.get(idx as usize).ok_or(TrapCode::Internal)?;
        self.tables.get_mut(a as usize).ok_or(TrapCode::Internal)
    }

    #[cold]
    #[inline(never)]
    fn op(&mut self, op: u8) -> Result<(), TrapCode> {
        match op {
            0x25 => {
                let t = self.leb();
                let i = self.pop() as u32 as usize;
                let r = *self.table(t)?.elems.get(i).ok_or(TrapCode::TableOutOfBounds)?;
                self.push(r);
            }
            0x26 => {
                let t = self.leb();
                let v = self.pop();
                let i = self.pop() as u32 as usize;
                *self.table(t)?.elems.get_mut(i).ok_or(TrapCode::TableOutOfBounds)? = v;
            }
            0x3f => {
                let idx = self.leb();
                let pages = self.memory(idx)?.pages;
                self.push(pages);
            }
            0x40 => {
                let idx = self.leb();
                let delta = self.pop() as u32 as u64;
                let r = self.memory(idx)?.grow(delta);
                self.push(r as i32 as u32 as u64);
            }
            0xd2 => {
                let f = self.leb() as usize;
                let r = self.inst.funcs.get(f).map_or(0, |&a| a as u64 + 1);
                self.push(r);
            }
            0xfc => return self.prefixed(),
            _ => return Err(TrapCode::Internal),
        }
        Ok(())
    }

    fn prefixed(&mut self) -> Result<(), TrapCode> {
        match self.leb() {
            sub @ 0..=7 => {
                // i32/i64.trunc_sat_f32/f64_s/u: 0 i32←f32 s, 1 u, 2 i32←f64 s, 3 u, 4..7 the same to i64.
                let a = self.pop();
                let r = float::to_int(a, sub & 2 != 0, sub & 1 == 0, if sub >= 4 { 64 } else { 32 }, true);
                self.push(r.unwrap_or(0));
            }
            8 => {
                let seg = self.leb();
                let idx = self.leb();
                let n = self.pop() as u32;
                let s = self.pop() as u32;
                let d = self.pop() as u32;
                memory_init(self.inst, self.memories, self.data_dropped, idx, seg, d, s, n)?;
            }
            9 => {
                let seg = self.leb();
                if let Some(x) = self.data_dropped.get_mut((self.inst.data_base + seg) as usize) {
                    *x = true;
                }
            }
            10 => {
                let di = self.leb();
                let si = self.leb();
                let n = self.pop() as u32 as u64;
                let s = self.pop() as u32 as u64;
                let d = self.pop() as u32 as u64;
                if di == si {
                    let m = self.memory(di)?;
                    let len = m.data.len() as u64;
                    if s + n <= len && d + n <= len {
                        move_within(&mut m.data, s as usize, d as usize, n as usize);
                    } else if !copy_windows(m, d, s, n) {
                        return Err(TrapCode::MemoryOutOfBounds);
                    }
                } else {
                    // Different memories: check both ranges, then copy through a small buffer.
                    if self.memory(si)?.window_mut(s, n).is_none() || self.memory(di)?.window_mut(d, n).is_none() {
                        return Err(TrapCode::MemoryOutOfBounds);
                    }
                    let mut done = 0u64;
                    let mut buf = [0u8; 64];
                    while done < n {
                        let k = (n - done).min(64);
                        if let Some(src) = self.memory(si)?.window_mut(s + done, k) {
                            for (b, &x) in buf.iter_mut().zip(src.iter()) {
                                *b = x;
                            }
                        }
                        if let Some(dst) = self.memory(di)?.window_mut(d + done, k) {
                            for (x, &b) in dst.iter_mut().zip(buf.iter()) {
                                *x = b;
                            }
                        }
                        done += k;
                    }
                }
            }
            11 => {
                let idx = self.leb();
                let n = self.pop() as u32 as u64;
                let v = self.pop() as u8;
                let d = self.pop() as u32 as u64;
                self.memory(idx)?.window_mut(d, n).ok_or(TrapCode::MemoryOutOfBounds)?.fill(v);
            }
            12 => {
                let seg = self.leb();
                let t = self.leb();
                let n = self.pop() as u32;
                let s = self.pop() as u32;
                let d = self.pop() as u32;
                table_init(self.inst, self.tables, self.elem_items, t, seg, d, s, n)?;
            }
            13 => {
                let seg = self.leb();
                drop_elem(self.elem_items, self.inst, seg);
            }
            14 => {
                let dt = self.leb();
                let st = self.leb();
                let n = self.pop() as u32 as usize;
                let s = self.pop() as u32 as usize;
                let d = self.pop() as u32 as usize;
                let (da, sa) = match (self.inst.tables.get(dt as usize), self.inst.tables.get(st as usize)) {
                    (Some(&x), Some(&y)) => (x as usize, y as usize),
                    _ => return Err(TrapCode::Internal),
                };
                let dlen = self.tables.get(da).map_or(0, |t| t.elems.len());
                let slen = self.tables.get(sa).map_or(0, |t| t.elems.len());
                if s + n > slen || d + n > dlen {
                    return Err(TrapCode::TableOutOfBounds);
                }
                // Element by element (tables are small, the instruction rare), in the
                // direction that leaves an overlap within one table intact.
                for k in 0..n {
                    let k = if d <= s { k } else { n - 1 - k };
                    let v = self.tables.get(sa).and_then(|t| t.elems.get(s + k)).copied().unwrap_or(0);
                    if let Some(x) = self.tables.get_mut(da).and_then(|t| t.elems.get_mut(d + k)) {
                        *x = v;
                    }
                }
            }
            15 => {
                let t = self.leb();
                let n = self.pop() as u32 as u64;
                let v = self.pop();
                let max_table = self.max_table;
                let table = self.table(t)?;
                let old = table.elems.len() as u64;
                let max = table.ty.limits.max.unwrap_or(u32::MAX as u64).min(max_table);
                let r = if old + n > max || crate::error::try_resize(&mut table.elems, (old + n) as usize, v).is_err() {
                    -1i32
                } else {
                    old as i32
                };
                self.push(r as u32 as u64);
            }
            16 => {
                let t = self.leb();
                let len = self.table(t)?.elems.len();
                self.push(len as u64);
            }
            17 => {
                let t = self.leb();
                let n = self.pop() as u32 as usize;
                let v = self.pop();
                let i = self.pop() as u32 as usize;
                let end = i.checked_add(n).ok_or(TrapCode::TableOutOfBounds)?;
                self.table(t)?.elems.get_mut(i..end).ok_or(TrapCode::TableOutOfBounds)?.fill(v);
            }
            _ => return Err(TrapCode::Internal),
        }
        Ok(())
    }
}

/// `buf.copy_within(src..src + n, dst)` (in bounds): on a 32-bit target as a plain
/// loop, so the engine does not link `memmove` (1.6 KB of flash) for the rare bulk copy.
fn move_within<T: Copy>(buf: &mut [T], src: usize, dst: usize, n: usize) {
    if cfg!(target_pointer_width = "64") {
        buf.copy_within(src..src + n, dst);
    } else if dst <= src {
        // (Each element through `get`: the callers' ranges are in bounds, and this way
        // a broken range copies less instead of panicking.)
        for i in 0..n {
            if let Some(&v) = buf.get(src + i) {
                if let Some(d) = buf.get_mut(dst + i) {
                    *d = v;
                }
            }
        }
    } else {
        for i in (0..n).rev() {
            if let Some(&v) = buf.get(src + i) {
                if let Some(d) = buf.get_mut(dst + i) {
                    *d = v;
                }
            }
        }
    }
}

/// `memory.copy` within one memory that leaves its low part: both ranges must each lie
/// in the low part or the tail window. Copies through a buffer in the overlap-safe direction.
fn copy_windows<A: Allocator>(m: &mut MemoryInst<A>, d: u64, s: u64, n: u64) -> bool {
    if m.window_mut(s, n).is_none() || m.window_mut(d, n).is_none() {
        return false;
    }
    let mut buf = [0u8; 64];
    let mut step = |i: u64, k: u64| {
        // (Element-wise: both windows are `k` long, and `k <= 64`, without a panic path.)
        if let Some(src) = m.window_mut(s + i, k) {
            for (b, &x) in buf.iter_mut().zip(src.iter()) {
                *b = x;
            }
        }
        if let Some(dst) = m.window_mut(d + i, k) {
            for (x, &b) in dst.iter_mut().zip(buf.iter()) {
                *x = b;
            }
        }
    };
    if d <= s {
        let mut i = 0;
        while i < n {
            let k = (n - i).min(64);
            step(i, k);
            i += k;
        }
    } else {
        let mut i = n;
        while i > 0 {
            let k = i.min(64);
            i -= k;
            step(i, k);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// A load's or store's start found backwards from the end of its memarg, for
    /// every shape of memarg: minimal and padded alignment, offset and memory index,
    /// after an instruction whose own immediate has continued bytes.
    #[test]
    fn memory_op_start_walks_back_over_every_memarg() {
        let aligns: [&[u8]; 3] = [&[0x02], &[0x82, 0x00], &[0x83, 0x80, 0x80, 0x80, 0x00]];
        let mem_aligns: [&[u8]; 3] = [&[0x42], &[0xc0, 0x00], &[0xc3, 0x80, 0x80, 0x80, 0x00]];
        let indices: [&[u8]; 3] = [&[0x01], &[0x81, 0x00], &[0x7f]];
        let offsets: [&[u8]; 5] = [&[0x00], &[0x28], &[0x80, 0x01], &[0xff, 0xff, 0xff, 0xff, 0x0f], &[0x80, 0x80, 0x80, 0x80, 0x00]];
        let mut memargs: Vec<Vec<u8>> = Vec::new();
        for o in offsets {
            for a in aligns {
                memargs.push([a, o].concat());
            }
            for a in mem_aligns {
                for i in indices {
                    memargs.push([a, i, o].concat());
                }
            }
        }
        for op in [0x28u8, 0x29, 0x2d, 0x35, 0x36, 0x3a, 0x3e] {
            for m in &memargs {
                // Before it: `i32.const 300` (a continued byte, then one that is not).
                let code = [&[0x41, 0xac, 0x02, op][..], m, &[0x0b]].concat();
                let end = code.len() - 1;
                assert_eq!(memory_op_start(&code, end), 3, "opcode {op:#x}, memarg {m:02x?}");
            }
        }
    }

    /// The 32-bit targets' division and the i64 operators built on it, against
    /// the host's, on edge values and a deterministic spread.
    #[test]
    fn divrem64_matches_the_host() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut vals: Vec<u64> = [0, 1, 2, 3, 7, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1, 1 << 63 | 1].to_vec();
        for i in 0..4000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            vals.push(seed >> (i % 64));
        }
        for &a in &vals {
            for &c in vals.iter().step_by(37).chain([1u64, 3, u64::MAX].iter()) {
                if c == 0 {
                    continue;
                }
                assert_eq!(divrem64_bits(a, c), (a / c, a % c), "{a} / {c}");
                let (sa, sc) = (a as i64, c as i64);
                assert_eq!(int_div(0x80, a, c), Ok(a / c));
                assert_eq!(int_div(0x82, a, c), Ok(a % c));
                assert_eq!(int_div(0x81, a, c), Ok(sa.wrapping_rem(sc) as u64), "{sa} rem_s {sc}");
                if !(sa == i64::MIN && sc == -1) {
                    assert_eq!(int_div(0x7f, a, c), Ok((sa / sc) as u64), "{sa} div_s {sc}");
                }
            }
        }
        assert_eq!(int_div(0x7f, i64::MIN as u64, u64::MAX), Err(TrapCode::IntegerOverflow));
        assert_eq!(int_div(0x82, 5, 0), Err(TrapCode::IntegerDivideByZero));
    }
}
