//! co_mem: the partitions. After `plan` has laid out RAM, [`Memory`] carves
//! it into the six partitions of FIREBALL.md §3, each a [`Partition`]: an
//! independent heap with its own statistics and its own exhaustion policy.
//! Every byte a module uses comes from its partition (`&Partition` is an
//! `allocator_api2` [`Allocator`]); services get a [`SubPartition`] of P4 and
//! the guest one of P5, so one module running dry touches no other.
//!
//! ```text
//! plan::Layout ──Memory::new──> P1 kernel | P2 runtime | P3 subsystems | P4 services | P6 reserve | stacks | P5 guest
//!                                                          │                                                  │
//!                                            sub_partition(size, owner)                          sub_partition(size, owner)
//!                                                  service heaps                                       guest heap
//!
//! allocation ──ok──> stats (allocated, peak, allocs)
//!            ──fails──> Err(AllocError), fails += 1, exhausted() = Some(policy of the partition)
//!                       ──scheduler acts (reset / degrade / terminate service / unload guest)──> clear_exhausted()
//! ```
//!
//! # Exhaustion policy (FIREBALL.md §3)
//!
//! | partition | [`Exhaustion`] |
//! |---|---|
//! | P1 kernel, P2 runtime | [`Exhaustion::Fatal`]: system reset (on a host: a clear fatal error) |
//! | P3 subsystems | [`Exhaustion::Degrade`]: log an ERROR, keep working on what they have |
//! | P4 services (and each service's sub-heap) | [`Exhaustion::TerminateService`]: that service only |
//! | P5 guest (and the guest's sub-heap) | [`Exhaustion::UnloadGuest`]: the guest only |
//! | P6 reserve | [`Exhaustion::Critical`]: any use at all is a critical error |
//!
//! An allocation failure is only ever `Err(AllocError)`: the partition counts it
//! and records its policy ([`Partition::exhausted`]); the scheduler reads that
//! and acts, then calls [`Partition::clear_exhausted`]. Nothing here panics or
//! aborts. Carving a sub-heap that does not fit ([`Partition::sub_partition`])
//! counts a fail but triggers no policy: no running module caused it, and the
//! caller simply refuses the load (the seed's `load_service_plugin`).
//!
//! Warnings ([`Partition::level`]): ≥ 80 % used for P1/P2 (warn), ≥ 70 % for P3
//! (warn), ≥ 85 % for P4 (info), ≥ 90 % for P5 (info); P6: any byte in use (critical).
//!
//! # Allocator: talc 5.1.1, with 32 free lists
//!
//! Chosen over dlmalloc 0.2.14 by measuring both on the same synthetic
//! workload (`tests/mem_allocator_choice.rs`: `cargo test -p fireball-coos
//! --release --test mem_allocator_choice -- --ignored --nocapture --test-threads 1`;
//! 16 KiB region; host = x86-64, instruction counts by callgrind; flash from
//! a `no_std` thumbv7em binary, `opt-level = "s"`, LTO, calling allocate,
//! deallocate and realloc-in-place; Cortex-M state sizes from `size_of` on
//! thumbv7em):
//!
//! | | talc, 32 lists (used) | talc, default 95 lists | dlmalloc |
//! |---|---|---|---|
//! | flash, thumbv7em | **1.4 KiB** | 1.6 KiB | 6.2 KiB |
//! | state per heap, Cortex-M | **8 B + 144 B of the region** | 16 B + ≈400 B of the region | 468 B + ≈50 B (estimated) of the region |
//! | state per heap, x86-64 | 16 B + 296 B | 32 B + 1 544 B | 928 B + 104 B |
//! | 8 B alloc / free, x86-64 instructions | 90 / 62 | 110 / 66 | 64 / 124 |
//! | 8 B alloc / free, x86-64 median ns (two runs; shared 2-core host, noisy) | 4.6–9.1 / 3.6–6.5 | 8.6–11.8 / 3.5–3.7 | 4.0 / 6.0–6.1 |
//! | live bytes when an allocation is first refused (random 8–1023 B churn) | 75.6 % | 72.0 % | 79.2 % |
//! | mean fragmentation over that churn (1 − largest block / (region − live bytes)) | 59.9 % | 61.6 % | 60.5 % |
//! | 8 B blocks that fit in 16 KiB (x86-64: 32 B chunks) | 503 | 464 | 509 |
//!
//! Speed is a wash (talc spends fewer instructions on alloc + free together,
//! dlmalloc was faster in wall time on this shared host; both are far inside
//! the spec's 200/100 cycles) and fragmentation is the same; dlmalloc packs a
//! little tighter (≈4 points more live data at the failure point). But it
//! costs 4.8 KiB more flash — a sixth of the 28 KiB headline — and ≈370 B
//! more RAM *per heap* on a Cortex-M; with six partitions plus a sub-heap per
//! service and for the guest that is more than the whole of P1 (1.5 KiB) on
//! a 32 KB device. talc wins where the budget is tight. Its default binning
//! spends 95 free lists (≈400 B per heap on Cortex-M, 1.5 KiB on a 64-bit
//! host, all of a 32 KB plan's P1) on sizes up to gigabytes; partitions are
//! at most a few hundred KiB, so [`Bins`] keeps 32 (exact per chunk size up
//! to 128 B on Cortex-M, two per power of two above, up to 512 KiB; larger
//! blocks share the last list: still found, a little slower). It was also
//! the cheaper of the two talc setups in instructions and in live bytes at
//! failure. Otherwise talc's allocate, free and in-place grow/shrink are used
//! unchanged.
//!
//! `&Partition` itself (talc + statistics), measured: 8 B allocation 92
//! instructions, free 60, on Cortex-M4 and Cortex-M33 (QEMU mps2-an386/an505,
//! `-icount shift=0`, SysTick over 1 000 operations, loop subtracted); 100 / 66
//! instructions on x86-64 (callgrind, `partition_8b`). The `Partition` struct
//! is 64 B on Cortex-M (112 B on x86-64); the heap's own bookkeeping is
//! 144 B at the start of its region (288 B on x86-64). The whole partition
//! API (new, allocate, deallocate, grow, shrink, stats, level, sub_partition)
//! adds 3.8 KiB of flash to an empty thumbv7em firmware, of which 0.9 KiB is
//! `memcpy`/`memset` that any real firmware already has.
//!
//! # Locking: none needed, by construction
//!
//! A [`Partition`] is `!Sync` (its heap sits in an `UnsafeCell`, like talc's
//! `TalcCell`): only the thread that owns it — on a single-core cooperative
//! kernel, the kernel's own context — can reach it, so tasks, which never
//! preempt one another, cannot interleave inside an allocation, and an
//! interrupt handler cannot reach it at all (a handler sees only `static`s,
//! which must be `Sync`). That costs zero cycles, where a spinlock could
//! deadlock against a handler on one core and a critical section would mask
//! interrupts on every allocation; both would also impose a choice of
//! `critical-section` implementation on every board. A handler that needs
//! memory gets it preallocated, or sends a message to a task.
//!
//! ```compile_fail
//! fn shared<T: Sync>() {}
//! shared::<fireball_coos::mem::Partition>(); // a partition cannot be shared between threads
//! ```
//!
//! # Statistics
//!
//! `allocated` counts what allocations really occupy — the request rounded
//! up to talc's chunk (16 B on Cortex-M, 32 B on 64-bit, including a one-word
//! tag) — so 100 % means full; `requested` is the sum of the requested sizes.
//! `capacity` is the region minus talc's bookkeeping. `fragmentation` is
//! `1 − largest free block / free bytes` in per cent, found by probing the
//! heap (O(log capacity) trial allocations, so `stats()` is for monitoring,
//! not hot paths; [`Partition::level`] is O(1)).
#![deny(unsafe_op_in_unsafe_fn)]

use core::alloc::Layout;
use core::cell::{Cell, UnsafeCell};
use core::fmt;
use core::ptr::{self, NonNull};
use core::slice::ChunksExactMut;

use allocator_api2::alloc::{AllocError, Allocator};
use talc::base::binning::{linear_extent_then_linearly_divided_exponential_binning, Binning};
use talc::base::{Talc, CHUNK_UNIT};
use talc::source::Manual;

use crate::plan;

/// One of the six partitions (FIREBALL.md §3), P1..P6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartitionId {
    /// P1: scheduler, channels, co_mem state, ownership registry.
    Kernel,
    /// P2: interpreter state, module-loader metadata, execution contexts.
    Runtime,
    /// P3: router, logger ring, HAL registry, debugger.
    Subsystems,
    /// P4: wasm service plugins, each in its own sub-heap.
    Services,
    /// P5: the guest module, all remaining RAM.
    Guest,
    /// P6: emergency reserve, never used in normal operation.
    Reserve,
}

impl PartitionId {
    /// All six, in P-number order.
    pub const ALL: [PartitionId; 6] = [
        PartitionId::Kernel,
        PartitionId::Runtime,
        PartitionId::Subsystems,
        PartitionId::Services,
        PartitionId::Guest,
        PartitionId::Reserve,
    ];

    /// 0..6 (P-number − 1).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// 1..=6, as the spec numbers them.
    pub const fn number(self) -> u8 {
        self as u8 + 1
    }

    /// "P1".."P6".
    pub const fn tag(self) -> &'static str {
        match self {
            PartitionId::Kernel => "P1",
            PartitionId::Runtime => "P2",
            PartitionId::Subsystems => "P3",
            PartitionId::Services => "P4",
            PartitionId::Guest => "P5",
            PartitionId::Reserve => "P6",
        }
    }

    /// A short lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            PartitionId::Kernel => "kernel",
            PartitionId::Runtime => "runtime",
            PartitionId::Subsystems => "subsystems",
            PartitionId::Services => "services",
            PartitionId::Guest => "guest",
            PartitionId::Reserve => "reserve",
        }
    }

    /// What exhausting this partition means (the spec's table).
    pub const fn policy(self) -> Exhaustion {
        match self {
            PartitionId::Kernel | PartitionId::Runtime => Exhaustion::Fatal,
            PartitionId::Subsystems => Exhaustion::Degrade,
            PartitionId::Services => Exhaustion::TerminateService,
            PartitionId::Guest => Exhaustion::UnloadGuest,
            PartitionId::Reserve => Exhaustion::Critical,
        }
    }

    /// The utilisation (per cent) at and above which [`Partition::level`]
    /// reports, and how loudly. P6 reports any use (threshold 0, above nothing).
    pub const fn threshold(self) -> (u8, Severity) {
        match self {
            PartitionId::Kernel | PartitionId::Runtime => (80, Severity::Warn),
            PartitionId::Subsystems => (70, Severity::Warn),
            PartitionId::Services => (85, Severity::Info),
            PartitionId::Guest => (90, Severity::Info),
            PartitionId::Reserve => (0, Severity::Critical),
        }
    }
}

impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tag(), self.name())
    }
}

/// What the scheduler must do when a partition runs out (FIREBALL.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exhaustion {
    /// P1/P2: system reset (on a host: a clear fatal error).
    Fatal,
    /// P3: log an ERROR; the logger and HAL keep working on what they have.
    Degrade,
    /// P4: terminate the service whose heap ran out, only that one.
    TerminateService,
    /// P5: unload the guest, only the guest.
    UnloadGuest,
    /// P6: the reserve was touched; a critical error.
    Critical,
}

impl fmt::Display for Exhaustion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exhaustion::Fatal => "fatal: system reset",
            Exhaustion::Degrade => "degrade: log an error, control continues",
            Exhaustion::TerminateService => "terminate that service",
            Exhaustion::UnloadGuest => "unload the guest",
            Exhaustion::Critical => "critical: the reserve is in use",
        })
    }
}

/// How loud a [`Warning`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A hint (P4 ≥ 85 %, P5 ≥ 90 %).
    Info,
    /// Needs attention (P1/P2 ≥ 80 %, P3 ≥ 70 %).
    Warn,
    /// The reserve (P6) is in use.
    Critical,
}

/// A partition at or above its monitoring threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Which partition (a sub-heap reports its parent's id).
    pub partition: PartitionId,
    /// The sub-heap's owner, `None` for a whole partition.
    pub owner: Option<u16>,
    /// How loud.
    pub severity: Severity,
    /// Utilisation, per cent (rounded down).
    pub used_percent: u8,
    /// The threshold crossed, per cent.
    pub threshold_percent: u8,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Critical => "CRITICAL",
        };
        write!(f, "{level}: {}", self.partition)?;
        if let Some(owner) = self.owner {
            write!(f, " (owner {owner})")?;
        }
        if self.severity == Severity::Critical {
            write!(f, " in use ({} % of it), it should never be", self.used_percent)
        } else {
            write!(f, " {} % used (threshold {} %)", self.used_percent, self.threshold_percent)
        }
    }
}

/// The last allocation a partition refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Bytes requested.
    pub requested: usize,
    /// Alignment requested.
    pub align: usize,
    /// Bytes free at that moment (in total, not necessarily contiguous).
    pub free: usize,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "requested {} B (align {}), {} B free", self.requested, self.align, self.free)
    }
}

/// A partition's statistics (see the module docs for what each counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Stats {
    /// Bytes allocations can use: the region minus the allocator's bookkeeping (the seed's "total").
    pub capacity: usize,
    /// Bytes live allocations occupy (request rounded up to the allocator's chunk, tag included).
    pub allocated: usize,
    /// Sum of the live allocations' requested sizes.
    pub requested: usize,
    /// Most `allocated` has been.
    pub peak: usize,
    /// Successful allocations so far (wrapping).
    pub allocs: u32,
    /// Frees so far (wrapping).
    pub frees: u32,
    /// Refused allocations so far (wrapping).
    pub fails: u32,
    /// The largest free block, bytes (a request of up to this minus one word fits).
    pub largest_free: usize,
    /// `1 − largest_free / free`, per cent (0 when nothing is free or the free space is one block).
    pub fragmentation: u8,
}

impl Stats {
    /// Bytes not allocated.
    pub const fn free(&self) -> usize {
        self.capacity - self.allocated
    }

    /// `allocated / capacity`, per cent, rounded down.
    pub const fn used_percent(&self) -> u8 {
        percent(self.allocated, self.capacity)
    }
}

/// `part / whole` in per cent, rounded down, at most 100 (native-width division only:
/// no 64-bit division routine is pulled into a Cortex-M build).
const fn percent(part: usize, whole: usize) -> u8 {
    if whole == 0 {
        return 100;
    }
    let p = match part.checked_mul(100) {
        Some(x) => x / whole,
        None => part / if whole < 100 { 1 } else { whole / 100 },
    };
    if p > 100 {
        100
    } else {
        p as u8
    }
}

/// Why a partition could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartitionError {
    /// The region cannot hold the allocator's bookkeeping and one block.
    TooSmall {
        /// Which partition.
        partition: PartitionId,
        /// Bytes offered.
        size: usize,
        /// Bytes needed at least ([`MIN_REGION`]).
        min: usize,
    },
    /// The parent partition has no block of the requested size for a sub-heap.
    OutOfMemory {
        /// The parent partition.
        partition: PartitionId,
        /// Bytes requested.
        requested: usize,
        /// The parent's largest free block.
        largest_free: usize,
    },
    /// The RAM region given to [`Memory::new`] is smaller than the layout.
    RamTooSmall {
        /// Bytes given.
        have: usize,
        /// Bytes the layout uses.
        need: usize,
    },
    /// The RAM region given to [`Memory::new`] does not start on a [`plan::ALIGN`] boundary.
    Misaligned {
        /// The start address modulo [`plan::ALIGN`].
        offset: usize,
    },
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PartitionError::TooSmall { partition, size, min } => {
                write!(f, "{partition}: a {size} B region is too small for a heap (at least {min} B)")
            }
            PartitionError::OutOfMemory { partition, requested, largest_free } => write!(
                f,
                "{partition}: no room for a {requested} B sub-heap (largest free block {largest_free} B)"
            ),
            PartitionError::RamTooSmall { have, need } => {
                write!(f, "the RAM region has {have} B, the layout needs {need} B")
            }
            PartitionError::Misaligned { offset } => {
                write!(f, "the RAM region is not {0}-byte aligned (its address mod {0} is {offset})", plan::ALIGN)
            }
        }
    }
}

impl core::error::Error for PartitionError {}

/// talc's free-list layout for partitions: 32 lists (a `u32` occupancy word,
/// 32 list heads in the region: 128 B on Cortex-M), exact per chunk size up to
/// 8 chunks (128 B on Cortex-M), then two lists per power of two.
pub struct Bins;

impl Binning for Bins {
    type AvailabilityBitField = u32;

    #[inline]
    fn size_to_bin(size: usize) -> u32 {
        linear_extent_then_linearly_divided_exponential_binning::<2, 4>(size)
    }
}

type Heap = Talc<Manual, Bins>;

/// talc's per-chunk tag (one word at each chunk's end).
const TAG: usize = core::mem::size_of::<usize>();

/// Bytes a `size`-byte allocation occupies: talc's `required_chunk_size`
/// (request + tag, rounded up to [`CHUNK_UNIT`]); the alignment never adds to
/// it (talc returns the space below an aligned block to the free lists).
const fn chunk_bytes(size: usize) -> usize {
    (size + TAG + (CHUNK_UNIT - 1)) & !(CHUNK_UNIT - 1)
}

/// The smallest region a partition accepts: talc's bookkeeping plus one block.
pub const MIN_REGION: usize = talc::min_first_heap_size::<Bins>() + CHUNK_UNIT;

/// One heap over one region of RAM: a partition (P1..P6) or a sub-heap of one.
///
/// `&Partition` is an [`Allocator`]; give it to the engine
/// (`Module::new_in(bytes, features, &p)`, `Store::new_in(limits, &p)`,
/// `Thread::new_in(limits, &p)`) or to any `allocator_api2` collection.
pub struct Partition {
    heap: UnsafeCell<Heap>,
    id: PartitionId,
    owner: Option<u16>,
    region: usize,
    capacity: usize,
    allocated: Cell<usize>,
    requested: Cell<usize>,
    peak: Cell<usize>,
    allocs: Cell<u32>,
    frees: Cell<u32>,
    fails: Cell<u32>,
    exhausted: Cell<Option<Exhaustion>>,
    last_failure: Cell<Option<Failure>>,
    /// Every `grow` moves its block: see [`Partition::set_worst_case_grows`].
    moving_grows: Cell<bool>,
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("region", &self.region)
            .field("capacity", &self.capacity)
            .field("allocated", &self.allocated.get())
            .field("exhausted", &self.exhausted.get())
            .finish_non_exhaustive()
    }
}

impl Partition {
    /// A partition over `region`, which it keeps for good.
    pub fn new(id: PartitionId, region: &'static mut [u8]) -> Result<Partition, PartitionError> {
        let len = region.len();
        // SAFETY: `region` is borrowed uniquely for 'static and moved in here, so nothing
        // else can ever read or write it: the heap owns it for as long as it exists.
        unsafe { Partition::from_raw(id, None, region.as_mut_ptr(), len) }
    }

    /// # Safety
    /// `base..base + len` must be valid for reads and writes, and used by nothing
    /// but the returned partition for as long as it (or anything it lent) lives.
    unsafe fn from_raw(id: PartitionId, owner: Option<u16>, base: *mut u8, len: usize) -> Result<Partition, PartitionError> {
        let too_small = PartitionError::TooSmall { partition: id, size: len, min: MIN_REGION };
        if len < MIN_REGION {
            return Err(too_small);
        }
        let mut heap = Heap::new(Manual);
        // SAFETY: the caller hands over `base..base + len` exclusively (see above);
        // `Manual` allows manual heap management.
        if unsafe { heap.claim(base, len) }.is_none() {
            return Err(too_small);
        }
        let mut p = Partition {
            heap: UnsafeCell::new(heap),
            id,
            owner,
            region: len,
            capacity: 0,
            allocated: Cell::new(0),
            requested: Cell::new(0),
            peak: Cell::new(0),
            allocs: Cell::new(0),
            frees: Cell::new(0),
            fails: Cell::new(0),
            exhausted: Cell::new(None),
            last_failure: Cell::new(None),
            moving_grows: Cell::new(false),
        };
        // Just claimed, the heap is one free block: its size is the capacity.
        p.capacity = p.largest_free(len);
        if p.capacity < CHUNK_UNIT {
            return Err(too_small);
        }
        Ok(p)
    }

    /// With `on`, every `grow` moves its block (allocates the new size, copies, frees
    /// the old one) even where it could grow in place. A probe that measures what a
    /// module needs sets it: in a roomy heap a growing vector often extends in place,
    /// so its peak understates what the same requests take in a heap sized to that
    /// peak, where the block has neighbours and must move (a plain module's loader
    /// measured at 24 896 B did not load in a 25 312-byte service sub-heap).
    pub fn set_worst_case_grows(&self, on: bool) {
        self.moving_grows.set(on);
    }

    /// Runs `f` on the heap.
    #[inline(always)]
    fn with_heap<R>(&self, f: impl FnOnce(&mut Heap) -> R) -> R {
        // SAFETY: `Partition` is `!Sync` (UnsafeCell), so only this thread can be here, and
        // every `f` in this module only calls talc (whose `Manual` source calls nothing back):
        // no other reference to the heap exists while `f` runs.
        f(unsafe { &mut *self.heap.get() })
    }

    /// Which partition this is (a sub-heap answers its parent's id).
    pub fn id(&self) -> PartitionId {
        self.id
    }

    /// The sub-heap's owner (a service or the guest), `None` for a whole partition.
    pub fn owner(&self) -> Option<u16> {
        self.owner
    }

    /// What running this heap dry means: its partition's policy.
    pub fn policy(&self) -> Exhaustion {
        self.id.policy()
    }

    /// Bytes of the region, bookkeeping included.
    pub fn region_size(&self) -> usize {
        self.region
    }

    /// Bytes allocations can use (the region minus talc's bookkeeping).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes live allocations occupy (O(1)).
    pub fn allocated(&self) -> usize {
        self.allocated.get()
    }

    /// Bytes not allocated (O(1); not necessarily contiguous).
    pub fn free(&self) -> usize {
        self.capacity - self.allocated.get()
    }

    /// All statistics, with fragmentation (probes the heap: O(log capacity) trial allocations).
    pub fn stats(&self) -> Stats {
        let allocated = self.allocated.get();
        let free = self.capacity - allocated;
        let largest_free = self.largest_free(free);
        let fragmentation = if free == 0 { 0 } else { 100 - percent(largest_free, free) };
        Stats {
            capacity: self.capacity,
            allocated,
            requested: self.requested.get(),
            peak: self.peak.get(),
            allocs: self.allocs.get(),
            frees: self.frees.get(),
            fails: self.fails.get(),
            largest_free,
            fragmentation,
        }
    }

    /// Lets `peak` start again from what is allocated now.
    pub fn reset_peak(&self) {
        self.peak.set(self.allocated.get());
    }

    /// The monitoring level (O(1)): `Some` at or above the partition's threshold
    /// (≥ 80 % P1/P2 warn, ≥ 70 % P3 warn, ≥ 85 % P4 info, ≥ 90 % P5 info,
    /// P6 any use critical), `None` below it.
    pub fn level(&self) -> Option<Warning> {
        let (threshold, severity) = self.id.threshold();
        let allocated = self.allocated.get();
        let reached = if severity == Severity::Critical {
            allocated > 0
        } else {
            allocated as u64 * 100 >= threshold as u64 * self.capacity as u64
        };
        reached.then(|| Warning {
            partition: self.id,
            owner: self.owner,
            severity,
            used_percent: percent(allocated, self.capacity),
            threshold_percent: threshold,
        })
    }

    /// The policy a failed allocation (or, for P6, any allocation) triggered
    /// since the last [`clear_exhausted`](Self::clear_exhausted).
    pub fn exhausted(&self) -> Option<Exhaustion> {
        self.exhausted.get()
    }

    /// Takes the triggered policy, once the scheduler has acted on it.
    pub fn clear_exhausted(&self) -> Option<Exhaustion> {
        self.exhausted.take()
    }

    /// The last refused allocation (for the error log), if any.
    pub fn last_failure(&self) -> Option<Failure> {
        self.last_failure.get()
    }

    /// Carves a `size`-byte region (bookkeeping included) out of this heap and
    /// makes it an independent heap with its own statistics for `owner` (a
    /// service in P4, the guest in P5). It keeps this partition's id and
    /// policy; running it dry never touches this heap or any sibling. The
    /// region returns to this heap when the sub-partition is dropped.
    ///
    /// A sub-heap that does not fit is `Err(OutOfMemory)`; it counts as a
    /// fail here but triggers no policy (no running module caused it).
    pub fn sub_partition(&self, size: usize, owner: u16) -> Result<SubPartition<'_>, PartitionError> {
        if size < MIN_REGION {
            return Err(PartitionError::TooSmall { partition: self.id, size, min: MIN_REGION });
        }
        let out_of_memory = |p: &Partition| PartitionError::OutOfMemory {
            partition: p.id,
            requested: size,
            largest_free: p.largest_free(p.free()),
        };
        let layout = Layout::from_size_align(size, CHUNK_UNIT).map_err(|_| out_of_memory(self))?;
        let block = self.alloc_block(layout, false).ok_or_else(|| out_of_memory(self))?;
        // SAFETY: `block` is a fresh `size`-byte allocation from this heap, used by nothing
        // else; the `SubPartition` holds it (borrowing `self`) until it is dropped, and it
        // is freed only in `SubPartition::drop`, after which the inner heap is never used.
        match unsafe { Partition::from_raw(self.id, Some(owner), block.as_ptr(), size) } {
            Ok(inner) => Ok(SubPartition { inner, parent: self, block, layout }),
            Err(e) => {
                // SAFETY: `block` came from this heap with `layout` just above and is unused.
                unsafe { self.free_block(block, layout) };
                Err(e)
            }
        }
    }

    /// Allocates from talc and counts it; on failure counts a fail and, if
    /// `trigger`, records the policy.
    #[inline(never)]
    fn alloc_block(&self, layout: Layout, trigger: bool) -> Option<NonNull<u8>> {
        // SAFETY: callers pass a non-zero size (talc's one requirement).
        match self.with_heap(|h| unsafe { h.allocate(layout) }) {
            Some(p) => {
                self.grew(chunk_bytes(layout.size()), layout.size());
                self.allocs.set(self.allocs.get().wrapping_add(1));
                Some(p)
            }
            None => {
                self.failed(layout, trigger);
                None
            }
        }
    }

    /// Frees a block and counts it.
    ///
    /// # Safety
    /// `ptr` is a live allocation from this heap, made with `layout` (non-zero size).
    #[inline(never)]
    unsafe fn free_block(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: guaranteed by the caller.
        self.with_heap(|h| unsafe { h.deallocate(ptr.as_ptr(), layout) });
        self.allocated.set(self.allocated.get() - chunk_bytes(layout.size()));
        self.requested.set(self.requested.get() - layout.size());
        self.frees.set(self.frees.get().wrapping_add(1));
    }

    #[inline]
    fn grew(&self, chunk: usize, requested: usize) {
        let now = self.allocated.get() + chunk;
        self.allocated.set(now);
        self.requested.set(self.requested.get() + requested);
        if now > self.peak.get() {
            self.peak.set(now);
        }
        if self.id == PartitionId::Reserve {
            // P6 is never used in normal operation: any use is the critical error.
            self.exhausted.set(Some(Exhaustion::Critical));
        }
    }

    #[cold]
    fn failed(&self, layout: Layout, trigger: bool) {
        self.fails.set(self.fails.get().wrapping_add(1));
        self.last_failure.set(Some(Failure { requested: layout.size(), align: layout.align(), free: self.free() }));
        if trigger {
            self.exhausted.set(Some(self.id.policy()));
        }
    }

    /// The largest free block, found by bisection over chunk counts with trial
    /// allocations that are freed at once (the heap's free space is the same
    /// afterwards; the counters are not touched). `free` bounds the search.
    fn largest_free(&self, free: usize) -> usize {
        let (mut lo, mut hi) = (0usize, free / CHUNK_UNIT);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let fits = match Layout::from_size_align(mid * CHUNK_UNIT - TAG, 1) {
                // SAFETY: the size is at least CHUNK_UNIT − TAG > 0; a block talc hands out
                // is given straight back with the same layout.
                Ok(layout) => self.with_heap(|h| unsafe {
                    match h.allocate(layout) {
                        Some(p) => {
                            h.deallocate(p.as_ptr(), layout);
                            true
                        }
                        None => false,
                    }
                }),
                Err(_) => false,
            };
            if fits {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo * CHUNK_UNIT
    }
}

/// A dangling, well-aligned pointer for a zero-sized allocation.
#[inline]
fn empty(layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
    let p = NonNull::new(ptr::without_provenance_mut::<u8>(layout.align())).ok_or(AllocError)?;
    Ok(NonNull::slice_from_raw_parts(p, 0))
}

// SAFETY: blocks come from talc over the partition's own region and stay valid until
// deallocated or until the partition is gone (every `&Partition` borrows it, so that
// cannot happen while one is in use); `deallocate`, `grow` and `shrink` hand talc back
// exactly the pointers and layouts it gave out (the trait's contract on the caller);
// zero-sized requests never reach talc.
unsafe impl Allocator for &Partition {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return empty(layout);
        }
        let p = self.alloc_block(layout, true).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(p, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller passes a block from this allocator with its layout.
            unsafe { self.free_block(ptr, layout) }
        }
    }

    unsafe fn grow(&self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() == 0 {
            return self.allocate(new);
        }
        if ptr.as_ptr().align_offset(new.align()) == 0 && !self.moving_grows.get() {
            // SAFETY: `ptr` is a live block of `old` (the caller's contract), new.size() >= old.size().
            if self.with_heap(|h| unsafe { h.try_grow_in_place(ptr.as_ptr(), old, new.size()) }) {
                self.grew(chunk_bytes(new.size()) - chunk_bytes(old.size()), new.size() - old.size());
                return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
            }
        }
        let moved = self.allocate(new)?;
        // SAFETY: both blocks are live and distinct, the old one holds `old.size()` bytes and
        // the new one at least as many; the old one is then freed with its own layout.
        unsafe {
            ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr().cast::<u8>(), old.size());
            self.free_block(ptr, old);
        }
        Ok(moved)
    }

    unsafe fn shrink(&self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if new.size() == 0 {
            // SAFETY: `ptr` is a live block of `old` (the caller's contract).
            unsafe { self.deallocate(ptr, old) };
            return empty(new);
        }
        if ptr.as_ptr().align_offset(new.align()) == 0 {
            // SAFETY: `ptr` is a live block of `old`, 0 < new.size() <= old.size().
            self.with_heap(|h| unsafe { h.shrink(ptr.as_ptr(), old, new.size()) });
            self.allocated.set(self.allocated.get() - (chunk_bytes(old.size()) - chunk_bytes(new.size())));
            self.requested.set(self.requested.get() - (old.size() - new.size()));
            return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
        }
        let moved = self.allocate(new)?;
        // SAFETY: both blocks are live and distinct; `new.size()` bytes fit in both; the old
        // block is then freed with its own layout.
        unsafe {
            ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr().cast::<u8>(), new.size());
            self.free_block(ptr, old);
        }
        Ok(moved)
    }
}

impl fmt::Display for Partition {
    /// One line: `P4 services (owner 3): 1200/3952 B (30 %), peak 2000 B, 12 allocs, 10 frees, 0 fails, fragmentation 5 %`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.stats();
        write!(f, "{}", self.id)?;
        if let Some(owner) = self.owner {
            write!(f, " (owner {owner})")?;
        }
        write!(
            f,
            ": {}/{} B ({} %), peak {} B, {} allocs, {} frees, {} fails, fragmentation {} %",
            s.allocated,
            s.capacity,
            s.used_percent(),
            s.peak,
            s.allocs,
            s.frees,
            s.fails,
            s.fragmentation
        )?;
        if let Some(policy) = self.exhausted() {
            write!(f, " — EXHAUSTED: {policy}")?;
        }
        Ok(())
    }
}

/// A heap carved out of a parent partition (a service's in P4, the guest's in
/// P5): a [`Partition`] of its own (through `Deref`; pass `&*sub` or
/// [`SubPartition::partition`] as the allocator), whose region goes back to
/// the parent when it is dropped.
pub struct SubPartition<'p> {
    inner: Partition,
    parent: &'p Partition,
    block: NonNull<u8>,
    layout: Layout,
}

impl SubPartition<'_> {
    /// The sub-heap itself.
    pub fn partition(&self) -> &Partition {
        &self.inner
    }

    /// The partition it was carved from.
    pub fn parent(&self) -> &Partition {
        self.parent
    }
}

impl core::ops::Deref for SubPartition<'_> {
    type Target = Partition;

    fn deref(&self) -> &Partition {
        &self.inner
    }
}

impl fmt::Debug for SubPartition<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SubPartition").field(&self.inner).finish()
    }
}

impl Drop for SubPartition<'_> {
    fn drop(&mut self) {
        // SAFETY: `block` was allocated from `parent` with `layout` in `sub_partition` and is
        // freed only here. Nothing still uses it: whatever the inner heap lent out borrowed
        // `self`, and `&mut self` here proves no such borrow is left; `inner` (a plain struct,
        // no `Drop`) is never used again.
        unsafe { self.parent.free_block(self.block, self.layout) }
    }
}

/// The whole RAM as [`plan`](crate::plan::plan) laid it out: the six partitions and the
/// coroutine-stack area. Sub-heaps belong to whoever carved them (the
/// scheduler's service and guest records), so [`Memory::warnings`] and
/// [`Memory::exhausted`] cover the six partitions; a sub-heap is asked directly.
pub struct Memory {
    partitions: [Partition; 6],
    stacks: Option<&'static mut [u8]>,
    layout: plan::Layout,
}

impl Memory {
    /// Carves `ram` along `layout`. `ram` must start on a [`plan::ALIGN`]
    /// boundary and hold at least `layout.used()` bytes (any more stay unused).
    pub fn new(layout: &plan::Layout, ram: &'static mut [u8]) -> Result<Memory, PartitionError> {
        let offset = ram.as_ptr().align_offset(plan::ALIGN);
        if offset != 0 {
            return Err(PartitionError::Misaligned { offset: plan::ALIGN - offset });
        }
        if ram.len() < layout.used() {
            return Err(PartitionError::RamTooSmall { have: ram.len(), need: layout.used() });
        }
        // `plan` lays the regions out back to back in this order, from offset 0, ending at
        // `layout.used()` (checked above, so no split can fail).
        let too_small = PartitionError::RamTooSmall { have: ram.len(), need: layout.used() };
        let (p1, rest) = ram.split_at_mut_checked(layout.partition(PartitionId::Kernel).size).ok_or(too_small)?;
        let (p2, rest) = rest.split_at_mut_checked(layout.partition(PartitionId::Runtime).size).ok_or(too_small)?;
        let (p3, rest) = rest.split_at_mut_checked(layout.partition(PartitionId::Subsystems).size).ok_or(too_small)?;
        let (p4, rest) = rest.split_at_mut_checked(layout.partition(PartitionId::Services).size).ok_or(too_small)?;
        let (p6, rest) = rest.split_at_mut_checked(layout.partition(PartitionId::Reserve).size).ok_or(too_small)?;
        let (stacks, rest) = rest.split_at_mut_checked(layout.stacks().size).ok_or(too_small)?;
        let (p5, _) = rest.split_at_mut_checked(layout.partition(PartitionId::Guest).size).ok_or(too_small)?;
        Ok(Memory {
            partitions: [
                Partition::new(PartitionId::Kernel, p1)?,
                Partition::new(PartitionId::Runtime, p2)?,
                Partition::new(PartitionId::Subsystems, p3)?,
                Partition::new(PartitionId::Services, p4)?,
                Partition::new(PartitionId::Guest, p5)?,
                Partition::new(PartitionId::Reserve, p6)?,
            ],
            stacks: Some(stacks),
            layout: *layout,
        })
    }

    /// The layout this memory was carved by.
    pub fn layout(&self) -> &plan::Layout {
        &self.layout
    }

    /// Partition `id`.
    pub fn partition(&self, id: PartitionId) -> &Partition {
        &self.partitions[id.index()]
    }

    /// All six, in P-number order.
    pub fn partitions(&self) -> &[Partition; 6] {
        &self.partitions
    }

    /// The coroutine stacks, `n_coro` slices of `stack` bytes, each 8-byte
    /// aligned; handed out once (`None` afterwards, and for a plan without stacks).
    pub fn take_stacks(&mut self) -> Option<ChunksExactMut<'static, u8>> {
        let size = self.layout.config().stack;
        // (`chunks_exact_mut(0)` would panic: no stack size, no stacks.)
        if size == 0 {
            return None;
        }
        self.stacks.take().map(|s| s.chunks_exact_mut(size))
    }

    /// The partitions at or above their monitoring threshold.
    pub fn warnings(&self) -> impl Iterator<Item = Warning> + '_ {
        self.partitions.iter().filter_map(Partition::level)
    }

    /// The partitions whose policy has been triggered, with that policy.
    pub fn exhausted(&self) -> impl Iterator<Item = (PartitionId, Exhaustion)> + '_ {
        self.partitions.iter().filter_map(|p| p.exhausted().map(|e| (p.id, e)))
    }
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory").field("partitions", &self.partitions).finish_non_exhaustive()
    }
}

impl fmt::Display for Memory {
    /// One line per partition (see [`Partition`]'s `Display`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.partitions {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;
    use alloc::vec::Vec;

    fn region(n: usize) -> &'static mut [u8] {
        let r: &'static mut [u8] = Box::leak(vec![0u8; n + 16].into_boxed_slice());
        let off = r.as_ptr().align_offset(16);
        &mut r[off..off + n]
    }

    /// A vector grown in a roomy heap extends in place, so its peak is its final size;
    /// measured with worst-case grows, the peak holds the old and the new block at once,
    /// which is what a heap sized to the measurement must hold when the block has a
    /// neighbour (a plain C service's loader did not fit a sub-heap sized to the first).
    #[test]
    fn worst_case_grows_measure_the_moving_peak() {
        let peak = |worst: bool| {
            let p = Partition::new(PartitionId::Guest, region(16 << 10)).unwrap();
            p.set_worst_case_grows(worst);
            let mut v: allocator_api2::vec::Vec<u8, &Partition> = allocator_api2::vec::Vec::new_in(&p);
            v.try_reserve_exact(1024).unwrap();
            v.try_reserve_exact(4096).unwrap();
            assert!(v.capacity() >= 4096);
            drop(v);
            (p.stats().peak, p.allocated())
        };
        let (in_place, left) = peak(false);
        assert_eq!(left, 0);
        assert!(in_place < chunk_bytes(4096) + chunk_bytes(1024), "grew in place: {in_place}");
        let (moving, left) = peak(true);
        assert_eq!(left, 0);
        assert!(moving >= chunk_bytes(4096) + chunk_bytes(1024), "moved: {moving}");
    }

    #[test]
    fn binning_obeys_talcs_rules() {
        talc::base::binning::test_utils::check_binning_properties(Some(31), &Bins::size_to_bin);
    }

    #[test]
    fn chunk_accounting_matches_talc() {
        // Fill a heap with blocks of one size: `allocated` reaches the capacity exactly,
        // and the next block does not fit.
        for size in [1, 8, 12, 24, 100] {
            let p = Partition::new(PartitionId::Guest, region(4096)).unwrap();
            let l = Layout::from_size_align(size, 8).unwrap();
            let mut n = 0;
            while (&p).allocate(l).is_ok() {
                n += 1;
            }
            assert_eq!(p.allocated(), n * chunk_bytes(size), "size {size}");
            assert!(p.free() < chunk_bytes(size), "size {size}: {} free", p.free());
            assert_eq!(p.stats().largest_free, p.free(), "size {size}");
        }
    }

    #[test]
    fn capacity_is_one_block() {
        let p = Partition::new(PartitionId::Guest, region(4096)).unwrap();
        let cap = p.capacity();
        assert!(cap > 4096 - 512 && cap.is_multiple_of(CHUNK_UNIT), "{cap}");
        let too_big = Layout::from_size_align(cap - TAG + 1, 1).unwrap();
        assert!((&p).allocate(too_big).is_err());
        let whole = Layout::from_size_align(cap - TAG, 1).unwrap();
        let b = (&p).allocate(whole).unwrap();
        assert_eq!(p.free(), 0);
        // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
        unsafe { (&p).deallocate(b.cast(), whole) };
        assert_eq!(p.free(), cap);
    }

    #[test]
    fn too_small_regions_are_refused() {
        assert!(matches!(
            Partition::new(PartitionId::Kernel, region(MIN_REGION - 1)),
            Err(PartitionError::TooSmall { partition: PartitionId::Kernel, .. })
        ));
        assert!(Partition::new(PartitionId::Kernel, region(MIN_REGION)).is_ok());
    }

    #[test]
    fn zero_sized_and_realloc() {
        let p = Partition::new(PartitionId::Runtime, region(2048)).unwrap();
        let a = &p;
        let z = a.allocate(Layout::from_size_align(0, 64).unwrap()).unwrap();
        assert_eq!(z.cast::<u8>().as_ptr() as usize % 64, 0);
        assert_eq!((p.allocated(), p.stats().allocs), (0, 0));
        // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
        unsafe { a.deallocate(z.cast(), Layout::from_size_align(0, 64).unwrap()) };

        let mut v: allocator_api2::vec::Vec<u32, &Partition> = allocator_api2::vec::Vec::new_in(&p);
        for i in 0..200 {
            v.push(i);
        }
        assert!(p.allocated() >= 800);
        v.truncate(3);
        v.shrink_to_fit();
        assert_eq!(p.requested.get(), 12);
        assert_eq!(v.as_slice(), &[0, 1, 2]);
        drop(v);
        assert_eq!((p.allocated(), p.requested.get()), (0, 0));
        // Shrinking to a larger alignment moves the block.
        let l = Layout::from_size_align(40, 4).unwrap();
        let b = a.allocate(l).unwrap().cast::<u8>();
        // SAFETY: the block is live and 40 bytes long (layout `l`)
        unsafe { b.as_ptr().write_bytes(7, 40) };
        // SAFETY: `b` is a live block allocated with `l`, and 8 <= its size
        let moved = unsafe { a.shrink(b, l, Layout::from_size_align(8, 256).unwrap()) }.unwrap().cast::<u8>();
        assert_eq!(moved.as_ptr() as usize % 256, 0);
        // SAFETY: `moved` is a live block of at least 8 bytes
        assert_eq!(unsafe { core::slice::from_raw_parts(moved.as_ptr(), 8) }, &[7; 8]);
        // SAFETY: `moved` came from `shrink` with the 8-byte, 256-aligned layout and is freed once
        unsafe { a.deallocate(moved, Layout::from_size_align(8, 256).unwrap()) };
        assert_eq!(p.allocated(), 0);
        let s = p.stats();
        assert_eq!(s.allocs, s.frees);
    }

    #[test]
    fn thresholds() {
        for (id, pct, sev) in [
            (PartitionId::Kernel, 80, Severity::Warn),
            (PartitionId::Runtime, 80, Severity::Warn),
            (PartitionId::Subsystems, 70, Severity::Warn),
            (PartitionId::Services, 85, Severity::Info),
            (PartitionId::Guest, 90, Severity::Info),
        ] {
            let p = Partition::new(id, region(4096)).unwrap();
            let cap = p.capacity();
            let mut held = Vec::new();
            let l = Layout::from_size_align(CHUNK_UNIT - TAG, 1).unwrap();
            // Just below the threshold: nothing.
            while (p.allocated() + CHUNK_UNIT) as u64 * 100 < pct as u64 * cap as u64 {
                held.push((&p).allocate(l).unwrap());
            }
            assert_eq!(p.level(), None, "{id:?} at {}", p.allocated());
            held.push((&p).allocate(l).unwrap());
            let w = p.level().unwrap();
            assert_eq!((w.partition, w.severity, w.threshold_percent), (id, sev, pct), "{id:?}");
            assert!(w.used_percent >= pct);
            for b in held {
                // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
                unsafe { (&p).deallocate(b.cast(), l) };
            }
        }
        let p6 = Partition::new(PartitionId::Reserve, region(1024)).unwrap();
        assert_eq!(p6.level(), None);
        let b = (&p6).allocate(Layout::new::<u8>()).unwrap();
        assert_eq!(p6.level().map(|w| w.severity), Some(Severity::Critical));
        assert_eq!(p6.exhausted(), Some(Exhaustion::Critical), "any use of P6 is critical");
        // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
        unsafe { (&p6).deallocate(b.cast(), Layout::new::<u8>()) };
    }

    #[test]
    fn policies_follow_the_table() {
        use Exhaustion::*;
        use PartitionId::*;
        let want = [Fatal, Fatal, Degrade, TerminateService, UnloadGuest, Critical];
        assert_eq!(PartitionId::ALL.map(PartitionId::policy), want);
        assert_eq!(PartitionId::ALL.map(PartitionId::number), [1, 2, 3, 4, 5, 6]);
        assert_eq!([Kernel, Guest, Reserve].map(PartitionId::tag), ["P1", "P5", "P6"]);
    }
}
