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
        pub fn sys_read(uri: *const u8, buf: *mut u8, len: i32) -> i32;
        pub fn sys_write(uri: *const u8, buf: *const u8, len: i32) -> i32;
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
    pub unsafe fn sys_read(_: *const u8, _: *mut u8, _: i32) -> i32 {
        host("sys_read")
    }
    pub unsafe fn sys_write(_: *const u8, _: *const u8, _: i32) -> i32 {
        host("sys_write")
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

/// `uri` with a NUL after it, in `out`: the C string `sys_read`/`sys_write` take
/// (`None` if it is too long or holds a NUL).
fn c_uri<'o>(uri: &str, out: &'o mut [u8; 65]) -> Option<&'o [u8; 65]> {
    let dst = out.get_mut(..uri.len())?;
    if uri.len() > 64 || uri.as_bytes().contains(&0) {
        return None;
    }
    dst.copy_from_slice(uri.as_bytes());
    out[uri.len()] = 0;
    Some(out)
}

/// `sys_read`: `None` if `uri` cannot be a C string.
pub(crate) fn sys_read(uri: &str, buf: &mut [u8]) -> Option<i32> {
    let mut name = [0u8; 65];
    let name = c_uri(uri, &mut name)?;
    // SAFETY: `name` is a NUL-terminated string the runtime only reads; `buf`
    // is writable for `buf.len()` bytes and borrowed exclusively for the whole
    // call — during which this module is parked if the device completes later,
    // so nothing else reads or writes it; the runtime writes at most `len` bytes
    // from its start and keeps no pointer after the call returns.
    Some(unsafe { raw::sys_read(name.as_ptr(), buf.as_mut_ptr(), len_i32(buf.len())) })
}

/// `sys_write`: `None` if `uri` cannot be a C string.
pub(crate) fn sys_write(uri: &str, data: &[u8]) -> Option<i32> {
    let mut name = [0u8; 65];
    let name = c_uri(uri, &mut name)?;
    // SAFETY: `name` and `data` are readable for their lengths during the
    // call and only read (a device may read `data` until the call returns).
    Some(unsafe { raw::sys_write(name.as_ptr(), data.as_ptr(), len_i32(data.len())) })
}
