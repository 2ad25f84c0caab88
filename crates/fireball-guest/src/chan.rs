//! chan: values over the module's channel ports, and ending a time slice.
//! guest ──► **chan** ──► `ch_send` / `ch_recv` / `co_yield` ──► runtime: kernel
//! channels (CSP: a bounded queue, the only way tasks talk) and the scheduler.
//!
//! A module sees [`PORTS`] ports, `0..8`; the runtime maps each to a kernel
//! channel when it loads the module. Sending blocks while the channel is
//! full and receiving while it is empty; either way the other tasks run
//! meanwhile, so both are yield points. A port the runtime did not grant is
//! refused and logged: nothing is sent, [`recv`] returns 0, and the time
//! slice ends. Byte buffers travel as [`Buffer`](crate::Buffer)s.

use crate::sys;

/// Ports a module may use: `0..PORTS`.
pub const PORTS: u8 = 8;

/// Sends `value` on `port`; blocks while the channel is full.
pub fn send(port: u8, value: i32) {
    sys::ch_send(i32::from(port), value);
}

/// Waits for a value on `port` (blocks while the channel is empty).
pub fn recv(port: u8) -> i32 {
    sys::ch_recv(i32::from(port))
}

/// Ends this time slice: the scheduler runs the other ready tasks and comes
/// back. (Without it a guest is still preempted after its slice of
/// instructions; yielding gives the rest of the slice away.)
pub fn yield_now() {
    sys::co_yield();
}
