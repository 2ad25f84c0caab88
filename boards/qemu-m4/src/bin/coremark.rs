//! CoreMark on a Cortex-M, in instructions per iteration: the workload the host
//! bench runs (`benches/workloads/wasm/coremark.wasm`, CoreMark 1.0's 2K
//! performance run through the crates.io `coremark` crate, exported as
//! `run(iterations) -> checksum`), packed by build.rs and executed in place
//! from flash by Fireball. Meant for `qemu-system-arm -icount shift=0`
//! (scripts/coremark-qemu.sh), where SysTick counts executed instructions: 40
//! per tick on mps2-an386 (Cortex-M4), 50 on mps2-an505 (Cortex-M33); the
//! SysTick exception counts its wraps, so the counter is 64 bits wide.
//!
//! Prints instructions per iteration (the difference between a run of `ITERS`
//! iterations and a run of one, so set-up is not counted) and checks each run's
//! checksum against the one the host computes for the same `n`.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::hprintln;
use fireball_coos::mem::{Partition, PartitionId};
use fireball_qemu_m4::exit;
use fireball_wasm::{Exit, Features, HostLimits, Module, StackLimits, Store, Thread, Value};

/// The workload, packed with its side table by build.rs.
static COREMARK: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/coremark.fbx"));

/// Iterations of the measured run.
const ITERS: i32 = 10;

/// `run(n)`'s checksum on the host (`cargo bench -p fireball-bench` checks the same
/// function natively), for n = 1 and n = ITERS.
const EXPECT: [(i32, i64); 2] = [(1, -1795775340749330668), (10, -1795775340749325137)];

/// RAM for the module's metadata, its store (192 KiB of linear memory at most: the workload grows to three 64 KiB pages) and the thread.
const RAM_BYTES: usize = 320 * 1024;

#[repr(C, align(16))]
struct Ram([u8; RAM_BYTES]);

static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// SysTick ticks since it was started (64 bits: wraps counted by the exception).
fn ticks() -> u64 {
    loop {
        let w = WRAPS.load(Ordering::Relaxed);
        let cur = SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == w {
            return ((w as u64) << 24) + (0x00ff_ffff - cur) as u64;
        }
    }
}

/// Instructions per SysTick tick under `-icount shift=0` (CPUID tells the boards apart).
fn insns_per_tick(cpuid: u32) -> u64 {
    if (cpuid >> 4) & 0xfff == 0xd21 {
        50
    } else {
        40
    }
}

#[entry]
fn main() -> ! {
    let ok = run();
    exit(ok)
}

fn run() -> bool {
    let Some(mut p) = cortex_m::Peripherals::take() else { return false };
    let per_tick = insns_per_tick(p.CPUID.base.read());
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(0x00ff_ffff);
    p.SYST.clear_current();
    p.SYST.enable_interrupt();
    p.SYST.enable_counter();

    let Some(ram) = cortex_m::singleton!(: Ram = Ram([0; RAM_BYTES])) else { return false };
    let part = match Partition::new(PartitionId::Guest, &mut ram.0) {
        Ok(p) => p,
        Err(_) => return false,
    };
    // The thread first: linear memory, allocated last, can then grow in place.
    let Ok(mut thread) = Thread::new_in(StackLimits { value_slots: 2048, frames: 128 }, &part) else { return false };
    let t0 = ticks();
    let module = match Module::from_packed_in(COREMARK, Features::default(), &part) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("coremark.wasm: {}", e);
            return false;
        }
    };
    let mut store = Store::new_in(HostLimits { max_memory_bytes: 192 * 1024, max_table_elems: 64 }, &part);
    let inst = match store.instantiate(&module, |_, _, _| None) {
        Ok(i) => i,
        Err(e) => {
            hprintln!("instantiate: {}", e);
            return false;
        }
    };
    let load = (ticks() - t0) * per_tick;
    let Some(f) = store.export_func(inst, "run") else { return false };
    hprintln!(
        "coremark.wasm: {} B packed in flash, engine metadata {} B in RAM; load + validate + instantiate: {} instructions",
        COREMARK.len(),
        module.metadata_bytes(),
        load
    );

    let mut insns = [0u64; 2];
    let mut wasm = [0u64; 2];
    for (k, &(n, want)) in EXPECT.iter().enumerate() {
        if thread.invoke(&store, f, &[Value::I32(n)]).is_err() {
            return false;
        }
        let before = thread.instructions();
        let start = ticks();
        let exit = thread.resume(&mut store, u64::MAX);
        insns[k] = (ticks() - start) * per_tick;
        wasm[k] = thread.instructions() - before;
        let got = thread.results(&store).next();
        if exit != Exit::Done || got != Some(Value::I64(want)) {
            hprintln!("run({}): {:?} {:?}, expected {}", n, exit, got, want);
            return false;
        }
    }
    let iters = (EXPECT[1].0 - EXPECT[0].0) as u64;
    let per_iter = (insns[1] - insns[0]) / iters;
    let wasm_per_iter = (wasm[1] - wasm[0]) / iters;
    hprintln!(
        "fireball: {} instructions per CoreMark iteration ({} for run(1), {} for run({})); {} wasm instructions per iteration, {}.{} per wasm instruction",
        per_iter,
        insns[0],
        insns[1],
        ITERS,
        wasm_per_iter,
        per_iter / wasm_per_iter.max(1),
        per_iter * 10 / wasm_per_iter.max(1) % 10
    );
    true
}
