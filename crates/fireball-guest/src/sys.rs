//! sys: the runtime's wasm imports, once raw and once as safe shims; this
//! crate's only `unsafe`.
//! guest code ──► [`hal`](crate::hal), [`chan`](crate::chan), [`Buffer`](crate::Buffer),
//! [`log`](crate::log), [`request`](crate::request) ──► **sys** ──► import `env.*` ──►
//! the runtime (kernel, HAL, logger, router).
//!
//! On `wasm32` the `raw` block declares the imports of module `env`, every
//! parameter and result an `i32`, exactly as `include/fireball.h` does for C.
//! Imports that take only integers are declared `safe fn` (the runtime checks
//! every value); the six that take a pointer stay `unsafe` and are called
//! below with a slice's pointer and length.
//!
//! On every other target nothing is imported: `raw` holds functions of the
//! same signatures that panic, so the crate builds and its pure parts test on
//! the host, and a host program that calls an import fails loudly instead of
//! linking against symbols that do not exist.

/// A slice length as the imports' `int`: lossless on wasm32, where a slice
/// is at most `isize::MAX == i32::MAX` bytes; elsewhere saturated (the
/// runtime refuses a range that does not fit the guest's memory).
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

#[cfg(target_arch = "wasm32")]
mod raw {
    // SAFETY: these are the runtime's imports with the signatures it serves
    // (checked at instantiation: a mismatch is refused before the guest runs).
    // The `safe fn`s take and return only integers, which the runtime
    // validates; no value can make them touch the guest's memory.
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        pub safe fn ch_send(ch: i32, value: i32);
        pub fn ch_recv(ch: i32, value: *mut i32);
        pub safe fn co_yield();
        pub fn buf_create(data: *const u8, len: i32) -> i32;
        pub safe fn buf_send(ch: i32, handle: i32) -> i32;
        pub safe fn buf_recv(ch: i32) -> i32;
        pub fn buf_read(handle: i32, dst: *mut u8, cap: i32) -> i32;
        pub safe fn buf_release(handle: i32) -> i32;
        pub safe fn hal_adc_read(channel: i32) -> i32;
        pub fn hal_tx_send(data: *const u8, len: i32) -> i32;
        pub safe fn hal_get_time_ms() -> i32;
        pub safe fn hal_ble_init(profile_id: i32) -> i32;
        pub fn hal_ble_send(data: *const u8, len: i32) -> i32;
        pub safe fn log_event(level: i32, event: i32, arg: i32) -> i32;
        pub fn sys_request(
            uri: *const u8,
            uri_len: i32,
            msg: *const u8,
            msg_len: i32,
            reply: *mut u8,
            reply_cap: i32,
        ) -> i32;
    }
}

/// Host stand-ins: same signatures, and each one panics.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::panic, clippy::missing_safety_doc)]
mod raw {
    fn host(name: &str) -> ! {
        panic!("fireball-guest: the import `env.{name}` exists only on wasm32, inside the Fireball runtime")
    }
    pub fn ch_send(_: i32, _: i32) {
        host("ch_send")
    }
    pub unsafe fn ch_recv(_: i32, _: *mut i32) {
        host("ch_recv")
    }
    pub fn co_yield() {
        host("co_yield")
    }
    pub unsafe fn buf_create(_: *const u8, _: i32) -> i32 {
        host("buf_create")
    }
    pub fn buf_send(_: i32, _: i32) -> i32 {
        host("buf_send")
    }
    pub fn buf_recv(_: i32) -> i32 {
        host("buf_recv")
    }
    pub unsafe fn buf_read(_: i32, _: *mut u8, _: i32) -> i32 {
        host("buf_read")
    }
    pub fn buf_release(_: i32) -> i32 {
        host("buf_release")
    }
    pub fn hal_adc_read(_: i32) -> i32 {
        host("hal_adc_read")
    }
    pub unsafe fn hal_tx_send(_: *const u8, _: i32) -> i32 {
        host("hal_tx_send")
    }
    pub fn hal_get_time_ms() -> i32 {
        host("hal_get_time_ms")
    }
    pub fn hal_ble_init(_: i32) -> i32 {
        host("hal_ble_init")
    }
    pub unsafe fn hal_ble_send(_: *const u8, _: i32) -> i32 {
        host("hal_ble_send")
    }
    pub fn log_event(_: i32, _: i32, _: i32) -> i32 {
        host("log_event")
    }
    pub unsafe fn sys_request(_: *const u8, _: i32, _: *const u8, _: i32, _: *mut u8, _: i32) -> i32 {
        host("sys_request")
    }
}

pub(crate) use raw::{
    buf_recv, buf_release, buf_send, ch_send, co_yield, hal_adc_read, hal_ble_init, hal_get_time_ms, log_event,
};

/// `ch_recv` into a local: the value received (nothing is stored on a
/// refused port, so that case reads 0).
pub(crate) fn ch_recv(ch: i32) -> i32 {
    let mut value = 0i32;
    // SAFETY: `&mut value` is a live, aligned, writable i32 for the whole
    // call; the runtime writes at most these 4 bytes.
    unsafe { raw::ch_recv(ch, &mut value) };
    value
}

pub(crate) fn buf_create(data: &[u8]) -> i32 {
    // SAFETY: `data` is readable for `data.len()` bytes during the call; the
    // runtime copies them out and keeps no pointer.
    unsafe { raw::buf_create(data.as_ptr(), len_i32(data.len())) }
}

pub(crate) fn buf_read(handle: i32, dst: &mut [u8]) -> i32 {
    // SAFETY: `dst` is writable for `dst.len()` bytes during the call and
    // borrowed exclusively; the runtime writes at most `cap` bytes from its start.
    unsafe { raw::buf_read(handle, dst.as_mut_ptr(), len_i32(dst.len())) }
}

pub(crate) fn hal_tx_send(data: &[u8]) -> i32 {
    // SAFETY: `data` is readable for `data.len()` bytes during the call; the
    // runtime only reads them.
    unsafe { raw::hal_tx_send(data.as_ptr(), len_i32(data.len())) }
}

pub(crate) fn hal_ble_send(data: &[u8]) -> i32 {
    // SAFETY: as for `hal_tx_send`: a readable slice, only read.
    unsafe { raw::hal_ble_send(data.as_ptr(), len_i32(data.len())) }
}

pub(crate) fn sys_request(uri: &str, msg: &[u8], reply: &mut [u8]) -> i32 {
    // SAFETY: `uri` and `msg` are readable for their lengths and only read;
    // `reply` is writable for `reply.len()` bytes, borrowed exclusively, and
    // the runtime writes at most `reply_cap` bytes from its start. None of
    // them is kept past the call.
    unsafe {
        raw::sys_request(
            uri.as_ptr(),
            len_i32(uri.len()),
            msg.as_ptr(),
            len_i32(msg.len()),
            reply.as_mut_ptr(),
            len_i32(reply.len()),
        )
    }
}
