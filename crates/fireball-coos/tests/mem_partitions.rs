//! Partitions: each one's exhaustion triggers exactly its policy from
//! FIREBALL.md §3 while its siblings keep allocating; service and guest
//! sub-heaps are isolated from each other; statistics come back to their
//! baseline; fragmentation is reported.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec as AVec;
use fireball_coos::mem::{Exhaustion, Memory, Partition, PartitionError, PartitionId, Severity, MIN_REGION};
use fireball_coos::plan::{plan, Config, ALIGN, KIB};

/// `n` bytes of leaked, 16-byte aligned host memory standing in for RAM.
fn ram(n: usize) -> &'static mut [u8] {
    let r: &'static mut [u8] = Box::leak(vec![0u8; n + 16].into_boxed_slice());
    let off = r.as_ptr().align_offset(16);
    &mut r[off..off + n]
}

fn memory(kib: usize) -> Memory {
    let layout = plan(&Config::row(kib * KIB)).expect("plan");
    Memory::new(&layout, ram(kib * KIB)).expect("memory")
}

/// Allocates `size`-byte blocks from `p` until one is refused; returns them.
fn fill(p: &Partition, size: usize) -> Vec<NonNull<u8>> {
    let l = Layout::from_size_align(size, 8).unwrap();
    let mut held = Vec::new();
    while let Ok(b) = p.allocate_block(l) {
        held.push(b);
    }
    held
}

fn release(p: &Partition, held: Vec<NonNull<u8>>, size: usize) {
    let l = Layout::from_size_align(size, 8).unwrap();
    for b in held {
        // SAFETY: every block came from `p` with `l`.
        unsafe { p.free_block_of(b, l) };
    }
}

/// Small helpers over the `Allocator` impl, so the tests read as prose.
trait Blocks {
    fn allocate_block(&self, l: Layout) -> Result<NonNull<u8>, allocator_api2::alloc::AllocError>;
    /// # Safety
    /// `b` came from this partition with `l`.
    unsafe fn free_block_of(&self, b: NonNull<u8>, l: Layout);
}

impl Blocks for Partition {
    fn allocate_block(&self, l: Layout) -> Result<NonNull<u8>, allocator_api2::alloc::AllocError> {
        self.allocate(l).map(|s| s.cast())
    }
    unsafe fn free_block_of(&self, b: NonNull<u8>, l: Layout) {
        // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
        unsafe { self.deallocate(b, l) }
    }
}

#[test]
fn each_partition_exhausts_into_its_own_policy_while_the_others_allocate() {
    let expected = [
        (PartitionId::Kernel, Exhaustion::Fatal),
        (PartitionId::Runtime, Exhaustion::Fatal),
        (PartitionId::Subsystems, Exhaustion::Degrade),
        (PartitionId::Services, Exhaustion::TerminateService),
        (PartitionId::Guest, Exhaustion::UnloadGuest),
        (PartitionId::Reserve, Exhaustion::Critical),
    ];
    for (victim, policy) in expected {
        let mem = memory(32);
        let p = mem.partition(victim);
        let held = fill(p, 24);
        assert!(!held.is_empty());
        let s = p.stats();
        assert_eq!(s.fails, 1, "{victim:?}");
        assert_eq!(p.exhausted(), Some(policy), "{victim:?}");
        let failure = p.last_failure().expect("failure recorded");
        assert_eq!(failure.requested, 24);
        assert!(failure.free < 32, "{failure}");
        // Exactly one partition reports, with exactly its policy.
        assert_eq!(mem.exhausted().collect::<Vec<_>>(), vec![(victim, policy)]);
        // Every sibling still allocates (P6 excepted: using it is itself the critical error).
        for sibling in PartitionId::ALL {
            if sibling == victim || sibling == PartitionId::Reserve {
                continue;
            }
            let q = mem.partition(sibling);
            let mut v = AVec::new_in(q);
            v.extend_from_slice(&[1u32; 64]);
            assert_eq!(v.iter().sum::<u32>(), 64);
            assert_eq!(q.exhausted(), None, "{sibling:?} after {victim:?} ran out");
        }
        // The scheduler acts, then clears.
        assert_eq!(p.clear_exhausted(), Some(policy));
        assert_eq!(p.exhausted(), None);
        release(p, held, 24);
        assert_eq!(p.allocated(), 0);
        // After freeing, the victim allocates again.
        assert!(p.allocate_block(Layout::new::<u64>()).is_ok());
    }
}

#[test]
fn the_reserve_is_critical_on_any_use() {
    let mem = memory(32);
    let p6 = mem.partition(PartitionId::Reserve);
    assert_eq!((p6.exhausted(), p6.level()), (None, None));
    let b = p6.allocate_block(Layout::new::<u32>()).unwrap();
    assert_eq!(p6.exhausted(), Some(Exhaustion::Critical));
    assert_eq!(p6.level().map(|w| w.severity), Some(Severity::Critical));
    let text = p6.level().unwrap().to_string();
    assert!(text.starts_with("CRITICAL: P6 reserve in use"), "{text}");
    // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
    unsafe { p6.free_block_of(b, Layout::new::<u32>()) };
}

#[test]
fn service_heaps_are_isolated_from_each_other_and_from_the_guest() {
    let mem = memory(64);
    let p4 = mem.partition(PartitionId::Services);
    let p5 = mem.partition(PartitionId::Guest);
    let p4_base = p4.stats();
    let a = p4.sub_partition(1536, 1).expect("service 1");
    let a_cost = p4.allocated() - p4_base.allocated;
    let b = p4.sub_partition(1536, 2).expect("service 2");
    let guest = p5.sub_partition(8 * KIB, 100).expect("guest");
    assert_eq!((a.id(), a.owner(), a.policy()), (PartitionId::Services, Some(1), Exhaustion::TerminateService));
    assert_eq!((guest.id(), guest.owner(), guest.policy()), (PartitionId::Guest, Some(100), Exhaustion::UnloadGuest));
    assert!(a.capacity() < 1536 && a.capacity() + 320 > 1536, "{}", a.capacity());
    let p4_with_two = p4.allocated();
    assert!(p4_with_two >= 2 * 1536);

    // b keeps a vector alive through all of this.
    let mut kept = AVec::new_in(b.partition());
    kept.extend_from_slice(b"service two's state");

    // Service 1 runs dry.
    let held = fill(&a, 40);
    assert_eq!(a.exhausted(), Some(Exhaustion::TerminateService));
    assert_eq!(a.stats().fails, 1);
    // Nobody else noticed: not the parent, not service 2, not the guest.
    assert_eq!((p4.exhausted(), p4.stats().fails, p4.allocated()), (None, 0, p4_with_two));
    assert_eq!((b.exhausted(), b.stats().fails), (None, 0));
    assert_eq!(guest.exhausted(), None);
    // Service 2 and the guest keep allocating at full capacity.
    let b_held = fill(&b, 40);
    assert!(b.free() < 64 && b_held.len() > 10, "{} blocks, {} B free", b_held.len(), b.free());
    assert_eq!(&kept[..], b"service two's state");
    let mut g = AVec::new_in(guest.partition());
    g.extend_from_slice(&[7u8; 4096]);
    assert_eq!(guest.exhausted(), None);

    // "Terminate service 1": its heap goes back to P4 whole, whatever it held.
    std::mem::forget(held);
    drop(a);
    assert_eq!(p4.allocated(), p4_with_two - a_cost);
    // A new service fits where service 1 was.
    let c = p4.sub_partition(1536, 3).expect("service 3 reuses the room");
    release(&b, b_held, 40);
    drop((kept, g));
    assert_eq!(b.allocated(), 0);
    assert_eq!(guest.allocated(), 0);
    drop((b, c, guest));
    let after = p4.stats();
    assert_eq!((after.allocated, after.requested), (p4_base.allocated, p4_base.requested));
    assert_eq!(after.allocs, after.frees);
    assert_eq!(p5.allocated(), 0);
}

#[test]
fn a_sub_heap_that_does_not_fit_is_refused_without_triggering_the_policy() {
    let mem = memory(32);
    let p4 = mem.partition(PartitionId::Services);
    let err = p4.sub_partition(p4.capacity() + 1, 9).unwrap_err();
    match err {
        PartitionError::OutOfMemory { partition, requested, largest_free } => {
            assert_eq!((partition, requested), (PartitionId::Services, p4.capacity() + 1));
            assert_eq!(largest_free, p4.capacity());
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("no room for a"), "{err}");
    assert_eq!(p4.stats().fails, 1);
    assert_eq!(p4.exhausted(), None);
    assert!(matches!(p4.sub_partition(MIN_REGION - 1, 9), Err(PartitionError::TooSmall { .. })));
    // The largest sub-heap that fits: the whole partition, less one chunk tag.
    let whole = p4.sub_partition(p4.capacity() - std::mem::size_of::<usize>(), 9).expect("fits exactly");
    assert_eq!(p4.free(), 0);
    drop(whole);
    assert_eq!(p4.free(), p4.capacity());
}

#[test]
fn sub_heaps_nest() {
    let mem = memory(64);
    let p5 = mem.partition(PartitionId::Guest);
    let guest = p5.sub_partition(8 * KIB, 1).unwrap();
    let inner = guest.sub_partition(2 * KIB, 2).unwrap();
    let held = fill(&inner, 100);
    assert_eq!(inner.exhausted(), Some(Exhaustion::UnloadGuest));
    assert_eq!(guest.exhausted(), None);
    release(&inner, held, 100);
    drop(inner);
    assert_eq!(guest.allocated(), 0);
}

#[test]
fn statistics_return_to_baseline() {
    let mem = memory(64);
    let p3 = mem.partition(PartitionId::Subsystems);
    let base = p3.stats();
    assert_eq!((base.allocated, base.requested, base.allocs, base.frees, base.fails, base.fragmentation), (0, 0, 0, 0, 0, 0));
    assert_eq!(base.largest_free, base.capacity);
    {
        let mut a: AVec<u64, _> = AVec::new_in(p3);
        let mut b: AVec<u8, _> = AVec::new_in(p3);
        for i in 0..100 {
            a.push(i);
            b.push(i as u8);
        }
        let boxed = allocator_api2::boxed::Box::new_in([0u16; 37], p3);
        let s = p3.stats();
        assert!(s.allocated >= 800 + 100 + 74 && s.requested <= s.allocated);
        assert!(s.peak >= s.allocated);
        assert!(s.allocs >= 3);
        drop(boxed);
    }
    let after = p3.stats();
    assert_eq!((after.allocated, after.requested, after.fails), (0, 0, 0));
    assert_eq!(after.allocs, after.frees);
    assert_eq!((after.largest_free, after.fragmentation), (after.capacity, 0));
    assert!(after.peak > 0);
    p3.reset_peak();
    assert_eq!(p3.stats().peak, 0);
}

#[test]
fn fragmentation_is_reported() {
    let mem = memory(64);
    let p5 = mem.partition(PartitionId::Guest);
    // 64-byte blocks all over the partition, then every other one freed: lots of
    // free space, none of it in one piece.
    let l = Layout::from_size_align(64, 8).unwrap();
    let held = fill(p5, 64);
    assert!(held.len() > 100);
    let mut keep = Vec::new();
    for (i, b) in held.into_iter().enumerate() {
        if i % 2 == 0 {
            // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
            unsafe { p5.free_block_of(b, l) };
        } else {
            keep.push(b);
        }
    }
    let s = p5.stats();
    assert!(s.free() > s.capacity / 3, "{s:?}");
    assert!(s.largest_free < 4 * 80, "{s:?}");
    assert!(s.fragmentation >= 95, "{s:?}");
    // A block bigger than any hole fails although far more than it is free.
    assert!(p5.allocate_block(Layout::from_size_align(512, 8).unwrap()).is_err());
    assert_eq!(p5.exhausted(), Some(Exhaustion::UnloadGuest));
    for b in keep {
        // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
        unsafe { p5.free_block_of(b, l) };
    }
    let s = p5.stats();
    assert_eq!((s.allocated, s.fragmentation, s.largest_free), (0, 0, s.capacity));
}

#[test]
fn memory_carves_the_layout() {
    let layout = plan(&Config::row(32 * KIB)).unwrap();
    let mut mem = Memory::new(&layout, ram(32 * KIB)).unwrap();
    for id in PartitionId::ALL {
        let p = mem.partition(id);
        assert_eq!(p.id(), id);
        assert_eq!(p.owner(), None);
        assert_eq!(p.region_size(), layout.partition(id).size);
        // talc's bookkeeping: under 320 B per partition on a 64-bit host.
        assert!(p.region_size() - p.capacity() < 320, "{id:?}: {} of {}", p.capacity(), p.region_size());
    }
    let stacks: Vec<&'static mut [u8]> = mem.take_stacks().unwrap().collect();
    assert_eq!(stacks.len(), 4);
    for s in &stacks {
        assert_eq!(s.len(), 2 * KIB);
        assert_eq!(s.as_ptr() as usize % ALIGN, 0);
    }
    assert!(mem.take_stacks().is_none());
    // The stacks do not overlap any partition: writing them all disturbs nothing.
    for s in stacks {
        s.fill(0xA5);
    }
    let mut v = AVec::new_in(mem.partition(PartitionId::Kernel));
    v.extend(0..200u8);
    assert_eq!(v.iter().map(|&x| x as u32).sum::<u32>(), 199 * 200 / 2);
    drop(v);
    assert_eq!(mem.warnings().count(), 0);
    let text = mem.to_string();
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.lines().next().unwrap().starts_with("P1 kernel: 0/"), "{text}");
}

#[test]
fn memory_refuses_what_does_not_match() {
    let layout = plan(&Config::row(32 * KIB)).unwrap();
    assert_eq!(
        Memory::new(&layout, ram(32 * KIB - 8)).unwrap_err(),
        PartitionError::RamTooSmall { have: 32 * KIB - 8, need: 32 * KIB }
    );
    let r = ram(32 * KIB + 8);
    let err = Memory::new(&layout, &mut r[1..]).unwrap_err();
    assert_eq!(err, PartitionError::Misaligned { offset: 1 });
    assert_eq!(err.to_string(), "the RAM region is not 8-byte aligned (its address mod 8 is 1)");
}

#[test]
fn warnings_follow_the_thresholds() {
    let mem = memory(32);
    let p1 = mem.partition(PartitionId::Kernel);
    let p3 = mem.partition(PartitionId::Subsystems);
    // P3 at 75 %: above its 70 % threshold; P1 at 75 %: below its 80 %.
    let mut held = Vec::new();
    for p in [p1, p3] {
        let mut v = Vec::new();
        while p.allocated() * 100 < p.capacity() * 75 {
            v.push(p.allocate_block(Layout::from_size_align(8, 8).unwrap()).unwrap());
        }
        held.push(v);
    }
    let warnings: Vec<_> = mem.warnings().collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!((warnings[0].partition, warnings[0].severity, warnings[0].threshold_percent), (PartitionId::Subsystems, Severity::Warn, 70));
    let text = warnings[0].to_string();
    assert!(text.starts_with("WARN: P3 subsystems 7") && text.ends_with("% used (threshold 70 %)"), "{text}");
    for (p, v) in [p1, p3].into_iter().zip(held) {
        for b in v {
            // SAFETY: the block was allocated from this allocator with this layout and is freed exactly once
            unsafe { p.free_block_of(b, Layout::from_size_align(8, 8).unwrap()) };
        }
    }
    assert_eq!(mem.warnings().count(), 0);
}
