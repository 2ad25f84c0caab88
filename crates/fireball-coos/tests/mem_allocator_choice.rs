//! Why the partitions use talc (with 32 free lists) and not dlmalloc: the
//! measurements behind the table in `src/mem.rs`, and the partitions' own
//! cost per 8-byte allocation. Measurements, not checks, so ignored by default:
//!
//! ```text
//! cargo test -p fireball-coos --release --test mem_allocator_choice -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `compare` runs the same synthetic workload on talc 5.1.1 (32 lists, as the
//! partitions use it), talc 5.1.1 (its default 95 lists) and dlmalloc 0.2.14,
//! each over a 16 KiB region: the cost of an 8 B allocation and free (host ns,
//! median of 2 000 batches of 256) and, with valgrind installed, their
//! instruction counts (callgrind, x86-64); how much of the region is live at
//! the first refused allocation under random churn (sizes 8..1023 B, 16-byte
//! alignment one time in four); the mean fragmentation (1 − largest free block
//! / free bytes) over that churn; how many 8 B blocks fit; the bookkeeping.
//! `partition_8b` measures `&Partition` itself (talc plus the statistics).

use std::alloc::Layout;
use std::cell::Cell;
use std::hint::black_box;
use std::process::Command;
use std::ptr::NonNull;
use std::time::Instant;

use allocator_api2::alloc::Allocator;
use fireball_coos::mem::{Bins, Partition, PartitionId};
use talc::base::binning::{Binning, DefaultBinning};
use talc::base::Talc;
use talc::source::Manual;

const REGION: usize = 16 * 1024;
const BATCH: usize = 256;
const L8: Layout = Layout::new::<u64>();

fn region(n: usize) -> &'static mut [u8] {
    let r: &'static mut [u8] = Box::leak(vec![0u8; n + 16].into_boxed_slice());
    let off = r.as_ptr().align_offset(16);
    &mut r[off..off + n]
}

/// The three contenders behind one interface.
trait Heap {
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>>;
    /// # Safety
    /// `p` came from `alloc(l)`.
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout);
}

struct TalcHeap<B: Binning>(Talc<Manual, B>);

impl<B: Binning> TalcHeap<B> {
    fn new(r: &'static mut [u8]) -> Self {
        let mut t = Talc::new(Manual);
        // SAFETY: the region is a leaked buffer owned by this heap alone
        unsafe { t.claim(r.as_mut_ptr(), r.len()).expect("claim") };
        TalcHeap(t)
    }
}

impl<B: Binning> Heap for TalcHeap<B> {
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        // SAFETY: talc's allocate needs a non-zero size; the workload never asks for zero bytes
        unsafe { self.0.allocate(l) }
    }
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
        unsafe { self.0.deallocate(p.as_ptr(), l) }
    }
}

/// dlmalloc's system allocator: hands over the one region, once.
struct Region {
    base: Cell<*mut u8>,
    len: usize,
}

// SAFETY: the region is only ever used from the thread that owns the test allocator
unsafe impl Send for Region {}

// SAFETY: hands dlmalloc one leaked region once and never gives it out again
unsafe impl dlmalloc::Allocator for Region {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        let b = self.base.get();
        if b.is_null() || size > self.len {
            return (std::ptr::null_mut(), 0, 0);
        }
        self.base.set(std::ptr::null_mut());
        (b, self.len, 1) // 1: EXTERN_BIT, never released or merged
    }
    fn remap(&self, _: *mut u8, _: usize, _: usize, _: bool) -> *mut u8 {
        std::ptr::null_mut()
    }
    fn free_part(&self, _: *mut u8, _: usize, _: usize) -> bool {
        false
    }
    fn free(&self, _: *mut u8, _: usize) -> bool {
        false
    }
    fn can_release_part(&self, _: u32) -> bool {
        false
    }
    fn allocates_zeros(&self) -> bool {
        false
    }
    fn page_size(&self) -> usize {
        16
    }
}

struct DlHeap(dlmalloc::Dlmalloc<Region>);

impl DlHeap {
    fn new(r: &'static mut [u8]) -> Self {
        let mut d = dlmalloc::Dlmalloc::new_with_allocator(Region { base: Cell::new(r.as_mut_ptr()), len: r.len() });
        assert!(d.set_granularity(16));
        d.set_max_release_check_rate(0);
        DlHeap(d)
    }
}

impl Heap for DlHeap {
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        // SAFETY: dlmalloc over the test's own region; a non-zero size
        NonNull::new(unsafe { self.0.malloc(l.size(), l.align()) })
    }
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
        unsafe { self.0.free(p.as_ptr(), l.size(), l.align()) }
    }
}

struct PartitionHeap(Partition);

impl Heap for PartitionHeap {
    fn alloc(&mut self, l: Layout) -> Option<NonNull<u8>> {
        (&self.0).allocate(l).ok().map(NonNull::cast)
    }
    unsafe fn free(&mut self, p: NonNull<u8>, l: Layout) {
        // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
        unsafe { (&self.0).deallocate(p, l) }
    }
}

/// xorshift64: the same random sequence for every contender.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The largest block `h` can hand out now (bisection with trial allocations).
fn largest(h: &mut dyn Heap) -> usize {
    let (mut lo, mut hi) = (0, REGION);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let l = Layout::from_size_align(mid, 8).unwrap();
        match h.alloc(l) {
            Some(p) => {
                // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
                unsafe { h.free(p, l) };
                lo = mid;
            }
            None => hi = mid - 1,
        }
    }
    lo
}

/// A heap with 64 live blocks of mixed sizes, half of them freed again: the
/// state an 8 B allocation is timed in.
fn warmed(h: &mut dyn Heap) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut live = vec![];
    for _ in 0..64 {
        let l = Layout::from_size_align(8 + (rng.next() % 200) as usize, 8).unwrap();
        live.push((h.alloc(l).unwrap(), l));
    }
    for (p, l) in live.into_iter().step_by(2) {
        // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
        unsafe { h.free(p, l) };
    }
}

/// Median ns of one 8 B allocation and of one free.
fn time_8b(h: &mut dyn Heap) -> (f64, f64) {
    warmed(h);
    let mut slots = [NonNull::<u8>::dangling(); BATCH];
    let (mut a, mut f) = (vec![], vec![]);
    for _ in 0..2000 {
        let t = Instant::now();
        for s in slots.iter_mut() {
            *s = h.alloc(L8).unwrap();
        }
        a.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        black_box(&slots);
        let t = Instant::now();
        for s in slots.iter() {
            // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
            unsafe { h.free(*s, L8) };
        }
        f.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    (median(a), median(f))
}

/// Random churn: (mean % of the region live when an allocation is first
/// refused, mean fragmentation %).
fn churn(h: &mut dyn Heap) -> (f64, f64) {
    let mut rng = Rng(12345);
    let mut live: Vec<(NonNull<u8>, Layout)> = vec![];
    let mut used = 0usize;
    let (mut at_fail, mut fails) = (0usize, 0usize);
    let mut frag = vec![];
    for step in 0..200_000u32 {
        if live.is_empty() || rng.next() % 100 < 55 {
            let base = 1usize << (3 + rng.next() % 7);
            let size = base + rng.next() as usize % base;
            let l = Layout::from_size_align(size, if rng.next().is_multiple_of(4) { 16 } else { 8 }).unwrap();
            match h.alloc(l) {
                Some(p) => {
                    used += size;
                    live.push((p, l));
                }
                None => {
                    at_fail += used;
                    fails += 1;
                    for _ in 0..live.len() / 2 {
                        let (p, l) = live.swap_remove(rng.next() as usize % live.len());
                        used -= l.size();
                        // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
                        unsafe { h.free(p, l) };
                    }
                }
            }
        } else {
            let (p, l) = live.swap_remove(rng.next() as usize % live.len());
            used -= l.size();
            // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
            unsafe { h.free(p, l) };
        }
        if step % 997 == 0 {
            let free = REGION - used;
            frag.push(1.0 - largest(h) as f64 / free as f64);
        }
    }
    let fill = at_fail as f64 / fails.max(1) as f64 / REGION as f64 * 100.0;
    (fill, frag.iter().sum::<f64>() / frag.len() as f64 * 100.0)
}

fn blocks_8b(h: &mut dyn Heap) -> usize {
    let mut n = 0;
    while h.alloc(L8).is_some() {
        n += 1;
    }
    n
}

// ---- instruction counts: valgrind runs this test binary again, collecting only inside these ----

const N: usize = 1000;

macro_rules! counted {
    ($alloc:ident, $free:ident, $heap:ty) => {
        #[inline(never)]
        fn $alloc(h: &mut $heap, out: &mut [NonNull<u8>; N]) {
            for s in out.iter_mut() {
                *s = h.alloc(L8).unwrap();
            }
        }
        #[inline(never)]
        fn $free(h: &mut $heap, out: &[NonNull<u8>; N]) {
            for s in out.iter() {
                // SAFETY: `p` was allocated by this heap with layout `l` and is freed exactly once
                unsafe { h.free(*s, L8) };
            }
        }
    };
}

counted!(ir_talc32_alloc, ir_talc32_free, TalcHeap<Bins>);
counted!(ir_talc95_alloc, ir_talc95_free, TalcHeap<DefaultBinning>);
counted!(ir_dlmalloc_alloc, ir_dlmalloc_free, DlHeap);
counted!(ir_partition_alloc, ir_partition_free, PartitionHeap);

/// The workload valgrind measures (run by `instructions`, not by hand).
#[test]
#[ignore]
fn callgrind_workload() {
    let mut out = Box::new([NonNull::<u8>::dangling(); N]);
    let mut t = TalcHeap::<Bins>::new(region(64 * 1024));
    warmed(&mut t);
    ir_talc32_alloc(&mut t, &mut out);
    ir_talc32_free(&mut t, &out);
    let mut t = TalcHeap::<DefaultBinning>::new(region(64 * 1024));
    warmed(&mut t);
    ir_talc95_alloc(&mut t, &mut out);
    ir_talc95_free(&mut t, &out);
    let mut d = DlHeap::new(region(64 * 1024));
    warmed(&mut d);
    ir_dlmalloc_alloc(&mut d, &mut out);
    ir_dlmalloc_free(&mut d, &out);
    let mut p = PartitionHeap(Partition::new(PartitionId::Guest, region(64 * 1024)).unwrap());
    warmed(&mut p);
    ir_partition_alloc(&mut p, &mut out);
    ir_partition_free(&mut p, &out);
}

/// Instructions per call of `function` (callgrind), or `None` without valgrind.
fn instructions(function: &str) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::env::temp_dir().join(format!("fireball-callgrind-{}-{function}.out", std::process::id()));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect=*{function}*"))
        .arg(&exe)
        .args(["--ignored", "--exact", "callgrind_workload", "--test-threads", "1"])
        .output()
        .ok()?;
    if !status.status.success() {
        return None;
    }
    let text = std::fs::read_to_string(&out).ok()?;
    let _ = std::fs::remove_file(&out);
    let total: f64 = text.lines().find_map(|l| l.strip_prefix("totals:").or(l.strip_prefix("summary:")))?.trim().parse().ok()?;
    Some(total / N as f64)
}

fn ir(function: &str) -> String {
    instructions(function).map_or_else(|| "n/a".to_string(), |i| format!("{i:.0}"))
}

#[test]
#[ignore]
fn compare() {
    println!("16 KiB region, x86-64 host ({} build)", if cfg!(debug_assertions) { "debug" } else { "release" });
    println!(
        "{:<24} {:>8} {:>8} {:>9} {:>9} {:>10} {:>10} {:>10} {:>12}",
        "allocator", "alloc ns", "free ns", "alloc Ir", "free Ir", "live@fail", "frag mean", "8 B fit", "bookkeeping"
    );
    let row = |name: &str, make: &dyn Fn(&'static mut [u8]) -> Box<dyn Heap>, ir_name: &str, state: usize| {
        let (a, f) = time_8b(&mut *make(region(64 * 1024)));
        let (fill, frag) = churn(&mut *make(region(REGION)));
        let fit = blocks_8b(&mut *make(region(REGION)));
        let overhead = REGION - largest(&mut *make(region(REGION)));
        println!(
            "{name:<24} {a:>8.1} {f:>8.1} {:>9} {:>9} {fill:>9.1}% {frag:>9.1}% {fit:>10} {:>12}",
            ir(&format!("ir_{ir_name}_alloc")),
            ir(&format!("ir_{ir_name}_free")),
            format!("{state}+{overhead} B")
        );
    };
    row("talc, 32 lists (used)", &|r| Box::new(TalcHeap::<Bins>::new(r)), "talc32", size_of::<Talc<Manual, Bins>>());
    row(
        "talc, default 95 lists",
        &|r| Box::new(TalcHeap::<DefaultBinning>::new(r)),
        "talc95",
        size_of::<Talc<Manual, DefaultBinning>>(),
    );
    row("dlmalloc 0.2.14", &|r| Box::new(DlHeap::new(r)), "dlmalloc", size_of::<dlmalloc::Dlmalloc<Region>>());
    println!("(bookkeeping: bytes of allocator state outside the region + bytes of the region an empty heap cannot hand out)");
}

#[test]
#[ignore]
fn partition_8b() {
    let p = Partition::new(PartitionId::Guest, region(64 * 1024)).unwrap();
    println!(
        "Partition: {} B struct, {} B of a 64 KiB region for talc's bookkeeping",
        size_of::<Partition>(),
        p.region_size() - p.capacity()
    );
    let (a, f) = time_8b(&mut PartitionHeap(p));
    println!(
        "&Partition 8 B: alloc {a:.1} ns, free {f:.1} ns (median); instructions: alloc {}, free {} (callgrind, incl. ~3 of loop)",
        ir("ir_partition_alloc"),
        ir("ir_partition_free")
    );
}
