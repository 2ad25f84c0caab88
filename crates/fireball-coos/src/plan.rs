//! The memory plan: the first stage of COOS. From a [`Config`] (RAM size and
//! counts) [`plan`] computes where the six partitions of FIREBALL.md §3 and
//! the coroutine-stack area sit in RAM ([`Layout`]); `mem::Memory` then
//! carves the RAM along that layout.
//!
//! ```text
//! Config { ram, n_coro, n_chan, n_dev, n_svc, stack, max_service_size }
//!   -> plan() -> Layout   (P1 P2 P3 P4 P6 | stacks | P5, offsets from RAM start)
//!   -> mem::Memory::new(&layout, ram)
//! ```
//!
//! # Formulas (seed §1.2.5; "KB" there means KiB)
//!
//! | partition | size |
//! |---|---|
//! | P1 kernel | `512 + N_chan × 128` |
//! | P2 runtime | `max(4 KiB, 512 + 256×4 + 64×4 + 512 + 256)` = 4 KiB |
//! | P3 subsystems | `max(4 KiB, 256×8 + 512 + N_dev × 48 + 512)` |
//! | P4 services | `max(4 KiB, N_svc × MAX_SERVICE_SIZE + 1 KiB)` |
//! | P6 reserve | 2.5 KiB |
//! | stacks | `N_coro × STACK` |
//! | P5 guest | `RAM − (P1+P2+P3+P4+P6) − N_coro × STACK` (at least [`MIN_GUEST`]) |
//!
//! Every size is rounded up to [`ALIGN`] (P5 down), so every region and every
//! coroutine stack starts 8-byte aligned, as the AAPCS requires of a stack.
//!
//! # Reconciling the formulas with the seed's table
//!
//! The seed's per-size table (32/64/128/256 KB rows) and its own formulas do
//! not agree; the table wins, and the rows' configurations ([`Config::row`])
//! are chosen so the formulas reproduce it:
//!
//! - **P1 = 1.5 KiB** in every row, but `512 + N_chan × 128` with the default
//!   N_chan = 16 is 2.5 KiB (the seed computes 2.5 KiB and then "recommends
//!   1.5 KiB for margin", which is smaller, not a margin; its itemisation
//!   320 + N_chan×128 + 512 + 512 + 256 is also not `512 + N_chan × 128`).
//!   The rows therefore use **N_chan = 8**; [`Config::new`] keeps the spec's
//!   default 16 (P1 = 2.5 KiB).
//! - **P2**: the formula sums to 2.5 KiB, the table says 4 KiB ("recommended:
//!   4 KB, ample margin"): the recommended size is a floor, `max(4 KiB, formula)`.
//! - **P3**: `256×8 + 512 + 512` is 3 KiB (the seed writes "3.3 KB"), so with
//!   N_dev = 16 the formula gives 3.75 KiB (the seed: "4.1 KB"); the table's
//!   4 KiB is again a floor, `max(4 KiB, formula)`; the seed asks P3 never
//!   to fail, so more devices raise it past 4 KiB.
//! - **P4 = 4 KiB** (32–128 KB rows): N_svc = 1 service of 2 KiB (the seed's
//!   example size): `max(4 KiB, 3 KiB)`. **P4 = 8 KiB** (256 KB+ row): the
//!   seed's 2 × 2 KiB gives 5 KiB "→ recommended 8 KB"; the row uses
//!   N_svc = 2 services of 3.5 KiB, `2 × 3.5 + 1 = 8 KiB`, so the room is
//!   real rather than unexplained.
//! - **256 KB+**: the seed's row (32+ coroutines × 8 KiB stacks) is impossible
//!   as written: 32 × 8 KiB is 256 KiB on its own, the whole RAM of the row's
//!   smallest device. The stacks are real memory (each wasm task's interpreter
//!   stacks live in its coroutine stack), so [`Config::row`] keeps the 8 KiB
//!   stack and halves the count below 512 KiB: **16 coroutines × 8 KiB** from
//!   256 KiB (128 KiB of stacks, the guest gets 108 KiB of a 256 KiB device),
//!   the seed's **32 × 8 KiB** from 512 KiB (the guest gets 236 KiB).
//!   [`Config::seed_note`] says so, and `fireball plan` prints it.
//!
//! # Order in RAM
//!
//! The seed's 32 KB diagram: P1, P2, P3, P4, P6, the coroutine stacks, then
//! P5 (the rest). Stacks grow down, so the lowest stack overflowing runs into
//! P6, the reserve that normal operation never touches.
#![forbid(unsafe_code)]

use core::fmt;

use crate::mem::PartitionId;

/// One kibibyte (the seed's "KB").
pub const KIB: usize = 1024;
/// Every region's offset and size is a multiple of this (the AAPCS stack alignment).
pub const ALIGN: usize = 8;
/// The smallest guest partition (P5) [`plan`] accepts: room for a guest's
/// store, its thread (256 value slots × 8 B + 32 frames ≈ 2.5 KiB) and a
/// sub-page linear memory. The seed's smallest row gives the guest 8 KiB.
pub const MIN_GUEST: usize = 4 * KIB;
/// P2 never goes below this (the seed's recommended runtime heap).
pub const P2_FLOOR: usize = 4 * KIB;
/// P3 never goes below this (the seed's recommended subsystems heap).
pub const P3_FLOOR: usize = 4 * KIB;
/// P4 never goes below this (the seed's initial services heap).
pub const P4_FLOOR: usize = 4 * KIB;
/// P6, the reserve: fixed at 2.5 KiB.
pub const RESERVE: usize = 2 * KIB + KIB / 2;

/// What the plan is computed from: RAM size and the counts that size the
/// partitions (bytes and counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Bytes of RAM to divide.
    pub ram: usize,
    /// Coroutines (each gets one stack).
    pub n_coro: usize,
    /// Channels the kernel holds at once (sizes P1).
    pub n_chan: usize,
    /// Hardware devices in the HAL registry (sizes P3).
    pub n_dev: usize,
    /// Service plugins (sizes P4).
    pub n_svc: usize,
    /// Bytes of each coroutine stack (a multiple of [`ALIGN`]).
    pub stack: usize,
    /// Bytes of each service's sub-heap in P4.
    pub max_service_size: usize,
}

impl Config {
    /// The spec's defaults for `ram` bytes: N_coro 8, N_chan 16, N_dev 16,
    /// N_svc 2 services of 2 KiB, 4 KiB stacks (the 64/128 KB rows' size).
    /// On the 96 KiB STM32F401 this leaves the guest 46 KiB (the seed's
    /// recommendation is 32–48 KiB).
    pub const fn new(ram: usize) -> Config {
        Config { ram, n_coro: 8, n_chan: 16, n_dev: 16, n_svc: 2, stack: 4 * KIB, max_service_size: 2 * KIB }
    }

    /// The seed's per-size plan for `ram` bytes (FIREBALL.md §3): the 32 KB row
    /// below 64 KiB, the 64 KB row below 128 KiB, the 128 KB row below
    /// 256 KiB, the 256 KB+ row from there. See the module docs for why the
    /// rows use N_chan = 8 and these service sizes.
    pub const fn row(ram: usize) -> Config {
        let (n_coro, stack, n_svc, max_service_size) = if ram < 64 * KIB {
            (4, 2 * KIB, 1, 2 * KIB)
        } else if ram < 128 * KIB {
            (8, 4 * KIB, 1, 2 * KIB)
        } else if ram < 256 * KIB {
            (16, 4 * KIB, 1, 2 * KIB)
        } else if ram < 512 * KIB {
            // The seed's 32 × 8 KiB would take all 256 KiB: see `seed_note`.
            (16, 8 * KIB, 2, 3 * KIB + KIB / 2)
        } else {
            (32, 8 * KIB, 2, 3 * KIB + KIB / 2)
        };
        Config { ram, n_coro, n_chan: 8, n_dev: 16, n_svc, stack, max_service_size }
    }

    /// Where [`Config::row`] departs from the seed's table for this RAM size, and why.
    pub const fn seed_note(ram: usize) -> Option<&'static str> {
        if ram >= 256 * KIB && ram < 512 * KIB {
            Some(
                "the seed's 256 KB row asks for 32 coroutines x 8 KiB stacks, which is 256 KiB of stacks alone: \
                 impossible below 512 KiB, so this plan keeps the 8 KiB stacks and uses 16 coroutines (32 from 512 KiB)",
            )
        } else {
            None
        }
    }
}

impl Default for Config {
    /// [`Config::new`] for the reference board's 96 KiB (STM32F401).
    fn default() -> Self {
        Config::new(96 * KIB)
    }
}

/// A byte range of RAM, as an offset from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Region {
    /// First byte, from the start of RAM.
    pub offset: usize,
    /// Length in bytes.
    pub size: usize,
}

impl Region {
    /// One past the last byte.
    pub const fn end(&self) -> usize {
        self.offset + self.size
    }
}

/// Where everything sits: the result of [`plan`] (only `plan` makes one, so
/// its regions are always back to back, aligned and inside the RAM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    config: Config,
    /// P1..P6, indexed by [`PartitionId::index`].
    partitions: [Region; 6],
    stacks: Region,
}

impl Layout {
    /// The configuration this layout was computed from.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The coroutine-stack area: `n_coro` stacks of `stack` bytes.
    pub const fn stacks(&self) -> Region {
        self.stacks
    }

    /// The region of partition `id`.
    pub const fn partition(&self, id: PartitionId) -> Region {
        self.partitions[id.index()]
    }

    /// The `i`-th coroutine stack (`None` past `n_coro`).
    pub const fn stack(&self, i: usize) -> Option<Region> {
        if i < self.config.n_coro {
            Some(Region { offset: self.stacks.offset + i * self.config.stack, size: self.config.stack })
        } else {
            None
        }
    }

    /// Bytes of RAM the layout uses (P5 ends here); at most `config.ram`
    /// (less only by the alignment of P5's end).
    pub const fn used(&self) -> usize {
        self.partitions[PartitionId::Guest.index()].end()
    }
}

/// Why a configuration has no layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// The fixed partitions and the stacks leave less than [`MIN_GUEST`] for the guest.
    DoesNotFit {
        /// Bytes of RAM available.
        ram: usize,
        /// P1 + P2 + P3 + P4 + P6.
        fixed: usize,
        /// N_coro × STACK.
        stacks: usize,
        /// The least the guest partition needs ([`MIN_GUEST`]).
        min_guest: usize,
    },
    /// `n_coro` is 0: nothing could run.
    NoCoroutines,
    /// The stack size is 0 or not a multiple of [`ALIGN`].
    StackMisaligned {
        /// The configured stack size.
        stack: usize,
    },
    /// A size computed from the configuration overflows `usize`.
    Overflow,
}

impl PlanError {
    /// Bytes more RAM the configuration needs (0 for errors that are not about size).
    pub const fn short_by(&self) -> usize {
        match *self {
            PlanError::DoesNotFit { ram, fixed, stacks, min_guest } => {
                (fixed + stacks + min_guest).saturating_sub(ram)
            }
            _ => 0,
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PlanError::DoesNotFit { ram, fixed, stacks, min_guest } => write!(
                f,
                "the plan does not fit in {ram} B of RAM: P1..P4 + P6 need {fixed} B, the coroutine stacks {stacks} B \
                 and the guest (P5) at least {min_guest} B, {} B in all: {} B short",
                fixed + stacks + min_guest,
                self.short_by()
            ),
            PlanError::NoCoroutines => f.write_str("the plan has no coroutines (n_coro = 0)"),
            PlanError::StackMisaligned { stack } => {
                write!(f, "coroutine stack size {stack} B is not a positive multiple of {ALIGN} B")
            }
            PlanError::Overflow => f.write_str("the configuration's sizes overflow the address space"),
        }
    }
}

impl core::error::Error for PlanError {}

const fn round_up(x: usize) -> Option<usize> {
    match x.checked_add(ALIGN - 1) {
        Some(y) => Some(y & !(ALIGN - 1)),
        None => None,
    }
}

fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// The sizes of P1, P2, P3, P4 and P6 (before alignment), by the formulas in the module docs.
fn fixed_sizes(c: &Config) -> Option<[usize; 5]> {
    let p1 = c.n_chan.checked_mul(128)?.checked_add(512)?;
    let p2 = max(P2_FLOOR, 512 + 256 * 4 + 64 * 4 + 512 + 256);
    let p3 = max(P3_FLOOR, c.n_dev.checked_mul(48)?.checked_add(256 * 8 + 512 + 512)?);
    let p4 = max(P4_FLOOR, c.n_svc.checked_mul(c.max_service_size)?.checked_add(KIB)?);
    Some([p1, p2, p3, p4, RESERVE])
}

/// Computes the layout for `config`, or says what does not fit and by how much.
///
/// ```
/// use fireball_coos::plan::{plan, Config, KIB};
/// use fireball_coos::mem::PartitionId;
/// let layout = plan(&Config::row(32 * KIB)).unwrap();
/// assert_eq!(layout.partition(PartitionId::Guest).size, 8 * KIB);
/// let mut seed = Config::row(256 * KIB);
/// seed.n_coro = 32;
/// assert!(plan(&seed).is_err()); // 32 × 8 KiB stacks fill 256 KiB alone
/// ```
pub fn plan(config: &Config) -> Result<Layout, PlanError> {
    if config.n_coro == 0 {
        return Err(PlanError::NoCoroutines);
    }
    if config.stack == 0 || !config.stack.is_multiple_of(ALIGN) {
        return Err(PlanError::StackMisaligned { stack: config.stack });
    }
    let sizes = fixed_sizes(config).ok_or(PlanError::Overflow)?;
    let mut aligned = [0usize; 5];
    for (a, s) in aligned.iter_mut().zip(sizes) {
        *a = round_up(s).ok_or(PlanError::Overflow)?;
    }
    let fixed = aligned.iter().try_fold(0usize, |acc, s| acc.checked_add(*s)).ok_or(PlanError::Overflow)?;
    let stacks = config.n_coro.checked_mul(config.stack).ok_or(PlanError::Overflow)?;
    let before_guest = fixed.checked_add(stacks).ok_or(PlanError::Overflow)?;
    let guest = config.ram.saturating_sub(before_guest) & !(ALIGN - 1);
    if config.ram < before_guest || guest < MIN_GUEST {
        return Err(PlanError::DoesNotFit { ram: config.ram, fixed, stacks, min_guest: MIN_GUEST });
    }

    // P1 P2 P3 P4 P6 | stacks | P5
    let [p1, p2, p3, p4, p6] = aligned;
    let mut partitions = [Region::default(); 6];
    let mut at = 0;
    for (id, size) in [
        (PartitionId::Kernel, p1),
        (PartitionId::Runtime, p2),
        (PartitionId::Subsystems, p3),
        (PartitionId::Services, p4),
        (PartitionId::Reserve, p6),
    ] {
        partitions[id.index()] = Region { offset: at, size };
        at += size;
    }
    let stack_area = Region { offset: at, size: stacks };
    partitions[PartitionId::Guest.index()] = Region { offset: stack_area.end(), size: guest };
    Ok(Layout { config: *config, partitions, stacks: stack_area })
}

/// Bytes as "1.5 KiB" when they are a multiple of 512, else "1234 B"; honours width and alignment.
struct Bytes(usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        let mut text = Text::default();
        // `Text` never fails (it cuts what does not fit in its 24 bytes, more than a usize needs).
        let _ = if b >= KIB && b.is_multiple_of(KIB / 2) {
            if b.is_multiple_of(KIB) {
                fmt::write(&mut text, format_args!("{} KiB", b / KIB))
            } else {
                fmt::write(&mut text, format_args!("{}.5 KiB", b / KIB))
            }
        } else {
            fmt::write(&mut text, format_args!("{b} B"))
        };
        f.pad(text.as_str())
    }
}

/// A small stack buffer to format into, so the result can be padded as one piece.
#[derive(Default)]
struct Text {
    buf: [u8; 24],
    len: usize,
}

impl Text {
    fn as_str(&self) -> &str {
        // Only whole ASCII strings are written (see `write_str`).
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !s.is_ascii() || self.len + s.len() > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

impl fmt::Display for Layout {
    /// A table: one line per region in RAM order, with offset, size and the
    /// exhaustion policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "RAM {} ({} B): {} coroutines x {} stacks, {} channels, {} devices, services {} x {}",
            Bytes(c.ram),
            c.ram,
            c.n_coro,
            Bytes(c.stack),
            c.n_chan,
            c.n_dev,
            c.n_svc,
            Bytes(c.max_service_size)
        )?;
        writeln!(f, "{:<4} {:<11} {:>8} {:>8} {:>10}  on exhaustion", "", "partition", "offset", "bytes", "size")?;
        let row = |f: &mut fmt::Formatter<'_>, tag: &str, name: &str, r: Region, what: &dyn fmt::Display| {
            writeln!(f, "{tag:<4} {name:<11} {:>8} {:>8} {:>10}  {what}", r.offset, r.size, Bytes(r.size))
        };
        for id in [PartitionId::Kernel, PartitionId::Runtime, PartitionId::Subsystems, PartitionId::Services, PartitionId::Reserve] {
            row(f, id.tag(), id.name(), self.partition(id), &id.policy())?;
        }
        row(f, "--", "stacks", self.stacks, &StackNote(c.n_coro, c.stack))?;
        let guest = PartitionId::Guest;
        row(f, guest.tag(), guest.name(), self.partition(guest), &guest.policy())?;
        let unused = c.ram - self.used();
        if unused > 0 {
            writeln!(f, "({unused} B at the end unused: alignment)")?;
        }
        Ok(())
    }
}

struct StackNote(usize, usize);

impl fmt::Display for StackNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} x {} B (bounds the coroutines)", self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartitionId::*;

    fn sizes(l: &Layout) -> [usize; 6] {
        [Kernel, Runtime, Subsystems, Services, Reserve, Guest].map(|id| l.partition(id).size)
    }

    fn check_contiguous(l: &Layout) {
        let order = [Kernel, Runtime, Subsystems, Services, Reserve];
        let mut at = 0;
        for id in order {
            assert_eq!(l.partition(id).offset, at, "{id:?}");
            at = l.partition(id).end();
        }
        assert_eq!(l.stacks.offset, at);
        assert_eq!(l.partition(Guest).offset, l.stacks.end());
        assert!(l.used() <= l.config.ram);
        for r in l.partitions.iter().chain([&l.stacks]) {
            assert_eq!(r.offset % ALIGN, 0);
            assert_eq!(r.size % ALIGN, 0);
        }
    }

    #[test]
    fn row_32k() {
        let l = plan(&Config::row(32 * KIB)).unwrap();
        // P1 P2 P3 P4 P6 P5, as FIREBALL.md §3 writes the row.
        assert_eq!(sizes(&l), [1536, 4096, 4096, 4096, 2560, 8 * KIB]);
        assert_eq!((l.config.n_coro, l.config.stack, l.stacks.size), (4, 2 * KIB, 8 * KIB));
        assert_eq!(l.used(), 32 * KIB);
        check_contiguous(&l);
    }

    #[test]
    fn row_64k() {
        let l = plan(&Config::row(64 * KIB)).unwrap();
        assert_eq!(sizes(&l), [1536, 4096, 4096, 4096, 2560, 16 * KIB]);
        assert_eq!((l.config.n_coro, l.config.stack, l.stacks.size), (8, 4 * KIB, 32 * KIB));
        assert_eq!(l.used(), 64 * KIB);
        check_contiguous(&l);
    }

    #[test]
    fn row_128k() {
        let l = plan(&Config::row(128 * KIB)).unwrap();
        assert_eq!(sizes(&l), [1536, 4096, 4096, 4096, 2560, 48 * KIB]);
        assert_eq!((l.config.n_coro, l.config.stack, l.stacks.size), (16, 4 * KIB, 64 * KIB));
        check_contiguous(&l);
    }

    #[test]
    fn row_256k_halves_the_seeds_coroutines() {
        // 16 × 8 KiB stacks; P4 = 8 KiB; the guest gets the rest.
        let l = plan(&Config::row(256 * KIB)).unwrap();
        assert_eq!((l.config.n_coro, l.config.stack, l.stacks.size), (16, 8 * KIB, 128 * KIB));
        assert_eq!(sizes(&l), [1536, 4096, 4096, 8 * KIB, 2560, 256 * KIB - 20 * KIB - 128 * KIB]);
        assert!(Config::seed_note(256 * KIB).is_some_and(|n| n.contains("16 coroutines")));
        assert!(Config::seed_note(512 * KIB).is_none() && Config::seed_note(128 * KIB).is_none());
        // The seed's own figures still do not fit, and the error says by how much.
        let mut seed = Config::row(256 * KIB);
        seed.n_coro = 32;
        let err = plan(&seed).unwrap_err();
        assert_eq!(
            err,
            PlanError::DoesNotFit { ram: 256 * KIB, fixed: 20 * KIB, stacks: 256 * KIB, min_guest: MIN_GUEST }
        );
        assert_eq!(err.short_by(), 20 * KIB + MIN_GUEST);
        let text = alloc::format!("{err}");
        assert!(text.contains("24576 B short"), "{text}");
    }

    #[test]
    fn row_256k_plus() {
        // The row's fixed part (P4 = 8 KiB) with the rest for the guest.
        let l = plan(&Config::row(512 * KIB)).unwrap();
        assert_eq!(sizes(&l), [1536, 4096, 4096, 8 * KIB, 2560, 512 * KIB - 20 * KIB - 256 * KIB]);
        assert_eq!((l.config.n_coro, l.config.stack), (32, 8 * KIB));
        check_contiguous(&l);
        // Every size from 256 KiB up has a plan.
        for kib in (256..1024).step_by(8) {
            assert!(plan(&Config::row(kib * KIB)).is_ok(), "{kib} KiB");
        }
    }

    #[test]
    fn spec_defaults() {
        let c = Config::default();
        assert_eq!((c.ram, c.n_coro, c.n_chan, c.n_dev, c.n_svc), (96 * KIB, 8, 16, 16, 2));
        let l = plan(&c).unwrap();
        // P1 = 512 + 16 × 128; P4 = max(4 KiB, 2 × 2 KiB + 1 KiB).
        assert_eq!(sizes(&l), [2560, 4096, 4096, 5 * KIB, 2560, 96 * KIB - 18 * KIB - 32 * KIB]);
        check_contiguous(&l);
    }

    #[test]
    fn formulas_scale() {
        let mut c = Config::row(128 * KIB);
        c.n_chan = 20; // 512 + 20 × 128 = 3072
        c.n_dev = 32; // 3072 + 32 × 48 = 4608 > 4 KiB floor
        c.n_svc = 3;
        c.max_service_size = 3000; // 9000 + 1024 = 10024 -> 10024 (multiple of 8)
        let l = plan(&c).unwrap();
        assert_eq!(l.partition(Kernel).size, 3072);
        assert_eq!(l.partition(Subsystems).size, 4608);
        assert_eq!(l.partition(Services).size, 10024);
        c.max_service_size = 3001; // 9003 + 1024 = 10027 -> rounded up to 10032
        assert_eq!(plan(&c).unwrap().partition(Services).size, 10032);
        check_contiguous(&plan(&c).unwrap());
    }

    #[test]
    fn odd_ram_leaves_aligned_guest() {
        let l = plan(&Config::row(32 * KIB + 5)).unwrap();
        assert_eq!(l.partition(Guest).size, 8 * KIB);
        assert_eq!(l.config.ram - l.used(), 5);
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut c = Config::row(32 * KIB);
        c.n_coro = 0;
        assert_eq!(plan(&c), Err(PlanError::NoCoroutines));
        let mut c = Config::row(32 * KIB);
        c.stack = 1000 + 4;
        assert_eq!(plan(&c), Err(PlanError::StackMisaligned { stack: 1004 }));
        let mut c = Config::row(32 * KIB);
        c.n_coro = usize::MAX / 2;
        assert_eq!(plan(&c), Err(PlanError::Overflow));
        let mut c = Config::row(32 * KIB);
        c.n_svc = usize::MAX;
        assert_eq!(plan(&c), Err(PlanError::Overflow));
        // Too small for anything.
        assert!(matches!(plan(&Config::row(16 * KIB)), Err(PlanError::DoesNotFit { .. })));
        assert!(matches!(plan(&Config::row(0)), Err(PlanError::DoesNotFit { .. })));
    }

    #[test]
    fn stacks_are_listed() {
        let l = plan(&Config::row(32 * KIB)).unwrap();
        assert_eq!(l.stack(0), Some(Region { offset: l.stacks.offset, size: 2 * KIB }));
        assert_eq!(l.stack(3).map(|r| r.end()), Some(l.stacks.end()));
        assert_eq!(l.stack(4), None);
    }

    #[test]
    fn display_is_a_table() {
        let text = alloc::format!("{}", plan(&Config::row(32 * KIB)).unwrap());
        let lines: alloc::vec::Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2 + 7, "{text}");
        assert!(lines[0].starts_with("RAM 32 KiB (32768 B): 4 coroutines x 2 KiB stacks"), "{text}");
        assert!(lines[2].starts_with("P1") && lines[2].contains("1.5 KiB"), "{text}");
        assert!(lines[7].contains("stacks") && lines[7].contains("8 KiB"), "{text}");
        assert!(lines[8].starts_with("P5") && lines[8].contains("24576") && lines[8].contains("8 KiB"), "{text}");
    }
}
