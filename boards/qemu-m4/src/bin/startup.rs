//! Start-up on a Cortex-M, meant to run under `qemu-system-arm -icount shift=0`
//! (scripts/startup-qemu.sh; src/icount.rs counts the instructions). For each
//! guest build.rs validated and packed into this firmware's flash:
//!
//! * load it *validating* (`Module::from_packed_in`: the validator checks every
//!   body against the packed side table) and *prevalidated*
//!   (`Module::from_prevalidated_in`: build.rs's validation is the promise);
//! * for the guests a board runs, build a whole system around it with the facade,
//!   as a board's `main` does from reset to its first wasm instruction: memory
//!   plan, partitions, kernel, router, logger, the module loaded prevalidated into
//!   its partition, instantiated (linear memory zeroed) and spawned.
//!
//! Prints one line per figure; exits through semihosting (0: every load and
//! build succeeded).
#![no_std]
#![no_main]
// No unsafe here but the promise that build.rs validated the guests (`Prevalidated::new`,
// allowed where it is made).
#![deny(unsafe_code)]

#[path = "../icount.rs"]
mod icount;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use fireball::wasm::{Extern, Features, HostLimits, Module, Prevalidated, Store};
use fireball::{Builder, Guest, Parts, Ram};
use fireball_coos::mem::{Partition, PartitionId};
use fireball_qemu_m4::exit;

/// `OUT_DIR/<file>`, a guest build.rs validated and packed.
macro_rules! prevalidated {
    ($file:literal) => {{
        // SAFETY: build.rs wrote `OUT_DIR/$file` with `write_packed` of the guest after it
        // loaded (was validated) with this engine and the default features, which this
        // firmware loads it with; it is linked into this firmware's flash and comes from
        // nowhere else.
        #[allow(unsafe_code)]
        let p = unsafe { Prevalidated::new(include_bytes!(concat!(env!("OUT_DIR"), "/", $file))) };
        p
    }};
}

/// Name, container, and whether to build a system around it (CoreMark's 128 KiB of
/// linear memory do not fit the 96 KB device the plan is for).
const GUESTS: [(&str, Prevalidated<'static>, bool); 3] = [
    ("sensor.wasm", prevalidated!("sensor.fbx"), true),
    ("calc.wasm", prevalidated!("calc.fbx"), true),
    ("coremark.wasm", prevalidated!("coremark.fbx"), false),
];

/// The device the memory plan is for (the STM32F401's RAM).
const RAM_BYTES: usize = 96 * 1024;

#[entry]
fn main() -> ! {
    exit(run())
}

fn run() -> bool {
    let Some(icount) = icount::Icount::start() else { return false };
    let Some(scratch) = cortex_m::singleton!(: [u8; 192 * 1024] = [0; 192 * 1024]) else { return false };
    // The engine alone allocates its metadata here (each module is dropped, and its
    // metadata freed, before the next load).
    let Ok(part) = Partition::new(PartitionId::Guest, scratch) else { return false };
    // One device RAM per system built (a system keeps its RAM for good).
    let (Some(r0), Some(r1)) = (cortex_m::singleton!(: Ram<RAM_BYTES> = Ram::new()), cortex_m::singleton!(: Ram<RAM_BYTES> = Ram::new()))
    else {
        return false;
    };
    let mut rams = [r0.bytes(), r1.bytes()].into_iter();
    for (name, packed, system) in GUESTS {
        let bytes = packed.bytes().len();
        // The engine alone: loading (the module's metadata only), then instantiating the
        // prevalidated one with up to 128 KiB of linear memory (zeroed) and a stub host
        // function per function import.
        let mut load = [0u64; 2];
        let mut module = None;
        for (k, insns) in load.iter_mut().enumerate() {
            let t0 = icount.now();
            let m = if k == 0 {
                Module::from_packed_in(packed.bytes(), Features::default(), &part)
            } else {
                Module::from_prevalidated_in(packed, Features::default(), &part)
            };
            *insns = icount.now() - t0;
            match m {
                Ok(m) if k == 1 => module = Some(m),
                Ok(_) => {}
                Err(e) => {
                    hprintln!("{}: {}", name, e);
                    return false;
                }
            }
        }
        let Some(module) = module else { return false };
        let t0 = icount.now();
        let mut store = Store::new_in(HostLimits { max_memory_bytes: 128 * 1024, max_table_elems: 64 }, &part);
        let mut stubs = [None; 8];
        for (i, slot) in stubs.iter_mut().enumerate().take(module.imported_func_count() as usize) {
            let Some(ty) = module.func_type(i as u32) else { return false };
            *slot = store.host_func(ty.params, ty.results, i as u32).ok();
        }
        let mut next = stubs.iter();
        let inst = store.instantiate(&module, |_, _, _| next.next().copied().flatten().map(Extern::Func));
        let instantiate = icount.now() - t0;
        let inst = match inst {
            Ok(i) => i,
            Err(e) => {
                hprintln!("{}: instantiate: {}", name, e);
                return false;
            }
        };
        let memory = store.instance_memory(inst, 0).and_then(|m| store.memory_data(m)).map_or(0, <[u8]>::len);
        hprintln!(
            "{:<14} {:>6} B packed: load validating {:>8} instructions, prevalidated {:>7}; instantiate ({} B of linear memory) {:>6}",
            name,
            bytes,
            load[0],
            load[1],
            memory,
            instantiate
        );
        drop(store);
        drop(module);
        if !system {
            continue;
        }
        // The facade: what a board does before the guest's first instruction.
        let Some(ram) = rams.next() else { return false };
        let mut parts = Parts::new();
        let t0 = icount.now();
        let built = Builder::new(ram).guest(Guest::prevalidated_app(name, packed)).build(&mut parts);
        let insns = icount.now() - t0;
        let system = match built {
            Ok(s) => s,
            Err(e) => {
                hprintln!("{}: {}", name, e);
                return false;
            }
        };
        let memory = system.footprints().first().map_or(0, |f| f.memory);
        hprintln!(
            "{:<14} system built (plan for {} B, kernel, router, logger; module loaded prevalidated, {} B of linear memory zeroed, spawned): {} instructions",
            name,
            RAM_BYTES,
            memory,
            insns
        );
    }
    true
}
