//! The text backend: events rendered into any `core::fmt::Write` with names
//! from a catalog (or none), the argument put in place of `{}`, timestamps
//! restored against the clock, and the drop count reported by a drain.

use std::fmt::Write as _;

use fireball_sys::log::{Catalog, Event, EventName, Level, LevelFilter, Logger, EVENT_UNREGISTERED};

static CATALOG: Catalog = Catalog {
    modules: &["kernel", "hal"],
    events: &[
        EventName { module: 0, event: 0, text: "boot" },
        EventName { module: 0, event: 1, text: "task {} started" },
        EventName { module: 1, event: 3, text: "adc read {}" },
    ],
};

fn line(e: Event) -> String {
    e.display(&CATALOG).to_string()
}

#[test]
fn names_and_placeholders() {
    assert_eq!(line(Event::new(1234, Level::Info, 1, 3, 812)), "[    1.234] INFO  hal: adc read 812");
    assert_eq!(line(Event::new(5, Level::Debug, 0, 1, -7)), "[    0.005] DEBUG kernel: task -7 started");
    assert_eq!(line(Event::new(60_000, Level::Error, 0, 0, 0)), "[   60.000] ERROR kernel: boot");
    // A text without `{}` shows a non-zero argument after it.
    assert_eq!(line(Event::new(0, Level::Warn, 0, 0, 5)), "[    0.000] WARN  kernel: boot 5");
    assert_eq!(line(Event::new(0, Level::Trace, 0, 0, 0)), "[    0.000] TRACE kernel: boot");
}

#[test]
fn unknown_ids_print_as_numbers() {
    assert_eq!(line(Event::new(1, Level::Warn, 7, 4, -1)), "[    0.001] WARN  m7: e4 -1");
    assert_eq!(line(Event::new(1, Level::Warn, 1, 9, 0)), "[    0.001] WARN  hal: e9 0");
    let e = Event::new(1, Level::Info, 2, 3, 4);
    assert_eq!(e.display(&()).to_string(), "[    0.001] INFO  m2: e3 4");
}

#[test]
fn unregistered_facade_messages_show_their_hash() {
    let e = Event::new(0, Level::Info, 31, EVENT_UNREGISTERED, -0x10_0000); // bits 0xf00000
    assert_eq!(line(e), "[    0.000] INFO  m31: unregistered message #f00000");
}

#[test]
fn timestamps_past_the_24_bit_wrap_are_restored() {
    let t = 0x0100_0003; // 16 777.219 s
    let e = Event::new(t, Level::Info, 0, 0, 0);
    assert_eq!(line(e), "[    0.003] INFO  kernel: boot", "raw: the low 24 bits");
    assert_eq!(e.display(&CATALOG).at(t + 500).to_string(), "[16777.219] INFO  kernel: boot");
    let e = Event::new(u32::MAX, Level::Info, 0, 0, 0);
    assert_eq!(e.display(&CATALOG).at(u32::MAX).to_string(), "[4294967.295] INFO  kernel: boot");
}

#[test]
fn drain_to_writes_one_line_per_event_then_the_drops() {
    let mut log = Logger::new([Event::EMPTY; 4]);
    log.set_filter(LevelFilter::Debug);
    for i in 0..6 {
        log.record(1000 + i, Level::Info, 1, 3, i as i32);
    }
    log.record(2000, Level::Trace, 1, 3, 99); // filtered: not shown, not dropped
    let mut out = String::new();
    log.drain_to(&mut out, &CATALOG, 2000).expect("String never fails");
    assert_eq!(
        out,
        "[    1.002] INFO  hal: adc read 2\n\
         [    1.003] INFO  hal: adc read 3\n\
         [    1.004] INFO  hal: adc read 4\n\
         [    1.005] INFO  hal: adc read 5\n\
         (2 events dropped)\n"
    );
    assert!(log.is_empty());
    assert_eq!(log.dropped(), 0, "reported, so reset");
    out.clear();
    log.drain_to(&mut out, &CATALOG, 2000).expect("ok");
    assert_eq!(out, "", "nothing new");
}

/// A board's UART: a fixed buffer that fails when full (what `core::fmt::Write` allows).
struct Uart {
    buf: [u8; 48],
    len: usize,
}

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[test]
fn any_fmt_write_is_a_backend_and_its_errors_propagate() {
    let mut log = Logger::new([Event::EMPTY; 8]);
    log.record(7, Level::Error, 0, 0, 0);
    let mut uart = Uart { buf: [0; 48], len: 0 };
    log.drain_to(&mut uart, &CATALOG, 7).expect("fits");
    assert_eq!(&uart.buf[..uart.len], b"[    0.007] ERROR kernel: boot\n");
    log.record(8, Level::Error, 0, 1, 1);
    log.record(9, Level::Error, 0, 1, 2);
    assert!(log.drain_to(&mut uart, &CATALOG, 9).is_err(), "the UART filled up");
}

#[test]
fn raw_frames_round_trip_for_a_host_decoder() {
    // A board may send events as raw 8-byte frames; the host turns them into text.
    let mut log = Logger::new([Event::EMPTY; 8]);
    log.record(1234, Level::Info, 1, 3, 812);
    let frames: Vec<[u8; 8]> = log.drain().map(Event::to_bytes).collect();
    let text: Vec<String> = frames.iter().filter_map(|f| Event::from_bytes(*f)).map(line).collect();
    assert_eq!(text, ["[    1.234] INFO  hal: adc read 812"]);
    let mut s = String::new();
    write!(s, "{:?}", Event::from_bytes(frames[0]).expect("valid")).expect("fmt");
    assert_eq!(s, "Event { timestamp: 1234, level: Info, module: 1, event: 3, arg: 812 }");
}
