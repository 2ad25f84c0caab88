//! log: binary events in the runtime's log ring.
//! guest ──► **log** ──► `log_event` import ──► runtime: logger ring (8 bytes an
//! event: time, this module's id, level, event id, argument) ──► text when drained.
//!
//! An event is an id the application numbers (0..=[`EVENT_MAX`]) and one
//! integer; nothing is formatted in the guest. The runtime stamps the time
//! and the module, and drops events above its level filter (Info by default).

use crate::{sys, Error};

/// How serious an event is (the runtime's numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// The largest application event id: the runtime refuses a larger one with
/// [`Error::InvalidArgument`] (the ids above are the router's own events about the module).
pub const EVENT_MAX: u8 = 199;
/// The smallest argument stored as it is (the ring keeps 24 bits; smaller ones saturate).
pub const ARG_MIN: i32 = -(1 << 23);
/// The largest argument stored as it is (larger ones saturate).
pub const ARG_MAX: i32 = (1 << 23) - 1;

/// Records event `id` (0..=[`EVENT_MAX`]) at `level` with argument `arg`
/// (saturated to [`ARG_MIN`]..=[`ARG_MAX`] by the runtime).
pub fn event(level: Level, id: u8, arg: i32) -> Result<(), Error> {
    Error::check(sys::log_event(level as i32, i32::from(id), arg)).map(|_| ())
}

/// [`event`] at [`Level::Error`].
pub fn error(id: u8, arg: i32) -> Result<(), Error> {
    event(Level::Error, id, arg)
}

/// [`event`] at [`Level::Warn`].
pub fn warn(id: u8, arg: i32) -> Result<(), Error> {
    event(Level::Warn, id, arg)
}

/// [`event`] at [`Level::Info`].
pub fn info(id: u8, arg: i32) -> Result<(), Error> {
    event(Level::Info, id, arg)
}

/// [`event`] at [`Level::Debug`].
pub fn debug(id: u8, arg: i32) -> Result<(), Error> {
    event(Level::Debug, id, arg)
}

/// [`event`] at [`Level::Trace`].
pub fn trace(id: u8, arg: i32) -> Result<(), Error> {
    event(Level::Trace, id, arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_the_runtimes_numbers() {
        let levels = [Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace];
        for (n, level) in (1..).zip(levels) {
            assert_eq!(level as i32, n);
        }
        assert!(Level::Error < Level::Trace);
        assert_eq!((ARG_MIN, ARG_MAX), (-8_388_608, 8_388_607));
    }
}
