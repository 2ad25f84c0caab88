//! The side table: validate → **side table** → exec. Wasm code runs in place,
//! straight from the module bytes; what the bytes do not say cheaply — where a
//! branch lands and how the operand stack changes — the validator writes here,
//! one 8-byte word per branch site, in code order (Titzer, "A fast in-place
//! interpreter for WebAssembly", OOPSLA 2022). The table is plain bytes: built
//! in RAM by the validator, or carried in flash next to the module by a packed
//! module (`pack`), where the loader's validator checks every word instead of
//! storing it.
//!
//! The interpreter keeps a side-table index `stp` next to `pc`. Invariant: at
//! code offset `p`, `stp` = the index of the first entry for a branch site at
//! or after `p` in the function. So a branch site's entry is always `side[stp]`:
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
//! moves `pc` and `stp` by the entry's deltas — every branch is O(1). Code the
//! validator proves unreachable gets no entries (it never runs).
//!
//! ## One entry: 64 bits of deltas and counts
//!
//! ```text
//!  63     58 57  54 53      44 43      34 33            18 17             0
//! ┌─────────┬──────┬──────────┬──────────┬────────────────┬────────────────┐
//! │ drop u6 │keep 4│ fall u10 │ cost u10 │   dstp i16     │    dpc i18     │
//! └─────────┴──────┴──────────┴──────────┴────────────────┴────────────────┘
//! ```
//!
//! - `dpc`: target pc − the branch instruction's own offset (±128 KiB);
//! - `dstp`: target stp − this entry's index (±32 K entries);
//! - `cost`: instructions from the target to the end of its straight-line run;
//! - `fall`: instructions from just after this site to the end of that run
//!   (`br_if` not taken, `if` entering its then-arm);
//! - `keep` (0..=14): values carried to the target; `drop` (0..=63): values
//!   discarded under them.
//!
//! The rare site whose numbers do not fit is an **escape**: `keep` = 15 and
//! the low 32 bits index the overflow table, whose 24-byte records hold the
//! same six fields at full width ([`Entry::to_wide`]). C and Rust code never
//! needed one in the programs measured (`fireball inspect` prints the count).
//!
//! ## Function headers
//!
//! Each function's entries are preceded by [`HEADER_ENTRIES`] words, so a
//! call finds everything about its callee at `side[stp_start]`:
//!
//! ```text
//!   word 0: code_len u32 (first instruction .. one past the final `end`) | entry_cost u32 << 32
//!   word 1: locals u16 | max_height u16 << 16 | params u16 << 32 | results u16 << 48
//! ```
//!
//! The module keeps only 8 bytes per function in RAM ([`crate::FuncBody`]:
//! where its code and its header are).
//!
//! ## Fuel
//!
//! Entries also carry fuel. Branch sites (and `return`, `unreachable`, tail
//! calls, the function's final `end`) cut a body into straight-line runs. Every
//! way into a run — a branch target, the fall-through after a `br_if` or an
//! `if`, the function entry (the header's `entry_cost`) — knows how many
//! instructions lie from there to the end of its run, and the interpreter
//! charges that many when it enters. Fuel thus counts executed instructions
//! exactly, with no per-instruction work (a trap mid-run over-charges the rest
//! of that run).

/// Bytes per side-table entry.
pub const ENTRY_BYTES: usize = 8;
/// Header words before each function's entries.
pub const HEADER_ENTRIES: u32 = 2;
/// Bytes per overflow record.
pub const WIDE_BYTES: usize = 24;

const DPC_BITS: u32 = 18;
const DSTP_BITS: u32 = 16;
const COST_SHIFT: u32 = 34;
const FALL_SHIFT: u32 = 44;
const COUNT_MASK: u64 = 0x3ff;
const KEEP_SHIFT: u32 = 54;
const DROP_SHIFT: u32 = 58;
const ESCAPE: u64 = 0xf;

/// One branch site's landing information, unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry {
    /// Target pc minus the branch instruction's offset.
    pub dpc: i32,
    /// Target stp minus this entry's index.
    pub dstp: i32,
    /// Values carried to the target (the label's arity).
    pub keep: u32,
    /// Values discarded under them.
    pub drop: u32,
    /// Instructions from the target to the end of its straight-line run.
    pub cost: u32,
    /// Instructions from just after this site to the end of that run.
    pub fall: u32,
}

fn fits_signed(v: i32, bits: u32) -> bool {
    let lim = 1i32 << (bits - 1);
    (-lim..lim).contains(&v)
}

impl Entry {
    /// The packed word, or `None` if a field does not fit (the site needs an escape).
    pub fn pack(&self) -> Option<u64> {
        if !fits_signed(self.dpc, DPC_BITS)
            || !fits_signed(self.dstp, DSTP_BITS)
            || self.cost as u64 > COUNT_MASK
            || self.fall as u64 > COUNT_MASK
            || self.keep as u64 >= ESCAPE
            || self.drop >= 64
        {
            return None;
        }
        Some(
            (self.dpc as u64 & ((1 << DPC_BITS) - 1))
                | (self.dstp as u64 & ((1 << DSTP_BITS) - 1)) << DPC_BITS
                | (self.cost as u64) << COST_SHIFT
                | (self.fall as u64) << FALL_SHIFT
                | (self.keep as u64) << KEEP_SHIFT
                | (self.drop as u64) << DROP_SHIFT,
        )
    }

    /// Unpack a word that is not an escape.
    #[inline(always)]
    pub fn unpack(w: u64) -> Entry {
        Entry { dpc: Self::dpc_of(w), dstp: Self::dstp_of(w), cost: Self::cost_of(w), fall: Self::fall_of(w), keep: Self::keep_of(w), drop: Self::drop_of(w) }
    }

    // One field of a packed word (not an escape), for the interpreter to read each
    // where it uses it: an unpacked `Entry` keeps six values live at once, which on
    // a Cortex-M the register allocator spilled at every taken branch.

    /// [`Entry::dpc`] of the packed word `w`.
    #[inline(always)]
    pub fn dpc_of(w: u64) -> i32 {
        ((w as u32) << (32 - DPC_BITS)) as i32 >> (32 - DPC_BITS)
    }

    /// [`Entry::dstp`] of the packed word `w`.
    #[inline(always)]
    pub fn dstp_of(w: u64) -> i32 {
        ((w << (64 - DPC_BITS - DSTP_BITS)) as i64 >> (64 - DSTP_BITS)) as i32
    }

    /// [`Entry::cost`] of the packed word `w`.
    #[inline(always)]
    pub fn cost_of(w: u64) -> u32 {
        ((w >> COST_SHIFT) & COUNT_MASK) as u32
    }

    /// [`Entry::fall`] of the packed word `w`.
    #[inline(always)]
    pub fn fall_of(w: u64) -> u32 {
        ((w >> FALL_SHIFT) & COUNT_MASK) as u32
    }

    /// [`Entry::keep`] of the packed word `w`.
    #[inline(always)]
    pub fn keep_of(w: u64) -> u32 {
        ((w >> KEEP_SHIFT) & ESCAPE) as u32
    }

    /// [`Entry::drop`] of the packed word `w`.
    #[inline(always)]
    pub fn drop_of(w: u64) -> u32 {
        (w >> DROP_SHIFT) as u32
    }

    /// The escape word pointing at overflow record `index`.
    pub fn escape(index: u32) -> u64 {
        ESCAPE << KEEP_SHIFT | index as u64
    }

    /// The overflow record `index`, if `w` is an escape.
    #[inline(always)]
    pub fn escaped(w: u64) -> Option<u32> {
        ((w >> KEEP_SHIFT) & ESCAPE == ESCAPE).then_some(w as u32)
    }

    /// The full-width overflow record.
    pub fn to_wide(&self) -> [u8; WIDE_BYTES] {
        let mut b = [0u8; WIDE_BYTES];
        let fields = [self.dpc as u32, self.dstp as u32, self.keep, self.drop, self.cost, self.fall];
        for (chunk, f) in b.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&f.to_le_bytes());
        }
        b
    }

    /// Decode an overflow record (`b` holds at least [`WIDE_BYTES`]; missing bytes read as 0).
    #[inline(never)]
    pub fn from_wide(b: &[u8]) -> Entry {
        let f = |i: usize| b.get(i * 4..i * 4 + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
        Entry { dpc: f(0) as i32, dstp: f(1) as i32, keep: f(2), drop: f(3), cost: f(4), fall: f(5) }
    }
}

/// What a call needs to know about a function, from its header words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Bytes from the first instruction to one past the final `end`.
    pub code_len: u32,
    /// Instructions in the body's first straight-line run (fuel charged on entry).
    pub entry_cost: u32,
    /// Parameters + declared locals.
    pub locals: u16,
    /// Deepest operand stack the function can reach.
    pub max_height: u16,
    /// Parameter count.
    pub params: u16,
    /// Result count.
    pub results: u16,
}

impl Header {
    /// The two header words.
    pub fn pack(&self) -> [u64; 2] {
        [
            self.code_len as u64 | (self.entry_cost as u64) << 32,
            self.locals as u64 | (self.max_height as u64) << 16 | (self.params as u64) << 32 | (self.results as u64) << 48,
        ]
    }

    /// Decode the two header words.
    #[inline(always)]
    pub fn unpack(w0: u64, w1: u64) -> Header {
        Header {
            code_len: w0 as u32,
            entry_cost: (w0 >> 32) as u32,
            locals: w1 as u16,
            max_height: (w1 >> 16) as u16,
            params: (w1 >> 32) as u16,
            results: (w1 >> 48) as u16,
        }
    }
}

/// Word `i` of a side table held as little-endian bytes (0 past the end).
pub fn word(table: &[u8], i: usize) -> u64 {
    match table.get(i * ENTRY_BYTES..i * ENTRY_BYTES + ENTRY_BYTES) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_and_escapes() {
        let e = Entry { dpc: -131072, dstp: 32767, keep: 14, drop: 63, cost: 1023, fall: 0 };
        let w = e.pack().expect("fits");
        assert_eq!(Entry::escaped(w), None);
        assert_eq!(Entry::unpack(w), e);
        let e = Entry { dpc: 5, dstp: -3, keep: 1, drop: 2, cost: 7, fall: 9 };
        assert_eq!(Entry::unpack(e.pack().expect("fits")), e);
        for big in [
            Entry { dpc: 131072, ..e },
            Entry { dstp: -32769, ..e },
            Entry { keep: 15, ..e },
            Entry { drop: 64, ..e },
            Entry { cost: 1024, ..e },
            Entry { fall: 5000, ..e },
        ] {
            assert_eq!(big.pack(), None, "{big:?}");
            assert_eq!(Entry::from_wide(&big.to_wide()), big);
        }
        assert_eq!(Entry::escaped(Entry::escape(77)), Some(77));
    }

    #[test]
    fn header_round_trips() {
        let h = Header { code_len: 123456, entry_cost: 99, locals: 40000, max_height: 65535, params: 3, results: 2 };
        let [a, b] = h.pack();
        assert_eq!(Header::unpack(a, b), h);
    }
}
