//! Here be dragons: the interpreter's unchecked accessors, the only `unsafe`
//! in the engine (listed in UNSAFE.md). Each is sound because the validator
//! proved the index in bounds before the code ever ran:
//!
//! - **code**: `pc` only ever points inside a validated function body (every
//!   instruction and immediate lies within it, and every side-table target is
//!   an instruction boundary of the same body), so `code[pc]` is in bounds.
//! - **side table**: `stp` is the index of the current branch site's entry,
//!   which the validator emitted for every reachable branch site.
//! - **value stack**: a call is admitted only if `fp + locals + 1 + max_height`
//!   fits the stack, where `max_height` is the deepest operand stack the
//!   validator saw in that body; every slot the body touches is below that.
//!
//! The interpreter's `pc`, `sp` and `fp` are pointers ([`Code`], [`Slot`]):
//! one register each, no base + index. With the `checked` feature they carry
//! their bounds and every access is checked (a violated invariant then panics
//! instead of being undefined behaviour). Cold instructions (tables, bulk
//! memory) use ordinary checked slices.

/// Side-table word `i` (little-endian bytes) for the current branch site or function.
#[inline(always)]
pub(crate) fn side_word(side: &[u8], i: usize) -> u64 {
    #[cfg(feature = "checked")]
    {
        crate::sidetable::word(side, i)
    }
    #[cfg(not(feature = "checked"))]
    {
        debug_assert!(i * 8 + 8 <= side.len());
        // SAFETY: `i` is the stp of an executed branch site, or a function's header
        // index (module docs: side table), so its 8 bytes lie inside the table.
        let b = unsafe { &*(side.as_ptr().add(i * 8) as *const [u8; 8]) };
        u64::from_le_bytes(*b)
    }
}

/// Read `n` (1, 2, 4 or 8) bytes of linear memory at effective address `ea`,
/// little-endian, zero-extended; `None` if any of them is out of bounds (the
/// wasm bounds check itself). `N` is the largest `n` (8).
#[inline(always)]
pub(crate) fn mem_load<const N: usize>(m: &[u8], ea: u64, n: usize) -> Option<u64> {
    if ea + n as u64 > m.len() as u64 {
        return None;
    }
    let mut b = [0u8; N];
    // SAFETY: `ea + n <= m.len()` was checked just above, so the source range is in
    // bounds; `n <= N` (callers pass a width from a table of 1, 2, 4 and 8), so it fits `b`.
    unsafe { core::ptr::copy_nonoverlapping(m.as_ptr().add(ea as usize), b.as_mut_ptr(), n.min(N)) };
    Some(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

/// Write the low `n` (1, 2, 4 or 8) bytes of `v` at `ea`, little-endian; `None`
/// (and nothing written) if out of bounds.
#[inline(always)]
pub(crate) fn mem_store(m: &mut [u8], ea: u64, v: u64, n: usize) -> Option<()> {
    if ea + n as u64 > m.len() as u64 {
        return None;
    }
    let b = v.to_le_bytes();
    // SAFETY: `ea + n <= m.len()` was checked just above; `n <= 8` (a width from a table
    // of 1, 2, 4 and 8); `b` is a local, so the ranges do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), m.as_mut_ptr().add(ea as usize), n.min(8)) };
    Some(())
}

/// A position in validated code: the interpreter's `pc` as a pointer (one
/// register, no base + index). Sound for the reason `byte` is: it only ever
/// points at an instruction or immediate of a validated body, whose bytes
/// outlive the interpreter loop (they are borrowed by the module for `'m`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Debug)]
pub(crate) struct Code {
    p: *const u8,
    #[cfg(feature = "checked")]
    lo: *const u8,
    #[cfg(feature = "checked")]
    hi: *const u8,
}

impl Code {
    /// Offset `i` of `code`.
    #[inline(always)]
    pub(crate) fn at(code: &[u8], i: usize) -> Code {
        Code {
            p: code.as_ptr().wrapping_add(i),
            #[cfg(feature = "checked")]
            lo: code.as_ptr(),
            #[cfg(feature = "checked")]
            hi: code.as_ptr().wrapping_add(code.len()),
        }
    }

    /// This position as an offset in `code` (the slice it was made from).
    #[inline(always)]
    pub(crate) fn offset(self, code: &[u8]) -> usize {
        (self.p as usize).wrapping_sub(code.as_ptr() as usize)
    }

    /// The byte `k` past this position.
    #[inline(always)]
    pub(crate) fn peek(self, k: usize) -> u8 {
        let p = self.p.wrapping_add(k);
        #[cfg(feature = "checked")]
        assert!(p >= self.lo && p < self.hi, "pc out of its body");
        debug_assert!(!p.is_null());
        // SAFETY: `p` is inside a validated body (type docs): the validator proved that
        // every instruction and immediate the interpreter reads lies within the body.
        unsafe { *p }
    }

    /// The byte at this position.
    #[inline(always)]
    pub(crate) fn byte(self) -> u8 {
        self.peek(0)
    }

    /// `n` bytes further (a plain add; only read positions the validator proved).
    #[inline(always)]
    pub(crate) fn add(self, n: usize) -> Code {
        let mut c = self;
        c.p = self.p.wrapping_add(n);
        c
    }

    /// A branch target: `d` bytes from here (either way).
    #[inline(always)]
    pub(crate) fn offset_by(self, d: isize) -> Code {
        let mut c = self;
        c.p = self.p.wrapping_offset(d);
        c
    }

    /// An unsigned LEB128 `u32` immediate here; moves past it. The one-byte case
    /// inline, the rest out of line (by value: a `&mut` to the interpreter's `pc`
    /// would keep it in memory for the whole loop).
    #[inline(always)]
    pub(crate) fn leb_u32(&mut self) -> u32 {
        let b = self.byte();
        if b < 0x80 {
            *self = self.add(1);
            return b as u32;
        }
        let (v, next) = Self::leb_u32_slow(*self);
        *self = next;
        v
    }

    #[inline(never)]
    #[cold]
    fn leb_u32_slow(mut p: Code) -> (u32, Code) {
        let mut result = 0u32;
        let mut shift = 0;
        loop {
            let b = p.byte();
            p = p.add(1);
            result |= ((b & 0x7f) as u32).wrapping_shl(shift);
            if b & 0x80 == 0 {
                return (result, p);
            }
            shift += 7;
        }
    }

    /// A signed LEB128 immediate of up to 64 bits here; moves past it.
    #[inline(always)]
    pub(crate) fn leb_i64(&mut self) -> i64 {
        let b = self.byte();
        if b < 0x80 {
            *self = self.add(1);
            // One byte: sign-extend bit 6.
            return ((b << 1) as i8 >> 1) as i64;
        }
        let (v, next) = Self::leb_i64_slow(*self);
        *self = next;
        v
    }

    #[inline(never)]
    fn leb_i64_slow(mut p: Code) -> (i64, Code) {
        let mut result = 0i64;
        let mut shift = 0u32;
        loop {
            let b = p.byte();
            p = p.add(1);
            result |= ((b & 0x7f) as i64).wrapping_shl(shift);
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    result |= -1i64 << shift;
                }
                return (result, p);
            }
        }
    }

    /// Move past a LEB128 immediate.
    #[inline(always)]
    pub(crate) fn skip_leb(&mut self) {
        while self.byte() & 0x80 != 0 {
            *self = self.add(1);
        }
        *self = self.add(1);
    }
}

/// A value-stack slot: the interpreter's `sp` and `fp` as pointers. Sound for
/// the reason `slot` is: a call is admitted only if the callee's frame (locals,
/// its spare slot and `max_height` operands) fits the stack, and the validator
/// proved that no instruction of a body reaches past that.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Debug)]
pub(crate) struct Slot {
    p: *mut u64,
    #[cfg(feature = "checked")]
    lo: *mut u64,
    #[cfg(feature = "checked")]
    hi: *mut u64,
}

impl Slot {
    /// Slot `i` of `stack` (`i <= stack.len()`).
    #[inline(always)]
    pub(crate) fn at(stack: &mut [u64], i: usize) -> Slot {
        Slot {
            p: stack.as_mut_ptr().wrapping_add(i),
            #[cfg(feature = "checked")]
            lo: stack.as_mut_ptr(),
            #[cfg(feature = "checked")]
            hi: stack.as_mut_ptr().wrapping_add(stack.len()),
        }
    }

    /// This slot's index in `stack` (the slice it was made from).
    #[inline(always)]
    pub(crate) fn index(self, stack: *const u64) -> usize {
        (self.p as usize).wrapping_sub(stack as usize) / 8
    }

    #[inline(always)]
    fn check(self) {
        #[cfg(feature = "checked")]
        assert!(self.p >= self.lo && self.p < self.hi, "stack slot out of the frame");
        debug_assert!(!self.p.is_null());
    }

    /// Its value.
    #[inline(always)]
    pub(crate) fn get(self) -> u64 {
        self.check();
        // SAFETY: inside the admitted frame (type docs), which lies inside the thread's stack,
        // borrowed exclusively by the interpreter loop.
        unsafe { *self.p }
    }

    /// Store `v` in it.
    #[inline(always)]
    pub(crate) fn set(self, v: u64) {
        self.check();
        // SAFETY: as for `get`.
        unsafe { *self.p = v }
    }

    /// `n` slots up.
    #[inline(always)]
    pub(crate) fn add(self, n: usize) -> Slot {
        let mut s = self;
        s.p = self.p.wrapping_add(n);
        s
    }

    /// `n` slots down.
    #[inline(always)]
    pub(crate) fn sub(self, n: usize) -> Slot {
        let mut s = self;
        s.p = self.p.wrapping_sub(n);
        s
    }

    /// Copy `n` values from `src` down to `dst` (`dst <= src`; the ranges may overlap).
    #[inline(always)]
    pub(crate) fn copy_down(src: Slot, dst: Slot, n: usize) {
        // One slot at a time, lowest first: right for an overlap since `dst <= src`, and a
        // handful of slots at most (a branch's or a call's results), so no `memmove`.
        let mut i = 0;
        while i < n {
            dst.add(i).set(src.add(i).get());
            i += 1;
        }
    }
}
