//! The side table: validate → **side table** → exec. Wasm code runs in place,
//! straight from the module bytes; what the bytes do not say cheaply — where a
//! branch lands and how the operand stack changes — the validator writes here,
//! one [`Entry`] per branch site, in code order (Titzer, "A fast in-place
//! interpreter for WebAssembly", OOPSLA 2022).
//!
//! The interpreter keeps a side-table pointer `stp` next to `pc`. Invariant:
//! at code offset `p`, `stp` = the number of entries emitted for branch sites
//! before `p` in the function. So a branch site's entry is always `side[stp]`:
//!
//! ```text
//!   br L            taken: apply side[stp]
//!   br_if L         taken: apply side[stp]        not taken: stp += 1
//!   br_table L* L   index i: apply side[stp + min(i, n)]
//!   if              false: apply side[stp]        true: stp += 1
//!   else            (reached from the then-arm) apply side[stp]
//! ```
//!
//! Applying an entry moves the top `keep` values down over `drop` values and
//! sets `pc` and `stp` to the target's — every branch is O(1). Code the
//! validator proves unreachable gets no entries (it never runs).
//!
//! Entries also carry fuel. Branch sites (and `return`, `unreachable`, tail
//! calls, the function's final `end`) cut a body into straight-line runs. Every
//! way into a run — a branch target, the fall-through after a `br_if` or an
//! `if`, the function entry (`FuncBody::entry_cost`) — knows how many
//! instructions lie from there to the end of its run, and the interpreter
//! charges that many when it enters. Fuel thus counts executed instructions
//! exactly, with no per-instruction work (a trap mid-run over-charges the rest
//! of that run).

/// One branch site's landing information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Entry {
    /// Absolute code offset of the target.
    pub pc: u32,
    /// Side-table index at the target.
    pub stp: u32,
    /// Values carried to the target (the label's arity).
    pub keep: u16,
    /// Values discarded under them.
    pub drop: u16,
    /// Instructions from the target to the end of its straight-line run.
    pub cost: u32,
    /// Instructions from just after this site to the end of that run (`br_if`
    /// not taken, `if` entering its then-arm).
    pub fall: u32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_is_twenty_bytes() {
        assert_eq!(core::mem::size_of::<super::Entry>(), 20);
    }
}
