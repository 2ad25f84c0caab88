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
use crate::module::{FuncInfo, Module};
use crate::raw::{byte, leb_i64 as code_i64, leb_u32 as code_u32, mem_load, mem_store, side_word, slot};
use crate::sidetable::{Entry, WIDE_BYTES};
use crate::store::{drop_elem, memory_init, table_init, FuncAddr, FuncKind, InstanceData, Store};
use crate::trap::{Trap, TrapCode};
use crate::value::Value;

/// Why `resume` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

#[derive(Debug, Clone, Copy, Default)]
struct Frame {
    func: u32,
    pc: u32,
    stp: u32,
    base: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Ready,
    Host,
    Done,
    Trapped,
}

/// One line of execution: value stack, frame stack and the registers of the
/// suspended interpreter. A scheduler task owns one.
pub struct Thread<A: Allocator + Clone = Global> {
    stack: Vec<u64, A>,
    frames: Vec<Frame, A>,
    state: State,
    // Suspended registers.
    pc: u32,
    stp: u32,
    sp: u32,
    base: u32,
    func: u32,
    /// Host function being called, and whether it was a tail call.
    host: u32,
    tail_host: bool,
    /// Its parameter and result counts (cached at the call, for the raw accessors).
    host_params: u16,
    host_results: u16,
    /// Function invoked by the embedder (its signature gives the results).
    entry: u32,
    trap: Option<Trap>,
    fuel_left: i64,
    instructions: u64,
    /// Fuel owed for the entered-but-not-yet-charged run of the invoked function.
    debt: u32,
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
        stack.try_reserve_exact(limits.value_slots as usize).map_err(|_| crate::error::OutOfMemory)?;
        stack.resize(limits.value_slots as usize, 0);
        let mut frames = Vec::new_in(alloc);
        frames.try_reserve_exact(limits.frames as usize).map_err(|_| crate::error::OutOfMemory)?;
        Ok(Thread {
            stack,
            frames,
            state: State::Idle,
            pc: 0,
            stp: 0,
            sp: 0,
            base: 0,
            func: 0,
            host: 0,
            tail_host: false,
            host_params: 0,
            host_results: 0,
            entry: 0,
            trap: None,
            fuel_left: 0,
            instructions: 0,
            debt: 0,
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
        let sig = store.sig(fi.sig);
        if sig.params.len() != args.len() || sig.params.iter().zip(args).any(|(t, a)| *t != a.ty()) {
            return Err(InvokeError::Signature);
        }
        self.frames.clear();
        self.trap = None;
        self.entry = func.0;
        self.func = func.0;
        self.tail_host = false;
        if args.len() > self.stack.len() {
            self.fail(Trap { code: TrapCode::StackOverflow, offset: 0, func: func.0 });
            return Ok(());
        }
        for (slot, a) in self.stack.iter_mut().zip(args) {
            *slot = a.to_bits();
        }
        self.sp = args.len() as u32;
        match fi.kind {
            FuncKind::Wasm { instance, body } => {
                let b: FuncInfo = match store.instances.get(instance as usize).and_then(|i| i.module.func_info(body)) {
                    Some(b) => b,
                    None => return Err(InvokeError::UnknownFunction),
                };
                let h = b.header;
                let end = h.locals as usize + h.max_height as usize;
                if end > self.stack.len() {
                    self.fail(Trap { code: TrapCode::StackOverflow, offset: b.code_start, func: func.0 });
                    return Ok(());
                }
                self.stack[args.len()..h.locals as usize].fill(0);
                self.base = 0;
                self.sp = h.locals as u32;
                self.pc = b.code_start;
                self.stp = b.stp_start;
                self.debt = h.entry_cost;
                self.state = State::Ready;
            }
            FuncKind::Host { .. } => {
                self.host = func.0;
                self.host_params = sig.params.len() as u16;
                self.host_results = sig.results.len() as u16;
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
    pub fn host_args_raw(&self) -> &[u64] {
        if self.state != State::Host {
            return &[];
        }
        let sp = self.sp as usize;
        &self.stack[sp.saturating_sub(self.host_params as usize)..sp]
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

    /// Replace the host call's arguments by its `n` results (already checked against its
    /// signature) and make the thread ready, or done if the embedder invoked the host function.
    fn finish_host(&mut self, results: impl Iterator<Item = u64>, n: usize) {
        let base = self.sp as usize - self.host_params as usize;
        if base + n > self.stack.len() {
            self.fail(Trap { code: TrapCode::StackOverflow, offset: self.pc, func: self.func });
            return;
        }
        for (slot, bits) in self.stack[base..base + n].iter_mut().zip(results) {
            *slot = bits;
        }
        self.sp = (base + n) as u32;
        self.state = if self.host == self.entry && self.frames.is_empty() && self.func == self.entry {
            // The embedder invoked a host function directly.
            State::Done
        } else {
            State::Ready
        };
    }

    /// Fail the pending host call: the thread traps with `TrapCode::Host`.
    pub fn host_trap(&mut self) {
        let t = Trap { code: TrapCode::Host, offset: self.pc, func: self.func };
        self.fail(t);
    }

    /// Call stack at the last trap (or suspension), innermost first: (function address, code offset).
    pub fn backtrace(&self) -> impl Iterator<Item = (FuncAddr, u32)> + '_ {
        let top = self.trap.map_or((self.func, self.pc), |t| (t.func, t.offset));
        core::iter::once(top).chain(self.frames.iter().rev().map(|f| (f.func, f.pc))).map(|(f, pc)| (FuncAddr(f), pc))
    }

    /// Continue with a budget of `fuel` wasm instructions.
    pub fn resume<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &mut Store<'m, SA, M>, fuel: u64) -> Exit {
        let budget = fuel.min(i64::MAX as u64) as i64;
        let exit = self.enter::<SA, M, true>(store, fuel);
        // A slice may overshoot its budget by up to one basic block (see `out_of_fuel!`).
        self.instructions += (budget - self.fuel_left.min(budget)) as u64;
        exit
    }

    /// Continue without a fuel budget, until done, trapped or a host call.
    pub fn run<'m, SA: Allocator + Clone, M: Allocator + Clone>(&mut self, store: &mut Store<'m, SA, M>) -> Exit {
        self.enter::<SA, M, false>(store, 0)
    }

    fn enter<'m, SA: Allocator + Clone, M: Allocator + Clone, const METERED: bool>(
        &mut self,
        store: &mut Store<'m, SA, M>,
        fuel: u64,
    ) -> Exit {
        self.fuel_left = fuel.min(i64::MAX as u64) as i64;
        match self.state {
            State::Ready => self.execute::<SA, M, METERED>(store, fuel),
            State::Done => Exit::Done,
            State::Trapped => Exit::Trap(self.trap.unwrap_or(Trap { code: TrapCode::Internal, offset: 0, func: 0 })),
            State::Host => {
                let id = match store.funcs.get(self.host as usize).map(|f| f.kind) {
                    Some(FuncKind::Host { id }) => id,
                    _ => 0,
                };
                Exit::HostCall { func: FuncAddr(self.host), id }
            }
            State::Idle => Exit::Trap(Trap { code: TrapCode::Internal, offset: 0, func: 0 }),
        }
    }

    #[allow(clippy::cognitive_complexity)]
    fn execute<'m, SA: Allocator + Clone, M: Allocator + Clone, const METERED: bool>(
        &mut self,
        store: &mut Store<'m, SA, M>,
        fuel: u64,
    ) -> Exit {
        let Store { funcs, tables, memories, globals, instances, elem_items, data_dropped, limits, sigs, .. } = store;
        let funcs = &funcs[..];
        let instances = &instances[..];
        let max_table = limits.max_table_elems as u64;
        let max_frames = self.frames.capacity();
        let stack = &mut self.stack[..];
        let frames = &mut self.frames;

        let mut pc = self.pc as usize;
        let mut stp = self.stp as usize;
        let mut sp = self.sp as usize;
        let mut base = self.base as usize;
        let mut cur = self.func;

        // Context of the running function's instance.
        let mut inst_idx: u32 = u32::MAX;
        let mut inst: &InstanceData<'m, SA, M>;
        let mut code: &[u8] = &[];
        let mut side: &[u8] = &[];
        let mut overflow: &[u8] = &[];
        let mut module: &Module<'m, M>;
        let mut mem: usize = usize::MAX;
        let mut body_end: usize;
        let mut nresults: usize;
        let mut fuel = fuel.min(i64::MAX as u64) as i64;
        if METERED {
            fuel -= self.debt as i64;
            self.debt = 0;
        }

        // Every trap leaves this block as (code, offset) to the one epilogue below.
        let (trap_code, trap_at): (TrapCode, usize) = 'exec: {

        macro_rules! st {
            ($i:expr) => {
                *slot(stack, $i)
            };
        }
        macro_rules! save {
            ($pc:expr) => {{
                self.pc = $pc as u32;
                self.stp = stp as u32;
                self.sp = sp as u32;
                self.base = base as u32;
                self.func = cur;
            }};
        }
        macro_rules! trap_at {
            ($code:expr, $at:expr) => {
                break 'exec ($code, $at as usize)
            };
        }
        macro_rules! enter_instance {
            ($i:expr) => {{
                inst_idx = $i;
                inst = match instances.get(inst_idx as usize) {
                    Some(i) => i,
                    None => trap_at!(TrapCode::Internal, pc),
                };
                code = inst.module.bytes;
                module = inst.module;
                side = module.side.side();
                overflow = module.side.overflow();
                mem = inst.memories.first().map_or(usize::MAX, |&m| m as usize);
            }};
        }
        // Load the context of function `cur` (after a return or on resume).
        macro_rules! load_func {
            () => {{
                match funcs.get(cur as usize).map(|f| f.kind) {
                    Some(FuncKind::Wasm { instance, body }) => {
                        if instance != inst_idx {
                            enter_instance!(instance);
                        }
                        match module.func_info(body) {
                            Some(b) => {
                                body_end = b.code_end as usize;
                                nresults = b.header.results as usize;
                            }
                            None => trap_at!(TrapCode::Internal, pc),
                        }
                    }
                    _ => trap_at!(TrapCode::Internal, pc),
                }
            }};
        }
        inst = match instances.first() {
            Some(i) => i,
            None => trap_at!(TrapCode::Internal, pc),
        };
        module = inst.module;
        load_func!();

        macro_rules! do_return {
            () => {{
                let n = nresults;
                if n == 1 {
                    st!(base) = st!(sp - 1);
                } else if n != 0 && base + n != sp {
                    stack.copy_within(sp - n..sp, base);
                }
                sp = base + n;
                match frames.pop() {
                    None => {
                        save!(pc);
                        self.state = State::Done;
                        self.fuel_left = fuel;
                        return Exit::Done;
                    }
                    Some(f) => {
                        pc = f.pc as usize;
                        stp = f.stp as usize;
                        base = f.base as usize;
                        cur = f.func;
                        load_func!();
                    }
                }
            }};
        }
        if self.tail_host {
            // A `return_call` to a host function has just been answered: return its results.
            self.tail_host = false;
            do_return!();
        }

        // Fuel: each straight-line run is charged in full when entered (its
        // length is in the side table; see `sidetable`), and the budget is
        // tested where execution can repeat (taken branches, calls), so a slice
        // overshoots by at most one run.
        macro_rules! charge {
            ($n:expr) => {
                if METERED {
                    fuel -= $n as i64;
                }
            };
        }
        macro_rules! out_of_fuel {
            () => {
                if METERED && fuel <= 0 {
                    save!(pc);
                    self.fuel_left = fuel;
                    return Exit::OutOfFuel;
                }
            };
        }
        // Side-table entry `$idx`, unpacked (an escape reads its overflow record).
        macro_rules! entry {
            ($idx:expr) => {{
                let w = side_word(side, $idx);
                match Entry::escaped(w) {
                    None => Entry::unpack(w),
                    Some(o) => Entry::from_wide(overflow.get(o as usize * WIDE_BYTES..).unwrap_or(&[])),
                }
            }};
        }
        // Take the branch at code offset `$site` whose entry is `$idx`.
        macro_rules! branch {
            ($idx:expr, $site:expr) => {{
                let idx = $idx;
                let e = entry!(idx);
                charge!(e.cost);
                let drop = e.drop as usize;
                if drop != 0 {
                    let keep = e.keep as usize;
                    if keep == 1 {
                        st!(sp - 1 - drop) = st!(sp - 1);
                    } else if keep != 0 {
                        stack.copy_within(sp - keep..sp, sp - keep - drop);
                    }
                    sp -= drop;
                }
                pc = ($site as isize + e.dpc as isize) as usize;
                stp = (idx as isize + e.dstp as isize) as usize;
                out_of_fuel!();
            }};
        }
        macro_rules! skip_leb {
            () => {{
                while byte(code, pc) & 0x80 != 0 {
                    pc += 1;
                }
                pc += 1;
            }};
        }
        macro_rules! pop {
            () => {{
                sp -= 1;
                st!(sp)
            }};
        }
        macro_rules! push {
            ($v:expr) => {{
                let v = $v;
                st!(sp) = v;
                sp += 1;
            }};
        }
        // Call function address `$addr`; `$tail` reuses the current frame.
        macro_rules! call {
            ($addr:expr, $op_pc:expr, $tail:expr) => {{
                let addr = $addr;
                let fi = match funcs.get(addr as usize) {
                    Some(f) => *f,
                    None => trap_at!(TrapCode::Internal, $op_pc),
                };
                match fi.kind {
                    FuncKind::Wasm { instance, body } => {
                        let b = if instance == inst_idx { module.func_info(body) } else {
                            instances.get(instance as usize).and_then(|i| i.module.func_info(body))
                        };
                        let b = match b {
                            Some(b) => b,
                            None => trap_at!(TrapCode::Internal, $op_pc),
                        };
                        let h = b.header;
                        let params = h.params as usize;
                        let tail: bool = $tail;
                        let new_base = if tail {
                            stack.copy_within(sp - params..sp, base);
                            base
                        } else {
                            if frames.len() >= max_frames {
                                trap_at!(TrapCode::CallStackExhausted, $op_pc);
                            }
                            sp - params
                        };
                        let locals_end = new_base + h.locals as usize;
                        if locals_end + h.max_height as usize > stack.len() {
                            trap_at!(TrapCode::StackOverflow, $op_pc);
                        }
                        let mut i = new_base + params;
                        while i < locals_end {
                            st!(i) = 0;
                            i += 1;
                        }
                        if !tail {
                            frames.push(Frame { func: cur, pc: pc as u32, stp: stp as u32, base: base as u32 });
                        }
                        cur = addr;
                        base = new_base;
                        sp = locals_end;
                        pc = b.code_start as usize;
                        stp = b.stp_start as usize;
                        body_end = b.code_end as usize;
                        nresults = h.results as usize;
                        charge!(h.entry_cost);
                        if instance != inst_idx {
                            enter_instance!(instance);
                        }
                        out_of_fuel!();
                    }
                    FuncKind::Host { id } => {
                        save!(pc);
                        let (np, nr) = sigs.get(fi.sig as usize).map_or((0, 0), |t| (t.params, t.results));
                        self.host_params = np;
                        self.host_results = nr;
                        self.host = addr;
                        self.tail_host = $tail;
                        self.state = State::Host;
                        self.fuel_left = fuel;
                        return Exit::HostCall { func: FuncAddr(addr), id };
                    }
                }
            }};
        }
        // Memory `$idx` of the running instance (0 is cached in `mem`).
        macro_rules! memory_inst {
            ($at:expr, $idx:expr) => {{
                let idx = $idx;
                let a = if idx == 0 { mem } else { inst.memories.get(idx as usize).map_or(usize::MAX, |&a| a as usize) };
                match memories.get_mut(a) {
                    Some(m) => m,
                    None => trap_at!(TrapCode::Internal, $at),
                }
            }};
        }
        macro_rules! memory {
            ($at:expr, $idx:expr) => {
                &mut memory_inst!($at, $idx).data
            };
        }
        // A memarg: alignment (bit 6 flags an explicit memory index), then the offset.
        macro_rules! memarg {
            () => {{
                let align = code_u32(code, &mut pc);
                let idx = if align & 0x40 != 0 { code_u32(code, &mut pc) } else { 0 };
                (idx, code_u32(code, &mut pc) as u64)
            }};
        }
        macro_rules! un {
            ($f:expr) => {{
                let a = st!(sp - 1);
                st!(sp - 1) = $f(a);
            }};
        }
        macro_rules! bin {
            ($f:expr) => {{
                let b = pop!();
                let a = st!(sp - 1);
                st!(sp - 1) = $f(a, b);
            }};
        }
        macro_rules! bin_trap {
            ($at:expr, $f:expr) => {{
                let b = pop!();
                let a = st!(sp - 1);
                match $f(a, b) {
                    Ok(v) => st!(sp - 1) = v,
                    Err(c) => trap_at!(c, $at),
                }
            }};
        }
        macro_rules! un_trap {
            ($at:expr, $f:expr) => {{
                let a = st!(sp - 1);
                match $f(a) {
                    Ok(v) => st!(sp - 1) = v,
                    Err(c) => trap_at!(c, $at),
                }
            }};
        }
        /// `memory.copy` within one memory that leaves its low part: both ranges must each lie
        /// in the low part or the tail window. Copies through a buffer in the overlap-safe direction.
        #[cold]
        #[inline(never)]
        fn bulk_copy_slow<A: Allocator>(m: &mut crate::store::MemoryInst<A>, d: u64, s: u64, n: u64) -> bool {
            if m.window_mut(s, n).is_none() || m.window_mut(d, n).is_none() {
                return false;
            }
            let mut buf = [0u8; 64];
            let step = |i: u64, k: u64, m: &mut crate::store::MemoryInst<A>, buf: &mut [u8; 64]| {
                if let Some(src) = m.window_mut(s + i, k) {
                    buf[..k as usize].copy_from_slice(src);
                }
                if let Some(dst) = m.window_mut(d + i, k) {
                    dst.copy_from_slice(&buf[..k as usize]);
                }
            };
            if d <= s {
                let mut i = 0;
                while i < n {
                    let k = (n - i).min(64);
                    step(i, k, m, &mut buf);
                    i += k;
                }
            } else {
                let mut i = n;
                while i > 0 {
                    let k = i.min(64);
                    i -= k;
                    step(i, k, m, &mut buf);
                }
            }
            true
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
        fn s32(x: f32) -> u64 {
            x.to_bits() as u64
        }
        #[inline(always)]
        fn s64(x: f64) -> u64 {
            x.to_bits()
        }
        #[inline(always)]
        fn b(x: bool) -> u64 {
            x as u64
        }

        loop {
            let op = byte(code, pc);
            pc += 1;
            match op {
                0x00 => trap_at!(TrapCode::Unreachable, pc - 1),
                0x01 => {}
                0x02 | 0x03 => skip_leb!(),
                0x04 => {
                    let at = pc - 1;
                    skip_leb!();
                    let e = entry!(stp);
                    if pop!() as u32 != 0 {
                        charge!(e.fall);
                        stp += 1;
                    } else {
                        charge!(e.cost);
                        pc = (at as isize + e.dpc as isize) as usize;
                        stp = (stp as isize + e.dstp as isize) as usize;
                    }
                }
                0x05 => {
                    let e = entry!(stp);
                    charge!(e.cost);
                    pc = (pc as isize - 1 + e.dpc as isize) as usize;
                    stp = (stp as isize + e.dstp as isize) as usize;
                }
                0x0b => {
                    if pc == body_end {
                        do_return!();
                    }
                }
                0x0c => branch!(stp, pc - 1),
                0x0d => {
                    if pop!() as u32 != 0 {
                        branch!(stp, pc - 1);
                    } else {
                        if METERED {
                            charge!(entry!(stp).fall);
                        }
                        skip_leb!();
                        stp += 1;
                    }
                }
                0x0e => {
                    let at = pc - 1;
                    let n = code_u32(code, &mut pc) as usize;
                    let i = pop!() as u32 as usize;
                    branch!(stp + if i < n { i } else { n }, at);
                }
                0x0f => do_return!(),
                0x10..=0x13 => {
                    let at = pc - 1;
                    // call, call_indirect, return_call, return_call_indirect: one call site.
                    let addr = if op & 1 == 0 {
                        let f = code_u32(code, &mut pc);
                        match inst.funcs.get(f as usize) {
                            Some(&a) => a,
                            None => trap_at!(TrapCode::Internal, at),
                        }
                    } else {
                        let ty = code_u32(code, &mut pc);
                        let t = code_u32(code, &mut pc);
                        let i = pop!() as u32 as usize;
                        let table = match inst.tables.get(t as usize).and_then(|&a| tables.get(a as usize)) {
                            Some(t) => t,
                            None => trap_at!(TrapCode::Internal, at),
                        };
                        let r = match table.elems.get(i) {
                            Some(&r) => r,
                            None => trap_at!(TrapCode::TableOutOfBounds, at),
                        };
                        if r == 0 {
                            trap_at!(TrapCode::UninitializedElement, at);
                        }
                        let addr = (r - 1) as u32;
                        let want = inst.sigs.get(ty as usize).copied().unwrap_or(u32::MAX);
                        if funcs.get(addr as usize).map(|f| f.sig) != Some(want) {
                            trap_at!(TrapCode::IndirectCallTypeMismatch, at);
                        }
                        addr
                    };
                    call!(addr, at, op >= 0x12);
                }
                0x1a => sp -= 1,
                0x1b => {
                    let c = pop!() as u32;
                    let v2 = pop!();
                    if c == 0 {
                        st!(sp - 1) = v2;
                    }
                }
                0x1c => {
                    let n = code_u32(code, &mut pc) as usize;
                    pc += n;
                    let c = pop!() as u32;
                    let v2 = pop!();
                    if c == 0 {
                        st!(sp - 1) = v2;
                    }
                }
                0x20 => {
                    let i = code_u32(code, &mut pc) as usize;
                    push!(st!(base + i));
                }
                0x21 => {
                    let i = code_u32(code, &mut pc) as usize;
                    st!(base + i) = pop!();
                }
                0x22 => {
                    let i = code_u32(code, &mut pc) as usize;
                    st!(base + i) = st!(sp - 1);
                }
                0x23 => {
                    let at = pc - 1;
                    let g = code_u32(code, &mut pc) as usize;
                    let v = match inst.globals.get(g).and_then(|&a| globals.get(a as usize)) {
                        Some(g) => g.value,
                        None => trap_at!(TrapCode::Internal, at),
                    };
                    push!(v);
                }
                0x24 => {
                    let at = pc - 1;
                    let g = code_u32(code, &mut pc) as usize;
                    let v = pop!();
                    match inst.globals.get(g).and_then(|&a| globals.get_mut(a as usize)) {
                        Some(g) => g.value = v,
                        None => trap_at!(TrapCode::Internal, at),
                    }
                }
                0x25 | 0x26 => {
                    let at = pc - 1;
                    let t = code_u32(code, &mut pc);
                    let table = match inst.tables.get(t as usize).and_then(|&a| tables.get_mut(a as usize)) {
                        Some(t) => t,
                        None => trap_at!(TrapCode::Internal, at),
                    };
                    if op == 0x25 {
                        let i = st!(sp - 1) as u32 as usize;
                        match table.elems.get(i) {
                            Some(&r) => st!(sp - 1) = r,
                            None => trap_at!(TrapCode::TableOutOfBounds, at),
                        }
                    } else {
                        let v = pop!();
                        let i = pop!() as u32 as usize;
                        match table.elems.get_mut(i) {
                            Some(r) => *r = v,
                            None => trap_at!(TrapCode::TableOutOfBounds, at),
                        }
                    }
                }
                0x28..=0x3e => {
                    let at = pc - 1;
                    let (idx, off) = memarg!();
                    let mi = memory_inst!(at, idx);
                    if op <= 0x35 {
                        let ea = st!(sp - 1) as u32 as u64 + off;
                        macro_rules! ld {
                            ($n:literal, $conv:expr) => {
                                match mem_load::<$n>(&mi.data, ea) {
                                    Some(b) => $conv(b),
                                    None => match mi.tail_mut(ea, $n) {
                                        Some(t) => {
                                            let mut b = [0u8; $n];
                                            b.copy_from_slice(t);
                                            $conv(b)
                                        }
                                        None => trap_at!(TrapCode::MemoryOutOfBounds, at),
                                    },
                                }
                            };
                        }
                        st!(sp - 1) = match op {
                            0x28 | 0x2a | 0x35 => ld!(4, |b| u32::from_le_bytes(b) as u64),
                            0x29 | 0x2b => ld!(8, u64::from_le_bytes),
                            0x2c => ld!(1, |b: [u8; 1]| b[0] as i8 as i32 as u32 as u64),
                            0x2d | 0x31 => ld!(1, |b: [u8; 1]| b[0] as u64),
                            0x2e => ld!(2, |b| i16::from_le_bytes(b) as i32 as u32 as u64),
                            0x2f | 0x33 => ld!(2, |b| u16::from_le_bytes(b) as u64),
                            0x30 => ld!(1, |b: [u8; 1]| b[0] as i8 as i64 as u64),
                            0x32 => ld!(2, |b| i16::from_le_bytes(b) as i64 as u64),
                            _ => ld!(4, |b| i32::from_le_bytes(b) as i64 as u64),
                        };
                    } else {
                        let v = pop!();
                        let ea = pop!() as u32 as u64 + off;
                        macro_rules! st_ {
                            ($b:expr) => {{
                                let b = $b;
                                if mem_store(&mut mi.data, ea, b).is_none() {
                                    match mi.tail_mut(ea, b.len() as u64) {
                                        Some(t) => t.copy_from_slice(&b),
                                        None => trap_at!(TrapCode::MemoryOutOfBounds, at),
                                    }
                                }
                            }};
                        }
                        match op {
                            0x36 | 0x38 | 0x3e => st_!((v as u32).to_le_bytes()),
                            0x37 | 0x39 => st_!(v.to_le_bytes()),
                            0x3a | 0x3c => st_!([v as u8]),
                            _ => st_!((v as u16).to_le_bytes()),
                        }
                    }
                }
                0x3f => {
                    let at = pc - 1;
                    let idx = code_u32(code, &mut pc);
                    let pages = memory_inst!(at, idx).pages;
                    push!(pages);
                }
                0x40 => {
                    let at = pc - 1;
                    let idx = code_u32(code, &mut pc);
                    let delta = st!(sp - 1) as u32 as u64;
                    let r = memory_inst!(at, idx).grow(delta);
                    st!(sp - 1) = r as i32 as u32 as u64;
                }
                0x41 => push!(code_i64(code, &mut pc) as i32 as u32 as u64),
                0x42 => push!(code_i64(code, &mut pc) as u64),
                0x43 => {
                    let b = [byte(code, pc), byte(code, pc + 1), byte(code, pc + 2), byte(code, pc + 3)];
                    pc += 4;
                    push!(u32::from_le_bytes(b) as u64);
                }
                0x44 => {
                    let mut b = [0u8; 8];
                    for (i, x) in b.iter_mut().enumerate() {
                        *x = byte(code, pc + i);
                    }
                    pc += 8;
                    push!(u64::from_le_bytes(b));
                }
                0x45 => un!(|a: u64| b(a as u32 == 0)),
                0x46 => bin!(|a: u64, c: u64| b(a as u32 == c as u32)),
                0x47 => bin!(|a: u64, c: u64| b(a as u32 != c as u32)),
                0x48 => bin!(|a: u64, c: u64| b((a as i32) < c as i32)),
                0x49 => bin!(|a: u64, c: u64| b((a as u32) < c as u32)),
                0x4a => bin!(|a: u64, c: u64| b(a as i32 > c as i32)),
                0x4b => bin!(|a: u64, c: u64| b(a as u32 > c as u32)),
                0x4c => bin!(|a: u64, c: u64| b(a as i32 <= c as i32)),
                0x4d => bin!(|a: u64, c: u64| b(a as u32 <= c as u32)),
                0x4e => bin!(|a: u64, c: u64| b(a as i32 >= c as i32)),
                0x4f => bin!(|a: u64, c: u64| b(a as u32 >= c as u32)),
                0x50 => un!(|a: u64| b(a == 0)),
                0x51 => bin!(|a: u64, c: u64| b(a == c)),
                0x52 => bin!(|a: u64, c: u64| b(a != c)),
                0x53 => bin!(|a: u64, c: u64| b((a as i64) < c as i64)),
                0x54 => bin!(|a: u64, c: u64| b(a < c)),
                0x55 => bin!(|a: u64, c: u64| b(a as i64 > c as i64)),
                0x56 => bin!(|a: u64, c: u64| b(a > c)),
                0x57 => bin!(|a: u64, c: u64| b(a as i64 <= c as i64)),
                0x58 => bin!(|a: u64, c: u64| b(a <= c)),
                0x59 => bin!(|a: u64, c: u64| b(a as i64 >= c as i64)),
                0x5a => bin!(|a: u64, c: u64| b(a >= c)),
                0x5b => bin!(|a, c| b(f32_(a) == f32_(c))),
                0x5c => bin!(|a, c| b(f32_(a) != f32_(c))),
                0x5d => bin!(|a, c| b(f32_(a) < f32_(c))),
                0x5e => bin!(|a, c| b(f32_(a) > f32_(c))),
                0x5f => bin!(|a, c| b(f32_(a) <= f32_(c))),
                0x60 => bin!(|a, c| b(f32_(a) >= f32_(c))),
                0x61 => bin!(|a, c| b(f64_(a) == f64_(c))),
                0x62 => bin!(|a, c| b(f64_(a) != f64_(c))),
                0x63 => bin!(|a, c| b(f64_(a) < f64_(c))),
                0x64 => bin!(|a, c| b(f64_(a) > f64_(c))),
                0x65 => bin!(|a, c| b(f64_(a) <= f64_(c))),
                0x66 => bin!(|a, c| b(f64_(a) >= f64_(c))),
                0x67 => un!(|a: u64| (a as u32).leading_zeros() as u64),
                0x68 => un!(|a: u64| (a as u32).trailing_zeros() as u64),
                0x69 => un!(|a: u64| (a as u32).count_ones() as u64),
                0x6a => bin!(|a: u64, c: u64| (a as u32).wrapping_add(c as u32) as u64),
                0x6b => bin!(|a: u64, c: u64| (a as u32).wrapping_sub(c as u32) as u64),
                0x6c => bin!(|a: u64, c: u64| (a as u32).wrapping_mul(c as u32) as u64),
                0x6d => bin_trap!(pc - 1, |a: u64, c: u64| {
                    let (a, c) = (a as i32, c as i32);
                    if c == 0 {
                        Err(TrapCode::IntegerDivideByZero)
                    } else if a == i32::MIN && c == -1 {
                        Err(TrapCode::IntegerOverflow)
                    } else {
                        Ok((a / c) as u32 as u64)
                    }
                }),
                0x6e => bin_trap!(pc - 1, |a: u64, c: u64| {
                    (a as u32).checked_div(c as u32).map(|q| q as u64).ok_or(TrapCode::IntegerDivideByZero)
                }),
                0x6f => bin_trap!(pc - 1, |a: u64, c: u64| {
                    if c as u32 == 0 {
                        Err(TrapCode::IntegerDivideByZero)
                    } else {
                        Ok((a as i32).wrapping_rem(c as i32) as u32 as u64)
                    }
                }),
                0x70 => bin_trap!(pc - 1, |a: u64, c: u64| {
                    if c as u32 == 0 {
                        Err(TrapCode::IntegerDivideByZero)
                    } else {
                        Ok(((a as u32) % (c as u32)) as u64)
                    }
                }),
                0x71 => bin!(|a: u64, c: u64| (a & c) as u32 as u64),
                0x72 => bin!(|a: u64, c: u64| (a | c) as u32 as u64),
                0x73 => bin!(|a: u64, c: u64| (a ^ c) as u32 as u64),
                0x74 => bin!(|a: u64, c: u64| (a as u32).wrapping_shl(c as u32) as u64),
                0x75 => bin!(|a: u64, c: u64| (a as i32).wrapping_shr(c as u32) as u32 as u64),
                0x76 => bin!(|a: u64, c: u64| (a as u32).wrapping_shr(c as u32) as u64),
                0x77 => bin!(|a: u64, c: u64| (a as u32).rotate_left(c as u32 % 32) as u64),
                0x78 => bin!(|a: u64, c: u64| (a as u32).rotate_right(c as u32 % 32) as u64),
                0x79 => un!(|a: u64| a.leading_zeros() as u64),
                0x7a => un!(|a: u64| a.trailing_zeros() as u64),
                0x7b => un!(|a: u64| a.count_ones() as u64),
                0x7c => bin!(|a: u64, c: u64| a.wrapping_add(c)),
                0x7d => bin!(|a: u64, c: u64| a.wrapping_sub(c)),
                0x7e => bin!(|a: u64, c: u64| a.wrapping_mul(c)),
                0x7f => bin_trap!(pc - 1, |a: u64, c: u64| {
                    let (a, c) = (a as i64, c as i64);
                    if c == 0 {
                        Err(TrapCode::IntegerDivideByZero)
                    } else if a == i64::MIN && c == -1 {
                        Err(TrapCode::IntegerOverflow)
                    } else {
                        Ok((a / c) as u64)
                    }
                }),
                0x80 => bin_trap!(pc - 1, |a: u64, c: u64| a.checked_div(c).ok_or(TrapCode::IntegerDivideByZero)),
                0x81 => bin_trap!(pc - 1, |a: u64, c: u64| {
                    if c == 0 {
                        Err(TrapCode::IntegerDivideByZero)
                    } else {
                        Ok((a as i64).wrapping_rem(c as i64) as u64)
                    }
                }),
                0x82 => bin_trap!(pc - 1, |a: u64, c: u64| if c == 0 { Err(TrapCode::IntegerDivideByZero) } else { Ok(a % c) }),
                0x83 => bin!(|a: u64, c: u64| a & c),
                0x84 => bin!(|a: u64, c: u64| a | c),
                0x85 => bin!(|a: u64, c: u64| a ^ c),
                0x86 => bin!(|a: u64, c: u64| a.wrapping_shl(c as u32)),
                0x87 => bin!(|a: u64, c: u64| (a as i64).wrapping_shr(c as u32) as u64),
                0x88 => bin!(|a: u64, c: u64| a.wrapping_shr(c as u32)),
                0x89 => bin!(|a: u64, c: u64| a.rotate_left((c % 64) as u32)),
                0x8a => bin!(|a: u64, c: u64| a.rotate_right((c % 64) as u32)),
                0x8b => un!(|a: u64| a & 0x7fff_ffff),
                0x8c => un!(|a: u64| (a as u32 ^ 0x8000_0000) as u64),
                0x8d => un!(|a| s32(float::quiet32(libm::ceilf(f32_(a))))),
                0x8e => un!(|a| s32(float::quiet32(libm::floorf(f32_(a))))),
                0x8f => un!(|a| s32(float::quiet32(libm::truncf(f32_(a))))),
                0x90 => un!(|a| s32(float::quiet32(float::nearest32(f32_(a))))),
                0x91 => un!(|a| s32(float::quiet32(libm::sqrtf(f32_(a))))),
                0x92 => bin!(|a, c| s32(f32_(a) + f32_(c))),
                0x93 => bin!(|a, c| s32(f32_(a) - f32_(c))),
                0x94 => bin!(|a, c| s32(f32_(a) * f32_(c))),
                0x95 => bin!(|a, c| s32(f32_(a) / f32_(c))),
                0x96 => bin!(|a, c| s32(float::fmin32(f32_(a), f32_(c)))),
                0x97 => bin!(|a, c| s32(float::fmax32(f32_(a), f32_(c)))),
                0x98 => bin!(|a: u64, c: u64| ((a as u32 & 0x7fff_ffff) | (c as u32 & 0x8000_0000)) as u64),
                0x99 => un!(|a: u64| a & 0x7fff_ffff_ffff_ffff),
                0x9a => un!(|a: u64| a ^ 0x8000_0000_0000_0000),
                0x9b => un!(|a| s64(float::quiet64(libm::ceil(f64_(a))))),
                0x9c => un!(|a| s64(float::quiet64(libm::floor(f64_(a))))),
                0x9d => un!(|a| s64(float::quiet64(libm::trunc(f64_(a))))),
                0x9e => un!(|a| s64(float::quiet64(float::nearest64(f64_(a))))),
                0x9f => un!(|a| s64(float::quiet64(libm::sqrt(f64_(a))))),
                0xa0 => bin!(|a, c| s64(f64_(a) + f64_(c))),
                0xa1 => bin!(|a, c| s64(f64_(a) - f64_(c))),
                0xa2 => bin!(|a, c| s64(f64_(a) * f64_(c))),
                0xa3 => bin!(|a, c| s64(f64_(a) / f64_(c))),
                0xa4 => bin!(|a, c| s64(float::fmin64(f64_(a), f64_(c)))),
                0xa5 => bin!(|a, c| s64(float::fmax64(f64_(a), f64_(c)))),
                0xa6 => bin!(|a: u64, c: u64| (a & 0x7fff_ffff_ffff_ffff) | (c & 0x8000_0000_0000_0000)),
                0xa7 => un!(|a: u64| a as u32 as u64),
                0xa8 => un_trap!(pc - 1, |a| float::i32_trunc_f32(f32_(a)).map(|x| x as u32 as u64)),
                0xa9 => un_trap!(pc - 1, |a| float::u32_trunc_f32(f32_(a)).map(|x| x as u64)),
                0xaa => un_trap!(pc - 1, |a| float::i32_trunc_f64(f64_(a)).map(|x| x as u32 as u64)),
                0xab => un_trap!(pc - 1, |a| float::u32_trunc_f64(f64_(a)).map(|x| x as u64)),
                0xac => un!(|a: u64| a as i32 as i64 as u64),
                0xad => un!(|a: u64| a as u32 as u64),
                0xae => un_trap!(pc - 1, |a| float::i64_trunc_f32(f32_(a)).map(|x| x as u64)),
                0xaf => un_trap!(pc - 1, |a| float::u64_trunc_f32(f32_(a))),
                0xb0 => un_trap!(pc - 1, |a| float::i64_trunc_f64(f64_(a)).map(|x| x as u64)),
                0xb1 => un_trap!(pc - 1, |a| float::u64_trunc_f64(f64_(a))),
                0xb2 => un!(|a: u64| s32(a as i32 as f32)),
                0xb3 => un!(|a: u64| s32(a as u32 as f32)),
                0xb4 => un!(|a: u64| s32(a as i64 as f32)),
                0xb5 => un!(|a: u64| s32(a as f32)),
                0xb6 => un!(|a| s32(f64_(a) as f32)),
                0xb7 => un!(|a: u64| s64(a as i32 as f64)),
                0xb8 => un!(|a: u64| s64(a as u32 as f64)),
                0xb9 => un!(|a: u64| s64(a as i64 as f64)),
                0xba => un!(|a: u64| s64(a as f64)),
                0xbb => un!(|a| s64(f32_(a) as f64)),
                0xbc..=0xbf => {}
                0xc0 => un!(|a: u64| a as i8 as i32 as u32 as u64),
                0xc1 => un!(|a: u64| a as i16 as i32 as u32 as u64),
                0xc2 => un!(|a: u64| a as i8 as i64 as u64),
                0xc3 => un!(|a: u64| a as i16 as i64 as u64),
                0xc4 => un!(|a: u64| a as i32 as i64 as u64),
                0xd0 => {
                    pc += 1;
                    push!(0);
                }
                0xd1 => un!(|a: u64| b(a == 0)),
                0xd2 => {
                    let f = code_u32(code, &mut pc) as usize;
                    let r = inst.funcs.get(f).map_or(0, |&a| a as u64 + 1);
                    push!(r);
                }
                0xfc => {
                    let at = pc - 1;
                    let sub = code_u32(code, &mut pc);
                    match sub {
                        0 => un!(|a| f32_(a) as i32 as u32 as u64),
                        1 => un!(|a| f32_(a) as u32 as u64),
                        2 => un!(|a| f64_(a) as i32 as u32 as u64),
                        3 => un!(|a| f64_(a) as u32 as u64),
                        4 => un!(|a| f32_(a) as i64 as u64),
                        5 => un!(|a| f32_(a) as u64),
                        6 => un!(|a| f64_(a) as i64 as u64),
                        7 => un!(|a| f64_(a) as u64),
                        8 => {
                            let seg = code_u32(code, &mut pc);
                            let idx = code_u32(code, &mut pc);
                            let n = pop!() as u32;
                            let s = pop!() as u32;
                            let d = pop!() as u32;
                            if let Err(c) = memory_init(inst, memories, data_dropped, idx, seg, d, s, n) {
                                trap_at!(c, at);
                            }
                        }
                        9 => {
                            let seg = code_u32(code, &mut pc);
                            if let Some(x) = data_dropped.get_mut((inst.data_base + seg) as usize) {
                                *x = true;
                            }
                        }
                        10 => {
                            let di = code_u32(code, &mut pc);
                            let si = code_u32(code, &mut pc);
                            let n = pop!() as u32 as u64;
                            let s = pop!() as u32 as u64;
                            let d = pop!() as u32 as u64;
                            if di == si {
                                let m = memory!(at, di);
                                let len = m.len() as u64;
                                if s + n <= len && d + n <= len {
                                    m.copy_within(s as usize..(s + n) as usize, d as usize);
                                } else if !bulk_copy_slow(memory_inst!(at, di), d, s, n) {
                                    trap_at!(TrapCode::MemoryOutOfBounds, at);
                                }
                            } else {
                                // Different memories: check both ranges, then copy through a small buffer.
                                if memory_inst!(at, si).window_mut(s, n).is_none() || memory_inst!(at, di).window_mut(d, n).is_none() {
                                    trap_at!(TrapCode::MemoryOutOfBounds, at);
                                }
                                let mut done = 0u64;
                                let mut buf = [0u8; 64];
                                while done < n {
                                    let k = (n - done).min(64);
                                    if let Some(src) = memory_inst!(at, si).window_mut(s + done, k) {
                                        buf[..k as usize].copy_from_slice(src);
                                    }
                                    if let Some(dst) = memory_inst!(at, di).window_mut(d + done, k) {
                                        dst.copy_from_slice(&buf[..k as usize]);
                                    }
                                    done += k;
                                }
                            }
                        }
                        11 => {
                            let idx = code_u32(code, &mut pc);
                            let n = pop!() as u32 as u64;
                            let v = pop!() as u8;
                            let d = pop!() as u32 as u64;
                            match memory_inst!(at, idx).window_mut(d, n) {
                                Some(m) => m.fill(v),
                                None => trap_at!(TrapCode::MemoryOutOfBounds, at),
                            }
                        }
                        12 => {
                            let seg = code_u32(code, &mut pc);
                            let t = code_u32(code, &mut pc);
                            let n = pop!() as u32;
                            let s = pop!() as u32;
                            let d = pop!() as u32;
                            if let Err(c) = table_init(inst, tables, elem_items, t, seg, d, s, n) {
                                trap_at!(c, at);
                            }
                        }
                        13 => {
                            let seg = code_u32(code, &mut pc);
                            drop_elem(elem_items, inst, seg);
                        }
                        14 => {
                            let dt = code_u32(code, &mut pc);
                            let st_ = code_u32(code, &mut pc);
                            let n = pop!() as u32 as usize;
                            let s = pop!() as u32 as usize;
                            let d = pop!() as u32 as usize;
                            let (da, sa) = match (inst.tables.get(dt as usize), inst.tables.get(st_ as usize)) {
                                (Some(&x), Some(&y)) => (x as usize, y as usize),
                                _ => trap_at!(TrapCode::Internal, at),
                            };
                            let dlen = tables.get(da).map_or(0, |t| t.elems.len());
                            let slen = tables.get(sa).map_or(0, |t| t.elems.len());
                            if s + n > slen || d + n > dlen {
                                trap_at!(TrapCode::TableOutOfBounds, at);
                            }
                            if da == sa {
                                tables[da].elems.copy_within(s..s + n, d);
                            } else if da < sa {
                                let (lo, hi) = tables.split_at_mut(sa);
                                lo[da].elems[d..d + n].copy_from_slice(&hi[0].elems[s..s + n]);
                            } else {
                                let (lo, hi) = tables.split_at_mut(da);
                                hi[0].elems[d..d + n].copy_from_slice(&lo[sa].elems[s..s + n]);
                            }
                        }
                        15 => {
                            let t = code_u32(code, &mut pc);
                            let n = pop!() as u32 as u64;
                            let v = st!(sp - 1);
                            let table = match inst.tables.get(t as usize).and_then(|&a| tables.get_mut(a as usize)) {
                                Some(t) => t,
                                None => trap_at!(TrapCode::Internal, at),
                            };
                            let old = table.elems.len() as u64;
                            let max = table.ty.limits.max.unwrap_or(u32::MAX as u64).min(max_table);
                            let r = if old + n > max || table.elems.try_reserve_exact(n as usize).is_err() {
                                -1i32
                            } else {
                                table.elems.resize((old + n) as usize, v);
                                old as i32
                            };
                            st!(sp - 1) = r as u32 as u64;
                        }
                        16 => {
                            let t = code_u32(code, &mut pc);
                            let len = inst.tables.get(t as usize).and_then(|&a| tables.get(a as usize)).map_or(0, |t| t.elems.len());
                            push!(len as u64);
                        }
                        17 => {
                            let t = code_u32(code, &mut pc);
                            let n = pop!() as u32 as usize;
                            let v = pop!();
                            let i = pop!() as u32 as usize;
                            let table = match inst.tables.get(t as usize).and_then(|&a| tables.get_mut(a as usize)) {
                                Some(t) => t,
                                None => trap_at!(TrapCode::Internal, at),
                            };
                            if i + n > table.elems.len() {
                                trap_at!(TrapCode::TableOutOfBounds, at);
                            }
                            table.elems[i..i + n].fill(v);
                        }
                        _ => trap_at!(TrapCode::Internal, at),
                    }
                }
                _ => trap_at!(TrapCode::Internal, pc - 1),
            }
        }
        };
        self.pc = trap_at as u32;
        self.stp = stp as u32;
        self.sp = sp as u32;
        self.base = base as u32;
        self.func = cur;
        let t = Trap { code: trap_code, offset: trap_at as u32, func: cur };
        self.trap = Some(t);
        self.state = State::Trapped;
        self.fuel_left = fuel;
        Exit::Trap(t)
    }
}
