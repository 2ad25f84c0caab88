//! The seed's per-size plans, end to end: each row's layout as FIREBALL.md §3
//! writes it, carved into real partitions that hold what the row promises
//! (N_svc service heaps of MAX_SERVICE_SIZE in P4). `--nocapture` prints the
//! tables.

use fireball_coos::mem::{Memory, PartitionId};
use fireball_coos::plan::{plan, Config, PlanError, KIB, MIN_GUEST};

fn ram(n: usize) -> &'static mut [u8] {
    let r: &'static mut [u8] = Box::leak(vec![0u8; n + 16].into_boxed_slice());
    let off = r.as_ptr().align_offset(16);
    &mut r[off..off + n]
}

/// RAM, then P1, P2, P3, P4, P6, P5 in bytes, as the table writes them.
const ROWS: [(usize, [usize; 6]); 5] = [
    (32 * KIB, [1536, 4096, 4096, 4096, 2560, 8 * KIB]),
    (64 * KIB, [1536, 4096, 4096, 4096, 2560, 16 * KIB]),
    (128 * KIB, [1536, 4096, 4096, 4096, 2560, 48 * KIB]),
    // "256 KB+ … the rest": 16 × 8 KiB stacks at 256 KiB (the seed's 32 × 8 KiB is the whole RAM), 32 at 512 KiB.
    (256 * KIB, [1536, 4096, 4096, 8 * KIB, 2560, 256 * KIB - 20 * KIB - 128 * KIB]),
    (512 * KIB, [1536, 4096, 4096, 8 * KIB, 2560, 512 * KIB - 20 * KIB - 256 * KIB]),
];

#[test]
fn every_row_comes_out_as_the_table_writes_it_and_is_usable() {
    for (bytes, want) in ROWS {
        let config = Config::row(bytes);
        let layout = plan(&config).expect("row fits");
        println!("{layout}");
        let got = [
            PartitionId::Kernel,
            PartitionId::Runtime,
            PartitionId::Subsystems,
            PartitionId::Services,
            PartitionId::Reserve,
            PartitionId::Guest,
        ]
        .map(|id| layout.partition(id).size);
        assert_eq!(got, want, "{bytes} B");

        let mut mem = Memory::new(&layout, ram(bytes)).expect("carve");
        assert_eq!(mem.take_stacks().expect("stacks").count(), config.n_coro);
        // P4 holds the row's services, each in its own heap.
        let p4 = mem.partition(PartitionId::Services);
        let services: Vec<_> = (0..config.n_svc as u16)
            .map(|i| p4.sub_partition(config.max_service_size, i).expect("service heap fits"))
            .collect();
        assert_eq!(services.len(), config.n_svc);
        // P5 gives the guest all of itself but two heaps' bookkeeping (under 320 B each on a 64-bit host).
        let p5 = mem.partition(PartitionId::Guest);
        let guest = p5.sub_partition(p5.capacity() - std::mem::size_of::<usize>(), 99).expect("guest heap");
        assert!(guest.capacity() + 2 * 320 > want[5], "{} of {}", guest.capacity(), want[5]);
        println!("{mem}");
    }
}

#[test]
fn the_seeds_256k_figures_say_what_does_not_fit() {
    let mut seed = Config::row(256 * KIB);
    seed.n_coro = 32;
    let err = plan(&seed).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert_eq!(
        text,
        "the plan does not fit in 262144 B of RAM: P1..P4 + P6 need 20480 B, the coroutine stacks 262144 B \
         and the guest (P5) at least 4096 B, 286720 B in all: 24576 B short"
    );
    assert!(matches!(err, PlanError::DoesNotFit { .. }));
    assert_eq!(err.short_by(), 20 * KIB + MIN_GUEST);
    // With fewer stacks the same RAM fits: 24 × 8 KiB leaves the guest 44 KiB.
    let mut fewer = seed;
    fewer.n_coro = 24;
    assert_eq!(plan(&fewer).expect("fits").partition(PartitionId::Guest).size, 44 * KIB);
}

#[test]
fn the_spec_defaults_on_the_reference_board() {
    let layout = plan(&Config::default()).expect("96 KiB fits the defaults");
    println!("{layout}");
    assert_eq!(layout.partition(PartitionId::Kernel).size, 512 + 16 * 128);
    assert_eq!(layout.partition(PartitionId::Guest).size, 46 * KIB);
    // The defaults do not fit a 32 KB device; the error says by how much.
    let err = plan(&Config::new(32 * KIB)).unwrap_err();
    assert_eq!(err.short_by(), 18 * KIB + 32 * KIB + MIN_GUEST - 32 * KIB);
}
