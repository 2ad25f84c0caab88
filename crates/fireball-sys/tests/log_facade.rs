//! The bridge from the `log` facade: how a `log::Record` becomes one 8-byte
//! event (target → module, message → catalog entry + integer argument, else
//! a hash), and the installed facade end to end: `log::info!` in, the same
//! text out of a drain.

use fireball_sys::log::{
    ring_in, Catalog, Event, EventName, Facade, Level, LevelFilter, Logger, ARG_MAX, CAPACITY, EVENT_UNREGISTERED,
    FACADE_TEXT_MAX, MODULE_OTHER,
};
use log::Record;

const LONG: &str = "a catalog entry whose rendered text is longer than the facade's stack buffer: {}";

static CATALOG: Catalog = Catalog {
    modules: &["kernel", "fireball_coos", "hal", "fireball_coos::sched"],
    events: &[
        EventName { module: 0, event: 0, text: "boot" },
        EventName { module: 1, event: 1, text: "partition {} exhausted" },
        EventName { module: 2, event: 3, text: "adc read {}" },
        EventName { module: 2, event: 4, text: "adc read {} (clipped)" },
        EventName { module: 2, event: 5, text: LONG },
        EventName { module: 3, event: 9, text: "task {} parked" },
    ],
};

fn now() -> u32 {
    42
}

/// Only for `event_for` (never installed).
static MAPPER: Facade<allocator_api2::vec::Vec<Event>> = Facade::new(CATALOG, now);

macro_rules! event {
    ($level:expr, $target:expr, $($fmt:tt)+) => {
        MAPPER.event_for(&Record::builder().level($level).target($target).args(format_args!($($fmt)+)).build(), 7)
    };
}

fn ids(e: Event) -> (Level, u8, u8, i32) {
    (e.level(), e.module(), e.event(), e.arg())
}

/// FNV-1a 32 folded to 24 bits, written out independently of the crate.
fn fnv24(text: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let folded = (h >> 24) ^ (h & 0x00ff_ffff);
    // Stored as a signed 24-bit argument.
    ((folded << 8) as i32) >> 8
}

#[test]
fn target_selects_the_module() {
    assert_eq!(CATALOG.module_for_target("kernel"), 0);
    assert_eq!(CATALOG.module_for_target("hal"), 2);
    assert_eq!(CATALOG.module_for_target("fireball_coos::mem"), 1, "a `::` prefix");
    assert_eq!(CATALOG.module_for_target("fireball_coos::sched::ready"), 3, "the longest prefix wins");
    assert_eq!(CATALOG.module_for_target("fireball_coosX"), MODULE_OTHER, "not a path prefix");
    assert_eq!(CATALOG.module_for_target("halt"), MODULE_OTHER);
    assert_eq!(CATALOG.module_for_target("some_crate::driver"), MODULE_OTHER);
}

#[test]
fn a_registered_message_becomes_its_event_with_the_integer_as_argument() {
    assert_eq!(ids(event!(log::Level::Info, "hal", "adc read {}", 812)), (Level::Info, 2, 3, 812));
    assert_eq!(ids(event!(log::Level::Warn, "hal", "adc read {}", -5)), (Level::Warn, 2, 3, -5));
    assert_eq!(ids(event!(log::Level::Debug, "hal", "adc read {} (clipped)", 4095u16)), (Level::Debug, 2, 4, 4095));
    assert_eq!(
        ids(event!(log::Level::Error, "fireball_coos::mem", "partition {} exhausted", 3)),
        (Level::Error, 1, 1, 3)
    );
    assert_eq!(ids(event!(log::Level::Trace, "fireball_coos::sched", "task {} parked", 2)), (Level::Trace, 3, 9, 2));
    // A static message (no arguments: `Arguments::as_str`) and the same text built at run time.
    assert_eq!(ids(event!(log::Level::Info, "kernel", "boot")), (Level::Info, 0, 0, 0));
    assert_eq!(ids(event!(log::Level::Info, "kernel", "{}", "boot")), (Level::Info, 0, 0, 0));
    // Timestamps come from the caller (the installed facade passes its clock).
    assert_eq!(event!(log::Level::Info, "kernel", "boot").timestamp(), 7);
}

#[test]
fn arguments_saturate_and_must_be_plain_integers() {
    assert_eq!(event!(log::Level::Info, "hal", "adc read {}", i32::MAX).arg(), ARG_MAX);
    assert_eq!(event!(log::Level::Info, "hal", "adc read {}", 9_999_999_999u64).arg(), ARG_MAX, "10 digits: saturated");
    for text in ["adc read 5x", "adc read ", "adc read +5", "adc read 1.5", "adc read 99999999999", "adc read --1"] {
        let e = event!(log::Level::Info, "hal", "{}", text);
        assert_eq!((e.event(), e.arg()), (EVENT_UNREGISTERED, fnv24(text)), "{text:?}");
    }
}

#[test]
fn entries_are_per_module() {
    // "boot" is registered for the kernel only.
    let e = event!(log::Level::Info, "hal", "boot");
    assert_eq!((e.module(), e.event(), e.arg()), (2, EVENT_UNREGISTERED, fnv24("boot")));
}

#[test]
fn unregistered_messages_carry_a_hash_of_their_text() {
    let e = event!(log::Level::Warn, "some_crate", "link up after {} ms", 250);
    assert_eq!(ids(e), (Level::Warn, MODULE_OTHER, EVENT_UNREGISTERED, fnv24("link up after 250 ms")));
    let e = event!(log::Level::Warn, "some_crate", "static text");
    assert_eq!(e.arg(), fnv24("static text"));
}

#[test]
fn texts_longer_than_the_stack_buffer_are_hashed_whole() {
    let rendered = LONG.replace("{}", "7");
    assert!(rendered.len() > FACADE_TEXT_MAX);
    let e = event!(
        log::Level::Info,
        "hal",
        "a catalog entry whose rendered text is longer than the facade's stack buffer: {}",
        std::hint::black_box(7)
    );
    assert_eq!((e.event(), e.arg()), (EVENT_UNREGISTERED, fnv24(&rendered)));
    // rustc folds literal arguments into the message (`Arguments::as_str`): then the
    // whole static text is available, and it matches whatever its length.
    let e = event!(
        log::Level::Info,
        "hal",
        "a catalog entry whose rendered text is longer than the facade's stack buffer: {}",
        7
    );
    assert_eq!((e.event(), e.arg()), (5, 7));
}

/// The installed facade: the one `log::set_logger` of this test binary.
static LOG: Facade<&'static mut [Event]> = Facade::new(CATALOG, now);

#[test]
fn installed_facade_end_to_end() {
    LOG.install(LevelFilter::Info).expect("first logger of this binary");
    assert!(LOG.install(LevelFilter::Info).is_err(), "only once");

    // No ring attached yet: records are counted as lost, not a crash.
    log::info!(target: "kernel", "boot");
    assert_eq!(LOG.lost(), 1);
    assert_eq!(LOG.with(|r| r.len()), None);

    // The ring as a system would make it: allocated once (in P3; here the host heap).
    let ring = ring_in(CAPACITY, allocator_api2::alloc::Global).expect("memory");
    assert!(LOG.attach(Logger::new(ring)).is_none());
    assert_eq!(LOG.with(|r| r.filter()), Some(LevelFilter::Info), "attach keeps the ring's own filter");
    LOG.set_filter(LevelFilter::Info);

    log::info!(target: "kernel", "boot");
    log::info!(target: "hal", "adc read {}", 812);
    log::debug!(target: "hal", "adc read {}", 1); // filtered out by log's max level
    log::error!(target: "fireball_coos::mem", "partition {} exhausted", 3);
    log::warn!(target: "some_crate", "link up after {} ms", 250);
    assert_eq!(log::max_level(), log::LevelFilter::Info);

    LOG.set_filter(LevelFilter::Debug);
    assert_eq!(log::max_level(), log::LevelFilter::Debug);
    log::debug!(target: "fireball_coos::sched", "task {} parked", 2);

    let mut text = String::new();
    LOG.with(|r| r.drain_to(&mut text, &CATALOG, now())).expect("attached").expect("String");
    // Registered messages print as they were written; module "fireball_coos" prints
    // under its catalog name, the hashed one as a hash.
    assert_eq!(
        text,
        format!(
            "[    0.042] INFO  kernel: boot\n\
             [    0.042] INFO  hal: adc read 812\n\
             [    0.042] ERROR fireball_coos: partition 3 exhausted\n\
             [    0.042] WARN  m31: unregistered message #{:06x}\n\
             [    0.042] DEBUG fireball_coos::sched: task 2 parked\n",
            fnv24("link up after 250 ms") as u32 & 0xff_ffff
        )
    );

    // Overflow through the facade is counted like any other.
    for i in 0..300 {
        log::info!(target: "hal", "adc read {}", i);
    }
    assert_eq!(LOG.with(|r| (r.len(), r.dropped())), Some((256, 44)));
    let first = LOG.with(|r| r.iter().next().map(|e| e.arg())).flatten();
    assert_eq!(first, Some(44));

    // Logging from inside `with` (a drain sink that logs, say) finds the ring in use:
    // that record is lost, not a panic, and the ring is untouched.
    let inner = LOG.with(|r| {
        log::info!(target: "kernel", "boot");
        (r.len(), LOG.with(|_| ()), LOG.detach().is_none())
    });
    assert_eq!(inner, Some((256, None, true)));
    assert_eq!(LOG.lost(), 2);
    assert_eq!(LOG.with(|r| r.dropped()), Some(44));

    let ring = LOG.detach().expect("attached");
    assert_eq!(ring.len(), 256);
    log::info!(target: "kernel", "boot");
    assert_eq!(LOG.lost(), 3);
}
