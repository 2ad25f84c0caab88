//! Packed modules: a module's bytes with its side table, so a device can keep
//! both in flash. `fireball pack app.wasm -o app.fbx` writes one; loading it
//! ([`crate::Module::from_packed_in`]) re-runs the validator, which checks every
//! side-table word (and the function index) against the packed one instead of
//! storing it: a packed table is never trusted, it only saves the RAM the table
//! would take.
//!
//! The one exception is opt-in and takes an `unsafe` promise: a container the
//! firmware's own build validated and packed (the guest linked into flash with the
//! engine) can be wrapped in a [`Prevalidated`] and loaded by
//! [`crate::Module::from_prevalidated_in`] without validating its function bodies
//! again. The function index is what lets it find each body's side table
//! without the validator.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//!  0  magic      "FBX\0"
//!  4  version    u16 = 2 (this container)     6  table version u16 = 1 (sidetable's format)
//!  8  wasm_len   u32                         12  side_len u32 (bytes, a multiple of 8)
//! 16  overflow_len u32 (a multiple of 24)    20  funcs u32: defined functions
//! 24  hash       u64: FNV-1a over the payload's 64-bit words (zero-padded tail)
//! 32  payload:   wasm bytes, zero padding to a multiple of 8, side table, overflow records,
//!                function index: `funcs` u32s, each defined function's first
//!                side-table word (its header), in code-section order
//! ```
//!
//! (Version 1 had no index: offset 20 was reserved, zero.)
//!
//! The hash catches a container damaged in storage before anything is parsed;
//! the validator's check is what makes a forged table harmless.

use crate::error::{DecodeError, LoadError, Reason};
use crate::sidetable::{ENTRY_BYTES, WIDE_BYTES};

/// The container's magic bytes.
pub const MAGIC: [u8; 4] = *b"FBX\0";
/// Container version.
pub const VERSION: u16 = 2;
/// Side-table format version.
pub const TABLE_VERSION: u16 = 1;
/// Header bytes before the payload.
pub const HEADER_BYTES: usize = 32;

/// A packed module that the firmware's own build validated and packed: the promise
/// that lets [`crate::Module::from_prevalidated_in`] skip the validator.
///
/// Its only constructor is `unsafe` ([`Prevalidated::new`]): holding one *is* the
/// promise, so the loader that takes it is safe to call, and so is anything that
/// passes one along (a firmware's guest list, the `fireball` facade).
#[derive(Debug, Clone, Copy)]
pub struct Prevalidated<'b> {
    bytes: &'b [u8],
}

impl<'b> Prevalidated<'b> {
    /// Promise that `packed` was validated by this engine's build.
    ///
    /// What loading still refuses with an error: a damaged container (its hash), one
    /// of another format version, and an index or table that does not fit the module
    /// (each function's header is checked against its body's length, locals and
    /// signature).
    ///
    /// # Safety
    ///
    /// `packed` must be exactly what [`crate::Module::write_packed`] (or `fireball
    /// pack`) of this engine version wrote for a module that loaded, and the features
    /// it is later loaded with must allow everything it uses. The interpreter relies
    /// on the validator's guarantees (operand-stack bounds, local indices, branch
    /// targets) without checking them again: a container forged to pass the checks
    /// above can make it read and write outside its stacks. Never promise this for
    /// bytes from outside the firmware (a download, a file system, a debugger): load
    /// those with [`crate::Module::from_packed_in`]. The usual caller is a firmware
    /// whose `build.rs` validated and packed the guest it embeds with `include_bytes!`.
    // The `checked` build denies `unsafe_code`; this declaration is its one exception
    // (nothing unsafe happens here; in that build the interpreter checks every access,
    // so a broken promise traps). UNSAFE.md, "The prevalidated packed loader".
    #[allow(unsafe_code)]
    pub const unsafe fn new(packed: &'b [u8]) -> Self {
        Prevalidated { bytes: packed }
    }

    /// The container's bytes.
    pub const fn bytes(&self) -> &'b [u8] {
        self.bytes
    }
}

/// The parts of a packed module, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'b> {
    /// The untouched wasm bytes.
    pub wasm: &'b [u8],
    /// Side-table words.
    pub side: &'b [u8],
    /// Overflow records.
    pub overflow: &'b [u8],
    /// Function index: a little-endian u32 per defined function, the index of its
    /// first side-table word.
    pub index: &'b [u8],
}

/// One FNV-1a step over a 64-bit word.
#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x0000_0100_0000_01b3)
}

fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// FNV-1a over 64-bit little-endian words of `chunks`, each zero-padded to a multiple of 8 bytes.
pub fn hash<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chunks {
        // Four words a step (the same hash): the loop's own counting and branching were
        // a fifth of a Cortex-M's instructions per word (start-up: scripts/startup-qemu.sh).
        let (words, rest) = c.as_chunks::<8>();
        let (quads, singles) = words.as_chunks::<4>();
        for [a, b, c, d] in quads {
            h = mix(mix(mix(mix(h, u64::from_le_bytes(*a)), u64::from_le_bytes(*b)), u64::from_le_bytes(*c)), u64::from_le_bytes(*d));
        }
        for w in singles {
            h = mix(h, u64::from_le_bytes(*w));
        }
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            h = mix(h, u64::from_le_bytes(b));
        }
    }
    h
}

/// Split a packed module into its parts, checking the header and the hash.
pub fn parse(b: &[u8]) -> Result<Parts<'_>, LoadError> {
    let err = |offset: usize, reason: Reason| LoadError::Decode(DecodeError { offset, reason });
    if b.len() < HEADER_BYTES || b[..4] != MAGIC {
        return Err(err(0, Reason::NotPacked));
    }
    let version = u16::from_le_bytes([b[4], b[5]]);
    let table = u16::from_le_bytes([b[6], b[7]]);
    if version != VERSION || table != TABLE_VERSION {
        return Err(err(4, Reason::PackedVersion));
    }
    let wasm_len = u32_at(b, 8) as usize;
    let side_len = u32_at(b, 12) as usize;
    let over_len = u32_at(b, 16) as usize;
    let index_len = (u32_at(b, 20) as usize).checked_mul(4).ok_or(err(20, Reason::MalformedPackedModuleHeader))?;
    if !side_len.is_multiple_of(ENTRY_BYTES) || !over_len.is_multiple_of(WIDE_BYTES) {
        return Err(err(8, Reason::MalformedPackedModuleHeader));
    }
    let wasm_at = HEADER_BYTES;
    let side_at = wasm_at.checked_add(pad8(wasm_len)).ok_or(err(8, Reason::MalformedPackedModuleHeader))?;
    let over_at = side_at.checked_add(side_len).ok_or(err(12, Reason::MalformedPackedModuleHeader))?;
    let index_at = over_at.checked_add(over_len).ok_or(err(16, Reason::MalformedPackedModuleHeader))?;
    let end = index_at.checked_add(index_len).ok_or(err(20, Reason::MalformedPackedModuleHeader))?;
    if end != b.len() {
        return Err(err(b.len().min(end), Reason::PackedLength));
    }
    let stored = u64::from_le_bytes([b[24], b[25], b[26], b[27], b[28], b[29], b[30], b[31]]);
    if hash([&b[HEADER_BYTES..]]) != stored {
        return Err(err(24, Reason::PackedHash));
    }
    // (The offsets were checked against the length above; `get` says so without a panic path.)
    match (b.get(wasm_at..wasm_at + wasm_len), b.get(side_at..over_at), b.get(over_at..index_at), b.get(index_at..end)) {
        (Some(wasm), Some(side), Some(overflow), Some(index)) => Ok(Parts { wasm, side, overflow, index }),
        _ => Err(err(8, Reason::MalformedPackedModuleHeader)),
    }
}

/// Write the container for `wasm`, its side table and its function index (each
/// defined function's first side-table word) through `out`, in order. Returns the
/// container's length.
pub fn write(wasm: &[u8], side: &[u8], overflow: &[u8], index: impl Iterator<Item = u32> + Clone, mut out: impl FnMut(&[u8])) -> usize {
    let pad = [0u8; 8];
    let padding = &pad[..pad8(wasm.len()) - wasm.len()];
    // `hash` zero-pads each chunk to 8 bytes, so hashing the wasm alone covers its padding;
    // the index comes last (every chunk before it is a multiple of 8 bytes), two entries
    // to a word, a lone last one zero-padded, as `parse` hashes the container's bytes.
    let mut h = hash([wasm, side, overflow]);
    let mut funcs = 0u32;
    let mut it = index.clone();
    while let Some(lo) = it.next() {
        let (hi, n) = it.next().map_or((0, 1), |hi| (hi, 2));
        funcs += n;
        h = mix(h, lo as u64 | (hi as u64) << 32);
    }
    let mut head = [0u8; HEADER_BYTES];
    head[..4].copy_from_slice(&MAGIC);
    head[4..6].copy_from_slice(&VERSION.to_le_bytes());
    head[6..8].copy_from_slice(&TABLE_VERSION.to_le_bytes());
    head[8..12].copy_from_slice(&(wasm.len() as u32).to_le_bytes());
    head[12..16].copy_from_slice(&(side.len() as u32).to_le_bytes());
    head[16..20].copy_from_slice(&(overflow.len() as u32).to_le_bytes());
    head[20..24].copy_from_slice(&funcs.to_le_bytes());
    head[24..32].copy_from_slice(&h.to_le_bytes());
    for chunk in [&head[..], wasm, padding, side, overflow] {
        out(chunk);
    }
    for stp in index {
        out(&stp.to_le_bytes());
    }
    HEADER_BYTES + wasm.len() + padding.len() + side.len() + overflow.len() + funcs as usize * 4
}

impl<A: allocator_api2::alloc::Allocator + Clone> crate::Module<'_, A> {
    /// Write this module packed (its bytes and side table, see [`crate::pack`]) through `out`.
    pub fn write_packed(&self, out: impl FnMut(&[u8])) -> usize {
        let (side, overflow) = self.side_table();
        write(self.bytes(), side, overflow, self.bodies.iter().map(|b| b.stp_start), out)
    }
}

#[cfg(test)]
mod tests {
    use super::{hash, mix};

    /// The unrolled hash is the container format's: FNV-1a word by word, each chunk
    /// zero-padded to 8 bytes (containers written before the unrolling still load).
    #[test]
    fn hash_is_fnv1a_over_zero_padded_words() {
        let bytes: [u8; 203] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        for (a, b) in [(0, 0), (0, 1), (7, 64), (8, 40), (3, 203), (0, 203), (100, 131)] {
            let chunks = [&bytes[..a], &bytes[a..b], &bytes[b..]];
            let mut want: u64 = 0xcbf2_9ce4_8422_2325;
            for c in chunks {
                for w in c.chunks(8) {
                    let mut word = [0u8; 8];
                    word[..w.len()].copy_from_slice(w);
                    want = mix(want, u64::from_le_bytes(word));
                }
            }
            assert_eq!(hash(chunks), want, "chunks split at {a} and {b}");
        }
    }
}
