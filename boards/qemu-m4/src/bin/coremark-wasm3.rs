//! CoreMark on wasm3 0.4.7 (through the `wasm3` crate 0.3.1, the bindings the
//! host bench uses, `no_std`), in instructions per iteration: the same
//! `benches/workloads/wasm/coremark.wasm` that src/bin/coremark.rs runs on
//! Fireball. wasm3 copies the bytes into RAM (it keeps them for its lazy
//! compilation: each function is compiled on its first call, so in `run(1)`,
//! which the per-iteration figure subtracts). The same iteration counts, the
//! same checksums and the same counter (src/icount.rs, `qemu-system-arm
//! -icount shift=0`; scripts/coremark-qemu.sh builds it with `--features wasm3`).
//!
//! wasm3's C is built by arm-none-eabi-gcc (the `cc` crate) and linked with
//! newlib (build.rs); its `malloc` family is served here from the runtime's
//! heap (talc).
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::Layout;
use core::ffi::c_void;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use fireball_qemu_m4::{exit, HEAP};

#[path = "../icount.rs"]
mod icount;
use icount::Icount;

/// The workload: the wasm bytes, in flash.
static COREMARK: &[u8] = include_bytes!("../../../../benches/workloads/wasm/coremark.wasm");

/// Iterations of the measured run.
const ITERS: i32 = 10;

/// `run(n)`'s checksum (the same as src/bin/coremark.rs checks), for n = 1 and n = ITERS.
const EXPECT: [(i32, i64); 2] = [(1, -1795775340749330668), (10, -1795775340749325137)];

/// wasm3's stack, in bytes: values and frames of wasm calls (Rust's shadow
/// stack lives in linear memory). The host bench gives it 1 MiB; CoreMark
/// needs little.
const WASM3_STACK: u32 = 64 * 1024;

/// Heap on top of the runtime's 64 KiB arena: wasm3's compiled code, its
/// stack, the module's bytes and the workload's linear memory.
const EXTRA_HEAP_BYTES: usize = 1024 * 1024;

static mut EXTRA_HEAP: [u8; EXTRA_HEAP_BYTES] = [0; EXTRA_HEAP_BYTES];

#[entry]
fn main() -> ! {
    let ok = run();
    exit(ok)
}

fn run() -> bool {
    let Some(icount) = Icount::start() else { return false };
    // SAFETY: the only reference to EXTRA_HEAP ever made (`main` runs once and
    // nothing else names the static), over exactly its bytes.
    let extra: &'static mut [u8] =
        unsafe { core::slice::from_raw_parts_mut((&raw mut EXTRA_HEAP).cast::<u8>(), EXTRA_HEAP_BYTES) };
    if !HEAP.claim(extra) {
        hprintln!("wasm3: the heap refused {} B", EXTRA_HEAP_BYTES);
        return false;
    }
    let t0 = icount.now();
    let env = match wasm3::Environment::new() {
        Ok(e) => e,
        Err(e) => {
            hprintln!("wasm3: environment: {}", e);
            return false;
        }
    };
    let rt = match env.create_runtime(WASM3_STACK) {
        Ok(r) => r,
        Err(e) => {
            hprintln!("wasm3: runtime: {}", e);
            return false;
        }
    };
    if let Err(e) = rt.parse_and_load_module(COREMARK) {
        hprintln!("wasm3: coremark.wasm: {}", e);
        return false;
    }
    let f = match rt.find_function::<i32, i64>("run") {
        Ok(f) => f,
        Err(e) => {
            hprintln!("wasm3: run: {}", e);
            return false;
        }
    };
    let load = icount.now() - t0;
    let mut insns = [0u64; 2];
    for (k, &(n, want)) in EXPECT.iter().enumerate() {
        let start = icount.now();
        let got = f.call(n);
        insns[k] = icount.now() - start;
        match got {
            Ok(got) if got == want => {}
            Ok(got) => {
                hprintln!("wasm3: run({}): {}, expected {}", n, got, want);
                return false;
            }
            Err(e) => {
                hprintln!("wasm3: run({}): {}", n, e);
                return false;
            }
        }
    }
    let per_iter = (insns[1] - insns[0]) / (EXPECT[1].0 - EXPECT[0].0) as u64;
    hprintln!(
        "wasm3: {} instructions per CoreMark iteration ({} for run(1), {} for run({})); coremark.wasm {} B in flash; load + parse (functions compile on first call): {} instructions; heap {} B now, {} B at most",
        per_iter,
        insns[0],
        insns[1],
        ITERS,
        COREMARK.len(),
        load,
        HEAP.live_bytes(),
        HEAP.peak_bytes()
    );
    true
}

// ------------------------------------------------ libc's allocator, for wasm3's C

/// Alignment of every block (newlib's malloc gives 8) and size of the header
/// before it, which holds the block's size for `free` and `realloc`.
const ALIGN: usize = 8;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(ALIGN)?, ALIGN).ok()
}

/// `malloc` over the global allocator: the block's size is kept in the `ALIGN`
/// bytes before it.
#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    let Some(l) = layout(size) else { return core::ptr::null_mut() };
    // SAFETY: `l` has a nonzero size (at least ALIGN).
    let p = unsafe { alloc::alloc::alloc(l) };
    if p.is_null() {
        return p.cast();
    }
    // SAFETY: `p` is valid for `size + ALIGN` bytes, aligned to 8: the header
    // fits before the block.
    unsafe {
        p.cast::<usize>().write(size);
        p.add(ALIGN).cast()
    }
}

/// `calloc` over [`malloc`].
#[no_mangle]
pub extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size) else { return core::ptr::null_mut() };
    let Some(l) = layout(total) else { return core::ptr::null_mut() };
    // SAFETY: `l` has a nonzero size (at least ALIGN).
    let p = unsafe { alloc::alloc::alloc_zeroed(l) };
    if p.is_null() {
        return p.cast();
    }
    // SAFETY: as in `malloc`.
    unsafe {
        p.cast::<usize>().write(total);
        p.add(ALIGN).cast()
    }
}

/// `free` of a block from [`malloc`], [`calloc`] or [`realloc`] (or null).
///
/// # Safety
/// `ptr` is null or a live block from those functions.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` came from `malloc`/`calloc`/`realloc` (the caller's
    // contract), so its header, ALIGN bytes before it, holds the size it was
    // allocated with, and that layout was valid then.
    unsafe {
        let base = ptr.cast::<u8>().sub(ALIGN);
        let size = base.cast::<usize>().read();
        alloc::alloc::dealloc(base, Layout::from_size_align_unchecked(size + ALIGN, ALIGN));
    }
}

/// `realloc` of a block from [`malloc`], [`calloc`] or [`realloc`] (or null).
///
/// # Safety
/// `ptr` is null or a live block from those functions.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return malloc(size);
    }
    let Some(new) = size.checked_add(ALIGN) else { return core::ptr::null_mut() };
    // SAFETY: as in `free`; the new size plus the header does not overflow
    // (checked) and, rounded to ALIGN, stays below isize::MAX on a 32-bit
    // target whose heap is a few MiB (talc refuses what it cannot give).
    unsafe {
        let base = ptr.cast::<u8>().sub(ALIGN);
        let old = base.cast::<usize>().read();
        let p = alloc::alloc::realloc(base, Layout::from_size_align_unchecked(old + ALIGN, ALIGN), new);
        if p.is_null() {
            return p.cast();
        }
        p.cast::<usize>().write(size);
        p.add(ALIGN).cast()
    }
}

/// newlib's own `malloc` (which `vsnprintf` may reach, for wasm3's error
/// messages) grows its heap through `_sbrk`: it gets no memory, so that path
/// fails cleanly instead of writing outside the heap.
#[no_mangle]
pub extern "C" fn _sbrk(_incr: isize) -> *mut c_void {
    usize::MAX as *mut c_void
}
