//! log: the logger subsystem, a ring of binary events in partition P3.
//! guest import / native `log` macros / kernel ──► **ring (256 × 8 B)** ──►
//! drain ──► text (UART, semihosting, host stdout) or raw 8-byte frames.
//!
//! Events are recorded in binary — a few stores, no formatting, no
//! allocation — and turned into text only when a backend drains them, with
//! module and event names from a caller-supplied table ([`Names`], usually a
//! [`Catalog`]). When the ring is full the oldest event is overwritten and the
//! loss is counted ([`Logger::dropped`]); a drain reports the count.
//!
//! # Event layout (8 bytes)
//!
//! | byte | bits | field |
//! |---|---|---|
//! | 0..=2 | 24 | timestamp: milliseconds of the HAL clock, low 24 bits, little-endian (wraps every 16 777.216 s ≈ 4 h 40 min) |
//! | 3 | 0..=4 | module id, 0..=31 ([`MODULE_OTHER`] = 31 stands for every id ≥ 31) |
//! | 3 | 5..=7 | level: 1 Error, 2 Warn, 3 Info, 4 Debug, 5 Trace (0, 6, 7 never written) |
//! | 4 | 8 | event id, 0..=255, numbered per module ([`EVENT_UNREGISTERED`] = 255 is the facade's "no table entry") |
//! | 5..=7 | 24 | argument: a signed 24-bit integer, little-endian two's complement; values outside −8 388 608..=8 388 607 are saturated |
//!
//! Why these widths: level, module and event take 16 bits, leaving 48 for
//! the time and the argument. 24 + 24 keeps both useful: 24 bits of argument
//! hold any ADC reading, byte count, partition size or error code a
//! microcontroller has, and 24 bits of milliseconds are exact for any event
//! younger than 4 h 40 min — a drain passes the current time and
//! [`Event::timestamp_near`] restores the full 32-bit clock value. (A 32-bit
//! time would leave a 16-bit argument; a 32-bit argument a 65-second clock.)
//!
//! # Recording
//!
//! [`Logger::record`]`(now_ms, level, module, event, arg)` is the one entry
//! point: the guest `log` import (module id = the calling module, which the
//! runtime knows — a guest does not choose it), the kernel and native code
//! all call it. Events above the runtime filter ([`Logger::set_filter`],
//! default [`LevelFilter::Info`]) are not stored and not counted as dropped.
//!
//! # Storage
//!
//! The logger owns its storage `S`: any `AsRef<[Event]> + AsMut<[Event]>` —
//! a `[Event; 256]`, a `&mut [Event]` the caller carved out, a vector in P3
//! made once by [`Logger::try_new_in`], or a slice allocated once in P3 and
//! kept for good by [`ring_in`] (what the [`Facade`] needs). Exhaustion is an
//! [`OutOfMemory`] error the caller logs and degrades on (a smaller ring, or
//! none), as the spec's P3 row asks. The capacity is the storage's length;
//! [`CAPACITY`] (256) is the spec's size.
//!
//! # The `log` facade
//!
//! [`Facade`] lets native Rust code use `log::info!` and friends. A record
//! becomes one event:
//! - **level**: `log::Level` maps one to one (same numbering).
//! - **module**: the [`Catalog`] entry whose name equals the record's target or
//!   is a `::`-prefix of it (`info!(target: "hal", …)`, or a module path such
//!   as `fireball_sys::hal`); otherwise [`MODULE_OTHER`].
//! - **event id and argument**: the message text (a static string as is; one
//!   with run-time arguments rendered on the stack, at most
//!   [`FACADE_TEXT_MAX`] bytes) is compared with that module's catalog
//!   entries in order. An entry without `{}` matches the same text
//!   exactly (argument 0); an entry with one `{}` matches if the text is the
//!   entry with `{}` replaced by a decimal integer, which becomes the argument.
//!   So `info!(target: "hal", "adc read {}", v)` with the entry
//!   `(hal, 3, "adc read {}")` records event 3 with argument `v`.
//! - **no match**: event [`EVENT_UNREGISTERED`] with, as argument, a 24-bit
//!   FNV-1a hash of the whole rendered text (a host tool can map it back).
//!
//! The formatter reverses this: an entry's text is printed with the argument
//! in place of `{}`, so a matched record prints as it was written.
//!
//! ```text
//! [   12.345] INFO  hal: adc read 1234
//! [   12.346] WARN  m7: e4 -1                 (no names for module 7 / event 4)
//! (44 events dropped)
//! ```
//!
//! # Flash
//!
//! thumbv7em-none-eabihf, opt-level "s", LTO, one codegen unit; growth of a
//! minimal cortex-m-rt firmware that already has memcpy/memset:
//!
//! | what the firmware uses | flash |
//! |---|---|
//! | the ring: `record`, filter, `iter`, `drain` | 572 B |
//! | + the text backend (`drain_to`, names, `{}`) | +1 368 B if the firmware already formats integers with `core::fmt`, +3 340 B if not |
//! | + the `log` facade bridge (`log`, `critical-section`, record mapping) | +2 676 B (and 60 B of `.data` for the static) |
//!
//! RAM: the ring (8 B × capacity) plus four words of state.

use core::cell::RefCell;
use core::fmt;

use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

/// Events the spec's logger ring holds (256 × 8 B = 2 KiB of P3).
pub const CAPACITY: usize = 256;

/// Module id recorded for ids ≥ 31 and for facade records with an unknown target.
pub const MODULE_OTHER: u8 = 31;

/// Event id of a facade record whose message has no catalog entry; its
/// argument is a 24-bit FNV-1a hash of the rendered message.
pub const EVENT_UNREGISTERED: u8 = 255;

/// Longest facade message that can match a catalog entry with `{}` (rendered
/// on the stack); longer ones are recorded as [`EVENT_UNREGISTERED`].
pub const FACADE_TEXT_MAX: usize = 64;

/// Smallest argument an event holds (−2²³).
pub const ARG_MIN: i32 = -(1 << 23);

/// Largest argument an event holds (2²³ − 1).
pub const ARG_MAX: i32 = (1 << 23) - 1;

const MASK24: u32 = 0x00ff_ffff;

/// How important an event is; lower is more severe (the `log` crate's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Something failed.
    Error = 1,
    /// Something is wrong but handled.
    Warn = 2,
    /// Normal, noteworthy.
    Info = 3,
    /// For developers.
    Debug = 4,
    /// Very verbose.
    Trace = 5,
}

impl Level {
    /// The level with number `n` (1 Error … 5 Trace): how a guest import passes it.
    pub const fn from_u8(n: u8) -> Option<Level> {
        Some(match n {
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            4 => Level::Debug,
            5 => Level::Trace,
            _ => return None,
        })
    }

    /// Five-character name, padded: `"ERROR"`, `"WARN "`, `"INFO "`, `"DEBUG"`, `"TRACE"`.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

impl From<::log::Level> for Level {
    fn from(l: ::log::Level) -> Self {
        match l {
            ::log::Level::Error => Level::Error,
            ::log::Level::Warn => Level::Warn,
            ::log::Level::Info => Level::Info,
            ::log::Level::Debug => Level::Debug,
            ::log::Level::Trace => Level::Trace,
        }
    }
}

/// The most verbose level a logger keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum LevelFilter {
    /// Keep nothing.
    Off = 0,
    /// Errors only.
    Error = 1,
    /// Warnings and errors.
    Warn = 2,
    /// Info and above (the default).
    Info = 3,
    /// Debug and above.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl LevelFilter {
    /// Whether events of `level` pass.
    pub const fn allows(self, level: Level) -> bool {
        level as u8 <= self as u8
    }

    const fn to_log(self) -> ::log::LevelFilter {
        match self {
            LevelFilter::Off => ::log::LevelFilter::Off,
            LevelFilter::Error => ::log::LevelFilter::Error,
            LevelFilter::Warn => ::log::LevelFilter::Warn,
            LevelFilter::Info => ::log::LevelFilter::Info,
            LevelFilter::Debug => ::log::LevelFilter::Debug,
            LevelFilter::Trace => ::log::LevelFilter::Trace,
        }
    }
}

/// One logged event: 8 bytes in the layout of the module docs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Event([u8; 8]);

impl Event {
    /// Bytes per event.
    pub const SIZE: usize = 8;

    /// An all-zero filler for storage arrays (`[Event::EMPTY; 256]`). Its
    /// level byte is invalid, so it is never mistaken for a recorded event
    /// by [`Event::from_bytes`]; a logger never yields it.
    pub const EMPTY: Event = Event([0; 8]);

    /// Packs an event: the timestamp keeps its low 24 bits, a module id ≥ 31
    /// becomes [`MODULE_OTHER`], the argument saturates to [`ARG_MIN`]..=[`ARG_MAX`].
    pub const fn new(now_ms: u32, level: Level, module: u8, event: u8, arg: i32) -> Event {
        let module = if module > MODULE_OTHER { MODULE_OTHER } else { module };
        let arg = if arg < ARG_MIN {
            ARG_MIN
        } else if arg > ARG_MAX {
            ARG_MAX
        } else {
            arg
        };
        let t = now_ms.to_le_bytes();
        let a = (arg as u32).to_le_bytes();
        Event([t[0], t[1], t[2], ((level as u8) << 5) | module, event, a[0], a[1], a[2]])
    }

    /// The 8 bytes, as a raw backend would send them.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// An event from 8 raw bytes; `None` if the level bits are not 1..=5.
    pub const fn from_bytes(bytes: [u8; 8]) -> Option<Event> {
        match Level::from_u8(bytes[3] >> 5) {
            Some(_) => Some(Event(bytes)),
            None => None,
        }
    }

    /// Milliseconds, low 24 bits of the clock when the event was recorded.
    pub const fn timestamp(&self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], 0])
    }

    /// The full 32-bit clock value of the event, given the clock `now_ms`
    /// (exact if the event is less than 2²⁴ ms ≈ 4 h 40 min old).
    pub const fn timestamp_near(&self, now_ms: u32) -> u32 {
        now_ms.wrapping_sub(now_ms.wrapping_sub(self.timestamp()) & MASK24)
    }

    /// The level (an [`Event::EMPTY`] filler reads as `Trace`).
    pub const fn level(&self) -> Level {
        match Level::from_u8(self.0[3] >> 5) {
            Some(l) => l,
            None => Level::Trace,
        }
    }

    /// Module id, 0..=31.
    pub const fn module(&self) -> u8 {
        self.0[3] & 0x1f
    }

    /// Event id within the module.
    pub const fn event(&self) -> u8 {
        self.0[4]
    }

    /// The argument, sign-extended from 24 bits.
    pub const fn arg(&self) -> i32 {
        (u32::from_le_bytes([0, self.0[5], self.0[6], self.0[7]]) as i32) >> 8
    }

    /// Renders the event as one line of text (no newline) with names from
    /// `names`, showing the 24-bit timestamp; `.at(now_ms)` shows the full one.
    pub fn display<'n, N: Names + ?Sized>(&self, names: &'n N) -> EventDisplay<'n, N> {
        EventDisplay { event: *self, names, time_ms: self.timestamp() }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("timestamp", &self.timestamp())
            .field("level", &self.level())
            .field("module", &self.module())
            .field("event", &self.event())
            .field("arg", &self.arg())
            .finish()
    }
}

/// Names for module and event ids, used when events become text.
pub trait Names {
    /// The module's name, if known.
    fn module(&self, module: u8) -> Option<&str>;
    /// The event's text, if known; one `{}` in it is replaced by the argument.
    fn event(&self, module: u8, event: u8) -> Option<&str>;
}

/// No names: modules print as `m<id>`, events as `e<id> <arg>`.
impl Names for () {
    fn module(&self, _: u8) -> Option<&str> {
        None
    }
    fn event(&self, _: u8, _: u8) -> Option<&str> {
        None
    }
}

/// One catalog entry: the text of event `event` of module `module`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventName<'a> {
    /// Module id.
    pub module: u8,
    /// Event id within the module.
    pub event: u8,
    /// The message; at most one `{}`, where the argument goes.
    pub text: &'a str,
}

/// A static table of names: module `i` is `modules[i]`; events are listed
/// with their module. Meant to be a `const`/`static` shared by the firmware
/// (for the facade) and the host tool (to print raw events).
///
/// ```
/// use fireball_sys::log::{Catalog, EventName};
/// static CATALOG: Catalog = Catalog {
///     modules: &["kernel", "hal"],
///     events: &[
///         EventName { module: 0, event: 0, text: "boot" },
///         EventName { module: 1, event: 0, text: "adc read {}" },
///     ],
/// };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalog<'a> {
    /// Module names by id.
    pub modules: &'a [&'a str],
    /// Event texts.
    pub events: &'a [EventName<'a>],
}

impl<'a> Catalog<'a> {
    /// An empty catalog.
    pub const EMPTY: Catalog<'static> = Catalog { modules: &[], events: &[] };

    /// The module whose name equals `target` or is a `::`-prefix of it
    /// (longest match), else [`MODULE_OTHER`].
    pub fn module_for_target(&self, target: &str) -> u8 {
        let mut best: Option<(usize, usize)> = None;
        for (id, name) in self.modules.iter().enumerate().take(usize::from(MODULE_OTHER) + 1) {
            let hit = match target.strip_prefix(name) {
                Some(rest) => rest.is_empty() || rest.starts_with("::"),
                None => false,
            };
            if hit && best.is_none_or(|(_, len)| name.len() > len) {
                best = Some((id, name.len()));
            }
        }
        match best {
            Some((id, _)) => id as u8,
            None => MODULE_OTHER,
        }
    }

    /// The first entry of `module` that `text` matches (see the module docs),
    /// with the argument it carries.
    pub fn match_message(&self, module: u8, text: &str) -> Option<(u8, i32)> {
        self.events.iter().filter(|e| e.module == module).find_map(|e| {
            let arg = match split_placeholder(e.text) {
                None => (e.text == text).then_some(0)?,
                Some((prefix, suffix)) => {
                    let middle = text.strip_prefix(prefix)?.strip_suffix(suffix)?;
                    parse_int(middle)?
                }
            };
            Some((e.event, arg))
        })
    }
}

impl Names for Catalog<'_> {
    fn module(&self, module: u8) -> Option<&str> {
        self.modules.get(usize::from(module)).copied()
    }
    fn event(&self, module: u8, event: u8) -> Option<&str> {
        self.events.iter().find(|e| e.module == module && e.event == event).map(|e| e.text)
    }
}

/// `text` split around its first `{}` (a byte search: `str::split_once`
/// would link the two-way string searcher, ~0.7 KB of flash).
fn split_placeholder(text: &str) -> Option<(&str, &str)> {
    let at = text.as_bytes().windows(2).position(|w| w == b"{}")?;
    Some((text.get(..at)?, text.get(at + 2..)?))
}

/// A decimal integer: optional `-`, then 1..=10 digits; saturated to `i32`.
fn parse_int(s: &str) -> Option<i32> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    let v = if neg { -magnitude } else { magnitude };
    Some(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

/// An event rendered as text; made by [`Event::display`].
pub struct EventDisplay<'n, N: ?Sized> {
    event: Event,
    names: &'n N,
    time_ms: u32,
}

impl<N: ?Sized> EventDisplay<'_, N> {
    /// Shows the full clock value, restored with [`Event::timestamp_near`]`(now_ms)`.
    pub fn at(mut self, now_ms: u32) -> Self {
        self.time_ms = self.event.timestamp_near(now_ms);
        self
    }
}

impl<N: Names + ?Sized> fmt::Display for EventDisplay<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.event;
        write!(f, "[{:>5}.{:03}] {} ", self.time_ms / 1000, self.time_ms % 1000, e.level().name())?;
        match self.names.module(e.module()) {
            Some(name) => f.write_str(name)?,
            None => write!(f, "m{}", e.module())?,
        }
        f.write_str(": ")?;
        match self.names.event(e.module(), e.event()) {
            Some(text) => match split_placeholder(text) {
                Some((before, after)) => write!(f, "{before}{}{after}", e.arg()),
                None if e.arg() == 0 => f.write_str(text),
                None => write!(f, "{text} {}", e.arg()),
            },
            None if e.event() == EVENT_UNREGISTERED => {
                write!(f, "unregistered message #{:06x}", e.arg() as u32 & MASK24)
            }
            None => write!(f, "e{} {}", e.event(), e.arg()),
        }
    }
}

/// The ring could not be allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutOfMemory {
    /// Bytes requested.
    pub bytes: usize,
}

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "logger: out of memory for the event ring ({} bytes)", self.bytes)
    }
}

impl core::error::Error for OutOfMemory {}

/// The event ring: [`record`](Logger::record) in, [`drain`](Logger::drain) /
/// [`iter`](Logger::iter) out, oldest first.
///
/// ```text
///  record ──► [ oldest … newest ]  full: overwrite oldest, dropped += 1
///                 │
///   pop / drain ◄─┘  (oldest first)
/// ```
#[derive(Debug)]
pub struct Logger<S> {
    storage: S,
    head: usize,
    len: usize,
    dropped: u32,
    filter: LevelFilter,
}

impl<S> Logger<S> {
    /// A logger over `storage`, empty, filter [`LevelFilter::Info`]. `const`,
    /// so a logger over an array can be a `static`'s initializer.
    pub const fn new(storage: S) -> Self {
        Logger { storage, head: 0, len: 0, dropped: 0, filter: LevelFilter::Info }
    }

    /// The runtime filter.
    pub fn filter(&self) -> LevelFilter {
        self.filter
    }

    /// Sets the runtime filter; events above it are not stored.
    pub fn set_filter(&mut self, filter: LevelFilter) {
        self.filter = filter;
    }

    /// Whether events of `level` would be stored.
    pub fn enabled(&self, level: Level) -> bool {
        self.filter.allows(level)
    }

    /// Events overwritten (or, with zero capacity, refused) since the last
    /// [`take_dropped`](Self::take_dropped); saturates at `u32::MAX`.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Returns the dropped count and resets it.
    pub fn take_dropped(&mut self) -> u32 {
        core::mem::take(&mut self.dropped)
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no events are held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every held event (the dropped count stays).
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// The storage back.
    pub fn into_storage(self) -> S {
        self.storage
    }
}

impl<A: Allocator> Logger<Vec<Event, A>> {
    /// A logger whose ring of `capacity` events is allocated once from
    /// `alloc` (partition P3 in the system).
    pub fn try_new_in(capacity: usize, alloc: A) -> Result<Self, OutOfMemory> {
        alloc_ring(capacity, alloc).map(Logger::new)
    }
}

/// `capacity` empty events in one allocation of exactly that size.
fn alloc_ring<A: Allocator>(capacity: usize, alloc: A) -> Result<Vec<Event, A>, OutOfMemory> {
    let mut ring = Vec::new_in(alloc);
    if ring.try_reserve_exact(capacity).is_err() {
        return Err(OutOfMemory { bytes: capacity.saturating_mul(Event::SIZE) });
    }
    ring.resize(capacity, Event::EMPTY);
    Ok(ring)
}

/// A ring of `capacity` events allocated once from `alloc` and never freed,
/// for a logger that lives as long as the system — the [`Facade`]'s, which
/// must be `Send` and so cannot hold a vector in a (`!Sync`) partition:
/// `Logger::new(ring_in(CAPACITY, &p3)?)`.
pub fn ring_in<'a, A: Allocator + 'a>(capacity: usize, alloc: A) -> Result<&'a mut [Event], OutOfMemory> {
    alloc_ring(capacity, alloc).map(Vec::leak)
}

impl<S: AsRef<[Event]> + AsMut<[Event]>> Logger<S> {
    /// Events the ring holds at most.
    pub fn capacity(&self) -> usize {
        self.storage.as_ref().len()
    }

    /// Records one event if `level` passes the filter; returns whether it
    /// was stored. This is what the guest `log` import calls.
    pub fn record(&mut self, now_ms: u32, level: Level, module: u8, event: u8, arg: i32) -> bool {
        if !self.enabled(level) {
            return false;
        }
        self.push(Event::new(now_ms, level, module, event, arg));
        true
    }

    /// Stores an event whatever its level (for replaying raw events); when
    /// full, the oldest is overwritten and counted as dropped.
    pub fn push(&mut self, event: Event) {
        let cap = self.capacity();
        if cap == 0 {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let slot = if self.len < cap {
            self.len += 1;
            (self.head + self.len - 1) % cap
        } else {
            let oldest = self.head;
            self.head = (self.head + 1) % cap;
            self.dropped = self.dropped.saturating_add(1);
            oldest
        };
        if let Some(s) = self.storage.as_mut().get_mut(slot) {
            *s = event;
        }
    }

    /// Removes and returns the oldest event.
    pub fn pop(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let cap = self.capacity();
        let event = self.storage.as_ref().get(self.head).copied();
        self.head = (self.head + 1) % cap.max(1);
        self.len -= 1;
        event
    }

    /// Removes events oldest first as the iterator is advanced.
    pub fn drain(&mut self) -> Drain<'_, S> {
        Drain { logger: self }
    }

    /// Held events, oldest first, without removing them.
    pub fn iter(&self) -> Iter<'_> {
        let ring = self.storage.as_ref();
        let (newer, older) = ring.split_at(self.head.min(ring.len()));
        // Oldest run: from head to the end; then the wrapped part from the start.
        let first = older.get(..self.len.min(older.len())).unwrap_or_default();
        let second = newer.get(..self.len - first.len()).unwrap_or_default();
        Iter { first: first.iter(), second: second.iter() }
    }

    /// The text backend: drains every event into `out`, one line each
    /// (timestamps restored against `now_ms`), then `(N events dropped)` if
    /// any were, and resets the dropped count. A board passes its UART or
    /// semihosting writer, the host a `String` or stdout adapter. If `out`
    /// fails, the event being written is lost and the rest stay in the ring.
    pub fn drain_to<W: fmt::Write + ?Sized, N: Names + ?Sized>(
        &mut self,
        out: &mut W,
        names: &N,
        now_ms: u32,
    ) -> fmt::Result {
        while let Some(event) = self.pop() {
            writeln!(out, "{}", event.display(names).at(now_ms))?;
        }
        let dropped = self.take_dropped();
        if dropped > 0 {
            writeln!(out, "({dropped} events dropped)")?;
        }
        Ok(())
    }
}

/// Held events, oldest first; made by [`Logger::iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    first: core::slice::Iter<'a, Event>,
    second: core::slice::Iter<'a, Event>,
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.first.next().or_else(|| self.second.next()).copied()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.first.len() + self.second.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Removes events oldest first; made by [`Logger::drain`]. Events not
/// reached stay in the ring.
#[derive(Debug)]
pub struct Drain<'a, S> {
    logger: &'a mut Logger<S>,
}

impl<S: AsRef<[Event]> + AsMut<[Event]>> Iterator for Drain<'_, S> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.logger.pop()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.logger.len, Some(self.logger.len))
    }
}

/// The bridge from the `log` facade to a logger, for native Rust code.
///
/// A `static` (its `new` is `const`), installed once with
/// [`Facade::install`]; the ring is attached afterwards with
/// [`Facade::attach`], so it can live in P3 (see [`ring_in`]) rather than in
/// the static (a 2 KiB array inside a static with non-zero fields would cost
/// 2 KiB of flash for its initializer: measured). Records before `attach` are counted in
/// [`Facade::lost`]. The ring is shared through a `critical_section::Mutex`:
/// the board provides the critical section (cortex-m's
/// `critical-section-single-core`), the host `critical-section/std`.
///
/// ```
/// use allocator_api2::alloc::Global;
/// use fireball_sys::log::{ring_in, Catalog, Event, EventName, Facade, LevelFilter, Logger, CAPACITY};
/// static CATALOG: Catalog = Catalog {
///     modules: &["kernel", "hal"],
///     events: &[EventName { module: 1, event: 3, text: "adc read {}" }],
/// };
/// fn now_ms() -> u32 { 1234 }
/// static LOG: Facade<&'static mut [Event]> = Facade::new(CATALOG, now_ms);
///
/// // The ring: allocated once in P3 (here from the host's global allocator).
/// LOG.attach(Logger::new(ring_in(CAPACITY, Global)?));
/// LOG.install(LevelFilter::Info).expect("first logger");
/// log::info!(target: "hal", "adc read {}", 812);
/// let mut text = String::new();
/// LOG.with(|ring| ring.drain_to(&mut text, &CATALOG, now_ms()));
/// assert_eq!(text, "[    1.234] INFO  hal: adc read 812\n");
/// # Ok::<(), fireball_sys::log::OutOfMemory>(())
/// ```
pub struct Facade<S> {
    ring: critical_section::Mutex<RefCell<Option<Logger<S>>>>,
    catalog: Catalog<'static>,
    clock: fn() -> u32,
    lost: critical_section::Mutex<core::cell::Cell<u32>>,
}

impl<S> Facade<S> {
    /// A facade with no ring yet, naming with `catalog`, timestamping with `clock` (ms).
    pub const fn new(catalog: Catalog<'static>, clock: fn() -> u32) -> Self {
        Facade {
            ring: critical_section::Mutex::new(RefCell::new(None)),
            catalog,
            clock,
            lost: critical_section::Mutex::new(core::cell::Cell::new(0)),
        }
    }

    /// Gives the facade its ring; returns the previous one, if any (or `logger`
    /// itself, not attached, when called from inside [`Facade::with`]).
    pub fn attach(&self, logger: Logger<S>) -> Option<Logger<S>> {
        critical_section::with(|cs| match self.ring.borrow(cs).try_borrow_mut() {
            Ok(mut ring) => ring.replace(logger),
            Err(_) => Some(logger),
        })
    }

    /// Takes the ring back (`None` from inside [`Facade::with`]).
    pub fn detach(&self) -> Option<Logger<S>> {
        critical_section::with(|cs| self.ring.borrow(cs).try_borrow_mut().ok().and_then(|mut ring| ring.take()))
    }

    /// Runs `f` on the ring inside a critical section (to drain it, change
    /// its filter…); `None` if no ring is attached, or if `f` itself logs or calls
    /// this (the ring is in use: the inner record is counted as lost).
    pub fn with<R>(&self, f: impl FnOnce(&mut Logger<S>) -> R) -> Option<R> {
        critical_section::with(|cs| self.ring.borrow(cs).try_borrow_mut().ok().and_then(|mut ring| ring.as_mut().map(f)))
    }

    /// Records that arrived while no ring was attached.
    pub fn lost(&self) -> u32 {
        critical_section::with(|cs| self.lost.borrow(cs).get())
    }

    /// The catalog the facade maps records with.
    pub fn catalog(&self) -> &Catalog<'static> {
        &self.catalog
    }
}

impl<S: AsRef<[Event]> + AsMut<[Event]> + Send + 'static> Facade<S> {
    /// Makes this the `log` crate's logger and sets the filter of both the
    /// `log` macros and the attached ring. Fails if a logger is already set.
    pub fn install(&'static self, filter: LevelFilter) -> Result<(), ::log::SetLoggerError> {
        ::log::set_logger(self)?;
        self.set_filter(filter);
        Ok(())
    }

    /// Sets the filter of the `log` macros and of the attached ring.
    pub fn set_filter(&self, filter: LevelFilter) {
        ::log::set_max_level(filter.to_log());
        self.with(|ring| ring.set_filter(filter));
    }
}

impl<S: AsRef<[Event]> + AsMut<[Event]> + Send> ::log::Log for Facade<S> {
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        let level = Level::from(metadata.level());
        self.with(|ring| ring.enabled(level)).unwrap_or(false)
    }

    fn log(&self, record: &::log::Record<'_>) {
        let level = Level::from(record.level());
        if self.with(|ring| ring.enabled(level)) == Some(false) {
            return;
        }
        // Rendered outside the critical section; only the push is inside.
        let event = self.event_for(record, (self.clock)());
        let stored = self.with(|ring| ring.push(event));
        if stored.is_none() {
            critical_section::with(|cs| {
                let lost = self.lost.borrow(cs);
                lost.set(lost.get().saturating_add(1));
            });
        }
    }

    fn flush(&self) {}
}

impl<S> Facade<S> {
    /// The event a record becomes (see the module docs), timestamped `now_ms`.
    pub fn event_for(&self, record: &::log::Record<'_>, now_ms: u32) -> Event {
        let level = Level::from(record.level());
        let module = self.catalog.module_for_target(record.target());
        let args = record.args();
        let (event, arg) = if let Some(text) = args.as_str() {
            self.catalog.match_message(module, text).unwrap_or((EVENT_UNREGISTERED, hash_arg(fnv1a(FNV_OFFSET, text))))
        } else {
            let mut text = TextBuffer { buf: [0; FACADE_TEXT_MAX], len: 0, overflow: false, hash: FNV_OFFSET };
            // TextBuffer never fails; a failing Display impl leaves a partial text, still hashed.
            let _ = fmt::write(&mut text, *args);
            let matched = match (text.overflow, core::str::from_utf8(text.buf.get(..text.len).unwrap_or_default())) {
                (false, Ok(s)) => self.catalog.match_message(module, s),
                _ => None,
            };
            matched.unwrap_or((EVENT_UNREGISTERED, hash_arg(text.hash)))
        };
        Event::new(now_ms, level, module, event, arg)
    }
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a over `s`, continuing from `hash`.
fn fnv1a(hash: u32, s: &str) -> u32 {
    s.bytes().fold(hash, |h, b| (h ^ u32::from(b)).wrapping_mul(FNV_PRIME))
}

/// A 32-bit hash folded to 24 bits (xor-folding, as FNV's authors advise),
/// as the signed argument that stores those 24 bits.
fn hash_arg(hash: u32) -> i32 {
    let folded = (hash >> 24) ^ (hash & MASK24);
    ((folded << 8) as i32) >> 8
}

/// A facade message rendered on the stack: the first [`FACADE_TEXT_MAX`]
/// bytes, and a hash of all of it.
struct TextBuffer {
    buf: [u8; FACADE_TEXT_MAX],
    len: usize,
    overflow: bool,
    hash: u32,
}

impl fmt::Write for TextBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.hash = fnv1a(self.hash, s);
        match self.buf.get_mut(self.len..self.len + s.len()) {
            Some(dst) if !self.overflow => {
                dst.copy_from_slice(s.as_bytes());
                self.len += s.len();
            }
            _ => self.overflow = true,
        }
        Ok(())
    }
}
