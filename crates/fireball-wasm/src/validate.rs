//! Validate: decode → **validate** (+ side table) → exec. Checks one function
//! body against every typing rule of the spec (the algorithm of the spec's
//! validation appendix: an operand stack of types plus a control stack), and,
//! in the same pass, emits the function's side-table entries and measures its
//! deepest operand stack, so the interpreter can run the body in place.

use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

use crate::error::{fail, Fail, Reason};
use crate::module::{push, Module};
use crate::ops;
use crate::reader::Reader;
use crate::module::SideTable;
use crate::sidetable::{Entry, Header, ENTRY_BYTES, WIDE_BYTES};
use crate::types::{BlockType, ValType};

/// Operand type on the validator's stack; 0 is "unknown" (polymorphic stack).
type Ty = u8;
const UNKNOWN: Ty = 0;
const NONE: u32 = u32::MAX;
/// Implementation limit on a function's locals (parameters included).
const MAX_LOCALS: u64 = 50_000;
/// Implementation limit on a function's operand stack height (a header field is 16 bits).
const MAX_HEIGHT: u32 = u16::MAX as u32;

/// A branch site as the validator builds it: absolute pcs, function-relative
/// side-table indices, full-width counts. Compressed to one word (or an escape)
/// when its function is done.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site {
    /// Offset of the branch instruction.
    pub at: u32,
    /// Target pc (while unresolved: the next site in the label's patch list).
    pub pc: u32,
    /// Target side-table index, counted from the function's first entry.
    pub stp: u32,
    pub keep: u32,
    pub drop: u32,
    pub cost: u32,
    pub fall: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Block,
    Loop,
    If,
    Else,
    Func,
}

#[derive(Clone, Copy)]
struct Ctrl {
    kind: Kind,
    sig: BlockType,
    /// Operand height at entry, block parameters excluded.
    height: u32,
    /// The rest of this block's code is unreachable (stack is polymorphic).
    unreachable: bool,
    /// The whole block is unreachable: it gets no side-table entries.
    dead: bool,
    /// Head of the list of entries that branch to this block's end (linked through `Site::pc`).
    patch: u32,
    /// The `if` entry to point at the else-arm or the end.
    if_entry: u32,
    loop_pc: u32,
    loop_stp: u32,
    /// Fuel cost of the run starting at the loop head (resolved at the first site inside).
    head_cost: u32,
    /// Packed module: where the first branch to this label claimed to land; every
    /// later one must claim the same, and the label's end must be it.
    claim: Option<Claim>,
    /// Packed module: where this `if`'s own entry claimed to land (else-arm or end).
    if_claim: Option<Claim>,
}

/// The fields of a [`Ctrl`] that `else` and `end` use after they change the frame.
#[derive(Clone, Copy)]
struct Closing {
    kind: Kind,
    sig: BlockType,
    height: u32,
    patch: u32,
    if_entry: u32,
    claim: Option<Claim>,
    if_claim: Option<Claim>,
}

/// Where a packed module's entry says a branch lands (function-relative pc is
/// absolute here; `stp` counted from the function's first site), and the cost
/// of the run there; `index` is the entry's word, reported if it proves wrong.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Claim {
    pc: u32,
    stp: u32,
    cost: u32,
    index: u32,
}

/// Where the cost of a straight-line run, once known, is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// `Site::cost` of site n.
    Target(u32),
    /// `Site::fall` of site n.
    Fall(u32),
    /// `Ctrl::head_cost` of control frame n.
    LoopHead(u32),
    /// The function's `entry_cost`.
    Body,
    /// Packed module: the run's cost must be `.0`, as word `.1` claims (a target's cost).
    CheckCost(u32, u32),
    /// Packed module: the run's cost must be `.0`, as word `.1` claims (a site's fall-through).
    CheckFall(u32, u32),
}

/// Buffers reused across the bodies of one module.
pub(crate) struct Scratch<A: Allocator> {
    vals: Vec<Ty, A>,
    ctrls: Vec<Ctrl, A>,
    /// Locals as runs: (index one past the run, type).
    locals: Vec<(u32, ValType), A>,
    /// Entry points whose run has not ended yet: (instruction index, where its cost goes).
    pending: Vec<(u32, Holder), A>,
    /// The function's branch sites, in code order (a plain module's only: a packed
    /// module's entries are checked as they are emitted, and nothing is kept per site).
    pub sites: Vec<Site, A>,
}

impl<A: Allocator + Clone> Scratch<A> {
    pub(crate) fn new_in(alloc: A) -> Self {
        Scratch {
            vals: Vec::new_in(alloc.clone()),
            ctrls: Vec::new_in(alloc.clone()),
            locals: Vec::new_in(alloc.clone()),
            pending: Vec::new_in(alloc.clone()),
            sites: Vec::new_in(alloc),
        }
    }
}

fn one(t: ValType) -> &'static [ValType] {
    match t {
        ValType::I32 => &[ValType::I32],
        ValType::I64 => &[ValType::I64],
        ValType::F32 => &[ValType::F32],
        ValType::F64 => &[ValType::F64],
        ValType::FuncRef => &[ValType::FuncRef],
        ValType::ExternRef => &[ValType::ExternRef],
    }
}

/// Room for one more value on the validator's operand stack (amortized doubling).
#[cold]
#[inline(never)]
fn grow<A: Allocator>(vals: &mut Vec<Ty, A>) -> R<()> {
    Ok(vals.try_reserve(1).map_err(|_| crate::error::OutOfMemory)?)
}

/// `PACKED`: checking a packed module's table against what validation computes
/// (a const parameter, so a firmware that loads only packed modules, or only
/// plain ones, links only that path).
struct V<'m, 'b, 's, A: Allocator + Clone, const PACKED: bool> {
    m: &'m Module<'b, A>,
    s: &'s mut Scratch<A>,
    max_height: u32,
    results: &'m [ValType],
    at: usize,
    /// Index of the instruction being validated, counted from the body's start.
    ins: u32,
    entry_cost: u32,
    /// Branch sites emitted so far in this function (its side-table words after the header).
    nsites: u32,
    /// Checking a packed module's table: the global index of this function's first
    /// site, and the escapes the module's table has used so far.
    first: u32,
    escapes: u32,
}

type R<T> = Result<T, Fail>;

/// The wrong side-table word `index` of a packed module.
fn mismatch(index: u32) -> Fail {
    fail(index as usize, Reason::SideTableMismatch)
}

impl<'m, 'b, 's, A: Allocator + Clone, const PACKED: bool> V<'m, 'b, 's, A, PACKED> {
    fn err(&self, reason: Reason) -> Fail {
        fail(self.at, reason)
    }

    fn params(&self, bt: BlockType) -> &'m [ValType] {
        match bt {
            BlockType::Func(i) => self.m.type_at(i).map_or(&[], |t| t.params),
            _ => &[],
        }
    }

    fn results(&self, bt: BlockType) -> &'m [ValType] {
        match bt {
            BlockType::Empty => &[],
            BlockType::Value(t) => one(t),
            BlockType::Func(i) => self.m.type_at(i).map_or(&[], |t| t.results),
        }
    }

    fn label_types(&self, c: &Ctrl) -> &'m [ValType] {
        match c.kind {
            Kind::Loop => self.params(c.sig),
            Kind::Func => self.results,
            _ => self.results(c.sig),
        }
    }

    fn push(&mut self, t: Ty) -> R<()> {
        let vals = &mut self.s.vals;
        if vals.len() == vals.capacity() {
            // Grown out of line: the common push then saves and restores fewer registers.
            grow(vals)?;
        }
        crate::module::push_reserved(vals, t)?;
        let h = self.s.vals.len() as u32;
        if h > self.max_height {
            if h > MAX_HEIGHT {
                return Err(self.err(Reason::StackTooDeep));
            }
            self.max_height = h;
        }
        Ok(())
    }

    // Out of line, with push_all: called from most arms of `function`; inlined
    // they cost 232 B more flash (scripts/size.sh, opt-level "s").
    #[inline(never)]
    fn push_ty(&mut self, t: ValType) -> R<()> {
        self.push(t as u8)
    }

    #[inline(never)]
    fn push_all(&mut self, ts: &[ValType]) -> R<()> {
        for &t in ts {
            self.push_ty(t)?;
        }
        Ok(())
    }

    fn pop(&mut self) -> R<Ty> {
        let (height, unreachable, _) = self.top();
        if self.s.vals.len() as u32 == height {
            if unreachable {
                return Ok(UNKNOWN);
            }
            return Err(self.err(Reason::StackUnderflow));
        }
        Ok(self.s.vals.pop().unwrap_or(UNKNOWN))
    }

    fn pop_expect(&mut self, t: ValType) -> R<Ty> {
        let a = self.pop()?;
        if a != UNKNOWN && a != t as u8 {
            return Err(self.err(Reason::TypeMismatch));
        }
        Ok(a)
    }

    fn pop_all(&mut self, ts: &[ValType]) -> R<()> {
        for &t in ts.iter().rev() {
            self.pop_expect(t)?;
        }
        Ok(())
    }

    /// Check that the top of the stack matches `ts` without consuming it
    /// (the spec's `push_vals(pop_vals(ts))`).
    fn check_top(&self, ts: &[ValType]) -> R<()> {
        let (height, unreachable, _) = self.top();
        let above = self.s.vals.len().saturating_sub(height as usize);
        for (i, &t) in ts.iter().rev().enumerate() {
            let a = match self.s.vals.iter().rev().nth(i) {
                Some(&a) if i < above => a,
                _ if unreachable => return Ok(()),
                _ => return Err(self.err(Reason::StackUnderflow)),
            };
            if a != UNKNOWN && a != t as u8 {
                return Err(self.err(Reason::TypeMismatch));
            }
        }
        Ok(())
    }

    fn pop_ref(&mut self) -> R<Ty> {
        let a = self.pop()?;
        if a != UNKNOWN && !ValType::from_byte(a).is_some_and(|t| t.is_ref()) {
            return Err(self.err(Reason::ReferenceExpected));
        }
        Ok(a)
    }

    /// What `else` and `end` read of the innermost frame. Not the frame itself: a copy
    /// of all of it (80 B) was a `memcpy` call, ~86 Cortex-M instructions per `end`.
    #[inline(never)]
    fn closing(&self) -> Closing {
        // The control stack is never empty while a body is being validated.
        let none = Closing { kind: Kind::Func, sig: BlockType::Empty, height: 0, patch: NONE, if_entry: NONE, claim: None, if_claim: None };
        self.s.ctrls.last().map_or(none, |c| Closing {
            kind: c.kind,
            sig: c.sig,
            height: c.height,
            patch: c.patch,
            if_entry: c.if_entry,
            claim: c.claim,
            if_claim: c.if_claim,
        })
    }

    /// The innermost frame's operand height, unreachable and dead flags, without
    /// copying the frame (these run for every operand popped).
    #[inline]
    fn top(&self) -> (u32, bool, bool) {
        self.s.ctrls.last().map_or((0, true, true), |c| (c.height, c.unreachable, c.dead))
    }

    fn live(&self) -> bool {
        let (_, unreachable, dead) = self.top();
        !dead && !unreachable
    }

    fn push_ctrl(&mut self, kind: Kind, sig: BlockType, pc: u32) -> R<()> {
        let dead = !self.s.ctrls.is_empty() && !self.live();
        let params = self.params(sig);
        let height = self.s.vals.len() as u32;
        push(
            &mut self.s.ctrls,
            Ctrl {
                kind,
                sig,
                height,
                unreachable: false,
                dead,
                patch: NONE,
                if_entry: NONE,
                loop_pc: pc,
                loop_stp: self.nsites,
                head_cost: 0,
                claim: None,
                if_claim: None,
            },
        )?;
        self.push_all(params)
    }

    fn set_unreachable(&mut self) {
        if let Some(c) = self.s.ctrls.last_mut() {
            self.s.vals.truncate(c.height as usize);
            c.unreachable = true;
        }
    }

    fn label(&self, depth: u32) -> R<&Ctrl> {
        self.s.ctrls.iter().rev().nth(depth as usize).ok_or_else(|| self.err(Reason::UnknownLabel))
    }

    /// The entry a packed module has for this function's next site (its word, or
    /// the overflow record an escape word points at), and the word's index. It must
    /// be in canonical form: packed exactly when it fits, escapes numbered in order.
    fn claimed(&mut self) -> R<(Entry, u32)> {
        let index = self.first + self.nsites;
        self.nsites += 1;
        let (side, overflow) = match &self.m.side {
            SideTable::Packed { side, overflow } => (*side, *overflow),
            SideTable::Owned { .. } => return Err(mismatch(index)),
        };
        let at = index as usize * ENTRY_BYTES;
        let w = match side.get(at..at + ENTRY_BYTES) {
            Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => return Err(mismatch(index)),
        };
        let e = match Entry::escaped(w) {
            None => {
                let e = Entry::unpack(w);
                if e.pack() != Some(w) {
                    return Err(mismatch(index));
                }
                e
            }
            Some(o) => {
                let rec = overflow.get(o as usize * WIDE_BYTES..o as usize * WIDE_BYTES + WIDE_BYTES);
                let e = Entry::from_wide(rec.unwrap_or(&[]));
                if o != self.escapes || rec.is_none() || w != Entry::escape(o) || e.pack().is_some() || rec != Some(&e.to_wide()[..]) {
                    return Err(mismatch(index));
                }
                self.escapes += 1;
                e
            }
        };
        Ok((e, index))
    }

    /// A packed entry's landing place, as a claim (absolute pc, function-relative stp).
    fn claim_of(&self, e: &Entry, index: u32) -> Claim {
        Claim {
            pc: (self.at as u32).wrapping_add(e.dpc as u32),
            stp: (index - self.first).wrapping_add(e.dstp as u32),
            cost: e.cost,
            index,
        }
    }

    /// Check a packed forward entry's claim against the label's (the first one sets it).
    fn claim_label(&mut self, idx: usize, c: Claim) -> R<()> {
        let Some(label) = self.s.ctrls.get_mut(idx) else { return Err(mismatch(c.index)) };
        match label.claim {
            None => label.claim = Some(c),
            Some(l) if (l.pc, l.stp, l.cost) == (c.pc, c.stp, c.cost) => {}
            Some(_) => return Err(mismatch(c.index)),
        }
        Ok(())
    }

    /// A label's (or an `if`'s) target is reached at `pc`, the next site being `stp`:
    /// a packed claim must say exactly that, and its cost is checked when the run
    /// starting at instruction `ins` ends.
    fn land(&mut self, claim: Option<Claim>, pc: u32, ins: u32) -> R<()> {
        if let Some(c) = claim {
            if c.pc != pc || c.stp != self.nsites {
                return Err(mismatch(c.index));
            }
            self.wait(ins, Holder::CheckCost(c.cost, c.index))?;
        }
        Ok(())
    }

    /// Emit the side-table entry for a branch to `depth` from the current height
    /// (`cond`: a `br_if`, which falls through when not taken). Returns the holder
    /// its fall-through cost waits on, if any.
    fn emit_branch(&mut self, depth: u32, cond: bool) -> R<Option<Holder>> {
        if !self.live() {
            return Ok(None);
        }
        let f = self.label(depth)?;
        // (`label` found it, so this does not wrap.)
        let idx = self.s.ctrls.len().wrapping_sub(1 + depth as usize);
        let keep = self.label_types(f).len() as u32;
        let (kind, f_height, loop_pc, loop_stp, head_cost, patch) = (f.kind, f.height, f.loop_pc, f.loop_stp, f.head_cost, f.patch);
        let height = self.s.vals.len() as u32;
        let drop = height.saturating_sub(f_height + keep);
        if PACKED {
            let (e, index) = self.claimed()?;
            // An unconditional branch never falls through: its fall field is 0.
            if e.keep != keep || e.drop != drop || (!cond && e.fall != 0) {
                return Err(mismatch(index));
            }
            let c = self.claim_of(&e, index);
            if kind == Kind::Loop {
                if (c.pc, c.stp, c.cost) != (loop_pc, loop_stp, head_cost) {
                    return Err(mismatch(index));
                }
            } else {
                self.claim_label(idx, c)?;
            }
            return Ok(Some(Holder::CheckFall(e.fall, index)));
        }
        let mut e = Site { at: self.at as u32, pc: NONE, stp: 0, keep, drop, cost: 0, fall: 0 };
        if kind == Kind::Loop {
            e.pc = loop_pc;
            e.stp = loop_stp;
            e.cost = head_cost;
        } else {
            e.pc = patch;
            let n = self.s.sites.len() as u32;
            if let Some(c) = self.s.ctrls.get_mut(idx) {
                c.patch = n;
            }
        }
        push(&mut self.s.sites, e)?;
        self.nsites += 1;
        Ok(Some(Holder::Fall(self.nsites - 1)))
    }

    /// Point the entries listed from `head` at `pc`; their fuel cost is that of the
    /// run starting at instruction `ins` (known at the next site).
    fn resolve(&mut self, mut head: u32, pc: u32, ins: u32) -> R<()> {
        let stp = self.nsites;
        while head != NONE {
            let idx = head;
            let Some(e) = self.s.sites.get_mut(idx as usize) else { break };
            head = e.pc;
            e.pc = pc;
            e.stp = stp;
            push(&mut self.s.pending, (ins, Holder::Target(idx)))?;
        }
        Ok(())
    }

    /// A straight-line run ends at the current instruction (a branch site):
    /// every entry point waiting in it learns its cost.
    fn end_run(&mut self) -> R<()> {
        let ins = self.ins;
        for &(start, holder) in self.s.pending.iter() {
            let cost = ins + 1 - start.min(ins + 1);
            match holder {
                Holder::CheckCost(claimed, index) | Holder::CheckFall(claimed, index) => {
                    if claimed != cost {
                        return Err(mismatch(index));
                    }
                }
                Holder::Target(i) => {
                    if let Some(e) = self.s.sites.get_mut(i as usize) {
                        e.cost = cost;
                    }
                }
                Holder::Fall(i) => {
                    if let Some(e) = self.s.sites.get_mut(i as usize) {
                        e.fall = cost;
                    }
                }
                Holder::LoopHead(c) => {
                    if let Some(f) = self.s.ctrls.get_mut(c as usize) {
                        f.head_cost = cost;
                    }
                }
                Holder::Body => self.entry_cost = cost,
            }
        }
        self.s.pending.clear();
        Ok(())
    }

    /// An entry point at instruction `ins` whose cost goes to `holder`.
    fn wait(&mut self, ins: u32, holder: Holder) -> R<()> {
        push(&mut self.s.pending, (ins, holder))
    }

    fn block_type(&mut self, r: &mut Reader<'_>) -> R<BlockType> {
        let at = r.pos();
        match r.peek() {
            Some(0x40) => {
                r.u8()?;
                Ok(BlockType::Empty)
            }
            Some(b) if ValType::from_byte(b).is_some() => {
                r.u8()?;
                Ok(BlockType::Value(ValType::from_byte(b).unwrap_or(ValType::I32)))
            }
            _ => {
                let i = r.s33()?;
                if i < 0 {
                    return Err(fail(at, Reason::MalformedBlockType));
                }
                if i as usize >= self.m.types.len() {
                    return Err(fail(at, Reason::UnknownType));
                }
                Ok(BlockType::Func(i as u32))
            }
        }
    }

    fn local(&self, idx: u32) -> R<ValType> {
        let l = &self.s.locals;
        // Runs are sorted by end: the first run whose end > idx. A scan when there are
        // few (most functions), else a binary search (no quadratic validation for a
        // function with thousands of runs).
        let found = if l.len() <= 8 { l.iter().find(|&&(end, _)| idx < end) } else { l.get(l.partition_point(|&(end, _)| end <= idx)) };
        found.map(|&(_, t)| t).ok_or_else(|| self.err(Reason::UnknownLocal))
    }

    fn memarg(&mut self, r: &mut Reader<'_>, natural: u8) -> R<()> {
        let mut align = r.u32_hot()?;
        let mut mem = 0;
        if align & 0x40 != 0 && self.m.features.multi_memory {
            align &= !0x40;
            mem = r.u32()?;
        }
        r.u32_hot()?;
        if mem as usize >= self.m.memories.len() {
            return Err(self.err(Reason::UnknownMemory));
        }
        if align > natural as u32 {
            return Err(self.err(Reason::AlignmentMustNotBeLargerThanNatural));
        }
        Ok(())
    }

    fn need_memory(&self) -> R<()> {
        if self.m.memories.is_empty() {
            return Err(self.err(Reason::NoMemory));
        }
        Ok(())
    }

    /// A memory index immediate: a LEB index with multi-memory, else a zero byte.
    fn mem_index(&self, r: &mut Reader<'_>) -> R<()> {
        if self.m.features.multi_memory {
            let m = r.u32()?;
            if m as usize >= self.m.memories.len() {
                return Err(self.err(Reason::UnknownMemory));
            }
            return Ok(());
        }
        self.zero_byte(r)?;
        self.need_memory()
    }

    fn zero_byte(&self, r: &mut Reader<'_>) -> R<()> {
        let at = r.pos();
        if r.u8()? != 0 {
            return Err(fail(at, Reason::ZeroByteExpected));
        }
        Ok(())
    }

    fn table(&self, idx: u32) -> R<ValType> {
        self.m.tables.get(idx as usize).map(|t| t.elem).ok_or_else(|| self.err(Reason::UnknownTable))
    }

    fn func_sig(&self, f: u32) -> R<(&'m [ValType], &'m [ValType])> {
        let t = self.m.func_type(f).ok_or_else(|| self.err(Reason::UnknownFunction))?;
        Ok((t.params, t.results))
    }

    fn type_sig(&self, t: u32) -> R<(&'m [ValType], &'m [ValType])> {
        let t = self.m.type_at(t).ok_or_else(|| self.err(Reason::UnknownType))?;
        Ok((t.params, t.results))
    }

    fn data_index(&self, idx: u32) -> R<()> {
        match self.m.data_count {
            None => Err(self.err(Reason::DataCountSectionRequired)),
            Some(n) if idx >= n => Err(self.err(Reason::UnknownDataSegment)),
            _ => Ok(()),
        }
    }

    fn elem_index(&self, idx: u32) -> R<ValType> {
        self.m.elems.get(idx as usize).map(|e| e.ty).ok_or_else(|| self.err(Reason::UnknownElemSegment))
    }
}

/// What validating one body leaves for the loader.
pub(crate) struct Body {
    /// Offset of the first instruction.
    pub code_start: u32,
    pub header: Header,
    /// Its branch sites (side-table words after the header).
    pub sites: u32,
    /// The module's escapes so far (a packed module's, checked here).
    pub escapes: u32,
}

/// Validate the body in `r` of a function of type `type_idx`, whose first branch
/// site is side-table word `first`. A plain module's branch sites are left in
/// `scratch.sites` for the caller to compress; a packed module's are checked
/// against its table as they are emitted (`escapes`: the escapes before this
/// function), so that checking keeps nothing per site.
#[inline(never)]
pub(crate) fn function<A: Allocator + Clone, const PACKED: bool>(
    m: &Module<'_, A>,
    type_idx: u32,
    r: &mut Reader<'_>,
    scratch: &mut Scratch<A>,
    first: u32,
    escapes: u32,
) -> R<Body> {
    let ft = m.type_at(type_idx).ok_or(fail(r.pos(), Reason::UnknownType))?;
    scratch.vals.clear();
    scratch.ctrls.clear();
    scratch.locals.clear();
    scratch.pending.clear();
    scratch.sites.clear();
    let mut total: u64 = 0;
    let groups = r.count()?;
    // Room for every run at once: a run per parameter and per group.
    crate::module::reserve(&mut scratch.locals, (ft.params.len() as u32).saturating_add(groups))?;
    for &p in ft.params {
        total += 1;
        crate::module::push_reserved(&mut scratch.locals, (total as u32, p))?;
    }
    for _ in 0..groups {
        let at = r.pos();
        let n = r.u32()? as u64;
        let t = ValType::read(r)?;
        total += n;
        if total > u32::MAX as u64 {
            return Err(fail(at, Reason::LocalsOverflow));
        }
        if total > MAX_LOCALS {
            return Err(fail(at, Reason::TooManyLocals));
        }
        if n > 0 {
            crate::module::push_reserved(&mut scratch.locals, (total as u32, t))?;
        }
    }
    let code_start = r.pos() as u32;
    let mut v: V<'_, '_, '_, A, PACKED> = V {
        m,
        s: scratch,
        max_height: 0,
        results: ft.results,
        at: r.pos(),
        ins: 0,
        entry_cost: 0,
        nsites: 0,
        first,
        escapes,
    };
    v.push_ctrl(Kind::Func, BlockType::Empty, code_start)?;
    v.wait(0, Holder::Body)?;
    let tail_call = m.features.tail_call;

    let mut first = true;
    while !v.s.ctrls.is_empty() {
        if !first {
            v.ins += 1;
        }
        first = false;
        v.at = r.pos();
        let op = r.u8().map_err(|_| fail(v.at, Reason::UnexpectedEndOfSectionOrFunction))?;
        let shape = ops::SHAPES[op as usize];
        if shape != 0 {
            // A simple instruction: its signature from the packed table.
            //
            // Measured and not kept (the engine's flash line, scripts/size.sh, has ~200 B
            // of room at opt-level "z"): a fast path that retypes or drops the operand
            // slots in place when they are typed exactly, instead of pop_expect/push_ty
            // (M4 load of the packed CoreMark −6 to −9 % for +312 to +480 B, in five
            // forms: inline with or without stores, binary only, slice patterns, a
            // method); the multi-byte LEB128 loops moved out of `Reader::u32` and
            // `leb_signed`, so that their one-byte paths save no registers (−3 %,
            // +120 B). Validation costs ~150 Cortex-M instructions per wasm instruction
            // (scripts/trace-qemu.sh coremark 2700000): the pops and pushes are
            // out-of-line calls returning `Result`s through memory, the arms' own code
            // is ~64.
            let kind = shape >> 4 & 3;
            if (0x28..=0x3e).contains(&op) {
                v.memarg(r, shape >> 6)?;
            }
            let t = ops::type_of(shape);
            v.pop_expect(t)?;
            if kind == 2 {
                v.pop_expect(t)?;
            }
            if kind == 3 {
                v.pop_expect(ValType::I32)?;
            } else {
                v.push_ty(ops::type_of(shape >> 2))?;
            }
            continue;
        }
        match op {
            0x00 => {
                v.end_run()?;
                v.set_unreachable();
            }
            0x01 => {}
            0x02 | 0x03 => {
                let bt = v.block_type(r)?;
                let params = v.params(bt);
                v.pop_all(params)?;
                let kind = if op == 0x02 { Kind::Block } else { Kind::Loop };
                v.push_ctrl(kind, bt, r.pos() as u32)?;
                if kind == Kind::Loop && v.live() {
                    let c = v.s.ctrls.len() as u32 - 1;
                    v.wait(v.ins + 1, Holder::LoopHead(c))?;
                }
            }
            0x04 => {
                let bt = v.block_type(r)?;
                v.pop_expect(ValType::I32)?;
                let params = v.params(bt);
                v.pop_all(params)?;
                v.end_run()?;
                let mut claim = None;
                let entry = if !v.live() {
                    NONE
                } else if PACKED {
                    let (e, index) = v.claimed()?;
                    if e.keep != 0 || e.drop != 0 {
                        return Err(mismatch(index));
                    }
                    claim = Some(v.claim_of(&e, index));
                    v.wait(v.ins + 1, Holder::CheckFall(e.fall, index))?;
                    NONE
                } else {
                    let at = v.at as u32;
                    push(&mut v.s.sites, Site { at, pc: NONE, stp: 0, keep: 0, drop: 0, cost: 0, fall: 0 })?;
                    v.nsites += 1;
                    let e = v.s.sites.len() as u32 - 1;
                    v.wait(v.ins + 1, Holder::Fall(e))?;
                    e
                };
                v.push_ctrl(Kind::If, bt, r.pos() as u32)?;
                if let Some(c) = v.s.ctrls.last_mut() {
                    c.if_entry = entry;
                    c.if_claim = claim;
                }
            }
            0x05 => {
                let c = v.closing();
                if c.kind != Kind::If {
                    return Err(v.err(Reason::ElseWithoutMatchingIf));
                }
                let results = v.results(c.sig);
                v.pop_all(results)?;
                if v.s.vals.len() as u32 != c.height {
                    return Err(v.err(Reason::ValuesRemaining));
                }
                // The then-arm falls through to here: jump over the else-arm.
                v.end_run()?;
                if v.live() {
                    // (`live` means a frame is open, so this does not wrap.)
                    let idx = v.s.ctrls.len().wrapping_sub(1);
                    if PACKED {
                        let (e, index) = v.claimed()?;
                        if e.keep != 0 || e.drop != 0 || e.fall != 0 {
                            return Err(mismatch(index));
                        }
                        let claim = v.claim_of(&e, index);
                        v.claim_label(idx, claim)?;
                    } else {
                        let n = v.s.sites.len() as u32;
                        let patch = v.s.ctrls.get_mut(idx).map_or(NONE, |c| core::mem::replace(&mut c.patch, n));
                        let e = Site { at: v.at as u32, pc: patch, stp: 0, keep: 0, drop: 0, cost: 0, fall: 0 };
                        push(&mut v.s.sites, e)?;
                        v.nsites += 1;
                    }
                }
                let after_else = r.pos() as u32;
                let stp = v.nsites;
                if c.if_entry != NONE {
                    if let Some(e) = v.s.sites.get_mut(c.if_entry as usize) {
                        (e.pc, e.stp) = (after_else, stp);
                    }
                    v.wait(v.ins + 1, Holder::Target(c.if_entry))?;
                }
                let ins = v.ins + 1;
                v.land(c.if_claim, after_else, ins)?;
                let params = v.params(c.sig);
                if let Some(cm) = v.s.ctrls.last_mut() {
                    cm.kind = Kind::Else;
                    cm.unreachable = false;
                    cm.if_entry = NONE;
                    cm.if_claim = None;
                }
                v.push_all(params)?;
            }
            0x0b => {
                let c = v.closing();
                // The values an `end` leaves are the block's results, a loop's too (its
                // label types are its parameters).
                let results = if c.kind == Kind::Func { v.results } else { v.results(c.sig) };
                v.pop_all(results)?;
                if v.s.vals.len() as u32 != c.height {
                    return Err(v.err(Reason::ValuesRemaining));
                }
                if c.kind == Kind::If && v.params(c.sig) != v.results(c.sig) {
                    return Err(v.err(Reason::IfWithoutElse));
                }
                let depth = v.s.ctrls.len() as u32 - 1;
                v.s.ctrls.pop();
                // A loop's head cost can no longer be needed (and its slot will be reused).
                v.s.pending.retain(|&(_, h)| h != Holder::LoopHead(depth));
                let after = r.pos() as u32;
                if c.if_entry != NONE {
                    let stp = v.nsites;
                    if let Some(e) = v.s.sites.get_mut(c.if_entry as usize) {
                        (e.pc, e.stp) = (after, stp);
                    }
                    v.wait(v.ins + 1, Holder::Target(c.if_entry))?;
                }
                let ins = v.ins + 1;
                v.land(c.if_claim, after, ins)?;
                if c.kind == Kind::Func {
                    // Branches to the function label land on this `end`, which returns.
                    v.end_run()?;
                    let ins = v.ins;
                    v.resolve(c.patch, after - 1, ins)?;
                    v.land(c.claim, after - 1, ins)?;
                    v.end_run()?;
                } else {
                    let ins = v.ins + 1;
                    v.resolve(c.patch, after, ins)?;
                    v.land(c.claim, after, ins)?;
                    v.push_all(results)?;
                }
            }
            0x0c => {
                let l = r.u32()?;
                let ts = v.label_types(v.label(l)?);
                v.pop_all(ts)?;
                v.push_all(ts)?;
                v.end_run()?;
                v.emit_branch(l, false)?;
                v.set_unreachable();
            }
            0x0d => {
                let l = r.u32()?;
                v.pop_expect(ValType::I32)?;
                let ts = v.label_types(v.label(l)?);
                v.pop_all(ts)?;
                v.push_all(ts)?;
                v.end_run()?;
                if let Some(fall) = v.emit_branch(l, true)? {
                    v.wait(v.ins + 1, fall)?;
                }
            }
            0x0e => {
                let n = r.count()?;
                let targets = r.pos();
                for _ in 0..n {
                    r.u32()?;
                }
                let default = r.u32()?;
                v.pop_expect(ValType::I32)?;
                let arity = v.label_types(v.label(default)?).len();
                let mut t = Reader::new(r.bytes(), targets, r.pos());
                v.end_run()?;
                for i in 0..=n {
                    let l = if i < n { t.u32()? } else { default };
                    let ts = v.label_types(v.label(l)?);
                    if ts.len() != arity {
                        return Err(v.err(Reason::BrTableArity));
                    }
                    v.check_top(ts)?;
                    v.emit_branch(l, false)?;
                }
                v.set_unreachable();
            }
            0x0f => {
                let rs = v.results;
                v.pop_all(rs)?;
                v.end_run()?;
                v.set_unreachable();
            }
            0x10 => {
                let f = r.u32()?;
                let (p, res) = v.func_sig(f)?;
                v.pop_all(p)?;
                v.push_all(res)?;
            }
            0x11 => {
                let t = r.u32()?;
                let table = r.u32()?;
                if v.table(table)? != ValType::FuncRef {
                    return Err(v.err(Reason::IndirectNeedsFuncref));
                }
                let (p, res) = v.type_sig(t)?;
                v.pop_expect(ValType::I32)?;
                v.pop_all(p)?;
                v.push_all(res)?;
            }
            0x12 if tail_call => {
                let f = r.u32()?;
                let (p, res) = v.func_sig(f)?;
                if res != v.results {
                    return Err(v.err(Reason::TailCallResults));
                }
                v.pop_all(p)?;
                v.end_run()?;
                v.set_unreachable();
            }
            0x13 if tail_call => {
                let t = r.u32()?;
                let table = r.u32()?;
                if v.table(table)? != ValType::FuncRef {
                    return Err(v.err(Reason::IndirectNeedsFuncref));
                }
                let (p, res) = v.type_sig(t)?;
                if res != v.results {
                    return Err(v.err(Reason::TailCallResults));
                }
                v.pop_expect(ValType::I32)?;
                v.pop_all(p)?;
                v.end_run()?;
                v.set_unreachable();
            }
            0x1a => {
                v.pop()?;
            }
            0x1b => {
                v.pop_expect(ValType::I32)?;
                let a = v.pop()?;
                let b = v.pop()?;
                let is_num = |t: Ty| t == UNKNOWN || !ValType::from_byte(t).is_some_and(|t| t.is_ref());
                if !is_num(a) || !is_num(b) {
                    return Err(v.err(Reason::SelectNeedsNumeric));
                }
                if a != UNKNOWN && b != UNKNOWN && a != b {
                    return Err(v.err(Reason::TypeMismatch));
                }
                v.push(if a == UNKNOWN { b } else { a })?;
            }
            0x1c => {
                let n = r.u32()?;
                if n != 1 {
                    return Err(v.err(Reason::InvalidResultArity));
                }
                let t = ValType::read(r)?;
                v.pop_expect(ValType::I32)?;
                v.pop_expect(t)?;
                v.pop_expect(t)?;
                v.push_ty(t)?;
            }
            0x20 => {
                let t = v.local(r.u32_hot()?)?;
                v.push_ty(t)?;
            }
            0x21 => {
                let t = v.local(r.u32_hot()?)?;
                v.pop_expect(t)?;
            }
            0x22 => {
                let t = v.local(r.u32_hot()?)?;
                v.pop_expect(t)?;
                v.push_ty(t)?;
            }
            0x23 => {
                let g = r.u32()?;
                let t = m.globals.get(g as usize).ok_or_else(|| v.err(Reason::UnknownGlobal))?.ty;
                v.push_ty(t.ty)?;
            }
            0x24 => {
                let g = r.u32()?;
                let t = m.globals.get(g as usize).ok_or_else(|| v.err(Reason::UnknownGlobal))?.ty;
                if !t.mutable {
                    return Err(v.err(Reason::GlobalIsImmutable));
                }
                v.pop_expect(t.ty)?;
            }
            0x25 => {
                let t = v.table(r.u32()?)?;
                v.pop_expect(ValType::I32)?;
                v.push_ty(t)?;
            }
            0x26 => {
                let t = v.table(r.u32()?)?;
                v.pop_expect(t)?;
                v.pop_expect(ValType::I32)?;
            }
            0x3f => {
                v.mem_index(r)?;
                v.push_ty(ValType::I32)?;
            }
            0x40 => {
                v.mem_index(r)?;
                v.pop_expect(ValType::I32)?;
                v.push_ty(ValType::I32)?;
            }
            0x41 => {
                r.i32()?;
                v.push_ty(ValType::I32)?;
            }
            0x42 => {
                r.i64()?;
                v.push_ty(ValType::I64)?;
            }
            0x43 => {
                r.f32_bits()?;
                v.push_ty(ValType::F32)?;
            }
            0x44 => {
                r.f64_bits()?;
                v.push_ty(ValType::F64)?;
            }
            0xd0 => {
                let t = ValType::read_ref(r)?;
                v.push_ty(t)?;
            }
            0xd1 => {
                v.pop_ref()?;
                v.push_ty(ValType::I32)?;
            }
            0xd2 => {
                let f = r.u32()?;
                if f >= m.func_count() {
                    return Err(v.err(Reason::UnknownFunction));
                }
                if !m.is_declared_ref(f) {
                    return Err(v.err(Reason::UndeclaredFunctionReference));
                }
                v.push_ty(ValType::FuncRef)?;
            }
            0xfc => {
                let sub = r.u32()?;
                match sub {
                    0..=7 => {
                        let (_, p, res) = ops::TRUNC_SAT[sub as usize];
                        v.pop_expect(p)?;
                        v.push_ty(res)?;
                    }
                    8 => {
                        let d = r.u32()?;
                        v.mem_index(r)?;
                        v.data_index(d)?;
                        v.pop_all(&[ValType::I32, ValType::I32, ValType::I32])?;
                    }
                    9 => {
                        let d = r.u32()?;
                        v.data_index(d)?;
                    }
                    10 => {
                        v.mem_index(r)?;
                        v.mem_index(r)?;
                        v.pop_all(&[ValType::I32, ValType::I32, ValType::I32])?;
                    }
                    11 => {
                        v.mem_index(r)?;
                        v.pop_all(&[ValType::I32, ValType::I32, ValType::I32])?;
                    }
                    12 => {
                        let e = r.u32()?;
                        let t = r.u32()?;
                        let et = v.elem_index(e)?;
                        if v.table(t)? != et {
                            return Err(v.err(Reason::TypeMismatch));
                        }
                        v.pop_all(&[ValType::I32, ValType::I32, ValType::I32])?;
                    }
                    13 => {
                        v.elem_index(r.u32()?)?;
                    }
                    14 => {
                        let dst = v.table(r.u32()?)?;
                        let src = v.table(r.u32()?)?;
                        if dst != src {
                            return Err(v.err(Reason::TypeMismatch));
                        }
                        v.pop_all(&[ValType::I32, ValType::I32, ValType::I32])?;
                    }
                    15 => {
                        let t = v.table(r.u32()?)?;
                        v.pop_expect(ValType::I32)?;
                        v.pop_expect(t)?;
                        v.push_ty(ValType::I32)?;
                    }
                    16 => {
                        v.table(r.u32()?)?;
                        v.push_ty(ValType::I32)?;
                    }
                    17 => {
                        let t = v.table(r.u32()?)?;
                        v.pop_expect(ValType::I32)?;
                        v.pop_expect(t)?;
                        v.pop_expect(ValType::I32)?;
                    }
                    _ => return Err(fail(v.at, Reason::IllegalOpcode)),
                }
            }
            _ => return Err(fail(v.at, Reason::IllegalOpcode)),
        }
    }
    if !r.at_end() {
        return Err(fail(r.pos(), Reason::EndExpected));
    }
    Ok(Body {
        code_start,
        header: Header {
            code_len: r.pos() as u32 - code_start,
            entry_cost: v.entry_cost,
            locals: total as u16,
            max_height: v.max_height as u16,
            params: ft.params.len() as u16,
            results: ft.results.len() as u16,
        },
        sites: v.nsites,
        escapes: v.escapes,
    })
}

/// An upper bound on the side-table words the code section `bytes[start..end]`
/// (after its function count) will need — every branch site, reachable or not,
/// plus each function's header — from a quick scan that skips immediates and
/// checks no types. The loader reserves this much before validating, so the
/// table never moves while it grows (a move would leave a hole the size of the
/// table in the module's partition). `None` if the scan meets something it does
/// not know (the validator then reports it).
pub(crate) fn count_words(bytes: &[u8], start: usize, end: usize, funcs: u32) -> Option<usize> {
    let mut r = Reader::new(bytes, start, end);
    let mut words = 0usize;
    for _ in 0..funcs {
        let size = num(&mut r)? as usize;
        let body_end = r.pos().checked_add(size)?;
        let mut b = Reader::new(bytes, r.pos(), body_end.min(end));
        r.skip(size).ok()?;
        words += crate::sidetable::HEADER_ENTRIES as usize;
        for _ in 0..num(&mut b)? {
            num(&mut b)?;
            b.u8().ok()?;
        }
        while !b.at_end() {
            let op = b.u8().ok()?;
            match op {
                0x02..=0x04 => {
                    // Block type: 0x40, a value type, or an s33 type index.
                    leb(&mut b)?;
                    words += usize::from(op == 0x04);
                }
                0x05 => words += 1,
                0x0c | 0x0d => {
                    leb(&mut b)?;
                    words += 1;
                }
                0x0e => {
                    let n = num(&mut b)? as usize;
                    for _ in 0..=n {
                        leb(&mut b)?;
                    }
                    words = words.checked_add(n + 1)?;
                }
                0x10 | 0x12 | 0x20..=0x26 | 0x3f | 0x40 | 0x41 | 0x42 | 0xd0 | 0xd2 => leb(&mut b)?,
                0x11 | 0x13 => {
                    leb(&mut b)?;
                    leb(&mut b)?;
                }
                0x1c => {
                    for _ in 0..num(&mut b)? {
                        b.u8().ok()?;
                    }
                }
                0x28..=0x3e => {
                    let align = num(&mut b)?;
                    if align & 0x40 != 0 {
                        leb(&mut b)?;
                    }
                    leb(&mut b)?;
                }
                0x43 => b.skip(4).ok()?,
                0x44 => b.skip(8).ok()?,
                0xfc => match num(&mut b)? {
                    0..=7 => {}
                    9 | 11 | 13 | 15..=17 => leb(&mut b)?,
                    8 | 10 | 12 | 14 => {
                        leb(&mut b)?;
                        leb(&mut b)?;
                    }
                    _ => return None,
                },
                0x00 | 0x01 | 0x0b | 0x0f | 0x1a | 0x1b | 0x45..=0xc4 | 0xd1 => {}
                _ => return None,
            }
        }
    }
    Some(words)
}

// count_words's readers, out of line: inlined at each of their uses they made
// the scan 1.2 KB (now 0.6 KB; a 4-bit-per-opcode table instead of the `match`
// was 56 B larger still).
#[inline(never)]
fn leb(b: &mut Reader<'_>) -> Option<()> {
    while b.u8().ok()? & 0x80 != 0 {}
    Some(())
}

#[inline(never)]
fn num(b: &mut Reader<'_>) -> Option<u32> {
    b.u32().ok()
}
