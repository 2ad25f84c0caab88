//! Here be dragons: the interpreter's unchecked accessors, the only `unsafe`
//! in the engine (listed in UNSAFE.md). Each is sound because the validator
//! proved the index in bounds before the code ever ran:
//!
//! - **code**: `pc` only ever points inside a validated function body (every
//!   instruction and immediate lies within it, and every side-table target is
//!   an instruction boundary of the same body), so `code[pc]` is in bounds.
//! - **side table**: `stp` is the index of the current branch site's entry,
//!   which the validator emitted for every reachable branch site.
//! - **value stack**: a call is admitted only if `base + locals + max_height`
//!   fits the stack, where `max_height` is the deepest operand stack the
//!   validator saw in that body; every slot the body touches is below that.
//!
//! With the `checked` feature these are ordinary bounds-checked accesses
//! (a violated invariant then panics instead of being undefined behaviour);
//! debug builds also `debug_assert!` every index. CI runs the spec suite and
//! the robustness tests in debug.

/// `code[i]` for a validated body.
#[inline(always)]
pub(crate) fn byte(code: &[u8], i: usize) -> u8 {
    #[cfg(feature = "checked")]
    {
        code[i]
    }
    #[cfg(not(feature = "checked"))]
    {
        debug_assert!(i < code.len());
        // SAFETY: `i` is a pc inside a validated body (module docs: code).
        unsafe { *code.get_unchecked(i) }
    }
}

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

/// `stack[i]` within the running frame.
#[inline(always)]
pub(crate) fn slot(stack: &mut [u64], i: usize) -> &mut u64 {
    #[cfg(feature = "checked")]
    {
        &mut stack[i]
    }
    #[cfg(not(feature = "checked"))]
    {
        debug_assert!(i < stack.len());
        // SAFETY: `i < base + locals + max_height <= stack.len()` (module docs: value stack).
        unsafe { stack.get_unchecked_mut(i) }
    }
}

/// Decode an unsigned LEB128 `u32` immediate from validated code at `*pc`.
#[inline(always)]
pub(crate) fn leb_u32(code: &[u8], pc: &mut usize) -> u32 {
    let b = byte(code, *pc);
    *pc += 1;
    if b < 0x80 {
        return b as u32;
    }
    let mut result = (b & 0x7f) as u32;
    let mut shift = 7;
    loop {
        let b = byte(code, *pc);
        *pc += 1;
        result |= ((b & 0x7f) as u32).wrapping_shl(shift);
        if b & 0x80 == 0 {
            return result;
        }
        shift += 7;
    }
}

/// Decode a signed LEB128 immediate of up to 64 bits from validated code.
#[inline(always)]
pub(crate) fn leb_i64(code: &[u8], pc: &mut usize) -> i64 {
    let b = byte(code, *pc);
    if b < 0x80 {
        *pc += 1;
        // One byte: sign-extend bit 6.
        return ((b << 1) as i8 >> 1) as i64;
    }
    let mut result = 0i64;
    let mut shift = 0u32;
    loop {
        let b = byte(code, *pc);
        *pc += 1;
        result |= ((b & 0x7f) as i64).wrapping_shl(shift);
        shift += 7;
        if b & 0x80 == 0 {
            if shift < 64 && b & 0x40 != 0 {
                result |= -1i64 << shift;
            }
            return result;
        }
    }
}

/// Read `N` bytes of linear memory at effective address `ea`, or `None` if
/// any of them is out of bounds (the wasm bounds check itself).
#[inline(always)]
pub(crate) fn mem_load<const N: usize>(m: &[u8], ea: u64) -> Option<[u8; N]> {
    if ea + N as u64 > m.len() as u64 {
        return None;
    }
    let mut b = [0u8; N];
    // SAFETY: `ea + N <= m.len()` was checked just above, so the source range is in bounds;
    // `b` is a distinct local of exactly N bytes.
    unsafe { core::ptr::copy_nonoverlapping(m.as_ptr().add(ea as usize), b.as_mut_ptr(), N) };
    Some(b)
}

/// Write `N` bytes of linear memory at `ea`; `None` (and nothing written) if out of bounds.
#[inline(always)]
pub(crate) fn mem_store<const N: usize>(m: &mut [u8], ea: u64, b: [u8; N]) -> Option<()> {
    if ea + N as u64 > m.len() as u64 {
        return None;
    }
    // SAFETY: `ea + N <= m.len()` was checked just above; `b` does not overlap `m`.
    unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), m.as_mut_ptr().add(ea as usize), N) };
    Some(())
}
