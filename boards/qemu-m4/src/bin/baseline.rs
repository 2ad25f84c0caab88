//! Size baseline: the firmware's runtime (cortex-m-rt, talc heap, semihosting
//! printing and exit, panic-halt) without the engine. scripts/size.sh
//! subtracts this binary from `fireball-qemu-m4` to get the engine's flash cost.
//! It allocates, formats integers and prints like the firmware does, so that
//! code is counted in both and cancels out.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use fireball_qemu_m4::{exit, ARENA_BYTES, HEAP};

#[entry]
fn main() -> ! {
    // Sizes the optimizer cannot see through, so talc's alloc/realloc/dealloc stay linked.
    let n = core::hint::black_box(100usize);
    let mut v: Vec<u32> = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        hprintln!("baseline: out of memory");
        exit(false)
    }
    v.extend((0..n as u32).map(|i| i * 3));
    v.reserve(n * 2);
    let sum: u32 = v.iter().sum();
    let ok = sum == core::hint::black_box(14_850);
    hprintln!(
        "baseline: sum {} ({:p}), heap peak {} B (live {} B) of {} B",
        sum,
        v.as_ptr(),
        HEAP.peak_bytes(),
        HEAP.live_bytes(),
        ARENA_BYTES
    );
    drop(v);
    hprintln!("baseline: {}", if ok { "PASS" } else { "FAIL" });
    exit(ok)
}
