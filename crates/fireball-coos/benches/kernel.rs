//! Kernel micro-benchmarks on the host, next to Lua 5.4's coroutines measured
//! in the same run: context switch (native↔native, wasm↔wasm), channel
//! send+recv (raw and as a wasm↔native round trip). Medians of several runs;
//! the machine is shared, so compare the ratios. `-- --quick` for a smoke run.

use std::cell::RefCell;
use std::pin::pin;
use std::process::Command;
use std::time::Instant;

use allocator_api2::alloc::Global;
use fireball_coos::chan::{Channels, Link, Tagged};
use fireball_coos::mem::{Partition, PartitionId};
use allocator_api2::alloc::Allocator;
use fireball_coos::sched::{Core, Ctx, Kernel, KernelConfig};
use fireball_wasm::{HostLimits, Module, StackLimits};

const CHANNELS: &[usize] = &[0, 0, 16];

fn cfg() -> KernelConfig {
    KernelConfig { tasks: 8, channels: CHANNELS, owned: 64, cpu_mhz: 100 }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time_per(n: u64, reps: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_nanos() as f64 / n as f64
            })
            .collect(),
    )
}

fn module(wat: &str) -> &'static Module<'static> {
    let bytes: &'static [u8] = Box::leak(wat::parse_str(wat).expect("wat").into_boxed_slice());
    Box::leak(Box::new(Module::new(bytes).expect("module")))
}

fn native_switch(n: u64) {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
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
    let mut k: Kernel<'_, 'static, Global, Global, Global> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    k.spawn_native(a.as_mut()).expect("a");
    k.spawn_native(b.as_mut()).expect("b");
    k.run(n as usize);
}

const YIELDER: &str = r#"(module (import "env" "co_yield" (func $y))
  (func (export "main") (loop (call $y) (br 0))))"#;

fn wasm_switch(n: u64, m: &'static Module<'static>) {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let mut k: Kernel<'_, 'static, Global, Global, Global> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let stack = StackLimits { value_slots: 256, frames: 16 };
    let limits = HostLimits { max_memory_bytes: 0, max_table_elems: 0 };
    k.spawn_wasm(m, "main", Global, limits, stack).expect("a");
    k.spawn_wasm(m, "main", Global, limits, stack).expect("b");
    k.run(n as usize);
}

const PINGER: &str = r#"(module
  (import "env" "ch_send" (func $send (param i32 i32)))
  (import "env" "ch_recv" (func $recv (param i32 i32)))
  (memory 1)
  (func (export "main") (loop (call $send (i32.const 0) (i32.const 1)) (call $recv (i32.const 1) (i32.const 0)) (br 0))))"#;

fn round_trip(n: u64, m: &'static Module<'static>) {
    let core = RefCell::new(Core::new_in(&cfg(), Global).expect("core"));
    let ctx = Ctx::new(&core);
    let mut pong = pin!(async {
        loop {
            let v = ctx.recv(0).await.unwrap_or(0);
            let _ = ctx.send(1, v).await;
        }
    });
    let mut k: Kernel<'_, 'static, Global, Global, Global> = Kernel::new_in(&core, &cfg(), Global).expect("kernel");
    let stack = StackLimits { value_slots: 256, frames: 16 };
    k.spawn_wasm(m, "main", Global, HostLimits { max_memory_bytes: 1 << 16, max_table_elems: 0 }, stack).expect("ping");
    k.spawn_native(pong.as_mut()).expect("pong");
    k.run(n as usize);
}

/// 8-byte allocations from a partition: (ns per alloc, ns per free), medians.
fn partition_alloc_free(reps: usize) -> (f64, f64) {
    let region: &'static mut [u8] = Box::leak(vec![0u8; 16 * 1024].into_boxed_slice());
    let p = Partition::new(PartitionId::Kernel, region).expect("partition");
    let layout = std::alloc::Layout::from_size_align(8, 4).expect("layout");
    let mut ptrs = Vec::with_capacity(256);
    let (mut a, mut f) = (Vec::new(), Vec::new());
    for _ in 0..reps * 10 {
        let t = Instant::now();
        for _ in 0..256 {
            ptrs.push((&p).allocate(layout).expect("alloc"));
        }
        a.push(t.elapsed().as_nanos() as f64 / 256.0);
        let t = Instant::now();
        for q in ptrs.drain(..) {
            // SAFETY: allocated above from this partition with `layout`, freed once.
            unsafe { (&p).deallocate(q.cast(), layout) };
        }
        f.push(t.elapsed().as_nanos() as f64 / 256.0);
    }
    (median(a), median(f))
}

fn raw_channel(n: u64) {
    let mut c: Channels<Global> = Channels::new_in(&[16], Global).expect("chan");
    let mut links = [Link::default(); 8];
    for i in 0..n {
        let _ = c.send(0, Tagged::value(i as u32), None, &mut links);
        let _ = std::hint::black_box(c.recv(0, None, &mut links));
    }
}

const LUA: &str = r#"
local n = tonumber(arg[1])
local co = coroutine.wrap(function() while true do coroutine.yield() end end)
local best = math.huge
for rep = 1, tonumber(arg[2]) do
  local t = os.clock()
  for i = 1, n do co() end
  local dt = (os.clock() - t) * 1e9 / n
  if dt < best then best = dt end
end
print(string.format("%.1f", best))
"#;

fn lua_resume_yield(n: u64, reps: usize) -> Option<f64> {
    let path = std::env::temp_dir().join(format!("fireball-bench-coroutine-{}.lua", std::process::id()));
    std::fs::write(&path, LUA).ok()?;
    let out = Command::new("lua5.4").arg(&path).arg(n.to_string()).arg(reps.to_string()).output().ok();
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&out?.stdout).trim().parse().ok()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n, reps) = if quick { (20_000u64, 3) } else { (400_000u64, 11) };
    let yielder = module(YIELDER);
    let pinger = module(PINGER);
    println!("COOS kernel micro-benchmarks ({} mode): median ns per operation over {reps} runs", if quick { "quick" } else { "full" });
    let native = time_per(n, reps, || native_switch(n));
    let wasm = time_per(n, reps, || wasm_switch(n, yielder));
    let chan = time_per(n, reps, || raw_channel(n));
    // A round trip is 2 slices (ping, pong) and 4 channel operations.
    let rt = time_per(n / 2, reps, || round_trip(n, pinger));
    println!("{:<52} {:>10}", "operation", "ns");
    println!("{:<52} {:>10.1}", "context switch, native <-> native (yield_now)", native);
    println!("{:<52} {:>10.1}", "context switch, wasm <-> wasm (co_yield import)", wasm);
    println!("{:<52} {:>10.1}", "channel send + recv, raw (buffered, no task switch)", chan);
    println!("{:<52} {:>10.1}", "wasm -> native -> wasm round trip (2 rendezvous)", rt);
    let (alloc, free) = partition_alloc_free(reps);
    println!("{:<52} {:>10.1}", "alloc 8 B from a partition (talc)", alloc);
    println!("{:<52} {:>10.1}", "free 8 B to a partition (talc)", free);
    let ram_cfg = KernelConfig { tasks: 8, channels: &[4; 16], owned: 64, cpu_mhz: 100 };
    let core: Core<Global> = Core::new_in(&ram_cfg, Global).expect("core");
    println!(
        "kernel RAM, 8 tasks + 16 channels of capacity 4 + 64 owned entries: {} B on this {}-bit host",
        core.ram_bytes(),
        usize::BITS
    );
    match lua_resume_yield(n, reps) {
        Some(l) => {
            println!("{:<52} {:>10.1}", "Lua 5.4 coroutine resume + yield (same machine)", l);
            println!("ratios vs Lua resume+yield: native switch {:.2}x, wasm switch {:.2}x", native / l, wasm / l);
        }
        None => println!("Lua 5.4 not found (apt-get install lua5.4): no comparison"),
    }
}
