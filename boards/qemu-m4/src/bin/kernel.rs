//! COOS kernel micro-benchmarks on a Cortex-M, meant to run under
//! `qemu-system-arm -icount shift=0` (see scripts/kernel-bench-qemu.sh): there
//! every instruction advances virtual time by 1 ns and SysTick, clocked by the
//! 25 MHz system clock of mps2-an386 (20 MHz on an505), ticks once per 40 (50)
//! instructions. Each figure is the SysTick delta over N operations, turned
//! into instructions per operation, and printed next to the spec's target.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::pin::pin;

use allocator_api2::alloc::Global;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use allocator_api2::alloc::Allocator;
use fireball_coos::chan::{Channels, Link, Progress, Tagged};
use fireball_coos::mem::{Partition, PartitionId};
use fireball_coos::sched::{Core, Ctx, Kernel, KernelConfig};
use fireball_qemu_m4::{exit, HEAP};
use fireball_wasm::{HostLimits, Module, StackLimits};

static YIELD: &[u8] = include_bytes!("../../guest/yield.wasm");
static BUSY: &[u8] = include_bytes!("../../guest/busy.wasm");
static PING: &[u8] = include_bytes!("../../guest/ping.wasm");

const N: u32 = 2000;

/// Instructions per SysTick tick under `-icount shift=0`: SYSCLK is 25 MHz on
/// mps2-an386 (Cortex-M4) and 20 MHz on mps2-an505 (Cortex-M33), told apart by CPUID.
fn insns_per_tick(cpuid: u32) -> u32 {
    if (cpuid >> 4) & 0xfff == 0xd21 {
        50
    } else {
        40
    }
}

/// Instructions per operation for `n` operations done by `f` (SysTick counts down).
fn measure(per_tick: u32, n: u32, f: impl FnOnce()) -> u32 {
    let start = SYST::get_current();
    f();
    let end = SYST::get_current();
    let elapsed = start.wrapping_sub(end) & 0x00ff_ffff;
    elapsed * per_tick / n
}

/// One figure with the design's target (`spec`, cycles) and issue 9's (instructions), if any.
fn report(what: &str, insns: u32, spec: Option<u32>, issue: Option<u32>) {
    match (spec, issue) {
        (Some(t), Some(i)) => hprintln!("{:<46} {:>6} instructions   (spec target {}, issue 9: {})", what, insns, t, i),
        (Some(t), None) => hprintln!("{:<46} {:>6} instructions   (spec target {})", what, insns, t),
        _ => hprintln!("{:<46} {:>6} instructions", what, insns),
    }
}

const CFG: KernelConfig = KernelConfig { tasks: 8, channels: &[4; 16], owned: 64, cpu_mhz: 100 };

#[entry]
fn main() -> ! {
    let Some(mut p) = cortex_m::Peripherals::take() else { exit(false) };
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(0x00ff_ffff);
    p.SYST.clear_current();
    p.SYST.enable_counter();
    let syst = insns_per_tick(p.CPUID.base.read());
    hprintln!("COOS kernel on a Cortex-M (QEMU, -icount shift=0: 1 SysTick = {} instructions)", syst);

    // Kernel RAM for 8 coroutines and 16 channels: what Core reports, and what the heap gave.
    let before = HEAP.live_bytes();
    let core = match Core::new_in(&CFG, Global) {
        Ok(c) => RefCell::new(c),
        Err(_) => exit(false),
    };
    let heap = HEAP.live_bytes() - before;
    hprintln!(
        "kernel RAM (8 tasks, 16 channels x 4 messages, 64 owned entries): {} B (heap blocks {} B), spec P1 budget 1536 B",
        core.borrow().ram_bytes(),
        heap
    );

    // Channel send + receive, no task switch.
    let mut chans: Channels<Global> = match Channels::new_in(&[4], Global) {
        Ok(c) => c,
        Err(_) => exit(false),
    };
    let mut links = [Link::default(); 8];
    // The common case is inlined into the caller (chan.rs): the channel's number is
    // opaque to the compiler here, as it is in a host call, and each received value is
    // summed and checked, so no part of the pair can be folded away.
    let mut sum = 0u32;
    let send = measure(syst, N, || {
        for i in 0..N {
            let ch = core::hint::black_box(0);
            let _ = chans.send(ch, Tagged::value(i), None, &mut links);
            if let Ok((Progress::Done(m), _)) = chans.recv(ch, None, &mut links) {
                sum = sum.wrapping_add(m.msg);
            }
        }
    });
    if sum != N * (N - 1) / 2 {
        exit(false);
    }
    report("channel send + recv (pair)", send, Some(50 + 45), Some(60));

    // Native <-> native context switch.
    let ctx = Ctx::new(&core);
    let mut a = pin!(async {
        loop {
            ctx.yield_now().await
        }
    });
    let mut b = pin!(async {
        loop {
            ctx.yield_now().await
        }
    });
    {
        let mut k: Kernel<'_, 'static, Global, Global, Global> = match Kernel::new_in(&core, &CFG, Global) {
            Ok(k) => k,
            Err(_) => exit(false),
        };
        if k.spawn_native(a.as_mut()).is_err() || k.spawn_native(b.as_mut()).is_err() {
            exit(false);
        }
        let sw = measure(syst, N, || {
            k.run(N as usize);
        });
        report("context switch, native <-> native", sw, Some(60), Some(60));
    }

    // Wasm <-> wasm: explicit co_yield, and the automatic yield (fuel spent).
    let (Ok(yielder), Ok(busy)) = (Module::new(YIELD), Module::new(BUSY)) else { exit(false) };
    let limits = HostLimits { max_memory_bytes: 0, max_table_elems: 0 };
    let stack = StackLimits { value_slots: 64, frames: 8 };
    for (what, module, mhz, spec, issue) in [
        ("context switch, wasm <-> wasm (co_yield)", &yielder, 100, Some(60), Some(150)),
        ("automatic yield, wasm <-> wasm (fuel out)", &busy, 0, Some(60), Some(150)),
    ] {
        let core = match Core::new_in(&CFG, Global) {
            Ok(c) => RefCell::new(c),
            Err(_) => exit(false),
        };
        let cfg = KernelConfig { cpu_mhz: mhz, ..CFG };
        let mut k: Kernel<'_, '_, Global, Global, Global> = match Kernel::new_in(&core, &cfg, Global) {
            Ok(k) => k,
            Err(_) => exit(false),
        };
        for _ in 0..2 {
            if k.spawn_wasm(module, "main", Global, limits, stack).is_err() {
                exit(false);
            }
        }
        let insns = measure(syst, N, || {
            k.run(N as usize);
        });
        report(what, insns, spec, issue);
    }

    // Wasm -> native -> wasm over two rendezvous channels: the guest's `ch_send` on port
    // 0 hands its value to the native task waiting there, its `ch_recv` on port 1 parks
    // it until the answer comes; the kernel serves both calls and switches twice.
    {
        let rendezvous = KernelConfig { channels: &[0, 0], ..CFG };
        let Ok(ping) = Module::new(PING) else { exit(false) };
        let core = match Core::new_in(&rendezvous, Global) {
            Ok(c) => RefCell::new(c),
            Err(_) => exit(false),
        };
        let ctx = Ctx::new(&core);
        let mut pong = pin!(async {
            loop {
                let v = ctx.recv(0).await.unwrap_or(0);
                let _ = ctx.send(1, v).await;
            }
        });
        let mut k: Kernel<'_, '_, Global, Global, Global> = match Kernel::new_in(&core, &rendezvous, Global) {
            Ok(k) => k,
            Err(_) => exit(false),
        };
        // The guest declares a 64 KiB page; 1 KiB of it backed is all `ch_recv` writes to.
        let small = HostLimits { max_memory_bytes: 1024, max_table_elems: 0 };
        if k.spawn_wasm(&ping, "main", Global, small, stack).is_err() || k.spawn_native(pong.as_mut()).is_err() {
            exit(false);
        }
        // A few turns first: in the very first ones the guest's send finds nobody waiting yet.
        k.run(8);
        let before = k.stats(0).counters.chan_ops;
        let rt = measure(syst, N, || {
            k.run(2 * N as usize);
        });
        // Each round trip is two operations of the guest's.
        if k.stats(0).counters.chan_ops - before != 2 * N {
            exit(false);
        }
        report("wasm -> native -> wasm round trip (2 rendezvous)", rt, None, None);
    }

    // Allocation of 8 bytes from a partition (talc, 32 free lists) and its release.
    let Some(region) = cortex_m::singleton!(: [u8; 4096] = [0; 4096]) else { exit(false) };
    let Ok(part) = Partition::new(PartitionId::Kernel, &mut region[..]) else { exit(false) };
    let layout = core::alloc::Layout::new::<u64>();
    let mut ptrs = [None; 64];
    let alloc = measure(syst, 64, || {
        for p in ptrs.iter_mut() {
            *p = (&part).allocate(layout).ok();
        }
    });
    let free = measure(syst, 64, || {
        for p in ptrs.iter_mut() {
            if let Some(q) = p.take() {
                // SAFETY: allocated just above from `part` with `layout` and not freed since.
                unsafe { (&part).deallocate(q.cast(), layout) };
            }
        }
    });
    report("alloc 8 B (partition, talc)", alloc, Some(200), None);
    report("free 8 B (partition, talc)", free, Some(100), None);
    exit(true)
}

