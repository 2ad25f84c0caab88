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
//! One more, for linear memory rather than the loop: [`grow_zeroed`] writes
//! zeros into a vector's reserved spare capacity and then sets its length.
//!
//! The interpreter's `pc`, `sp` and `fp` are pointers ([`Code`], [`Slot`]):
//! one register each, no base + index. With the `checked` feature this module
//! has no `unsafe` (the crate then denies it): they are slices and indices,
//! every access is checked, and a violated invariant ends the guest with an
//! internal-error trap (`TrapCode::Internal`) instead of touching memory it
//! should not. Cold instructions (tables, bulk memory) use ordinary checked
//! slices in both builds.

use core::cell::Cell;
#[cfg(not(feature = "checked"))]
use core::marker::PhantomData;

/// Side-table word `i` (little-endian bytes) for the current branch site or
/// function: always `Some` unchecked (the branch folds away), `None` past the
/// table with the `checked` feature (the loop then traps, internal error).
#[inline(always)]
pub(crate) fn side_word(side: &[u8], i: usize) -> Option<u64> {
    #[cfg(feature = "checked")]
    {
        let b = side.get(i.checked_mul(8)?..)?.first_chunk::<8>()?;
        Some(u64::from_le_bytes(*b))
    }
    #[cfg(not(feature = "checked"))]
    {
        debug_assert!(i * 8 + 8 <= side.len());
        // SAFETY: `i` is the stp of an executed branch site, or a function's header
        // index (module docs: side table), so its 8 bytes lie inside the table.
        let b = unsafe { &*(side.as_ptr().add(i * 8) as *const [u8; 8]) };
        Some(u64::from_le_bytes(*b))
    }
}

/// Grow linear memory's bytes `v` to `n` zeros (`n` at least `v.len()`), reserving
/// exactly, reporting exhaustion instead of aborting. Not `resize`: its `memset`
/// stores a word per loop iteration (~0.75 Cortex-M4 instructions per byte, 98 k to
/// zero CoreMark's 128 KiB at instantiation); this stores eight 8-byte words a step,
/// 11 instructions per 64 bytes (four a step took 7 per 32: 64 KiB cost 3 k more). The
/// zero is hidden from the optimiser, which would otherwise turn the loop back into `memset`.
pub(crate) fn grow_zeroed<A: allocator_api2::alloc::Allocator>(
    v: &mut allocator_api2::vec::Vec<u8, A>,
    n: usize,
) -> Result<(), crate::error::OutOfMemory> {
    #[cfg(feature = "checked")]
    return match n >= v.len() {
        true => crate::error::try_resize(v, n, 0),
        false => Err(crate::error::OutOfMemory),
    };
    #[cfg(not(feature = "checked"))]
    {
        use crate::error::OutOfMemory;
        let add = n.checked_sub(v.len()).ok_or(OutOfMemory)?;
        v.try_reserve_exact(add).map_err(|_| OutOfMemory)?;
        let spare = v.spare_capacity_mut().get_mut(..add).ok_or(OutOfMemory)?;
        let z = core::hint::black_box(0u64);
        // Bytes up to an 8-byte boundary, then aligned 8-byte stores (`strd` on a Cortex-M).
        let (head, rest) = spare.split_at_mut_checked(spare.as_ptr().align_offset(8).min(add)).ok_or(OutOfMemory)?;
        let mut chunks = rest.chunks_exact_mut(64);
        for c in &mut chunks {
            let p = c.as_mut_ptr().cast::<u64>();
            // SAFETY: `c` is 64 bytes of the vector's spare capacity, so the eight 8-byte
            // writes at offsets 0, 8, .., 56 are inside it; `rest` starts at an 8-byte
            // boundary (`head` takes the bytes before it) and every chunk is 64 bytes, so
            // each write is aligned.
            unsafe {
                p.write(z);
                p.add(1).write(z);
                p.add(2).write(z);
                p.add(3).write(z);
                p.add(4).write(z);
                p.add(5).write(z);
                p.add(6).write(z);
                p.add(7).write(z);
            }
        }
        for b in head.iter_mut().chain(chunks.into_remainder()) {
            b.write(z as u8);
        }
        // SAFETY: the `add` bytes after the old length were all written just above
        // (the head, whole chunks, then the remainder), and `try_reserve_exact` made room
        // for them.
        unsafe { v.set_len(n) };
        Ok(())
    }
}

/// Memory 0's backed bytes (its `data` vector) as the interpreter loop last took
/// them: the vector's own pointer and its length, so that a load or store of memory
/// 0 reads two words of the thread instead of looking the memory up in the store
/// (`cfg(m0_bottom)`: 32-bit Arm, and the host with feature `device-dispatch`, never
/// with `checked`; `exec.rs`: `refresh_m0!`, `access_slow`).
///
/// Soundness rests on when the loop takes it again (`refresh_m0!`): on entering the
/// loop, whenever the running instance (so memory 0) changes, and after every rare
/// instruction (`Cold::op`: `memory.grow`, the only instruction that reallocates or
/// resizes a memory's `data`, is one of them); and it is read only inside the loop,
/// which holds the store's `&mut` meanwhile, so nothing else frees, moves or resizes
/// the vector between a refresh and a use. The pointer is the vector's own
/// (`Vec::as_mut_ptr` creates no reference), so the loop's other accesses to those
/// bytes through slices (the slow path, bulk memory) leave it valid.
#[cfg(m0_bottom)]
#[derive(Clone, Copy)]
pub(crate) struct Bottom {
    p: *mut u8,
    len: usize,
}

// SAFETY: a `Bottom` is a cache the interpreter loop re-derives before its first use
// on every entry (see the type's docs); outside the loop its pointer is never
// dereferenced, so moving a thread that holds one to another thread moves a plain
// address.
#[cfg(m0_bottom)]
unsafe impl Send for Bottom {}
// SAFETY: as for `Send`: nothing dereferences the pointer through a shared `&Bottom`
// outside the loop's exclusive use of the store.
#[cfg(m0_bottom)]
unsafe impl Sync for Bottom {}

#[cfg(m0_bottom)]
impl Bottom {
    /// No bytes: every access misses.
    pub(crate) const EMPTY: Bottom = Bottom { p: core::ptr::null_mut(), len: 0 };

    /// Memory `data`'s bytes as they are now.
    #[inline(always)]
    pub(crate) fn of<A: allocator_api2::alloc::Allocator>(data: &mut allocator_api2::vec::Vec<u8, A>) -> Bottom {
        Bottom { p: data.as_mut_ptr(), len: data.len() }
    }

    /// [`mem_load`] from these bytes; `None` if out of their bounds.
    #[inline(always)]
    pub(crate) fn load(self, ea: usize, n: usize) -> Option<u64> {
        if self.len.checked_sub(ea)? < n {
            return None;
        }
        let mut b = [0u8; 8];
        // SAFETY: `ea + n <= len` was checked just above, and `p`..`p + len` are the
        // vector's bytes, alive and unmoved since the loop took them (type docs);
        // `n <= 8` (a width from a table of 1, 2, 4 and 8), so it fits `b`.
        unsafe { core::ptr::copy_nonoverlapping(self.p.add(ea), b.as_mut_ptr(), n.min(8)) };
        Some(u64::from_le_bytes(b))
    }

    /// [`mem_store`] into these bytes; `None` (nothing written) if out of their bounds.
    #[inline(always)]
    pub(crate) fn store(self, ea: usize, v: u64, n: usize) -> Option<()> {
        if self.len.checked_sub(ea)? < n {
            return None;
        }
        let b = v.to_le_bytes();
        // SAFETY: as for `load`: `ea + n <= len` checked above, the bytes are the
        // vector's, alive and unmoved; each arm writes at most `n` bytes (and at most 8)
        // from the local `b`, so the ranges do not overlap.
        unsafe {
            let d = self.p.add(ea);
            match n {
                1 => core::ptr::copy_nonoverlapping(b.as_ptr(), d, 1),
                2 => core::ptr::copy_nonoverlapping(b.as_ptr(), d, 2),
                4 => core::ptr::copy_nonoverlapping(b.as_ptr(), d, 4),
                _ => core::ptr::copy_nonoverlapping(b.as_ptr(), d, n.min(8)),
            }
        }
        Some(())
    }
}

/// Read `n` (1, 2, 4 or 8) bytes of linear memory at effective address `ea`,
/// little-endian, zero-extended; `None` if any of them is out of bounds (the
/// wasm bounds check itself).
#[inline(always)]
#[cfg_attr(m0_bottom, allow(dead_code))]
pub(crate) fn mem_load(m: &[u8], ea: usize, n: usize) -> Option<u64> {
    // In `usize`: one 32-bit compare on a Cortex-M (the caller has ruled out an address
    // past 4 GiB).
    if m.len().checked_sub(ea)? < n {
        return None;
    }
    let mut b = [0u8; 8];
    #[cfg(not(feature = "checked"))]
    // SAFETY: `ea + n <= m.len()` was checked just above, so the source range is in
    // bounds; `n <= 8` (callers pass a width from a table of 1, 2, 4 and 8), so it fits `b`.
    unsafe {
        core::ptr::copy_nonoverlapping(m.as_ptr().add(ea), b.as_mut_ptr(), n.min(8))
    };
    #[cfg(feature = "checked")]
    b.get_mut(..n)?.copy_from_slice(m.get(ea..ea + n)?);
    Some(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

/// Write the low `n` (1, 2, 4 or 8) bytes of `v` at `ea`, little-endian; `None`
/// (and nothing written) if out of bounds.
#[inline(always)]
#[cfg_attr(m0_bottom, allow(dead_code))]
pub(crate) fn mem_store(m: &mut [u8], ea: usize, v: u64, n: usize) -> Option<()> {
    if m.len().checked_sub(ea)? < n {
        return None;
    }
    let b = v.to_le_bytes();
    #[cfg(not(feature = "checked"))]
    // SAFETY: `ea + n <= m.len()` was checked just above, and each arm copies at most
    // `n` bytes (a width from a table of 1, 2, 4 and 8); `b` is a local, so the ranges
    // do not overlap. One copy per width: a copy of variable length is a `memcpy` call
    // (on a Cortex-M it was most of a store's cost).
    unsafe {
        let d = m.as_mut_ptr().add(ea);
        match n {
            1 => core::ptr::copy_nonoverlapping(b.as_ptr(), d, 1),
            2 => core::ptr::copy_nonoverlapping(b.as_ptr(), d, 2),
            4 => core::ptr::copy_nonoverlapping(b.as_ptr(), d, 4),
            8 => core::ptr::copy_nonoverlapping(b.as_ptr(), d, 8),
            _ => {
                for (i, &x) in b.iter().enumerate().take(n) {
                    *d.add(i) = x;
                }
            }
        }
    };
    #[cfg(feature = "checked")]
    m.get_mut(ea..ea + n)?.copy_from_slice(b.get(..n)?);
    Some(())
}

/// A position in validated code: the interpreter's `pc` as a pointer (one
/// register, no base + index). Sound for the reason `byte` is: it only ever
/// points at an instruction or immediate of a validated body, whose bytes
/// outlive the interpreter loop (they are borrowed by the module for `'a`).
///
/// With the `checked` feature it is a slice and an index instead, with no
/// `unsafe` at all: a read outside the slice gives `0xff`, which the dispatch
/// turns into an internal-error trap, and immediates are read at most ten bytes
/// long, so a broken guarantee ends the guest instead of reading stray memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Code<'a> {
    #[cfg(not(feature = "checked"))]
    p: *const u8,
    #[cfg(not(feature = "checked"))]
    _code: PhantomData<&'a [u8]>,
    #[cfg(feature = "checked")]
    s: &'a [u8],
    #[cfg(feature = "checked")]
    i: usize,
}

impl PartialEq for Code<'_> {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.pos() == other.pos()
    }
}

impl PartialOrd for Code<'_> {
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        self.pos().partial_cmp(&other.pos())
    }
}

impl<'a> Code<'a> {
    /// Offset `i` of `code`.
    #[inline(always)]
    pub(crate) fn at(code: &'a [u8], i: usize) -> Code<'a> {
        #[cfg(not(feature = "checked"))]
        {
            Code { p: code.as_ptr().wrapping_add(i), _code: PhantomData }
        }
        #[cfg(feature = "checked")]
        {
            Code { s: code, i }
        }
    }

    /// A number that orders positions in the same code.
    #[inline(always)]
    fn pos(self) -> usize {
        #[cfg(not(feature = "checked"))]
        {
            self.p as usize
        }
        #[cfg(feature = "checked")]
        {
            self.i
        }
    }

    /// This position as an offset in `code` (the slice it was made from).
    #[inline(always)]
    pub(crate) fn offset(self, code: &[u8]) -> usize {
        #[cfg(not(feature = "checked"))]
        {
            (self.p as usize).wrapping_sub(code.as_ptr() as usize)
        }
        #[cfg(feature = "checked")]
        {
            let _ = code;
            self.i
        }
    }

    /// The byte `k` past this position.
    #[inline(always)]
    pub(crate) fn peek(self, k: usize) -> u8 {
        #[cfg(not(feature = "checked"))]
        {
            let p = self.p.wrapping_add(k);
            debug_assert!(!p.is_null());
            // SAFETY: `p` is inside a validated body (type docs): the validator proved that
            // every instruction and immediate the interpreter reads lies within the body.
            unsafe { *p }
        }
        #[cfg(feature = "checked")]
        {
            self.s.get(self.i.wrapping_add(k)).copied().unwrap_or(0xff)
        }
    }

    /// The opcode at this position, moving past it: the interpreter's dispatch read.
    ///
    /// On 32-bit Arm with Thumb-2 or A32 (`cfg(arm_ldrb_post)`, build.rs) it is one
    /// post-indexed `ldrb` in an `asm!` block that LLVM cannot see into. Written as
    /// `byte()` then `add(1)`, LLVM rewrote every later use of the new `pc` (`pc + k`
    /// in an arm) as the old one plus `k + 1`, so the old `pc` stayed live through
    /// every arm and the dispatch copied it into another register before the
    /// post-indexed load: three instructions a dispatch (`mov`, `ldrb`, `tbh`).
    /// Opaque, the new `pc` is the only one, in the loop's own register: two
    /// (`ldrb`, `tbh`), and one register freed in every arm (Cortex-M4 CoreMark −4.5 %
    /// instructions, `scripts/coremark-qemu.sh`). Elsewhere (x86-64 tail-duplicates the
    /// dispatch into the arms) and in the `checked` build it is the plain read. (On
    /// x86-64 the same opaque read, a `movzx` and a `lea` in one `asm!` block, measured
    /// +7.0 % host instructions on CoreMark, fib and SHA-2 alike, `scripts/bench-instructions.sh`:
    /// LLVM then copied the opcode and `pc` between registers in the duplicated dispatches.)
    #[inline(always)]
    pub(crate) fn next_op(&mut self) -> u8 {
        #[cfg(arm_ldrb_post)]
        {
            let op: u32;
            debug_assert!(!self.p.is_null());
            // SAFETY: `p` is at an instruction of a validated body (type docs), as for
            // `peek(0)`: the `ldrb` reads that one byte and leaves `p` one past it; the
            // block touches no other memory, no stack and no flags (its options). A
            // byte load zero-extends, so `op < 256` holds for `assert_unchecked`; it
            // lets the dispatch index its table with `op` directly (no `uxtb`).
            unsafe {
                core::arch::asm!(
                    "ldrb {op}, [{p}], #1",
                    op = out(reg) op,
                    p = inout(reg) self.p,
                    options(pure, readonly, nostack, preserves_flags)
                );
                core::hint::assert_unchecked(op < 256);
            }
            op as u8
        }
        #[cfg(not(arm_ldrb_post))]
        {
            let op = self.byte();
            *self = self.add(1);
            op
        }
    }

    /// The byte at this position, sign-extended, moving past it: the first byte of
    /// an immediate, which the LEB readers take as the whole of it when it is not
    /// negative (bit 7 clear).
    ///
    /// On `cfg(arm_ldrb_post)` it is one post-indexed `ldrsb` in an `asm!` block, as
    /// `next_op` is: written as `byte()`, a test and `add(1)`, LLVM kept `pc` unmoved
    /// until the test (the slow path wants the first byte's position), so the fast
    /// path paid a separate `add` after its load; the slow path now steps back one
    /// byte instead. Cortex-M4 CoreMark −5.1 % instructions (`scripts/coremark-qemu.sh`;
    /// every `local.get`/`set`/`tee`, memarg and `i32.const` reads one), engine flash
    /// −316 B at "s", +92 B at "z". The same code as before on every other target.
    #[inline(always)]
    pub(crate) fn next_i8(&mut self) -> i8 {
        #[cfg(arm_ldrb_post)]
        {
            let b: i32;
            debug_assert!(!self.p.is_null());
            // SAFETY: `p` is at an immediate's first byte inside a validated body (type
            // docs), as for `peek(0)`: the `ldrsb` reads that one byte and leaves `p`
            // one past it; the block touches no other memory, no stack and no flags. A
            // signed byte load sign-extends, so `b` is in -128..128 (`assert_unchecked`).
            unsafe {
                core::arch::asm!(
                    "ldrsb {b}, [{p}], #1",
                    b = out(reg) b,
                    p = inout(reg) self.p,
                    options(pure, readonly, nostack, preserves_flags)
                );
                core::hint::assert_unchecked((-128..128).contains(&b));
            }
            b as i8
        }
        #[cfg(not(arm_ldrb_post))]
        {
            let b = self.byte();
            *self = self.add(1);
            b as i8
        }
    }

    /// The byte at this position.
    #[inline(always)]
    pub(crate) fn byte(self) -> u8 {
        self.peek(0)
    }

    /// The byte here and the next, little-endian (one unaligned halfword load): for
    /// a caller that knows both are inside the body.
    #[inline(always)]
    pub(crate) fn pair(self) -> u16 {
        #[cfg(not(feature = "checked"))]
        {
            debug_assert!(!self.p.is_null());
            // SAFETY: the caller reads a pair only where the validator proved two more
            // bytes of the body (exec.rs: an instruction start right after an empty-typed
            // block, which that block's `end` and the body's final `end` still follow).
            unsafe { u16::from_le(self.p.cast::<u16>().read_unaligned()) }
        }
        #[cfg(feature = "checked")]
        {
            u16::from_le_bytes([self.peek(0), self.peek(1)])
        }
    }

    /// The four bytes from here, little-endian (one unaligned word load), where the
    /// validator proved four more bytes of the body. The two callers: the LEB
    /// readers' slow paths, at a byte of an immediate that, like the one after it,
    /// carries a continuation bit (the immediate then goes on at least to the byte
    /// after those two, and an instruction follows it in the body, at the least the
    /// body's final `end`); and the interpreter's run of empty-typed blocks, at an
    /// instruction start with three blocks open that it entered (their three `end`s
    /// and the body's final `end` still follow).
    #[inline(always)]
    pub(crate) fn quad(self) -> u32 {
        #[cfg(not(feature = "checked"))]
        {
            debug_assert!(!self.p.is_null());
            // SAFETY: see above: either `p` and `p + 1` are continued bytes of an
            // immediate of a validated body, so `p + 2` is its byte too and `p + 3` its
            // byte or the next instruction's (the validator proved every immediate, and
            // the instruction after it, to lie inside the body); or `p` is an
            // instruction start inside three blocks not yet ended, whose `end`s and the
            // body's own lie at `p` or after it (the validator proved every block
            // ended within the body).
            unsafe { u32::from_le(self.p.cast::<u32>().read_unaligned()) }
        }
        #[cfg(feature = "checked")]
        {
            u32::from_le_bytes([self.peek(0), self.peek(1), self.peek(2), self.peek(3)])
        }
    }

    /// `n` bytes further (a plain add; only read positions the validator proved).
    #[inline(always)]
    pub(crate) fn add(self, n: usize) -> Code<'a> {
        let mut c = self;
        #[cfg(not(feature = "checked"))]
        {
            c.p = self.p.wrapping_add(n);
        }
        #[cfg(feature = "checked")]
        {
            c.i = self.i.wrapping_add(n);
        }
        c
    }

    /// A branch target: `d` bytes from here (either way).
    #[inline(always)]
    pub(crate) fn offset_by(self, d: isize) -> Code<'a> {
        let mut c = self;
        #[cfg(not(feature = "checked"))]
        {
            c.p = self.p.wrapping_offset(d);
        }
        #[cfg(feature = "checked")]
        {
            c.i = self.i.wrapping_add_signed(d);
        }
        c
    }

    /// An unsigned LEB128 `u32` immediate here; moves past it. The one-byte case
    /// inline, the rest out of line (by value: a `&mut` to the interpreter's `pc`
    /// would keep it in memory for the whole loop).
    #[inline(always)]
    pub(crate) fn leb_u32(&mut self) -> u32 {
        let b = self.next_i8();
        if b >= 0 {
            return b as u32;
        }
        let (v, next) = Self::leb_u32_slow(self.offset_by(-1));
        *self = next;
        v
    }

    // (No loops: a validated `u32` or `i32` immediate has at most five bytes, an `i64`
    // at most ten; in the `checked` build code past the body reads as 0xff, so a
    // broken guarantee still ends after that many bytes.)
    #[inline(never)]
    #[cold]
    fn leb_u32_slow(p: Code<'a>) -> (u32, Code<'a>) {
        // Two bytes (most of the rest: indices and offsets below 16384).
        let c = p.peek(1);
        if c < 0x80 {
            return ((p.byte() & 0x7f) as u32 | (c as u32) << 7, p.add(2));
        }
        // Three bytes.
        let d = p.peek(2);
        if d < 0x80 {
            return ((p.byte() & 0x7f) as u32 | ((c & 0x7f) as u32) << 7 | (d as u32) << 14, p.add(3));
        }
        // Four or five bytes (five: a linker's padded relocation, as function indices in
        // `call` and static addresses and offsets are), from one word: the immediate
        // has at least four bytes now, and its fifth byte holds bits 28-31.
        let w = p.quad();
        if w & 0x8000_0000 == 0 {
            return (seven_bit_groups(w), p.add(4));
        }
        (seven_bit_groups(w) | (p.peek(4) as u32) << 28, p.add(5))
    }

    /// A signed LEB128 immediate of up to 64 bits here; moves past it.
    #[inline(always)]
    pub(crate) fn leb_i64(&mut self) -> i64 {
        let b = self.next_i8();
        if b >= 0 {
            // One byte: sign-extend bit 6.
            return (((b as u8) << 1) as i8 >> 1) as i64;
        }
        let (v, next) = Self::leb_i64_slow(self.offset_by(-1));
        *self = next;
        v
    }

    #[inline(never)]
    fn leb_i64_slow(p: Code<'a>) -> (i64, Code<'a>) {
        // Two bytes (constants in -8192..8192): 14 bits, sign bit 13.
        let c = p.peek(1);
        if c < 0x80 {
            let v = ((c as u16) << 7 | (p.byte() & 0x7f) as u16) << 2;
            return ((v as i16 >> 2) as i64, p.add(2));
        }
        // Three bytes: 21 bits, sign bit 20.
        let d = p.peek(2);
        if d < 0x80 {
            let v = ((d as u32) << 14 | ((c & 0x7f) as u32) << 7 | (p.byte() & 0x7f) as u32) << 11;
            return ((v as i32 >> 11) as i64, p.add(3));
        }
        Self::leb_i64_long(p)
    }

    /// `leb_i64_slow` for four bytes or more (up to ten: a 64-bit constant with its
    /// top bits set, as hash multipliers are), four at a time where it can: bytes
    /// 0-3 from one word, then 4-7 from another once bytes 4 and 5 are continued.
    #[inline(never)]
    fn leb_i64_long(p: Code<'a>) -> (i64, Code<'a>) {
        // `v`'s low `bits` bits, sign-extended.
        fn sext(v: u64, bits: u32) -> i64 {
            ((v << (64 - bits)) as i64) >> (64 - bits)
        }
        let w = p.quad();
        let lo = seven_bit_groups(w) as u64;
        if w & 0x8000_0000 == 0 {
            return (sext(lo, 28), p.add(4));
        }
        let b4 = p.peek(4);
        if b4 < 0x80 {
            return (sext(lo | (b4 as u64) << 28, 35), p.add(5));
        }
        let b5 = p.peek(5);
        if b5 < 0x80 {
            return (sext(lo | ((b4 & 0x7f) as u64) << 28 | (b5 as u64) << 35, 42), p.add(6));
        }
        let hi = p.add(4).quad();
        let mid = seven_bit_groups(hi) as u64;
        if hi & 0x0080_0000 == 0 {
            return (sext(lo | (mid & 0x1f_ffff) << 28, 49), p.add(7));
        }
        if hi & 0x8000_0000 == 0 {
            return (sext(lo | mid << 28, 56), p.add(8));
        }
        let b8 = p.peek(8);
        if b8 < 0x80 {
            return (sext(lo | mid << 28 | (b8 as u64) << 56, 63), p.add(9));
        }
        ((lo | mid << 28 | ((b8 & 0x7f) as u64) << 56 | (p.peek(9) as u64) << 63) as i64, p.add(10))
    }

    /// A signed LEB128 immediate of up to 32 bits here (`i32.const`); moves past it.
    /// Its own slow path, not `leb_i64`'s: 32-bit arithmetic, and a result that comes
    /// back in two registers (`(i64, Code)` is returned through memory on a Cortex-M).
    #[inline(always)]
    pub(crate) fn leb_i32(&mut self) -> i32 {
        let b = self.next_i8();
        if b >= 0 {
            return (((b as u8) << 1) as i8 >> 1) as i32;
        }
        let (v, next) = Self::leb_i32_slow(self.offset_by(-1));
        *self = next;
        v
    }

    // (Measured and not kept: this function's two-byte case inline in `leb_i32`, M4
    // CoreMark +0.13 % by layout though the call is 1 % of its instructions; on x86-64
    // alone, +4.0 % host instructions on the memory kernel, +1.8 % deflate, +0.7 %
    // CoreMark: the loop's code moved.)
    #[inline(never)]
    fn leb_i32_slow(p: Code<'a>) -> (i32, Code<'a>) {
        // Two bytes (constants in -8192..8192): 14 bits, sign bit 13.
        let c = p.peek(1);
        if c < 0x80 {
            let v = ((c as u32) << 7 | (p.byte() & 0x7f) as u32) << 18;
            return (v as i32 >> 18, p.add(2));
        }
        // Three bytes (addresses in a small memory): 21 bits, sign bit 20.
        let d = p.peek(2);
        if d < 0x80 {
            let v = ((d as u32) << 14 | ((c & 0x7f) as u32) << 7 | (p.byte() & 0x7f) as u32) << 11;
            return (v as i32 >> 11, p.add(3));
        }
        Self::leb_i32_long(p)
    }

    /// `leb_i32_slow` for four bytes (28 bits, sign bit 27) or five (large constants,
    /// and a linker's padded static addresses; the fifth byte holds bits 28-31), from
    /// one word: the immediate has at least four bytes here. Apart, so that the
    /// shorter cases need no stack frame (inline, its registers cost them a `push`
    /// and a `pop`: Cortex-M4 CoreMark +0.5 %).
    #[inline(never)]
    fn leb_i32_long(p: Code<'a>) -> (i32, Code<'a>) {
        let w = p.quad();
        if w & 0x8000_0000 == 0 {
            return ((seven_bit_groups(w) << 4) as i32 >> 4, p.add(4));
        }
        ((seven_bit_groups(w) | (p.peek(4) as u32) << 28) as i32, p.add(5))
    }

    /// Move past a LEB128 immediate.
    #[inline(always)]
    pub(crate) fn skip_leb(&mut self) {
        #[cfg(feature = "checked")]
        let mut n = 0;
        while self.byte() & 0x80 != 0 {
            *self = self.add(1);
            #[cfg(feature = "checked")]
            {
                n += 1;
                if n == 10 {
                    break;
                }
            }
        }
        *self = self.add(1);
    }
}

/// The 28 bits of four LEB128 bytes (`w`, little-endian, continuation bits ignored).
#[inline(always)]
fn seven_bit_groups(w: u32) -> u32 {
    (w & 0x7f) | (w >> 1 & 0x3f80) | (w >> 2 & 0x1f_c000) | (w >> 3 & 0x0fe0_0000)
}

/// The value stack as the interpreter loop sees it: where the thread's slots
/// start and how many there are (the loop holds the stack's `&mut` for `'a`);
/// with the `checked` feature, the slots as cells (shared, so `sp` and `fp` may
/// both reach them) and the flag a slot out of bounds raises.
#[derive(Clone, Copy)]
pub(crate) struct Stack<'a> {
    #[cfg(not(feature = "checked"))]
    p: *mut u64,
    #[cfg(not(feature = "checked"))]
    len: usize,
    #[cfg(not(feature = "checked"))]
    _stack: PhantomData<&'a mut [u64]>,
    #[cfg(feature = "checked")]
    cells: &'a [Cell<u64>],
    #[cfg(feature = "checked")]
    poison: &'a Cell<bool>,
}

impl<'a> Stack<'a> {
    /// The slots of `stack`; `poison` is raised (`checked` only) by an access outside them.
    #[inline(always)]
    pub(crate) fn new(stack: &'a mut [u64], poison: &'a Cell<bool>) -> Stack<'a> {
        #[cfg(not(feature = "checked"))]
        {
            let _ = poison;
            Stack { p: stack.as_mut_ptr(), len: stack.len(), _stack: PhantomData }
        }
        #[cfg(feature = "checked")]
        {
            Stack { cells: Cell::from_mut(stack).as_slice_of_cells(), poison }
        }
    }

    /// Number of slots.
    #[inline(always)]
    pub(crate) fn len(self) -> usize {
        #[cfg(not(feature = "checked"))]
        {
            self.len
        }
        #[cfg(feature = "checked")]
        {
            self.cells.len()
        }
    }
}

/// Whether the interpreter writes a 32-bit result (i32, f32) to the low word of its
/// slot only, leaving the high word as it was: every reader of such a value takes
/// its low 32 bits (`as u32`, `Value::from_bits`), so the high word is undefined.
/// On a 32-bit Arm that drops the zero write from the i32 and f32 operators, the
/// comparisons, `i32.const` and the 32-bit loads (Cortex-M4 CoreMark −3.6 %
/// instructions: 14 522 737 → 14 003 982 per iteration). On 64-bit hosts a slot is
/// one register store either way, and a 32-bit store followed by the 64-bit read
/// of the slot (`local.get`) would miss store forwarding, so they keep whole
/// writes, except with feature `device-dispatch`, with which `scripts/test.sh` runs
/// the spec testsuite and the differential fuzzer on the device's semantics (and
/// the `checked` build keeps the old high word, as the device does).
pub(crate) const LOW_WORD_I32: bool = cfg!(target_arch = "arm") || cfg!(feature = "device-dispatch");

/// A value-stack slot: the interpreter's `sp` and `fp` as pointers. Sound for
/// the reason `slot` is: a call is admitted only if the callee's frame (locals,
/// its spare slot and `max_height` operands) fits the stack, and the validator
/// proved that no instruction of a body reaches past that. With the `checked`
/// feature it is the stack and an index: a slot outside it reads 0, takes no
/// write and raises the stack's poison flag, which ends the guest with an
/// internal-error trap when the loop exits.
#[derive(Clone, Copy)]
pub(crate) struct Slot<'a> {
    #[cfg(not(feature = "checked"))]
    p: *mut u64,
    #[cfg(not(feature = "checked"))]
    _stack: PhantomData<&'a mut [u64]>,
    #[cfg(feature = "checked")]
    s: Stack<'a>,
    #[cfg(feature = "checked")]
    i: usize,
}

impl PartialEq for Slot<'_> {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.pos() == other.pos()
    }
}

impl PartialOrd for Slot<'_> {
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        self.pos().partial_cmp(&other.pos())
    }
}

impl<'a> Slot<'a> {
    /// Slot `i` of `stack` (`i <= len`).
    #[inline(always)]
    pub(crate) fn at(stack: Stack<'a>, i: usize) -> Slot<'a> {
        #[cfg(not(feature = "checked"))]
        {
            Slot { p: stack.p.wrapping_add(i), _stack: PhantomData }
        }
        #[cfg(feature = "checked")]
        {
            Slot { s: stack, i }
        }
    }

    #[inline(always)]
    fn pos(self) -> usize {
        #[cfg(not(feature = "checked"))]
        {
            self.p as usize
        }
        #[cfg(feature = "checked")]
        {
            self.i
        }
    }

    /// This slot's index in `stack` (the stack it was made from).
    #[inline(always)]
    pub(crate) fn index(self, stack: Stack<'_>) -> usize {
        #[cfg(not(feature = "checked"))]
        {
            (self.p as usize).wrapping_sub(stack.p as usize) / 8
        }
        #[cfg(feature = "checked")]
        {
            let _ = stack;
            self.i
        }
    }

    #[cfg(feature = "checked")]
    #[inline(always)]
    fn cell(self) -> Option<&'a Cell<u64>> {
        let c = self.s.cells.get(self.i);
        if c.is_none() {
            self.s.poison.set(true);
        }
        c
    }

    /// Its value.
    #[inline(always)]
    pub(crate) fn get(self) -> u64 {
        #[cfg(not(feature = "checked"))]
        {
            debug_assert!(!self.p.is_null());
            // SAFETY: inside the admitted frame (type docs), which lies inside the thread's
            // stack, borrowed exclusively by the interpreter loop (`Stack`).
            unsafe { *self.p }
        }
        #[cfg(feature = "checked")]
        {
            self.cell().map_or(0, Cell::get)
        }
    }

    /// A local's value: `get` with one `ldrd` on `cfg(arm_ldrb_post)`.
    ///
    /// A local's address is `fp` plus a scaled index from the code. Thumb-2's `ldrd`
    /// and `strd` take no register offset, so LLVM read the low word with a shifted
    /// register offset, computed the address for the high word, and read it apart:
    /// three instructions; in `asm!` blocks it is the address and one `ldrd` (one
    /// `strd` for `set_local`). Cortex-M4 CoreMark −2.65 % instructions; engine flash
    /// −12 B at "s", +12 B at "z". Elsewhere it is `get` (x86-64 reads a `u64` at
    /// a scaled index in one instruction).
    #[inline(always)]
    pub(crate) fn get_local(self) -> u64 {
        #[cfg(arm_ldrb_post)]
        {
            let (lo, hi): (u32, u32);
            debug_assert!(!self.p.is_null());
            // SAFETY: as for `get` (the slot lies inside the admitted frame); `ldrd`
            // reads its two words, the slot's 8 bytes, and touches nothing else: no
            // stack, no flags. The stack's slots are 8-byte aligned (`[u64]`), more than
            // `ldrd`'s word alignment needs.
            unsafe {
                core::arch::asm!(
                    "ldrd {lo}, {hi}, [{p}]",
                    lo = out(reg) lo,
                    hi = out(reg) hi,
                    p = in(reg) self.p,
                    options(pure, readonly, nostack, preserves_flags)
                );
            }
            (hi as u64) << 32 | lo as u64
        }
        #[cfg(not(arm_ldrb_post))]
        {
            self.get()
        }
    }

    /// Move down one slot and read it: the value-stack pointer's pop of a whole
    /// 64-bit value (a `local.set`'s operand), one `ldrd` with pre-indexed write-back,
    /// where LLVM had read the two words with two `ldr`s (M4 CoreMark −0.35 %
    /// instructions, engine flash −4 B at "s", −200 B at "z"). Arm only: elsewhere
    /// `local.set` pops as every other operator does (the same pop written as this
    /// method's `sub(1)` + `get` moved x86-64's register allocation: +2–3 % host
    /// instructions in the unmetered loop).
    #[cfg(arm_ldrb_post)]
    #[inline(always)]
    pub(crate) fn pop_wide(&mut self) -> u64 {
        let (lo, hi): (u32, u32);
        debug_assert!(!self.p.is_null());
        // SAFETY: as for `sub(1)` then `get`: the validator proved an operand below
        // the stack pointer, so the slot one down lies inside the admitted frame;
        // `ldrd` reads its two words and leaves `p` at it (pre-indexed write-back),
        // touching nothing else: no stack, no flags.
        unsafe {
            core::arch::asm!(
                "ldrd {lo}, {hi}, [{p}, #-8]!",
                lo = out(reg) lo,
                hi = out(reg) hi,
                p = inout(reg) self.p,
                options(pure, readonly, nostack, preserves_flags)
            );
        }
        (hi as u64) << 32 | lo as u64
    }

    /// Store `v` in a local: `set` with one `strd` on `cfg(arm_ldrb_post)` (see `get_local`).
    #[inline(always)]
    pub(crate) fn set_local(self, v: u64) {
        #[cfg(arm_ldrb_post)]
        {
            debug_assert!(!self.p.is_null());
            // SAFETY: as for `set`: `strd` writes the slot's two words (little-endian:
            // the low word first, as a `u64` store would) and nothing else; no stack,
            // no flags. Not `pure`/`readonly`: it writes memory, which LLVM must assume
            // (the default), so no read of the slot moves across it.
            unsafe {
                core::arch::asm!(
                    "strd {lo}, {hi}, [{p}]",
                    lo = in(reg) v as u32,
                    hi = in(reg) (v >> 32) as u32,
                    p = in(reg) self.p,
                    options(nostack, preserves_flags)
                );
            }
        }
        #[cfg(not(arm_ldrb_post))]
        {
            self.set(v)
        }
    }

    /// Store the i32 `v` in it: with [`LOW_WORD_I32`], its low 32 bits only (the high
    /// word keeps whatever it held); else the whole slot, zero-extended.
    #[inline(always)]
    pub(crate) fn set_i32(self, v: u32) {
        #[cfg(all(not(feature = "checked"), target_endian = "little"))]
        if LOW_WORD_I32 {
            debug_assert!(!self.p.is_null());
            // SAFETY: as for `get` (the slot lies inside the admitted frame); a slot's
            // first four bytes are its low word on a little-endian target, and a `u64`
            // slot is aligned enough for a `u32`.
            unsafe { *self.p.cast::<u32>() = v };
            return;
        }
        #[cfg(feature = "checked")]
        if LOW_WORD_I32 {
            if let Some(c) = self.cell() {
                c.set(c.get() & !0xffff_ffff | v as u64);
            }
            return;
        }
        self.set(v as u64)
    }

    /// Store `v` in it.
    #[inline(always)]
    pub(crate) fn set(self, v: u64) {
        #[cfg(not(feature = "checked"))]
        {
            debug_assert!(!self.p.is_null());
            // SAFETY: as for `get`.
            unsafe { *self.p = v }
        }
        #[cfg(feature = "checked")]
        {
            if let Some(c) = self.cell() {
                c.set(v);
            }
        }
    }

    /// `n` slots up.
    #[inline(always)]
    pub(crate) fn add(self, n: usize) -> Slot<'a> {
        let mut s = self;
        #[cfg(not(feature = "checked"))]
        {
            s.p = self.p.wrapping_add(n);
        }
        #[cfg(feature = "checked")]
        {
            s.i = self.i.wrapping_add(n);
        }
        s
    }

    /// `n` slots down.
    #[inline(always)]
    pub(crate) fn sub(self, n: usize) -> Slot<'a> {
        let mut s = self;
        #[cfg(not(feature = "checked"))]
        {
            s.p = self.p.wrapping_sub(n);
        }
        #[cfg(feature = "checked")]
        {
            s.i = self.i.wrapping_sub(n);
        }
        s
    }

    /// Copy `n` values from `src` down to `dst` (`dst <= src`; the ranges may overlap).
    #[inline(always)]
    pub(crate) fn copy_down(src: Slot<'a>, dst: Slot<'a>, n: usize) {
        // One slot at a time, lowest first: right for an overlap since `dst <= src`, and a
        // handful of slots at most (a branch's or a call's results), so no `memmove`.
        let mut i = 0;
        while i < n {
            dst.add(i).set(src.add(i).get());
            i += 1;
        }
    }
}

#[cfg(all(test, feature = "checked"))]
mod tests {
    use super::*;

    /// In the `checked` build a broken guarantee is contained: a slot outside the
    /// stack reads 0, keeps no write and raises the poison flag (the loop then traps,
    /// internal error); code outside the body reads as 0xff (the dispatch's internal
    /// error) and immediates stop after five bytes (32-bit) or ten (64-bit).
    #[test]
    fn out_of_bounds_accesses_are_contained() {
        let mut slots = [7u64, 8];
        let poison = Cell::new(false);
        let st = Stack::new(&mut slots, &poison);
        assert_eq!(Slot::at(st, 1).get(), 8);
        assert!(!poison.get());
        let past = Slot::at(st, 2);
        past.set(99);
        assert_eq!(past.get(), 0);
        assert!(poison.get());
        assert_eq!(Slot::at(st, 0).sub(1).get(), 0, "below the stack");
        assert_eq!(slots, [7, 8]);

        let code = [0x80u8, 0x80];
        let mut pc = Code::at(&code, 0);
        assert_eq!(pc.peek(5), 0xff);
        let _ = pc.leb_u32();
        assert_eq!(pc.offset(&code), 5, "a 32-bit LEB running off the code stops after five bytes");
        let mut pc = Code::at(&code, 0);
        let _ = pc.leb_i32();
        assert_eq!(pc.offset(&code), 5);
        let mut pc = Code::at(&code, 0);
        let _ = pc.leb_i64();
        assert_eq!(pc.offset(&code), 10, "a 64-bit one after ten");
        let mut pc = Code::at(&code, 0);
        pc.skip_leb();
        assert!(pc.offset(&code) <= 11);
        assert_eq!(side_word(&[0; 12], 1), None);
        assert_eq!(mem_load(&[1, 2, 3], 1, 2), Some(0x0302));
        assert_eq!(mem_store(&mut [0; 3], 2, 1, 2), None);
    }
}

#[cfg(test)]
mod leb_tests {
    use super::Code;

    /// `v`'s signed or unsigned LEB128 encoding, padded to `len` bytes (at least its
    /// minimal length), then an `end` byte: an instruction follows every immediate.
    fn encode(v: i128, len: usize) -> std::vec::Vec<u8> {
        let mut out = std::vec::Vec::new();
        let mut v = v;
        for i in 0..len {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            out.push(if i + 1 < len { b | 0x80 } else { b });
        }
        out.push(0x0b);
        out
    }

    fn minimal_len(v: i128, signed: bool) -> usize {
        (1..=10).find(|&n| if signed { v >= -(1i128 << (7 * n - 1)) && v < 1i128 << (7 * n - 1) } else { v < 1i128 << (7 * n) }).unwrap_or(10)
    }

    /// Every reader decodes every length of immediate, minimal or padded (as linkers
    /// pad relocated indices and addresses to five bytes), and stops right after it.
    #[test]
    fn leb_readers_decode_every_length_and_padding() {
        let mut values: std::vec::Vec<i128> = std::vec![0, 1, 63, 64, 127, 128, 8191, 8192, 16383, 16384];
        for k in [14, 20, 21, 27, 28, 31, 32, 34, 35, 41, 42, 48, 49, 55, 56, 62, 63] {
            values.extend([(1i128 << k) - 1, 1i128 << k, -(1i128 << k), -(1i128 << k) - 1]);
        }
        values.extend([0x9e37_79b9_7f4a_7c15u64 as i64 as i128, 1103515245, 2166136261u32 as i32 as i128, i64::MIN as i128, i64::MAX as i128]);
        for &v in &values {
            if (0..=u32::MAX as i128).contains(&v) {
                for len in minimal_len(v, false)..=5 {
                    let code = encode(v, len);
                    let mut pc = Code::at(&code, 0);
                    assert_eq!(pc.leb_u32() as i128, v, "u32 {v} in {len} bytes");
                    assert_eq!(pc.offset(&code), len);
                }
            }
            if (i32::MIN as i128..=i32::MAX as i128).contains(&v) {
                for len in minimal_len(v, true)..=5 {
                    let code = encode(v, len);
                    let mut pc = Code::at(&code, 0);
                    assert_eq!(pc.leb_i32() as i128, v, "i32 {v} in {len} bytes");
                    assert_eq!(pc.offset(&code), len);
                }
            }
            if (i64::MIN as i128..=i64::MAX as i128).contains(&v) {
                for len in minimal_len(v, true)..=10 {
                    let code = encode(v, len);
                    let mut pc = Code::at(&code, 0);
                    assert_eq!(pc.leb_i64() as i128, v, "i64 {v} in {len} bytes");
                    assert_eq!(pc.offset(&code), len);
                }
            }
        }
    }
}

#[cfg(test)]
mod grow_tests {
    use super::grow_zeroed;
    use allocator_api2::vec::Vec;

    /// Growing zeroes exactly the new bytes, over spare capacity that held other
    /// values (a shrunk vector's), for whole 64-byte chunks and the remainder alike.
    #[test]
    fn grow_zeroed_zeroes_only_the_new_bytes() {
        for (keep, n) in [(0, 0), (0, 31), (0, 63), (0, 64), (3, 100), (10, 150), (64, 64), (5, 199), (7, 1000)] {
            let mut v: Vec<u8> = Vec::new();
            v.extend_from_slice(&[0xa5; 200]);
            v.truncate(keep);
            grow_zeroed(&mut v, n).expect("room");
            assert_eq!(v.len(), n);
            assert!(v[..keep.min(n)].iter().all(|&b| b == 0xa5), "kept bytes changed ({keep}, {n})");
            assert!(v[keep.min(n)..].iter().all(|&b| b == 0), "new bytes not zero ({keep}, {n})");
        }
        let mut v: Vec<u8> = Vec::new();
        v.extend_from_slice(&[1; 8]);
        assert!(grow_zeroed(&mut v, 4).is_err(), "shrinking is refused, not done");
    }
}
