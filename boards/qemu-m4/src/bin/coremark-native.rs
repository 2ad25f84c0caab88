//! CoreMark natively on a Cortex-M, in instructions per iteration: the code the
//! wasm workload `benches/workloads/wasm/coremark.wasm` was built from
//! (`benches/workloads/coremark`, CoreMark 1.0's 2K performance run through the
//! crates.io `coremark` crate's algorithms, here its no_std copy
//! vendor/coremark) compiled for the firmware's target. The yardstick of
//! src/bin/coremark.rs (Fireball) and src/bin/coremark-wasmi.rs (wasmi):
//! the same iteration counts, the same checksums, the same counter
//! (src/icount.rs, `qemu-system-arm -icount shift=0`; scripts/coremark-qemu.sh).
#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use fireball_qemu_m4::{exit, HEAP};

#[path = "../icount.rs"]
mod icount;

/// Iterations of the measured run.
const ITERS: i32 = 10;

/// `run(n)`'s checksum (the same as src/bin/coremark.rs checks), for n = 1 and n = ITERS.
const EXPECT: [(i32, i64); 2] = [(1, -1795775340749330668), (10, -1795775340749325137)];

#[entry]
fn main() -> ! {
    let ok = run();
    exit(ok)
}

fn run() -> bool {
    let Some(icount) = icount::Icount::start() else { return false };
    let mut insns = [0u64; 2];
    for (k, &(n, want)) in EXPECT.iter().enumerate() {
        // black_box: the iteration count is not known to the compiler, as it is not to the engines.
        let n = black_box(n);
        let start = icount.now();
        let got = workload_coremark::run(n as u32) as i64;
        insns[k] = icount.now() - start;
        if got != want {
            hprintln!("run({}): {}, expected {}", n, got, want);
            return false;
        }
    }
    let per_iter = (insns[1] - insns[0]) / (EXPECT[1].0 - EXPECT[0].0) as u64;
    hprintln!(
        "native: {} instructions per CoreMark iteration ({} for run(1), {} for run({})); heap peak {} B",
        per_iter,
        insns[0],
        insns[1],
        ITERS,
        HEAP.peak_bytes()
    );
    true
}
