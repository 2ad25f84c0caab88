//! CoreMark on wasmi 2.0.0 (the version the host bench runs, `no_std`), in
//! instructions per iteration: the same `benches/workloads/wasm/coremark.wasm`
//! that src/bin/coremark.rs runs on Fireball, here as plain bytes in flash
//! that wasmi validates and translates, eagerly (as the host bench does), into
//! its own code in RAM. The same iteration counts, the same checksums and the
//! same counter (src/icount.rs, `qemu-system-arm -icount shift=0`;
//! scripts/coremark-qemu.sh builds it with `--features wasmi`).
//!
//! Runs twice: as the host bench configures wasmi (no fuel), then with fuel
//! metering on, as Fireball always runs.
#![no_std]
#![no_main]

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

/// Heap on top of the runtime's 64 KiB arena: wasmi's translated code, its
/// stacks and the workload's linear memory (three 64 KiB pages): 364 KB at
/// most for CoreMark. 1 MiB fits mps2-an505's 2 MiB of RAM too.
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
        hprintln!("wasmi: the heap refused {} B", EXTRA_HEAP_BYTES);
        return false;
    }
    measure(&icount, false) && measure(&icount, true)
}

/// Loads, instantiates and runs the workload on a fresh engine; prints
/// instructions per iteration; false if anything fails or a checksum is wrong.
fn measure(icount: &Icount, fuel: bool) -> bool {
    let name = if fuel { "wasmi+fuel" } else { "wasmi" };
    let mut config = wasmi::Config::default();
    // Translate everything up front so no measured call pays for translation.
    config.compilation_mode(wasmi::CompilationMode::Eager);
    config.consume_fuel(fuel);
    let engine = wasmi::Engine::new(&config);
    let t0 = icount.now();
    let module = match wasmi::Module::new(&engine, COREMARK) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("{}: coremark.wasm: {}", name, e);
            return false;
        }
    };
    let mut store = wasmi::Store::new(&engine, ());
    if fuel {
        if let Err(e) = store.set_fuel(u64::MAX) {
            hprintln!("{}: set_fuel: {}", name, e);
            return false;
        }
    }
    let linker = wasmi::Linker::<()>::new(&engine);
    let inst = match linker.instantiate_and_start(&mut store, &module) {
        Ok(i) => i,
        Err(e) => {
            hprintln!("{}: instantiate: {}", name, e);
            return false;
        }
    };
    let load = icount.now() - t0;
    let f = match inst.get_typed_func::<i32, i64>(&store, "run") {
        Ok(f) => f,
        Err(e) => {
            hprintln!("{}: run: {}", name, e);
            return false;
        }
    };
    let mut insns = [0u64; 2];
    for (k, &(n, want)) in EXPECT.iter().enumerate() {
        let start = icount.now();
        let got = f.call(&mut store, n);
        insns[k] = icount.now() - start;
        match got {
            Ok(got) if got == want => {}
            Ok(got) => {
                hprintln!("{}: run({}): {}, expected {}", name, n, got, want);
                return false;
            }
            Err(e) => {
                hprintln!("{}: run({}): {}", name, n, e);
                return false;
            }
        }
    }
    let per_iter = (insns[1] - insns[0]) / (EXPECT[1].0 - EXPECT[0].0) as u64;
    hprintln!(
        "{}: {} instructions per CoreMark iteration ({} for run(1), {} for run({})); coremark.wasm {} B in flash; load + validate + translate + instantiate: {} instructions; heap {} B now, {} B at most",
        name,
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
