//! CoreMark on a Cortex-M, in instructions per iteration: the workload the host
//! bench runs (`benches/workloads/wasm/coremark.wasm`, CoreMark 1.0's 2K
//! performance run through the crates.io `coremark` crate, exported as
//! `run(iterations) -> checksum`), packed by build.rs and executed in place
//! from flash by Fireball. Meant for `qemu-system-arm -icount shift=0`
//! (scripts/coremark-qemu.sh), where SysTick counts executed instructions
//! (src/icount.rs, shared with coremark-native and coremark-wasmi).
//!
//! Prints instructions per iteration (the difference between a run of `ITERS`
//! iterations and a run of one, so set-up is not counted) and checks each run's
//! checksum against the one the host computes for the same `n`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use fireball_coos::mem::{Partition, PartitionId};
use fireball_qemu_m4::exit;
use fireball_wasm::{Exit, Features, HostLimits, Module, Prevalidated, StackLimits, Store, Thread, Value};

#[path = "../icount.rs"]
mod icount;

/// The workload, packed with its side table by build.rs.
static COREMARK: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/coremark.fbx"));

/// Iterations of the measured run.
/// Whether this is bin coremark-fuel (see `run`'s end).
const FUEL_COST: bool = {
    let name = env!("CARGO_BIN_NAME").as_bytes();
    let want = b"coremark-fuel";
    let mut same = name.len() == want.len();
    let mut i = 0;
    while same && i < name.len() {
        same = name[i] == want[i];
        i += 1;
    }
    same
};

const ITERS: i32 = 10;

/// `run(n)`'s checksum on the host (`cargo bench -p fireball-bench` checks the same
/// function natively), for n = 1 and n = ITERS.
const EXPECT: [(i32, i64); 2] = [(1, -1795775340749330668), (10, -1795775340749325137)];

/// RAM for the module's metadata, its store (192 KiB of linear memory at most: the workload grows to three 64 KiB pages) and the thread.
const RAM_BYTES: usize = 320 * 1024;

#[repr(C, align(16))]
struct Ram([u8; RAM_BYTES]);

#[entry]
fn main() -> ! {
    let ok = run();
    exit(ok)
}

fn run() -> bool {
    let Some(icount) = icount::Icount::start() else { return false };

    let Some(ram) = cortex_m::singleton!(: Ram = Ram([0; RAM_BYTES])) else { return false };
    let part = match Partition::new(PartitionId::Guest, &mut ram.0) {
        Ok(p) => p,
        Err(_) => return false,
    };
    // The thread first: linear memory, allocated last, can then grow in place.
    let Ok(mut thread) = Thread::new_in(StackLimits { value_slots: 2048, frames: 128 }, &part) else { return false };
    // Load + validate + instantiate, as for a guest from outside the firmware; measured,
    // then dropped.
    let t0 = icount.now();
    let checked = match Module::from_packed_in(COREMARK, Features::default(), &part) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("coremark.wasm: {}", e);
            return false;
        }
    };
    let metadata = checked.metadata_bytes();
    let limits = HostLimits { max_memory_bytes: 192 * 1024, max_table_elems: 64 };
    {
        let mut store = Store::new_in(limits, &part);
        if let Err(e) = store.instantiate(&checked, |_, _, _| None) {
            hprintln!("instantiate: {}", e);
            return false;
        }
    }
    let load = icount.now() - t0;
    drop(checked);

    // The same container as the firmware's own guest: validated when build.rs packed it,
    // loaded without validating the bodies again. CoreMark then runs on this one.
    let t1 = icount.now();
    // SAFETY: COREMARK is build.rs's output, `write_packed` of coremark.wasm after it
    // loaded (was validated) with this engine and the default features; it is linked
    // into this firmware's flash and comes from nowhere else.
    let pre = unsafe { Prevalidated::new(COREMARK) };
    let module = match Module::from_prevalidated_in(pre, Features::default(), &part) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("coremark.wasm (prevalidated): {}", e);
            return false;
        }
    };
    let mut store = Store::new_in(limits, &part);
    let inst = match store.instantiate(&module, |_, _, _| None) {
        Ok(i) => i,
        Err(e) => {
            hprintln!("instantiate: {}", e);
            return false;
        }
    };
    let trusted = icount.now() - t1;
    let Some(f) = store.export_func(inst, "run") else { return false };
    hprintln!(
        "coremark.wasm: {} B packed in flash, engine metadata {} B in RAM; load + validate + instantiate: {} instructions; prevalidated (from_prevalidated_in) + instantiate: {} instructions",
        COREMARK.len(),
        metadata,
        load,
        trusted
    );

    let mut insns = [0u64; 2];
    let mut wasm = [0u64; 2];
    for (k, &(n, want)) in EXPECT.iter().enumerate() {
        if thread.invoke(&store, f, &[Value::I32(n)]).is_err() {
            return false;
        }
        let before = thread.instructions();
        let start = icount.now();
        let exit = thread.resume(&mut store, u64::MAX);
        insns[k] = icount.now() - start;
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
    // Bin coremark-fuel (this file too): the same run(ITERS) unmetered (`Thread::run`, the
    // loop without the fuel checks), for what the fuel checks cost here. Not in bin
    // coremark, whose flash the table reports: it would link a second interpreter loop.
    if !FUEL_COST {
        return true;
    }
    let (n, want) = EXPECT[1];
    if thread.invoke(&store, f, &[Value::I32(n)]).is_err() {
        return false;
    }
    let start = icount.now();
    let exit = thread.run(&mut store);
    let plain = icount.now() - start;
    let got = thread.results(&store).next();
    if exit != Exit::Done || got != Some(Value::I64(want)) {
        hprintln!("run({}) unmetered: {:?} {:?}, expected {}", n, exit, got, want);
        return false;
    }
    let permille = (insns[1] * 1000).checked_div(plain).unwrap_or(0) as i64 - 1000;
    hprintln!(
        "fireball: run({}) unmetered {} instructions; metered (fuel) {}{}.{}% more",
        ITERS,
        plain,
        if permille < 0 { "-" } else { "" },
        permille.abs() / 10,
        permille.abs() % 10
    );
    true
}
