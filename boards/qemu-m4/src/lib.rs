//! The runtime shared by the firmware and the size baseline: the heap (a talc
//! allocator over a static arena, with a high-water mark), semihosting exit,
//! and the panic handler (panic-halt). Keeping it in one place makes the
//! baseline binary identical to the firmware except for the engine.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use panic_halt as _;
use spinning_top::RawSpinlock;
use talc::source::Claim;
use talc::TalcLock;

pub mod uart;

/// Bytes of the static heap arena.
pub const ARENA_BYTES: usize = 64 * 1024;

static mut ARENA: [u8; ARENA_BYTES] = [0; ARENA_BYTES];

/// The global allocator: talc over [`ARENA`] (claimed on first use), counting
/// the bytes live in allocations and their peak.
pub struct Heap {
    talc: TalcLock<RawSpinlock, Claim>,
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl Heap {
    fn grew(&self, by: usize) {
        let now = self.live.fetch_add(by, Ordering::Relaxed) + by;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn shrank(&self, by: usize) {
        self.live.fetch_sub(by, Ordering::Relaxed);
    }

    /// Bytes currently allocated (requested sizes, without talc's overhead).
    pub fn live_bytes(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Most bytes ever allocated at once (requested sizes, without talc's overhead).
    pub fn peak_bytes(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Gives the heap `mem` on top of its arena, for a firmware that needs more
    /// than [`ARENA_BYTES`] (src/bin/coremark-wasmi.rs); false if talc found it
    /// too small to use.
    pub fn claim(&self, mem: &'static mut [u8]) -> bool {
        // SAFETY: `mem` is borrowed mutably for 'static, so nothing but talc
        // reads or writes it from now on; the `Claim` source allows manual claims.
        unsafe { self.talc.lock().claim(mem.as_mut_ptr(), mem.len()) }.is_some()
    }
}

// SAFETY: every method forwards to talc's `GlobalAlloc` with the caller's own
// arguments, so talc's contract is the caller's; the counters are plain atomics.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let p = unsafe { self.talc.alloc(layout) };
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged: `ptr` came from this allocator with `layout`.
        unsafe { self.talc.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged: `ptr` came from this allocator with `layout`.
        let p = unsafe { self.talc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                self.grew(new_size - layout.size());
            } else {
                self.shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// The heap every `alloc` collection (and so the engine's `Global`) uses.
#[global_allocator]
pub static HEAP: Heap = Heap {
    // SAFETY: ARENA is used by nothing else; talc claims it once, on the first allocation.
    talc: TalcLock::new(unsafe { Claim::array(&raw mut ARENA) }),
    live: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// End the QEMU run through semihosting: exit status 0 if `ok`, 1 otherwise.
pub fn exit(ok: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    // Only reached without a semihosting host (e.g. on hardware with no debugger).
    loop {
        cortex_m::asm::wfi();
    }
}
