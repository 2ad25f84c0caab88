//! The logger's ring: the 8-byte event layout, overflow accounting (the
//! oldest event goes, the loss is counted, order is kept), the level filter,
//! iteration and draining, and storage from the caller or from an allocator.

use core::alloc::Layout;
use core::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};
use fireball_sys::log::{ring_in, Event, Level, LevelFilter, Logger, ARG_MAX, ARG_MIN, CAPACITY, MODULE_OTHER};

fn ring() -> Logger<[Event; CAPACITY]> {
    let mut l = Logger::new([Event::EMPTY; CAPACITY]);
    l.set_filter(LevelFilter::Trace);
    l
}

#[test]
fn event_is_8_bytes_in_the_documented_layout() {
    assert_eq!(core::mem::size_of::<Event>(), 8);
    assert_eq!(core::mem::size_of::<[Event; CAPACITY]>(), 2048, "the spec's 256 × 8 B");
    let e = Event::new(0x0012_3456, Level::Warn, 5, 0xab, -2);
    #[rustfmt::skip]
    let expected = [
        0x56, 0x34, 0x12,   // timestamp 0x123456, u24 LE
        (2 << 5) | 5,       // level Warn (2) in bits 5..=7, module 5 in bits 0..=4
        0xab,               // event id
        0xfe, 0xff, 0xff,   // argument -2, i24 LE
    ];
    assert_eq!(e.to_bytes(), expected);
    assert_eq!(e.timestamp(), 0x12_3456);
    assert_eq!(e.level(), Level::Warn);
    assert_eq!((e.module(), e.event(), e.arg()), (5, 0xab, -2));
    assert_eq!(Event::from_bytes(e.to_bytes()), Some(e));
}

#[test]
fn fields_are_clamped_to_their_widths() {
    // The timestamp keeps its low 24 bits.
    assert_eq!(Event::new(0xff12_3456, Level::Info, 0, 0, 0).timestamp(), 0x12_3456);
    // Arguments saturate to the i24 range.
    assert_eq!(Event::new(0, Level::Info, 0, 0, i32::MAX).arg(), ARG_MAX);
    assert_eq!(Event::new(0, Level::Info, 0, 0, i32::MIN).arg(), ARG_MIN);
    assert_eq!(Event::new(0, Level::Info, 0, 0, ARG_MAX).arg(), 8_388_607);
    assert_eq!(Event::new(0, Level::Info, 0, 0, ARG_MIN).arg(), -8_388_608);
    assert_eq!(Event::new(0, Level::Info, 0, 0, -1).to_bytes()[5..], [0xff, 0xff, 0xff]);
    // Module ids past 5 bits become "other".
    assert_eq!(Event::new(0, Level::Info, 31, 0, 0).module(), 31);
    assert_eq!(Event::new(0, Level::Info, 32, 0, 0).module(), MODULE_OTHER);
    assert_eq!(Event::new(0, Level::Info, 255, 0, 0).module(), MODULE_OTHER);
    for level in [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace] {
        assert_eq!(Event::new(0, level, 31, 0, 0).level(), level, "level bits do not bleed into the module");
    }
}

#[test]
fn raw_bytes_with_a_bad_level_are_refused() {
    assert_eq!(Event::from_bytes([0; 8]), None, "EMPTY filler");
    for level in [0u8, 6, 7] {
        assert_eq!(Event::from_bytes([0, 0, 0, level << 5, 0, 0, 0, 0]), None);
    }
    assert!(Event::from_bytes([0, 0, 0, 1 << 5, 0, 0, 0, 0]).is_some());
}

#[test]
fn full_timestamps_are_restored_near_now() {
    let recorded_at = 0x0100_0003; // past the 24-bit wrap
    let e = Event::new(recorded_at, Level::Info, 0, 0, 0);
    assert_eq!(e.timestamp(), 3);
    assert_eq!(e.timestamp_near(recorded_at), recorded_at);
    assert_eq!(e.timestamp_near(recorded_at + 10_000), recorded_at);
    assert_eq!(e.timestamp_near(recorded_at + (1 << 24) - 1), recorded_at, "exact up to 2^24 ms old");
    // Across the 32-bit wrap of the clock itself.
    let e = Event::new(u32::MAX - 5, Level::Info, 0, 0, 0);
    assert_eq!(e.timestamp_near(10), u32::MAX - 5);
}

#[test]
fn overflow_drops_the_oldest_and_counts_it() {
    let mut log = ring();
    for i in 0..300u32 {
        assert!(log.record(i, Level::Info, 1, (i % 256) as u8, i as i32));
    }
    assert_eq!(log.capacity(), 256);
    assert_eq!(log.len(), 256);
    assert_eq!(log.dropped(), 44);
    // The 256 newest, oldest first: arguments 44..300 in order.
    let args: Vec<i32> = log.iter().map(|e| e.arg()).collect();
    assert_eq!(args, (44..300).collect::<Vec<_>>());
    assert_eq!(log.iter().len(), 256);
    // Draining yields the same order and empties the ring; the count stays until taken.
    let drained: Vec<i32> = log.drain().map(|e| e.arg()).collect();
    assert_eq!(drained, args);
    assert!(log.is_empty());
    assert_eq!(log.take_dropped(), 44);
    assert_eq!(log.dropped(), 0);
}

#[test]
fn order_survives_interleaved_pops_and_wraps() {
    let mut log = ring();
    let mut next = 0i32;
    let mut expected = std::collections::VecDeque::new();
    // Push 7, pop 3, repeatedly, well past several wraps of the ring.
    for _ in 0..200 {
        for _ in 0..7 {
            log.record(0, Level::Info, 0, 0, next);
            expected.push_back(next);
            if expected.len() > CAPACITY {
                expected.pop_front();
            }
            next += 1;
        }
        for _ in 0..3 {
            assert_eq!(log.pop().map(|e| e.arg()), expected.pop_front());
        }
        assert_eq!(log.iter().map(|e| e.arg()).collect::<Vec<_>>(), Vec::from(expected.clone()));
    }
    assert!(log.dropped() > 0);
}

#[test]
fn a_partial_drain_leaves_the_rest() {
    let mut log = ring();
    for i in 0..10 {
        log.record(i, Level::Info, 0, 0, i as i32);
    }
    let first: Vec<i32> = log.drain().take(4).map(|e| e.arg()).collect();
    assert_eq!(first, [0, 1, 2, 3]);
    assert_eq!(log.iter().map(|e| e.arg()).collect::<Vec<_>>(), [4, 5, 6, 7, 8, 9]);
}

#[test]
fn level_filter_keeps_only_what_passes() {
    let mut log = Logger::new([Event::EMPTY; 16]);
    assert_eq!(log.filter(), LevelFilter::Info, "default");
    let all = [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace];
    let stored: Vec<bool> = all.iter().map(|&l| log.record(0, l, 0, 0, 0)).collect();
    assert_eq!(stored, [true, true, true, false, false]);
    assert_eq!(log.iter().map(|e| e.level()).collect::<Vec<_>>(), [Level::Error, Level::Warn, Level::Info]);
    assert_eq!(log.dropped(), 0, "filtered events are not drops");

    log.clear();
    log.set_filter(LevelFilter::Warn);
    assert!(!log.enabled(Level::Info));
    for l in all {
        log.record(0, l, 0, 0, 0);
    }
    assert_eq!(log.len(), 2);

    log.set_filter(LevelFilter::Off);
    assert!(!log.record(0, Level::Error, 0, 0, 0));
    log.set_filter(LevelFilter::Trace);
    assert!(log.record(0, Level::Trace, 0, 0, 0));
    // push() bypasses the filter (replaying raw events).
    log.set_filter(LevelFilter::Off);
    log.push(Event::new(0, Level::Trace, 0, 0, 9));
    assert_eq!(log.iter().last().map(|e| e.arg()), Some(9));
}

#[test]
fn storage_can_be_a_borrowed_slice_of_any_length() {
    let mut storage = [Event::EMPTY; 3];
    {
        let mut log = Logger::new(&mut storage[..]);
        log.set_filter(LevelFilter::Trace);
        for i in 0..5 {
            log.record(i, Level::Info, 0, 0, i as i32);
        }
        assert_eq!(log.capacity(), 3);
        assert_eq!(log.dropped(), 2);
        assert_eq!(log.iter().map(|e| e.arg()).collect::<Vec<_>>(), [2, 3, 4]);
    }
    // Zero capacity: nothing is kept, every event counts as dropped, nothing panics.
    let mut none: Logger<[Event; 0]> = Logger::new([]);
    assert!(none.record(0, Level::Error, 0, 0, 0));
    assert_eq!((none.len(), none.dropped(), none.pop(), none.iter().count()), (0, 1, None, 0));
}

#[test]
fn ring_allocated_once_from_an_allocator() {
    let mut log = Logger::try_new_in(CAPACITY, Global).expect("host has memory");
    assert_eq!(log.capacity(), CAPACITY);
    log.record(1, Level::Error, 2, 3, 4);
    assert_eq!(log.pop().map(|e| (e.module(), e.event(), e.arg())), Some((2, 3, 4)));
}

/// An allocator with a fixed budget, like a nearly full P3.
struct Budget(usize);

// SAFETY: forwards to Global, which upholds the Allocator contract; refusing is always allowed.
unsafe impl Allocator for Budget {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() > self.0 {
            return Err(AllocError);
        }
        Global.allocate(layout)
    }
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: every block came from Global.allocate with this layout.
        unsafe { Global.deallocate(ptr, layout) }
    }
}

#[test]
fn exhaustion_is_an_error_not_a_panic() {
    let Err(e) = Logger::try_new_in(CAPACITY, Budget(1024)) else { panic!("1 KiB cannot hold 2 KiB") };
    assert_eq!(e.bytes, 2048);
    assert_eq!(e.to_string(), "logger: out of memory for the event ring (2048 bytes)");
    // The degraded path the spec asks for: a smaller ring that fits.
    let log = Logger::try_new_in(128, Budget(1024)).expect("1 KiB holds 128 events");
    assert_eq!(log.capacity(), 128);
    // The same for a ring that outlives its allocator handle (the facade's).
    assert_eq!(ring_in(CAPACITY, Budget(2047)).map(|r| r.len()).map_err(|e| e.bytes), Err(2048));
    let ring = ring_in(CAPACITY, Budget(2048)).expect("exactly 2 KiB");
    let mut log = Logger::new(ring);
    log.record(0, Level::Warn, 1, 2, 3);
    assert_eq!(log.capacity(), CAPACITY);
    assert_eq!(log.iter().count(), 1);
}

#[test]
fn level_numbers_match_the_guest_import() {
    for (n, l) in [(1, Level::Error), (2, Level::Warn), (3, Level::Info), (4, Level::Debug), (5, Level::Trace)] {
        assert_eq!(Level::from_u8(n), Some(l));
        assert_eq!(l as u8, n);
    }
    assert_eq!(Level::from_u8(0), None);
    assert_eq!(Level::from_u8(6), None);
}
