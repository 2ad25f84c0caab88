//! ipc_router: every import a guest or service makes beyond the kernel's own
//! channels arrives here, is checked against the module's grants, and goes to
//! the subsystem behind the endpoint.
//!
//! ```text
//!  wasm import ──► kernel (ch_*, buf_*, co_yield)
//!       │
//!       └──────► Router::call ── grant? ──no──► -11 Denied + WARN event
//!                    │ yes
//!                    ├─ hal/adc/<n>, hal/tx, hal/ble, hal/clock ──► hal::Registry
//!                    ├─ log (log_event, stdout/stderr)          ──► log::Logger (+ console)
//!                    ├─ hal/<device path> (sys_request)         ──► Registry::configure/query
//!                    └─ WASI preview 1 (wasi_snapshot_preview1) ──► the same endpoints
//! ```
//!
//! # Endpoints
//!
//! | URI | reached by | what |
//! |---|---|---|
//! | `hal/adc/<n>` | `hal_adc_read(n)` | guest ADC channel `n` (the registry's numbering) |
//! | `hal/tx` | `hal_tx_send` | the radio |
//! | `hal/ble` | `hal_ble_init`, `hal_ble_send` | BLE |
//! | `hal/clock` | `hal_get_time_ms`, WASI `clock_time_get`, `poll_oneoff` (sleeps) | the clock |
//! | `hal/<path>` | `sys_request` | any registered device by path (`hal/adc/0` is also device `adc/0`): get/set its configuration as key-value messages |
//! | `hal/gpio/<n>`, `hal/i2c/<n>`, `hal/spi/<n>` | `sys_request` with op `READ`/`WRITE`/`TRANSFER` | the device's pins or bus (table below) |
//! | `hal/<path>` | `sys_read`, `sys_write` | bulk transfers of a device with the offload capability (below) |
//! | `log` | `log_event`, WASI `fd_write` to fd 1 and 2 | the logger; stdout/stderr text goes to the console once (a DEBUG byte count in the logger), or without a console only as an INFO byte count |
//! | `sys/random` | WASI `random_get` | SplitMix64 seeded by the system |
//! | `svc/<name>` | channel ports wired by the manifest | a service (the system wires these) |
//!
//! # Device operations (`sys_request`, key 0 = the operation)
//!
//! | device | op | request keys | reply keys |
//! |---|---|---|---|
//! | GPIO | `READ` | `PIN` | `LEVEL` (bool) |
//! | GPIO | `WRITE` | `PIN`, `LEVEL` | — |
//! | I²C | `WRITE` | `ADDRESS`, `DATA` | — |
//! | I²C | `READ` | `ADDRESS`, `LEN` | `DATA` |
//! | I²C | `TRANSFER` (write, repeated start, read: "read a register") | `ADDRESS`, `DATA`, `LEN` | `DATA` |
//! | SPI | `WRITE` | `DATA` | — |
//! | SPI | `READ` (clocks out zeros) | `LEN` | `DATA` |
//! | SPI | `TRANSFER` (full duplex, in place) | `DATA` | `DATA`, as long |
//!
//! Keys are `hal::key`'s; a transfer moves at most [`MAX_TRANSFER`] bytes
//! ([`HalError::TooLong`] past that); a device without the capability is
//! [`HalError::NotSupported`], a missing key [`HalError::InvalidArgument`].
//!
//! # The offloader (`sys_read`, `sys_write`)
//!
//! `int sys_read(const char *uri, void *buf, int len)` and `sys_write(uri,
//! buf, len)` move bytes between the guest's buffer and a device's
//! [`Offload`](crate::hal::Offload) capability (`uri` NUL-terminated, at most
//! [`MAX_URI`] bytes), under the same grants as every endpoint (a denied one
//! returns -11 and is logged). A device that completes at once answers at once;
//! one that completes later answers [`SysAction::Park`]: the kernel parks the
//! calling task (the others run), registers its buffer as lent in the
//! ownership table, and asks [`Syscalls::poll`] between steps; the device
//! gets the buffer again when it completes. The answer is the byte count or a
//! negative [`HalError`] code; a transfer not complete after the offload
//! timeout ([`OFFLOAD_TIMEOUT_MS`], [`Router::set_offload_timeout`]) fails
//! with -10 (`Timeout`, logged) and is cancelled on the device; a task that
//! dies with one pending has it cancelled ([`Syscalls::cancel`]). One pending
//! transfer per device: another caller gets -6 (`Busy`).
//!
//! WASI `proc_exit`, `args_*`, `environ_*` (a module's name as `argv[0]`, then
//! what [`Router::set_command_line`] gave it) and the stdio
//! `fd_fdstat_get`/`fd_seek`/`fd_close` that wasi-libc's start-up and `printf`
//! import need no grant. Every other import is unknown: the kernel refuses the
//! module at load with the import's index, which the loader turns into its name.
//!
//! # Grants
//!
//! Each module has a list of URI patterns, from its manifest line: a pattern is
//! a URI, or a prefix ending in `/*` (`hal/*`, `hal/adc/*`), or `*`. The
//! fast-path imports are checked against masks computed once at admission
//! (one bit test per call); `sys_request` matches the patterns. A denied call
//! returns [`HalError::Denied`] (-11, or WASI errno 76 `notcapable`) and records
//! a WARN event naming the endpoint; the module runs on.
//!
//! The router owns nothing: the registry, the logger and the console are lent
//! to it by the system (dependency injection), which keeps them in P3.

use core::fmt;

use fireball_coos::sched::{Refused, SysAction, Syscalls};
use fireball_coos::TaskId;
use fireball_wasm::{FuncType, ValType, Value};

use crate::hal::{HalError, Registry};
use crate::keyval::{Reader, Writer};
use crate::log::{Event, Level, Logger, Names};

/// Modules (tasks) the router keeps grants for: task ids `0..MAX_MODULES`.
pub const MAX_MODULES: usize = 8;

/// Log module id of the router's own events.
pub const LOG_ROUTER: u8 = 1;

/// Log module id of task `t`'s events: `LOG_TASK_BASE + t`.
pub const LOG_TASK_BASE: u8 = 16;

/// Application event ids a guest may use with `log_event` (`0..APP_EVENTS`);
/// the ids above are the router's, recorded under the module's own id.
pub const APP_EVENTS: u8 = 200;

/// The router's events, recorded under the calling module's log id.
pub mod event {
    /// `hal_adc_read(n)` denied; the argument is `n`.
    pub const DENIED_ADC: u8 = 240;
    /// `hal_tx_send` denied.
    pub const DENIED_TX: u8 = 241;
    /// `hal_ble_*` denied.
    pub const DENIED_BLE: u8 = 242;
    /// The clock denied.
    pub const DENIED_CLOCK: u8 = 243;
    /// `log_event` or stdout denied.
    pub const DENIED_LOG: u8 = 244;
    /// `random_get` denied.
    pub const DENIED_RANDOM: u8 = 245;
    /// `sys_request` denied; the argument is the URI's length.
    pub const DENIED_REQUEST: u8 = 246;
    /// A channel operation on a port the manifest did not wire; the argument is the port.
    pub const DENIED_PORT: u8 = 247;
    /// Bytes written to stdout/stderr; the argument is the count. DEBUG when a
    /// console shows the text, INFO when none does.
    pub const STDOUT: u8 = 248;
    /// The module called `proc_exit`; the argument is the status.
    pub const EXIT: u8 = 249;
    /// A malformed key-value message; the argument is the byte offset of the fault.
    pub const BAD_MESSAGE: u8 = 250;
    /// A HAL call failed (the guest got the code too); the argument is the code.
    pub const HAL_ERROR: u8 = 251;
    /// `sys_read`/`sys_write` denied; the argument is the URI's length.
    pub const DENIED_OFFLOAD: u8 = 252;
    /// An offloaded transfer timed out (and was cancelled); the argument is the timeout in ms.
    pub const OFFLOAD_TIMEOUT: u8 = 253;
}

const EVENT_TEXT: [(u8, &str); 14] = [
    (event::DENIED_OFFLOAD, "denied an offloaded transfer ({}-byte URI)"),
    (event::OFFLOAD_TIMEOUT, "offloaded transfer timed out after {} ms"),
    (event::HAL_ERROR, "HAL call failed with code {}"),
    (event::DENIED_ADC, "denied hal/adc/{}"),
    (event::DENIED_TX, "denied hal/tx"),
    (event::DENIED_BLE, "denied hal/ble"),
    (event::DENIED_CLOCK, "denied hal/clock"),
    (event::DENIED_LOG, "denied log"),
    (event::DENIED_RANDOM, "denied sys/random"),
    (event::DENIED_REQUEST, "denied a sys_request ({}-byte URI)"),
    (event::DENIED_PORT, "denied channel port {}"),
    (event::STDOUT, "wrote {} bytes to stdout"),
    (event::EXIT, "exit {}"),
    (event::BAD_MESSAGE, "malformed key-value message at byte {}"),
];

/// `sys_request` operations (message key 0).
pub mod op {
    /// Reply with the value of every other key in the request.
    pub const GET: u32 = 1;
    /// Configure every other entry of the request.
    pub const SET: u32 = 2;
    /// Read a pin or from a bus (see the module's table).
    pub const READ: u32 = 3;
    /// Drive a pin or write to a bus.
    pub const WRITE: u32 = 4;
    /// Write then read (I²C), or exchange (SPI).
    pub const TRANSFER: u32 = 5;
}

/// Most bytes one I²C or SPI request moves.
pub const MAX_TRANSFER: usize = 96;

/// Longest URI `sys_read`/`sys_write` take (without the NUL).
pub const MAX_URI: usize = 64;

/// How long an offloaded transfer may stay pending before it fails with `Timeout`.
pub const OFFLOAD_TIMEOUT_MS: u64 = 1_000;

/// The console's input, what stdin reads ([`Router::set_console_input`]): any
/// [`embedded_io::Read`] + [`embedded_io::ReadReady`] (a UART's receiver; on a host,
/// its stdin).
pub trait ConsoleInput {
    /// Whether a read now returns without waiting (bytes, or the end of the input).
    fn ready(&mut self) -> Result<bool, embedded_io::ErrorKind>;
    /// Bytes into `buf`: at least one, or 0 at the end of the input.
    fn read_into(&mut self, buf: &mut [u8]) -> Result<usize, embedded_io::ErrorKind>;
}

impl<T: embedded_io::Read + embedded_io::ReadReady> ConsoleInput for T {
    fn ready(&mut self) -> Result<bool, embedded_io::ErrorKind> {
        use embedded_io::Error;
        self.read_ready().map_err(|e| e.kind())
    }

    fn read_into(&mut self, buf: &mut [u8]) -> Result<usize, embedded_io::ErrorKind> {
        use embedded_io::Error;
        self.read(buf).map_err(|e| e.kind())
    }
}

/// A transfer a device completes later, for the task parked on it.
#[derive(Debug, Clone, Copy)]
struct Pending {
    device: crate::hal::DeviceId,
    ptr: u32,
    len: u32,
    deadline_ms: u64,
}

/// A task parked in `poll_oneoff` until a clock subscription's time (`u64::MAX`:
/// none) or, if its bit in `Router::watching` is set, until the console input is
/// ready: the event to write then (the subscription's `userdata`, `stdin`'s for the
/// input) and where (`out`, and the count at `nevents`).
#[derive(Debug, Clone, Copy)]
struct Sleep {
    until_us: u64,
    userdata: u64,
    stdin: u64,
    out: u32,
    nevents: u32,
}

/// A task parked in `fd_read` on stdin: its buffer, and where the count goes.
#[derive(Debug, Clone, Copy)]
struct Reading {
    buf: u32,
    len: u32,
    nread: u32,
}

/// WASI errno values the subset returns.
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const IO: i32 = 29;
    pub const NOSYS: i32 = 52;
    pub const NOTSUP: i32 = 58;
    pub const SPIPE: i32 = 70;
    pub const NOTCAPABLE: i32 = 76;
}

/// What a module may reach: URI patterns, and the masks the fast paths test.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grants<'r> {
    patterns: &'r str,
    adc: u32,
    bits: u8,
}

const G_TX: u8 = 1;
const G_BLE: u8 = 2;
const G_CLOCK: u8 = 4;
const G_LOG: u8 = 8;
const G_RANDOM: u8 = 16;

impl<'r> Grants<'r> {
    /// Everything (`*`): what a module run without a manifest gets.
    pub const ALL: Grants<'static> = Grants { patterns: "*", adc: u32::MAX, bits: 0xff };

    /// Nothing at all.
    pub const NONE: Grants<'static> = Grants { patterns: "", adc: 0, bits: 0 };

    /// The grants of a whitespace-separated list of URI patterns (a manifest
    /// line's tail): `hal/adc/0 hal/tx log`, `hal/*`, `*`.
    pub fn parse(patterns: &'r str) -> Grants<'r> {
        let mut g = Grants { patterns, adc: 0, bits: 0 };
        for ch in 0..32u32 {
            let mut buf = [0u8; 12];
            if g.allows(adc_uri(&mut buf, ch)) {
                g.adc |= 1 << ch;
            }
        }
        for (uri, bit) in [("hal/tx", G_TX), ("hal/ble", G_BLE), ("hal/clock", G_CLOCK), ("log", G_LOG), ("sys/random", G_RANDOM)] {
            if g.allows(uri) {
                g.bits |= bit;
            }
        }
        g
    }

    /// Whether some pattern covers `uri`.
    pub fn allows(&self, uri: &str) -> bool {
        self.patterns.split_ascii_whitespace().any(|p| pattern_matches(p, uri))
    }

    /// The patterns, as given.
    pub fn patterns(&self) -> &'r str {
        self.patterns
    }

    fn adc(&self, channel: i32) -> bool {
        // Channels past 31 are checked by pattern (rare).
        match u32::try_from(channel) {
            Ok(ch) if ch < 32 => self.adc & (1 << ch) != 0,
            Ok(ch) => {
                let mut buf = [0u8; 20];
                self.allows(adc_uri(&mut buf, ch))
            }
            Err(_) => true, // a negative channel is the registry's BadChannel, not a denial
        }
    }

    fn has(&self, bit: u8) -> bool {
        self.bits & bit != 0
    }
}

/// `hal/adc/<ch>` in `buf`.
fn adc_uri(buf: &mut [u8], ch: u32) -> &str {
    const PREFIX: &[u8] = b"hal/adc/";
    let mut digits = [0u8; 10];
    let mut n = 0;
    let mut v = ch;
    // (A u32 has at most 10 digits.)
    while let Some(d) = digits.get_mut(n) {
        *d = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = (PREFIX.len() + n).min(buf.len());
    let mut out = buf.iter_mut();
    for (o, &b) in out.by_ref().zip(PREFIX.iter().chain(digits.get(..n).unwrap_or(&[]).iter().rev())) {
        *o = b;
    }
    buf.get(..len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
}

/// `pattern` covers `uri`: equal, `*`, or a `prefix/*` with `uri` under `prefix/`.
pub fn pattern_matches(pattern: &str, uri: &str) -> bool {
    if pattern == "*" || pattern == uri {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('/') => uri.starts_with(prefix),
        _ => false,
    }
}

/// One admitted module.
#[derive(Debug, Clone, Copy)]
struct Slot<'r> {
    name: &'r str,
    grants: Grants<'r>,
    cmd: &'r CommandLine<'r>,
    exit: Option<i32>,
    /// The console is at the start of a line for this module.
    line_start: bool,
}

/// A module's command line: what WASI `args_get` gives it after its name
/// (`argv[0]`), and its environment (`environ_get`), as `KEY=VALUE` strings.
/// On a host these come from the command that runs it; on a device, from the
/// firmware's setup (a constant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandLine<'a> {
    /// The arguments after `argv[0]`.
    pub args: &'a [&'a str],
    /// The environment, `KEY=VALUE` each.
    pub env: &'a [&'a str],
}

impl CommandLine<'_> {
    /// No arguments (`argv` is the module's name alone) and no environment.
    pub const EMPTY: CommandLine<'static> = CommandLine { args: &[], env: &[] };
}

/// Per-router counters, printed by the system at exit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Calls served (denied ones included).
    pub calls: u32,
    /// Calls refused by a grant.
    pub denied: u32,
    /// Malformed key-value messages.
    pub bad_messages: u32,
}

/// The signature and endpoint of each import the router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    AdcRead,
    TxSend,
    TimeMs,
    BleInit,
    BleSend,
    LogEvent,
    Request,
    ProcExit,
    FdWrite,
    ClockTimeGet,
    RandomGet,
    SysRead,
    SysWrite,
    ArgsSizesGet,
    ArgsGet,
    EnvironSizesGet,
    EnvironGet,
    FdFdstatGet,
    /// Seeking and positioned I/O: stdio is not seekable, no other fd exists.
    FdSeek,
    /// Done on stdio (close, sync, flags), no other fd exists.
    FdClose,
    /// stdin: the console input, or the end of the input without one; stdout/stderr are
    /// not readable.
    FdRead,
    FdFilestatGet,
    ClockResGet,
    /// Not possible on stdio, no other fd exists (times, rights, readdir, renumber).
    FdNotOnStdio,
    /// No file system and no sockets: no preopened directory, no socket, no such fd.
    NoSuchFd,
    ProcRaise,
    PollOneoff,
    SchedYield,
}

/// The module an import comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Env,
    Wasi,
}
use Origin::{Env as ENV, Wasi as WASI};

impl Origin {
    fn of(module: &str) -> Option<Origin> {
        match module {
            "env" => Some(Origin::Env),
            "wasi_snapshot_preview1" => Some(Origin::Wasi),
            _ => None,
        }
    }
}

/// The row of import `module.name`.
fn import_row(module: &str, name: &str) -> Option<usize> {
    let origin = Origin::of(module)?;
    IMPORTS.iter().position(|(m, n, ..)| *m == origin && *n == name)
}

/// An import's type in 16 bits (a table row is 12 bytes, not 36: 2 KB of flash less
/// for WASI preview 1): bits 0–3 the parameter count, bit 4 + i set when parameter
/// i is an i64 (an i32 otherwise), bit 15 one i32 result (none otherwise). Every
/// import the router serves has only such types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sig(u16);

impl Sig {
    const fn of(params: &[ValType], results: &[ValType]) -> Sig {
        let mut bits = params.len() as u16;
        let mut i = 0;
        while i < params.len() {
            if matches!(params[i], ValType::I64) {
                bits |= 1 << (4 + i);
            }
            i += 1;
        }
        if !results.is_empty() {
            bits |= 1 << 15;
        }
        Sig(bits)
    }

    /// Whether `ty` is this type (any type it cannot encode is not).
    fn matches(self, ty: &FuncType<'_>) -> bool {
        if ty.params.len() > 11 {
            return false;
        }
        let mut bits = ty.params.len() as u16;
        for (i, p) in ty.params.iter().enumerate() {
            match p {
                ValType::I32 => {}
                ValType::I64 => bits |= 1 << (4 + i),
                _ => return false,
            }
        }
        match ty.results {
            [] => {}
            [ValType::I32] => bits |= 1 << 15,
            _ => return false,
        }
        Sig(bits) == self
    }
}

const IMPORTS: [(Origin, &str, Sig, Call); 55] = {
    use ValType::{I32, I64};
    [
        (ENV, "hal_adc_read", Sig::of(&[I32], &[I32]), Call::AdcRead),
        (ENV, "hal_tx_send", Sig::of(&[I32, I32], &[I32]), Call::TxSend),
        (ENV, "hal_get_time_ms", Sig::of(&[], &[I32]), Call::TimeMs),
        (ENV, "hal_ble_init", Sig::of(&[I32], &[I32]), Call::BleInit),
        (ENV, "hal_ble_send", Sig::of(&[I32, I32], &[I32]), Call::BleSend),
        (ENV, "log_event", Sig::of(&[I32, I32, I32], &[I32]), Call::LogEvent),
        (ENV, "sys_request", Sig::of(&[I32, I32, I32, I32, I32, I32], &[I32]), Call::Request),
        (ENV, "sys_read", Sig::of(&[I32, I32, I32], &[I32]), Call::SysRead),
        (ENV, "sys_write", Sig::of(&[I32, I32, I32], &[I32]), Call::SysWrite),
        (WASI, "proc_exit", Sig::of(&[I32], &[]), Call::ProcExit),
        (WASI, "fd_write", Sig::of(&[I32, I32, I32, I32], &[I32]), Call::FdWrite),
        (WASI, "clock_time_get", Sig::of(&[I32, I64, I32], &[I32]), Call::ClockTimeGet),
        (WASI, "random_get", Sig::of(&[I32, I32], &[I32]), Call::RandomGet),
        (WASI, "args_sizes_get", Sig::of(&[I32, I32], &[I32]), Call::ArgsSizesGet),
        (WASI, "args_get", Sig::of(&[I32, I32], &[I32]), Call::ArgsGet),
        (WASI, "environ_sizes_get", Sig::of(&[I32, I32], &[I32]), Call::EnvironSizesGet),
        (WASI, "environ_get", Sig::of(&[I32, I32], &[I32]), Call::EnvironGet),
        (WASI, "fd_fdstat_get", Sig::of(&[I32, I32], &[I32]), Call::FdFdstatGet),
        (WASI, "fd_seek", Sig::of(&[I32, I64, I32, I32], &[I32]), Call::FdSeek),
        (WASI, "fd_close", Sig::of(&[I32], &[I32]), Call::FdClose),
        (WASI, "poll_oneoff", Sig::of(&[I32, I32, I32, I32], &[I32]), Call::PollOneoff),
        (WASI, "sched_yield", Sig::of(&[], &[I32]), Call::SchedYield),
        // The rest of WASI preview 1, so that a program using stdio, files or sockets
        // loads and gets errors where a device has nothing to offer (signatures as
        // wasi-libc imports them).
        (WASI, "fd_read", Sig::of(&[I32, I32, I32, I32], &[I32]), Call::FdRead),
        (WASI, "fd_filestat_get", Sig::of(&[I32, I32], &[I32]), Call::FdFilestatGet),
        (WASI, "clock_res_get", Sig::of(&[I32, I32], &[I32]), Call::ClockResGet),
        (WASI, "fd_tell", Sig::of(&[I32, I32], &[I32]), Call::FdSeek),
        (WASI, "fd_advise", Sig::of(&[I32, I64, I64, I32], &[I32]), Call::FdSeek),
        (WASI, "fd_allocate", Sig::of(&[I32, I64, I64], &[I32]), Call::FdSeek),
        (WASI, "fd_pread", Sig::of(&[I32, I32, I32, I64, I32], &[I32]), Call::FdSeek),
        (WASI, "fd_pwrite", Sig::of(&[I32, I32, I32, I64, I32], &[I32]), Call::FdSeek),
        (WASI, "fd_filestat_set_size", Sig::of(&[I32, I64], &[I32]), Call::FdSeek),
        (WASI, "fd_sync", Sig::of(&[I32], &[I32]), Call::FdClose),
        (WASI, "fd_datasync", Sig::of(&[I32], &[I32]), Call::FdClose),
        (WASI, "fd_fdstat_set_flags", Sig::of(&[I32, I32], &[I32]), Call::FdClose),
        (WASI, "fd_filestat_set_times", Sig::of(&[I32, I64, I64, I32], &[I32]), Call::FdNotOnStdio),
        (WASI, "fd_fdstat_set_rights", Sig::of(&[I32, I64, I64], &[I32]), Call::FdNotOnStdio),
        (WASI, "fd_readdir", Sig::of(&[I32, I32, I32, I64, I32], &[I32]), Call::FdNotOnStdio),
        (WASI, "fd_renumber", Sig::of(&[I32, I32], &[I32]), Call::FdNotOnStdio),
        (WASI, "fd_prestat_get", Sig::of(&[I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "fd_prestat_dir_name", Sig::of(&[I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_open", Sig::of(&[I32, I32, I32, I32, I32, I64, I64, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_create_directory", Sig::of(&[I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_remove_directory", Sig::of(&[I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_unlink_file", Sig::of(&[I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_filestat_get", Sig::of(&[I32, I32, I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_filestat_set_times", Sig::of(&[I32, I32, I32, I32, I64, I64, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_link", Sig::of(&[I32, I32, I32, I32, I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_readlink", Sig::of(&[I32, I32, I32, I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_rename", Sig::of(&[I32, I32, I32, I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "path_symlink", Sig::of(&[I32, I32, I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "sock_accept", Sig::of(&[I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "sock_recv", Sig::of(&[I32, I32, I32, I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "sock_send", Sig::of(&[I32, I32, I32, I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "sock_shutdown", Sig::of(&[I32, I32], &[I32]), Call::NoSuchFd),
        (WASI, "proc_raise", Sig::of(&[I32], &[I32]), Call::ProcRaise),
    ]
};

/// Whether the router (with the kernel's `env` imports) would bind `module.name`:
/// for tools that check a module before running it.
pub fn provides(module: &str, name: &str) -> bool {
    import_row(module, name).is_some()
}

/// The router: grants per task, and the subsystems it dispatches to.
pub struct Router<'r, 'd, S, const N: usize = { crate::hal::DEFAULT_CAPACITY }> {
    hal: &'r mut Registry<'d, N>,
    log: &'r mut Logger<S>,
    console: Option<&'r mut dyn fmt::Write>,
    /// What stdin reads ([`Router::set_console_input`]); without it, stdin is at its end.
    console_in: Option<&'r mut dyn ConsoleInput>,
    /// The console shows what its input receives ([`Router::set_console_echo`]).
    echo: bool,
    /// Where the logger's events go as text ([`Router::set_log_sink`]).
    log_out: Option<&'r mut dyn fmt::Write>,
    modules: [Option<Slot<'r>>; MAX_MODULES],
    pending: [Option<Pending>; MAX_MODULES],
    sleeping: [Option<Sleep>; MAX_MODULES],
    /// Bit `t`: task `t` is parked in `poll_oneoff` on stdin too (its `sleeping` entry).
    watching: u32,
    /// A task parked in `fd_read` on stdin until the console input has bytes.
    reading: [Option<Reading>; MAX_MODULES],
    offload_timeout_ms: u64,
    /// WASI's realtime clock at boot, in µs since 1970 ([`Router::set_realtime_at_boot`]).
    realtime_at_boot_us: u64,
    rng: u64,
    stats: RouterStats,
}

impl<'r, 'd, S: AsRef<[Event]> + AsMut<[Event]>, const N: usize> Router<'r, 'd, S, N> {
    /// A router over the system's device registry and logger; `seed` seeds `random_get`.
    pub fn new(hal: &'r mut Registry<'d, N>, log: &'r mut Logger<S>, seed: u64) -> Self {
        Router {
            hal,
            log,
            console: None,
            console_in: None,
            echo: false,
            log_out: None,
            modules: [None; MAX_MODULES],
            pending: [None; MAX_MODULES],
            sleeping: [None; MAX_MODULES],
            watching: 0,
            reading: [None; MAX_MODULES],
            offload_timeout_ms: OFFLOAD_TIMEOUT_MS,
            realtime_at_boot_us: 0,
            rng: seed,
            stats: RouterStats::default(),
        }
    }

    /// How long an offloaded transfer may stay pending ([`OFFLOAD_TIMEOUT_MS`] by default).
    pub fn set_offload_timeout(&mut self, ms: u64) {
        self.offload_timeout_ms = ms;
    }

    /// Where WASI's realtime clock (`CLOCK_REALTIME`: C's `time`, Rust's `SystemTime`)
    /// stood at boot, in µs since 1970-01-01 UTC: a board sets it from its RTC or the
    /// network, a simulator from the host. Until then it counts from 1970 at boot, as the
    /// monotonic clock does.
    pub fn set_realtime_at_boot(&mut self, unix_us: u64) {
        self.realtime_at_boot_us = unix_us;
    }

    /// Offloaded transfers pending now.
    pub fn pending_transfers(&self) -> usize {
        self.pending.iter().flatten().count()
    }

    /// Where guests' stdout/stderr text goes (a host console), once; without one,
    /// only the byte counts reach the logger (INFO events; DEBUG with a console).
    pub fn set_console(&mut self, console: &'r mut dyn fmt::Write) {
        self.console = Some(console);
    }

    /// What modules read from stdin (WASI `fd_read` on fd 0, under the console's grant,
    /// `log`): a board's UART receiver, the host's own stdin. Without one, stdin is at
    /// its end (a read gets 0 bytes). A read when the input is not
    /// [ready](ConsoleInput::ready) parks the task (the others run) until it is, as a
    /// blocking read would; so does a `poll_oneoff` on stdin, until the input is ready
    /// or its timeout comes.
    pub fn set_console_input(&mut self, input: &'r mut dyn ConsoleInput) {
        self.console_in = Some(input);
    }

    /// Whether the console shows what its input receives (a terminal echoes the
    /// keys typed): a line a module reads then ends the line it was writing (its
    /// prompt), so its next text starts a line of its own, with its name.
    pub fn set_console_echo(&mut self, echo: bool) {
        self.echo = echo;
    }

    /// Where the logger's events go as text lines ([`Router::drain_log_sink`]). With a
    /// console too, the events held when a guest writes to stdout go out first, so
    /// a log line and the guest's text that followed it keep their order (on a host
    /// that shows both in one stream, a guest's last output before `proc_exit` comes
    /// before the line that reports the exit).
    pub fn set_log_sink(&mut self, out: &'r mut dyn fmt::Write) {
        self.log_out = Some(out);
    }

    /// [`Router::drain_log`] into the log sink, if one is set (0 if not).
    pub fn drain_log_sink(&mut self) -> u32 {
        let Some(out) = self.log_out.take() else { return 0 };
        let dropped = self.drain_log(&mut *out);
        self.log_out = Some(out);
        dropped
    }

    /// A line of the system's own (a notice) in the log sink, after the events held.
    pub fn log_line(&mut self, line: fmt::Arguments<'_>) {
        self.flush_events();
        if let Some(out) = self.log_out.as_deref_mut() {
            let _ = writeln!(out, "{line}");
        }
    }

    /// The events held, into the log sink if one is set (what a console write or a
    /// notice that follows them must come after).
    fn flush_events(&mut self) {
        if let Some(out) = self.log_out.take() {
            self.write_events(&mut *out);
            self.log_out = Some(out);
        }
    }

    /// The events held, as lines in `out` (the dropped count stays for `drain_log`).
    fn write_events(&mut self, out: &mut dyn fmt::Write) {
        let now = self.now_ms();
        while let Some(e) = self.log.pop() {
            let _ = writeln!(out, "{}", e.display(&*self).at(now));
        }
    }

    /// Admit module `name` as task `task` with `grants` (before the kernel spawns it:
    /// imports are resolved at spawn). False if `task` is past [`MAX_MODULES`].
    pub fn admit(&mut self, task: TaskId, name: &'r str, grants: Grants<'r>) -> bool {
        match self.modules.get_mut(usize::from(task)) {
            Some(slot) => {
                *slot = Some(Slot { name, grants, cmd: &CommandLine::EMPTY, exit: None, line_start: true });
                true
            }
            None => false,
        }
    }

    /// Give admitted task `task` its command line (after [`Router::admit`], which
    /// starts it with none: `argv` its name alone, no environment).
    pub fn set_command_line(&mut self, task: TaskId, cmd: &'r CommandLine<'r>) {
        if let Some(Some(slot)) = self.modules.get_mut(usize::from(task)) {
            slot.cmd = cmd;
        }
    }

    /// Forget task `task` (after the kernel unloaded it).
    pub fn dismiss(&mut self, task: TaskId) {
        if let Some(slot) = self.modules.get_mut(usize::from(task)) {
            *slot = None;
        }
    }

    /// The name task `task` was admitted with.
    pub fn name(&self, task: TaskId) -> Option<&'r str> {
        self.slot(task).map(|s| s.name)
    }

    /// The status task `task` passed to `proc_exit`, if it did.
    pub fn exit_code(&self, task: TaskId) -> Option<i32> {
        self.slot(task).and_then(|s| s.exit)
    }

    /// Counters.
    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// The device registry (for the system's own use between steps).
    pub fn hal(&mut self) -> &mut Registry<'d, N> {
        self.hal
    }

    /// The logger (to drain it between steps).
    pub fn logger(&mut self) -> &mut Logger<S> {
        self.log
    }

    /// The text backend for the system's logger: every held event as a line in
    /// `out` (modules and the router's events by name), then `(N events dropped)`
    /// if the ring overflowed since the last drain. Returns N (reset to 0).
    pub fn drain_log(&mut self, out: &mut dyn fmt::Write) -> u32 {
        self.write_events(out);
        let dropped = self.log.take_dropped();
        if dropped > 0 {
            let _ = writeln!(out, "({dropped} events dropped)");
        }
        dropped
    }

    /// Milliseconds on the system clock (0 without one): the log timestamp.
    pub fn now_ms(&mut self) -> u32 {
        self.hal.time_ms().map_or(0, |ms| ms as u32)
    }

    /// Record an event for task `task`'s module.
    pub fn record(&mut self, task: TaskId, level: Level, event: u8, arg: i32) {
        let now = self.now_ms();
        self.log.record(now, level, LOG_TASK_BASE.saturating_add(task), event, arg);
    }

    fn slot(&self, task: TaskId) -> Option<&Slot<'r>> {
        self.modules.get(usize::from(task))?.as_ref()
    }

    fn grants(&self, task: TaskId) -> Grants<'r> {
        self.slot(task).map_or(Grants::NONE, |s| s.grants)
    }

    /// A send or init the guest may not check: a failure is logged as well as returned.
    fn checked(&mut self, task: TaskId, r: i32) -> i32 {
        if r < 0 {
            self.record(task, Level::Warn, event::HAL_ERROR, r);
        }
        r
    }

    fn deny(&mut self, task: TaskId, event: u8, arg: i32) -> i32 {
        self.stats.denied += 1;
        self.record(task, Level::Warn, event, arg);
        HalError::Denied.code()
    }

    /// Serve one call; `args` are the raw slots.
    fn dispatch(&mut self, task: TaskId, call: Call, args: &[u64], memory: &mut [u8]) -> SysAction {
        self.stats.calls += 1;
        let a = |i: usize| args.get(i).map_or(0, |&v| v as u32 as i32);
        let g = self.grants(task);
        let ret = |v: i32| SysAction::Return(Some(Value::I32(v)));
        // An fd operation's answer on stdio (fd 0..=2); no other fd exists.
        let on_stdio = |v: i32| ret(if matches!(a(0), 0..=2) { v } else { errno::BADF });
        match call {
            Call::AdcRead => {
                let ch = a(0);
                if !g.adc(ch) {
                    return ret(self.deny(task, event::DENIED_ADC, ch));
                }
                ret(self.hal.hal_adc_read(ch))
            }
            Call::TxSend | Call::BleSend => {
                let (bit, ev) = if call == Call::TxSend { (G_TX, event::DENIED_TX) } else { (G_BLE, event::DENIED_BLE) };
                if !g.has(bit) {
                    return ret(self.deny(task, ev, 0));
                }
                let r = match crate::hal::guest_bytes(memory, a(0), a(1)) {
                    Ok(bytes) if call == Call::TxSend => self.hal.hal_tx_send(bytes),
                    Ok(bytes) => self.hal.hal_ble_send(bytes),
                    Err(e) => e.code(),
                };
                ret(self.checked(task, r))
            }
            Call::TimeMs => {
                if !g.has(G_CLOCK) {
                    return ret(self.deny(task, event::DENIED_CLOCK, 0));
                }
                ret(self.hal.hal_get_time_ms())
            }
            Call::BleInit => {
                if !g.has(G_BLE) {
                    return ret(self.deny(task, event::DENIED_BLE, 0));
                }
                let r = self.hal.hal_ble_init(a(0));
                ret(self.checked(task, r))
            }
            Call::LogEvent => {
                if !g.has(G_LOG) {
                    return ret(self.deny(task, event::DENIED_LOG, 0));
                }
                let (Ok(level), Ok(ev)) = (u8::try_from(a(0)), u8::try_from(a(1))) else {
                    return ret(HalError::InvalidArgument.code());
                };
                match Level::from_u8(level) {
                    Some(level) if ev < APP_EVENTS => {
                        self.record(task, level, ev, a(2));
                        ret(0)
                    }
                    _ => ret(HalError::InvalidArgument.code()),
                }
            }
            Call::Request => ret(self.request(task, [a(0), a(1), a(2), a(3), a(4), a(5)], memory)),
            Call::SysRead | Call::SysWrite => self.offload(task, call == Call::SysWrite, [a(0), a(1), a(2)], memory),
            Call::ProcExit => {
                let code = a(0);
                if let Some(Some(slot)) = self.modules.get_mut(usize::from(task)) {
                    slot.exit = Some(code);
                }
                self.record(task, Level::Info, event::EXIT, code);
                SysAction::Exit
            }
            Call::FdWrite => ret(self.fd_write(task, a(0), a(1), a(2), a(3), memory)),
            Call::PollOneoff => {
                if !g.has(G_CLOCK) {
                    self.deny(task, event::DENIED_CLOCK, 1);
                    return ret(errno::NOTCAPABLE);
                }
                self.poll_oneoff(task, [a(0), a(1), a(2), a(3)], memory)
            }
            Call::ClockTimeGet => {
                if !g.has(G_CLOCK) {
                    self.deny(task, event::DENIED_CLOCK, 0);
                    return ret(errno::NOTCAPABLE);
                }
                if !matches!(a(0), 0 | 1) {
                    return ret(errno::INVAL);
                }
                let Ok(us) = self.hal.time_us() else { return ret(errno::INVAL) };
                // Clock 0 is realtime: the monotonic time from its value at boot.
                let us = if a(0) == 0 { us.saturating_add(self.realtime_at_boot_us) } else { us };
                ret(put(memory, a(2), &us.saturating_mul(1000).to_le_bytes()))
            }
            Call::RandomGet => {
                if !g.has(G_RANDOM) {
                    self.deny(task, event::DENIED_RANDOM, 0);
                    return ret(errno::NOTCAPABLE);
                }
                let Some(buf) = range_mut(memory, a(0), a(1)) else { return ret(errno::FAULT) };
                for chunk in buf.chunks_mut(8) {
                    self.rng = self.rng.wrapping_add(crate::hal::sim::SPLITMIX64_GAMMA);
                    let z = crate::hal::sim::splitmix64(self.rng).to_le_bytes();
                    chunk.copy_from_slice(&z[..chunk.len()]);
                }
                ret(errno::SUCCESS)
            }
            // argv: the module's name, then its command line's arguments; environ: its
            // environment.
            Call::ArgsSizesGet | Call::ArgsGet | Call::EnvironSizesGet | Call::EnvironGet => {
                let env = matches!(call, Call::EnvironSizesGet | Call::EnvironGet);
                let slot = self.slot(task);
                let cmd = slot.map_or(&CommandLine::EMPTY, |s| s.cmd);
                let name = slot.map(|s| s.name).filter(|_| !env);
                let get = matches!(call, Call::ArgsGet | Call::EnvironGet);
                ret(strings(memory, name, if env { cmd.env } else { cmd.args }, get, a(0), a(1)))
            }
            Call::FdFdstatGet => {
                if !matches!(a(0), 0..=2) {
                    return ret(errno::BADF);
                }
                // fdstat: filetype u8 (2 = character device), flags u16 at 2, rights at 8 and 16.
                let mut st = [0u8; 24];
                st[0] = 2;
                let rights: u64 = if a(0) == 0 { 1 << 1 } else { 1 << 6 }; // fd_read / fd_write
                st[8..16].copy_from_slice(&rights.to_le_bytes());
                ret(put(memory, a(1), &st))
            }
            Call::FdSeek => on_stdio(errno::SPIPE),
            Call::FdClose => on_stdio(errno::SUCCESS),
            Call::FdNotOnStdio => on_stdio(errno::NOTSUP),
            // (wasi-libc's start-up scans fds from 3 for preopened directories until BADF.)
            Call::NoSuchFd => ret(errno::BADF),
            Call::ProcRaise => ret(errno::NOSYS),
            Call::FdRead => self.fd_read(task, [a(0), a(1), a(2), a(3)], memory),
            Call::FdFilestatGet => {
                if !matches!(a(0), 0..=2) {
                    return ret(errno::BADF);
                }
                // filestat: dev, ino (u64 each), filetype u8 at 16 (2 = character device),
                // nlink, size, atim, mtim, ctim (u64 each from 24): 64 bytes.
                let mut st = [0u8; 64];
                st[16] = 2;
                st[24] = 1;
                ret(put(memory, a(1), &st))
            }
            Call::ClockResGet => {
                if !g.has(G_CLOCK) {
                    self.deny(task, event::DENIED_CLOCK, 0);
                    return ret(errno::NOTCAPABLE);
                }
                if !matches!(a(0), 0 | 1) {
                    return ret(errno::INVAL);
                }
                // The HAL clock counts microseconds.
                ret(put(memory, a(1), &1000u64.to_le_bytes()))
            }

            // The other tasks run first: the task's slice ends, as with `co_yield`.
            Call::SchedYield => SysAction::ReturnAndYield(Some(Value::I32(errno::SUCCESS))),
        }
    }

    /// WASI `fd_write` to stdout/stderr: the bytes go to the console (each line
    /// prefixed with the module's name). Their count is a logger event too, at
    /// DEBUG when a console shows the text (an INFO line for every write would
    /// print the guest's output twice over), at INFO when nothing shows it (a
    /// device without a console), where the event is all that is left of it.
    fn fd_write(&mut self, task: TaskId, fd: i32, iovs: i32, n_iovs: i32, nwritten: i32, memory: &mut [u8]) -> i32 {
        if !matches!(fd, 1 | 2) {
            return errno::BADF;
        }
        if !self.grants(task).has(G_LOG) {
            self.deny(task, event::DENIED_LOG, 0);
            return errno::NOTCAPABLE;
        }
        let Some(list) = iovecs(memory, iovs, n_iovs) else { return errno::FAULT };
        let mut total: u32 = 0;
        for (ptr, len) in list {
            let Ok(bytes) = crate::hal::guest_bytes(memory, ptr as i32, len as i32) else { return errno::FAULT };
            total = total.saturating_add(bytes.len() as u32);
            self.console_write(task, bytes);
        }
        let level = if self.console.is_some() { Level::Debug } else { Level::Info };
        self.record(task, level, event::STDOUT, total as i32);
        put(memory, nwritten, &total.to_le_bytes())
    }

    /// WASI `fd_read(fd, iovs, n_iovs, nread)` on stdin: from the console input into
    /// the first non-empty buffer (a short read, as a terminal's), parking the task
    /// while the input is not ready; 0 bytes (the end) without a console input. (Out of
    /// line: inlined into `call`, it cost ~250 B more on a board.)
    #[inline(never)]
    fn fd_read(&mut self, task: TaskId, [fd, iovs, n_iovs, nread]: [i32; 4], memory: &mut [u8]) -> SysAction {
        let ret = |e: i32| SysAction::Return(Some(Value::I32(e)));
        if fd != 0 {
            return ret(errno::BADF);
        }
        if self.console_in.is_none() {
            return ret(put(memory, nread, &0u32.to_le_bytes()));
        }
        if !self.grants(task).has(G_LOG) {
            self.deny(task, event::DENIED_LOG, 0);
            return ret(errno::NOTCAPABLE);
        }
        let Some(first) = iovecs(memory, iovs, n_iovs).map(|mut list| list.find(|&(_, len)| len != 0)) else {
            return ret(errno::FAULT);
        };
        let r = Reading { buf: first.map_or(0, |f| f.0), len: first.map_or(0, |f| f.1), nread: nread as u32 };
        match self.console_read(task, r, memory) {
            Some(e) => ret(e),
            None => match self.reading.get_mut(usize::from(task)) {
                Some(slot) => {
                    *slot = Some(r);
                    SysAction::Park { lend: None }
                }
                None => ret(errno::NOTSUP),
            },
        }
    }

    /// `task`'s read `r` from the console input: its errno, or `None` while the input
    /// is not ready.
    fn console_read(&mut self, task: TaskId, r: Reading, memory: &mut [u8]) -> Option<i32> {
        let Some(input) = self.console_in.as_deref_mut() else { return Some(errno::BADF) };
        // (`range_mut` and `put` take the guest's i32 arguments: the casts give them back.)
        let Some(buf) = range_mut(memory, r.buf as i32, r.len as i32) else { return Some(errno::FAULT) };
        let n = if buf.is_empty() {
            0
        } else {
            match input.ready() {
                Ok(true) => match input.read_into(buf) {
                    Ok(n) => {
                        let n = n.min(r.len as usize);
                        // Echoed, a line read ends the line the module was writing.
                        if self.echo && n > 0 && buf.get(n - 1) == Some(&b'\n') {
                            if let Some(Some(slot)) = self.modules.get_mut(usize::from(task)) {
                                slot.line_start = true;
                            }
                        }
                        n
                    }
                    Err(_) => return Some(errno::IO),
                },
                Ok(false) => return None,
                Err(_) => return Some(errno::IO),
            }
        };
        Some(put(memory, r.nread as i32, &(n as u32).to_le_bytes()))
    }

    fn console_write(&mut self, task: TaskId, bytes: &[u8]) {
        if self.console.is_none() {
            return;
        }
        // What was logged before this text goes out before it.
        self.flush_events();
        let Some(console) = self.console.as_deref_mut() else { return };
        let Some(Some(slot)) = self.modules.get_mut(usize::from(task)) else { return };
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            if slot.line_start {
                let _ = write!(console, "[{}] ", slot.name);
            }
            let text = core::str::from_utf8(line).unwrap_or("<non-UTF-8 output>");
            let _ = console.write_str(text);
            slot.line_start = line.ends_with(b"\n");
        }
    }

    /// `sys_request(uri, msg) → reply`: a key-value message to `hal/<path>`.
    fn request(&mut self, task: TaskId, [uri, uri_len, msg, msg_len, reply, reply_cap]: [i32; 6], memory: &mut [u8]) -> i32 {
        let Ok(uri_bytes) = crate::hal::guest_bytes(memory, uri, uri_len) else { return HalError::InvalidArgument.code() };
        let Ok(uri_str) = core::str::from_utf8(uri_bytes) else { return HalError::InvalidArgument.code() };
        if !self.grants(task).allows(uri_str) {
            return self.deny(task, event::DENIED_REQUEST, uri_len);
        }
        let Some(path) = uri_str.strip_prefix("hal/") else { return HalError::NoDevice.code() };
        let Some(id) = self.hal.find(path) else { return HalError::NoDevice.code() };
        let Ok(msg_bytes) = crate::hal::guest_bytes(memory, msg, msg_len) else { return HalError::InvalidArgument.code() };
        // The reply buffer too, before acting: a SET whose reply cannot be delivered configures nothing.
        if crate::hal::guest_bytes(memory, reply, reply_cap).is_err() {
            return HalError::InvalidArgument.code();
        }
        // Validate the whole message first: a malformed one is the sender's error only.
        if let Err(e) = crate::keyval::validate(msg_bytes) {
            self.stats.bad_messages += 1;
            self.record(task, Level::Warn, event::BAD_MESSAGE, e.offset as i32);
            return HalError::BadMessage.code();
        }
        let mut out = [0u8; 128];
        let reply_len = {
            let Ok(op) = crate::keyval::find(msg_bytes, 0) else { return HalError::BadMessage.code() };
            let op = op.and_then(|v| v.as_i64().ok());
            if let Some(op) = op.filter(|&v| (i64::from(op::READ)..=i64::from(op::TRANSFER)).contains(&v)) {
                match self.operate(id, op as u32, msg_bytes, &mut out) {
                    Ok(n) => n,
                    Err(e) => return e.code(),
                }
            } else {
            let Ok(mut reader) = Reader::new(msg_bytes) else { return HalError::BadMessage.code() };
            let Ok(mut w) = Writer::new(&mut out) else { return HalError::TooLong.code() };
            while let Some(Ok((key, value))) = reader.next() {
                if key == 0 {
                    continue;
                }
                let r = match op {
                    Some(v) if v == i64::from(op::SET) => self.hal.configure(id, key, value),
                    Some(v) if v == i64::from(op::GET) => match self.hal.query(id, key) {
                        Ok(v) => w.put(key, v).map(|_| ()).map_err(|_| HalError::TooLong),
                        Err(e) => Err(e),
                    },
                    _ => Err(HalError::InvalidArgument),
                };
                if let Err(e) = r {
                    return e.code();
                }
            }
            w.len()
            }
        };
        match range_mut(memory, reply, reply_len as i32) {
            Some(dst) if reply_len as i64 <= i64::from(reply_cap) => {
                for (d, &b) in dst.iter_mut().zip(out.iter()) {
                    *d = b;
                }
                reply_len as i32
            }
            _ => HalError::TooLong.code(),
        }
    }
}

/// A key the operation needs.
fn need<T>(x: Option<T>) -> Result<T, HalError> {
    x.ok_or(HalError::InvalidArgument)
}

/// The entries of a device-operation request.
#[derive(Default)]
struct Operands<'m> {
    pin: Option<u8>,
    level: Option<bool>,
    address: Option<u8>,
    data: Option<&'m [u8]>,
    len: Option<usize>,
}

impl<'m> Operands<'m> {
    fn parse(msg: &'m [u8]) -> Result<Self, HalError> {
        let mut o = Operands::default();
        let reader = Reader::new(msg).map_err(|_| HalError::BadMessage)?;
        for entry in reader {
            let (key, value) = entry.map_err(|_| HalError::BadMessage)?;
            match key {
                crate::hal::key::PIN => o.pin = Some(value.as_int_in(0, 255)? as u8),
                crate::hal::key::LEVEL => o.level = Some(value.as_bool()?),
                crate::hal::key::ADDRESS => o.address = Some(value.as_int_in(0, 127)? as u8),
                crate::hal::key::DATA => match value {
                    crate::keyval::Value::Bytes(b) => o.data = Some(b),
                    _ => return Err(HalError::InvalidArgument),
                },
                crate::hal::key::LEN => o.len = Some(value.as_int_in(0, MAX_TRANSFER as i64)? as usize),
                _ => {}
            }
        }
        Ok(o)
    }
}

impl<S: AsRef<[Event]> + AsMut<[Event]>, const N: usize> Router<'_, '_, S, N> {
    /// A device operation (`op::READ`, `WRITE`, `TRANSFER`) on device `id`: the
    /// reply message is written to `out`; its length.
    fn operate(&mut self, id: crate::hal::DeviceId, op: u32, msg: &[u8], out: &mut [u8]) -> Result<usize, HalError> {
        use crate::hal::{key, Caps};
        let o = Operands::parse(msg)?;
        let caps = self.hal.caps(id).ok_or(HalError::NoDevice)?;
        let mut w = Writer::new(out).map_err(|_| HalError::TooLong)?;
        let mut buf = [0u8; MAX_TRANSFER];
        if caps.contains(Caps::GPIO) {
            let gpio = self.hal.gpio(id)?;
            let pin = need(o.pin)?;
            match op {
                op::READ => {
                    let level = gpio.read(pin)?;
                    w.bool(key::LEVEL, level).map_err(|_| HalError::TooLong)?;
                }
                op::WRITE => gpio.write(pin, need(o.level)?)?,
                _ => return Err(HalError::NotSupported),
            }
        } else if caps.contains(Caps::I2C) {
            let i2c = self.hal.i2c(id)?;
            let address = need(o.address)?;
            match op {
                op::WRITE => i2c.write(address, need(o.data)?)?,
                op::READ | op::TRANSFER => {
                    let n = need(o.len)?;
                    let read = &mut buf[..n];
                    match (op, o.data) {
                        (op::TRANSFER, Some(data)) => i2c.write_read(address, data, read)?,
                        (op::TRANSFER, None) => return Err(HalError::InvalidArgument),
                        _ => i2c.read(address, read)?,
                    }
                    w.bytes(key::DATA, read).map_err(|_| HalError::TooLong)?;
                }
                _ => return Err(HalError::NotSupported),
            }
        } else if caps.contains(Caps::SPI) {
            let spi = self.hal.spi(id)?;
            match op {
                op::WRITE => spi.write(need(o.data)?)?,
                op::READ | op::TRANSFER => {
                    let n = match op {
                        op::READ => need(o.len)?,
                        _ => need(o.data)?.len(),
                    };
                    let data = buf.get_mut(..n).ok_or(HalError::TooLong)?;
                    if let (op::TRANSFER, Some(src)) = (op, o.data) {
                        // (`n` is `src`'s length here.)
                        for (d, &b) in data.iter_mut().zip(src) {
                            *d = b;
                        }
                    }
                    spi.transfer_in_place(data)?;
                    w.bytes(key::DATA, data).map_err(|_| HalError::TooLong)?;
                }
                _ => return Err(HalError::NotSupported),
            }
        } else {
            return Err(HalError::NotSupported);
        }
        Ok(w.len())
    }
}

impl<S: AsRef<[Event]> + AsMut<[Event]>, const N: usize> Router<'_, '_, S, N> {
    /// `sys_read` / `sys_write`: start the transfer on the device at `uri`; answer
    /// now, or park the task on it ([`SysAction::Park`]).
    fn offload(&mut self, task: TaskId, write: bool, [uri, buf, len]: [i32; 3], memory: &mut [u8]) -> SysAction {
        let ret = |v: i32| SysAction::Return(Some(Value::I32(v)));
        // The URI, NUL-terminated in guest memory, copied out (the buffer is borrowed next).
        let mut name = [0u8; MAX_URI];
        let start = uri as u32 as usize;
        let Some(tail) = memory.get(start..) else { return ret(HalError::InvalidArgument.code()) };
        let Some(n) = tail.iter().take(MAX_URI + 1).position(|&b| b == 0) else {
            return ret(HalError::InvalidArgument.code());
        };
        // (`n <= MAX_URI`: the NUL was found among the first MAX_URI + 1 bytes.)
        let (Some(dst), Some(src)) = (name.get_mut(..n), tail.get(..n)) else { return ret(HalError::InvalidArgument.code()) };
        dst.copy_from_slice(src);
        let Ok(uri) = core::str::from_utf8(dst) else { return ret(HalError::InvalidArgument.code()) };
        if !self.grants(task).allows(uri) {
            return ret(self.deny(task, event::DENIED_OFFLOAD, n as i32));
        }
        let Some(id) = uri.strip_prefix("hal/").and_then(|path| self.hal.find(path)) else {
            return ret(HalError::NoDevice.code());
        };
        if self.pending.iter().flatten().any(|p| p.device == id) {
            return ret(HalError::Busy.code());
        }
        let Some(range) = range_mut(memory, buf, len) else { return ret(HalError::InvalidArgument.code()) };
        let started = match self.hal.offload(id) {
            Ok(dev) if write => dev.start_write(range),
            Ok(dev) => dev.start_read(range),
            Err(e) => Err(e),
        };
        match started {
            Ok(crate::hal::Progress::Done(n)) => ret(i32::try_from(n).unwrap_or(i32::MAX)),
            Ok(crate::hal::Progress::Pending) => {
                let deadline_ms = self.hal.time_ms().unwrap_or(0).saturating_add(self.offload_timeout_ms);
                match self.pending.get_mut(usize::from(task)) {
                    Some(slot) => {
                        *slot = Some(Pending { device: id, ptr: buf as u32, len: len as u32, deadline_ms });
                        SysAction::Park { lend: Some((buf as u32, len as u32)) }
                    }
                    None => {
                        if let Ok(dev) = self.hal.offload(id) {
                            dev.cancel();
                        }
                        ret(HalError::Busy.code())
                    }
                }
            }
            Err(e) => ret(self.checked(task, e.code())),
        }
    }
}

impl<S: AsRef<[Event]> + AsMut<[Event]>, const N: usize> Router<'_, '_, S, N> {
    /// WASI `poll_oneoff(in, out, nsubscriptions, nevents)`: what `sleep`, `usleep`,
    /// `nanosleep` and Rust's `thread::sleep` call, and C's `poll`/`select` on stdin.
    /// Clock subscriptions (relative or absolute, on the clock `clock_time_get` reads)
    /// park the task until the earliest one's time, then answer with its event; a
    /// subscription already due answers at once. Writes to stdout and stderr are always
    /// ready; a read of stdin is when the console input is (or there is none: stdin is
    /// at its end), else it parks the task with the clocks until the input is ready or
    /// the earliest time comes, whichever is first (a key press or a timeout); a module
    /// without the console's grant gets the event with `notcapable`. Every other fd
    /// fails with `badf` (no files).
    fn poll_oneoff(&mut self, task: TaskId, [subs, out, n, nevents]: [i32; 4], memory: &mut [u8]) -> SysAction {
        let ret = |v: i32| SysAction::Return(Some(Value::I32(v)));
        if n <= 0 {
            return ret(errno::INVAL);
        }
        if range_mut(memory, subs, n.saturating_mul(SUBSCRIPTION)).is_none() {
            return ret(errno::FAULT);
        }
        let now = self.hal.time_us().unwrap_or(0);
        // The earliest clock still to come (its time, its userdata); the events due now
        // are written as they are found.
        let mut earliest: Option<(u64, u64)> = None;
        // A read of stdin waiting for the console input: its userdata.
        let mut stdin: Option<u64> = None;
        let console = self.grants(task).has(G_LOG);
        let mut n_due = 0i32;
        for k in 0..n {
            // (A copy: the events are written into the same memory.)
            let mut sub = [0u8; SUBSCRIPTION as usize];
            if let Some(src) = range_mut(memory, subs.wrapping_add(k.wrapping_mul(SUBSCRIPTION)), SUBSCRIPTION) {
                sub.copy_from_slice(src);
            }
            let sub = &sub[..];
            let userdata = le64(sub, 0);
            let tag = sub.get(8).copied().unwrap_or(u8::MAX);
            let field = |at: usize| le64(sub, at);
            let error = match tag {
                EVENT_CLOCK if field(16) as u32 > 1 => errno::INVAL,
                EVENT_CLOCK => {
                    // Whole microseconds, rounded up: a sleep never ends early. An absolute
                    // time on the realtime clock (0) is one on the monotonic one after boot.
                    let us = field(24).div_ceil(1000);
                    let until = match (field(40) as u16 & ABSTIME != 0, field(16) as u32) {
                        (true, 0) => us.saturating_sub(self.realtime_at_boot_us),
                        (true, _) => us,
                        (false, _) => now.saturating_add(us),
                    };
                    if until > now {
                        if earliest.is_none_or(|(t, _)| until < t) {
                            earliest = Some((until, userdata));
                        }
                        continue;
                    }
                    errno::SUCCESS
                }
                EVENT_FD_WRITE if matches!(field(16) as u32, 1 | 2) => errno::SUCCESS,
                // stdin: at its end without a console input; the console's grant.
                EVENT_FD_READ if field(16) as u32 == 0 => match self.console_in.as_deref_mut() {
                    None => errno::SUCCESS,
                    Some(_) if !console => errno::NOTCAPABLE,
                    Some(input) => match input.ready() {
                        Ok(true) => errno::SUCCESS,
                        Ok(false) => {
                            stdin = Some(userdata);
                            continue;
                        }
                        Err(_) => errno::IO,
                    },
                },
                EVENT_FD_READ | EVENT_FD_WRITE => errno::BADF,
                _ => errno::INVAL,
            };
            let at = out.wrapping_add(n_due.wrapping_mul(EVENT));
            if put(memory, at, &event_bytes(userdata, error as u16, tag)) != errno::SUCCESS {
                return ret(errno::FAULT);
            }
            n_due += 1;
        }
        if n_due > 0 {
            return ret(put(memory, nevents, &n_due.to_le_bytes()));
        }
        if earliest.is_none() && stdin.is_none() {
            return ret(errno::INVAL);
        }
        let (until_us, userdata) = earliest.unwrap_or((u64::MAX, 0));
        // The event's bytes must be writable when it fires.
        if range_mut(memory, out, EVENT).is_none() || range_mut(memory, nevents, 4).is_none() {
            return ret(errno::FAULT);
        }
        match self.sleeping.get_mut(usize::from(task)) {
            Some(slot) => {
                *slot = Some(Sleep { until_us, userdata, stdin: stdin.unwrap_or(0), out: out as u32, nevents: nevents as u32 });
                if stdin.is_some() {
                    self.watching |= 1 << task;
                }
                SysAction::Park { lend: None }
            }
            None => ret(errno::NOTSUP),
        }
    }

    /// The simulated clock's next wake-up (ms) when every call parked in the router is
    /// a sleep: a system with nothing else to do may let time jump there. `None` while
    /// a device transfer or a wait for the console input is pending (the device, the
    /// input, completes on its own time) or nothing sleeps.
    pub fn sleeping_until_ms(&self) -> Option<u64> {
        if self.pending.iter().any(Option::is_some) || self.waiting_for_input() {
            return None;
        }
        // (One division, after the minimum: a board has no 64-bit divide instruction.)
        self.sleeping.iter().flatten().map(|z| z.until_us).min().map(|us| us.div_ceil(1000))
    }

    /// Whether a task waits for the console input (in `fd_read`, or in `poll_oneoff`
    /// on stdin): a host then lets time pass as it does outside, not faster.
    pub fn waiting_for_input(&self) -> bool {
        self.watching != 0 || self.reading.iter().any(Option::is_some)
    }

    /// Whether any call is parked in the router (a device transfer, a sleep, a wait for
    /// the console input): each completes without another task's help, so a system
    /// whose tasks all wait on one is not blocked. (Out of line: inlined into a
    /// board's step loop it cost ~700 B.)
    #[inline(never)]
    pub fn has_parked_calls(&self) -> bool {
        self.pending.iter().any(Option::is_some)
            || self.sleeping.iter().any(Option::is_some)
            || self.reading.iter().any(Option::is_some)
    }
}

impl<S: AsRef<[Event]> + AsMut<[Event]>, const N: usize> Syscalls for Router<'_, '_, S, N> {
    fn resolve(&mut self, _task: TaskId, module: &str, name: &str, ty: FuncType<'_>) -> Result<u32, Refused> {
        let i = import_row(module, name).ok_or(Refused::Unknown)?;
        match IMPORTS.get(i) {
            Some((_, _, sig, _)) if sig.matches(&ty) => Ok(i as u32),
            _ => Err(Refused::Signature),
        }
    }

    fn call(&mut self, task: TaskId, id: u32, args: &[u64], memory: &mut [u8]) -> SysAction {
        match IMPORTS.get(id as usize) {
            Some(&(.., call)) => self.dispatch(task, call, args, memory),
            None => SysAction::Fault,
        }
    }

    fn denied_port(&mut self, task: TaskId, port: i32) {
        self.stats.calls += 1;
        self.deny(task, event::DENIED_PORT, port);
    }

    fn poll(&mut self, task: TaskId, memory: &mut [u8]) -> Option<SysAction> {
        let ret = |v: i32| Some(SysAction::Return(Some(Value::I32(v))));
        if let Some(&Some(z)) = self.sleeping.get(usize::from(task)) {
            // The input first: a key pressed as the time came is not lost.
            let bit = 1u32 << task;
            let input = match self.console_in.as_deref_mut().filter(|_| self.watching & bit != 0) {
                Some(input) => match input.ready() {
                    Ok(true) => Some((z.stdin, errno::SUCCESS)),
                    Ok(false) => None,
                    Err(_) => Some((z.stdin, errno::IO)),
                },
                None => None,
            };
            let event = match input {
                Some((ud, e)) => event_bytes(ud, e as u16, EVENT_FD_READ),
                // (`u64::MAX`: no clock subscription, only the input ends the wait.)
                None if z.until_us != u64::MAX && self.hal.time_us().unwrap_or(u64::MAX) >= z.until_us => {
                    event_bytes(z.userdata, 0, EVENT_CLOCK)
                }
                None => return None,
            };
            if let Some(slot) = self.sleeping.get_mut(usize::from(task)) {
                *slot = None;
            }
            self.watching &= !bit;
            return ret(one_event(memory, z.out, &event, z.nevents));
        }
        if let Some(&Some(r)) = self.reading.get(usize::from(task)) {
            let e = self.console_read(task, r, memory)?;
            if let Some(slot) = self.reading.get_mut(usize::from(task)) {
                *slot = None;
            }
            return ret(e);
        }
        let slot = self.pending.get_mut(usize::from(task))?;
        let p = (*slot)?;
        let now = self.hal.time_ms().unwrap_or(0);
        let Some(range) = range_mut(memory, p.ptr as i32, p.len as i32) else {
            *slot = None;
            if let Ok(dev) = self.hal.offload(p.device) {
                dev.cancel();
            }
            return ret(HalError::InvalidArgument.code());
        };
        let done = match self.hal.offload(p.device) {
            Ok(dev) => match dev.poll(range) {
                None if now >= p.deadline_ms => {
                    dev.cancel();
                    Some(Err(HalError::Timeout))
                }
                r => r,
            },
            Err(e) => Some(Err(e)),
        };
        let result = done?;
        if let Some(slot) = self.pending.get_mut(usize::from(task)) {
            *slot = None;
        }
        match result {
            Ok(n) => ret(i32::try_from(n).unwrap_or(i32::MAX)),
            Err(HalError::Timeout) => {
                let ms = i32::try_from(self.offload_timeout_ms).unwrap_or(i32::MAX);
                self.record(task, Level::Warn, event::OFFLOAD_TIMEOUT, ms);
                ret(HalError::Timeout.code())
            }
            Err(e) => ret(self.checked(task, e.code())),
        }
    }

    fn cancel(&mut self, task: TaskId) {
        if let Some(s) = self.sleeping.get_mut(usize::from(task)) {
            *s = None;
        }
        self.watching &= !(1u32.checked_shl(u32::from(task)).unwrap_or(0));
        if let Some(r) = self.reading.get_mut(usize::from(task)) {
            *r = None;
        }
        if let Some(p) = self.pending.get_mut(usize::from(task)).and_then(Option::take) {
            if let Ok(dev) = self.hal.offload(p.device) {
                dev.cancel();
            }
        }
    }
}

impl<S, const N: usize> Names for Router<'_, '_, S, N> {
    fn module(&self, module: u8) -> Option<&str> {
        match module {
            0 => Some("kernel"),
            LOG_ROUTER => Some("router"),
            m => {
                let t = m.checked_sub(LOG_TASK_BASE)?;
                self.modules.get(usize::from(t))?.as_ref().map(|s| s.name)
            }
        }
    }

    fn event(&self, module: u8, event: u8) -> Option<&str> {
        if module < LOG_TASK_BASE {
            return None;
        }
        EVENT_TEXT.iter().find(|(e, _)| *e == event).map(|(_, t)| *t)
    }
}

fn le32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    if let Some(src) = b.get(..4) {
        w.copy_from_slice(src);
    }
    u32::from_le_bytes(w)
}

/// The `n` iovec records (`buf`, `len`: u32 each) at `iovs` in guest memory, or `None`
/// if the list lies outside it (`fd_write`, `fd_read`).
fn iovecs(memory: &[u8], iovs: i32, n: i32) -> Option<impl Iterator<Item = (u32, u32)> + '_> {
    let start = usize::try_from(iovs as u32).ok()?;
    let len = usize::try_from(n.saturating_mul(8)).ok()?;
    let list = memory.get(start..start.checked_add(len)?)?;
    Some(list.chunks_exact(8).map(|iov| (le32(iov), le32(iov.get(4..).unwrap_or_default()))))
}

fn range_mut(memory: &mut [u8], ptr: i32, len: i32) -> Option<&mut [u8]> {
    let start = usize::try_from(ptr as u32).ok()?;
    let len = usize::try_from(len).ok()?;
    memory.get_mut(start..start.checked_add(len)?)
}

/// WASI's `subscription` and `event` records (bytes), and what this subset reads of them.
const SUBSCRIPTION: i32 = 48;
const EVENT: i32 = 32;
const EVENT_CLOCK: u8 = 0;
const EVENT_FD_READ: u8 = 1;
const EVENT_FD_WRITE: u8 = 2;
/// `subclockflags::abstime`.
const ABSTIME: u16 = 1;

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(src) = b.get(at..at + 8) {
        w.copy_from_slice(src);
    }
    u64::from_le_bytes(w)
}

/// An `event` record: `userdata`, `error`, `type` (and zero `fd_readwrite`).
fn event_bytes(userdata: u64, error: u16, tag: u8) -> [u8; EVENT as usize] {
    let mut e = [0u8; EVENT as usize];
    let (head, rest) = e.split_at_mut(8);
    head.copy_from_slice(&userdata.to_le_bytes());
    if let Some(err) = rest.get_mut(..2) {
        err.copy_from_slice(&error.to_le_bytes());
    }
    if let Some(t) = rest.get_mut(2) {
        *t = tag;
    }
    e
}

/// `event` at `out` and the count 1 at `nevents`: a parked `poll_oneoff`'s answer.
fn one_event(memory: &mut [u8], out: u32, event: &[u8], nevents: u32) -> i32 {
    match put(memory, out as i32, event) {
        errno::SUCCESS => put(memory, nevents as i32, &1u32.to_le_bytes()),
        e => e,
    }
}

/// WASI's `args_*`/`environ_*` over the strings `head` then `rest`: with `get`,
/// their pointers to the array at `p0` and the strings, each with its NUL, to `p1`;
/// else their count to `p0` and their size to `p1`. A pointer out of bounds: EFAULT.
#[inline(never)]
fn strings(memory: &mut [u8], head: Option<&str>, rest: &[&str], get: bool, p0: i32, p1: i32) -> i32 {
    let (mut p, mut at, mut n) = (p0, p1, 0u32);
    for s in head.iter().chain(rest) {
        let end = at.wrapping_add(s.len() as i32);
        if get && (put(memory, p, &at.to_le_bytes()) | put(memory, at, s.as_bytes()) | put(memory, end, &[0])) != errno::SUCCESS {
            return errno::FAULT;
        }
        (p, at, n) = (p.wrapping_add(4), end.wrapping_add(1), n.wrapping_add(1));
    }
    if get {
        return errno::SUCCESS;
    }
    let r = put(memory, p0, &n.to_le_bytes());
    if r == errno::SUCCESS { put(memory, p1, &at.wrapping_sub(p1).to_le_bytes()) } else { r }
}

/// Write `bytes` at `ptr`: WASI success, or `fault` outside memory.
fn put(memory: &mut [u8], ptr: i32, bytes: &[u8]) -> i32 {
    match range_mut(memory, ptr, bytes.len() as i32) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            errno::SUCCESS
        }
        None => errno::FAULT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id `resolve` gives import `name` (its row in the table).
    fn id(name: &str) -> u32 {
        IMPORTS.iter().position(|(_, n, ..)| *n == name).unwrap() as u32
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("*", "hal/tx"));
        assert!(pattern_matches("hal/*", "hal/adc/3"));
        assert!(pattern_matches("hal/adc/*", "hal/adc/3"));
        assert!(!pattern_matches("hal/adc/*", "hal/tx"));
        assert!(!pattern_matches("hal/adc", "hal/adc/0"));
        assert!(!pattern_matches("hal/a*", "hal/adc/0"), "only whole segments");
        let g = Grants::parse("hal/adc/0 hal/adc/2 log");
        assert!(g.adc(0) && !g.adc(1) && g.adc(2) && g.adc(-1));
        assert!(g.has(G_LOG) && !g.has(G_TX));
        let mut buf = [0u8; 12];
        assert_eq!(adc_uri(&mut buf, 1234), "hal/adc/1234");
    }

    #[test]
    fn an_import_binds_only_with_its_exact_type() {
        use ValType::{F32, I32, I64};
        let ty = |params: &'static [ValType], results: &'static [ValType]| FuncType { params, results };
        let open = Sig::of(&[I32, I32, I32, I32, I32, I64, I64, I32, I32], &[I32]);
        assert!(open.matches(&ty(&[I32, I32, I32, I32, I32, I64, I64, I32, I32], &[I32])));
        for wrong in [
            ty(&[I32, I32, I32, I32, I32, I64, I32, I32, I32], &[I32]),
            ty(&[I32, I32, I32, I32, I32, I64, I64, I32], &[I32]),
            ty(&[I32, I32, I32, I32, I32, I64, I64, I32, I32], &[]),
            ty(&[I32, I32, I32, I32, I32, I64, I64, I32, I32], &[I64]),
            ty(&[I32, I32, I32, I32, I32, I64, I64, I32, F32], &[I32]),
            ty(&[I32; 16], &[I32]),
        ] {
            assert!(!open.matches(&wrong), "{wrong:?}");
        }
        assert!(Sig::of(&[I32], &[]).matches(&ty(&[I32], &[])));
        assert!(!Sig::of(&[I32], &[]).matches(&ty(&[I32], &[I32])));
        // Every row names a distinct import.
        for (i, (m, n, ..)) in IMPORTS.iter().enumerate() {
            assert!(IMPORTS[..i].iter().all(|(m2, n2, ..)| (m2, n2) != (m, n)), "{n} twice");
        }
    }

    /// `fd_write(1, iovs = [{16, 3}], 1, nwritten = 8)` over "hi\n" at 16.
    fn write_hi(router: &mut Router<'_, '_, [Event; 8]>) -> SysAction {
        let mut memory = [0u8; 32];
        memory[0..4].copy_from_slice(&16u32.to_le_bytes());
        memory[4..8].copy_from_slice(&3u32.to_le_bytes());
        memory[16..19].copy_from_slice(b"hi\n");
        let id = IMPORTS.iter().position(|(_, n, ..)| *n == "fd_write").unwrap() as u32;
        let action = router.call(0, id, &[1, 0, 1, 8], &mut memory);
        assert_eq!(&memory[8..12], &3u32.to_le_bytes(), "nwritten");
        action
    }

    #[test]
    fn stdout_reaches_the_console_once_and_the_logger_only_without_one() {
        // With a console: the text, and no INFO event (the console would show it twice).
        let mut hal: Registry<'_> = Registry::new();
        let mut log = Logger::new([Event::EMPTY; 8]);
        let mut console = std::string::String::new();
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            router.set_console(&mut console);
            assert!(router.admit(0, "g", Grants::ALL));
            assert_eq!(write_hi(&mut router), SysAction::Return(Some(Value::I32(0))));
        }
        assert_eq!(console, "[g] hi\n");
        assert!(log.is_empty(), "a DEBUG event only, below the default filter");
        log.set_filter(crate::log::LevelFilter::Debug);
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            router.set_console(&mut console);
            assert!(router.admit(0, "g", Grants::ALL));
            write_hi(&mut router);
        }
        let e = log.pop().unwrap();
        assert_eq!((e.level(), e.event(), e.arg()), (Level::Debug, event::STDOUT, 3));

        // Without a console the INFO byte count is all that is left of the text.
        let mut log = Logger::new([Event::EMPTY; 8]);
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            assert!(router.admit(0, "g", Grants::ALL));
            write_hi(&mut router);
        }
        let e = log.pop().unwrap();
        assert_eq!((e.level(), e.event(), e.arg()), (Level::Info, event::STDOUT, 3));
    }

    #[test]
    fn argv_is_the_name_then_the_command_line_and_pointers_are_checked() {
        let mut hal: Registry<'_> = Registry::new();
        let mut log = Logger::new([Event::EMPTY; 8]);
        let cmd = CommandLine { args: &["-v", ""], env: &["HOME=/h"] };
        let mut router = Router::new(&mut hal, &mut log, 1);
        assert!(router.admit(0, "app", Grants::ALL));
        assert!(router.admit(1, "svc", Grants::ALL));
        router.set_command_line(0, &cmd);
        let ok = SysAction::Return(Some(Value::I32(errno::SUCCESS)));
        let fault = SysAction::Return(Some(Value::I32(errno::FAULT)));
        let word = |m: &[u8], at: usize| u32::from_le_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]]);
        let mut m = [0u8; 64];
        // Sizes: "app\0-v\0\0" is 3 strings in 8 bytes; "HOME=/h\0" 1 in 8; the service's argv is "svc\0".
        assert_eq!(router.call(0, id("args_sizes_get"), &[0, 4], &mut m), ok);
        assert_eq!((word(&m, 0), word(&m, 4)), (3, 8));
        assert_eq!(router.call(0, id("environ_sizes_get"), &[0, 4], &mut m), ok);
        assert_eq!((word(&m, 0), word(&m, 4)), (1, 8));
        assert_eq!(router.call(1, id("args_sizes_get"), &[0, 4], &mut m), ok);
        assert_eq!((word(&m, 0), word(&m, 4)), (1, 4));
        assert_eq!(router.call(1, id("environ_sizes_get"), &[0, 4], &mut m), ok);
        assert_eq!((word(&m, 0), word(&m, 4)), (0, 0));
        // The pointers at 0, the strings at 32.
        assert_eq!(router.call(0, id("args_get"), &[0, 32], &mut m), ok);
        assert_eq!([word(&m, 0), word(&m, 4), word(&m, 8)], [32, 36, 39]);
        assert_eq!(&m[32..40], b"app\0-v\0\0");
        assert_eq!(router.call(0, id("environ_get"), &[16, 48], &mut m), ok);
        assert_eq!((word(&m, 16), &m[48..56]), (48, &b"HOME=/h\0"[..]));
        // Either array past the memory: EFAULT.
        let mut m = [0u8; 64];
        assert_eq!(router.call(0, id("args_get"), &[56, 0], &mut m), fault);
        assert_eq!(router.call(0, id("args_get"), &[0, 60], &mut m), fault);
        assert_eq!(router.call(0, id("environ_get"), &[0, u32::MAX as u64], &mut m), fault);
        assert_eq!(router.call(0, id("args_sizes_get"), &[62, 0], &mut m), fault);
    }

    #[test]
    fn the_realtime_clock_counts_from_its_value_at_boot() {
        use crate::hal::sim::{SimClock, SimTime};
        let time = SimTime::new();
        let mut clock = SimClock::new(&time);
        let mut hal: Registry<'_> = Registry::new();
        hal.register("clock", &mut clock).expect("a free slot");
        let mut log = Logger::new([Event::EMPTY; 8]);
        let mut router = Router::new(&mut hal, &mut log, 1);
        assert!(router.admit(0, "g", Grants::ALL));
        let ok = SysAction::Return(Some(Value::I32(errno::SUCCESS)));
        let mut m = [0u8; 128];
        let ns = |m: &[u8]| u64::from_le_bytes(m[0..8].try_into().unwrap());
        time.advance_ms(5);
        // Not set: both clocks count from 0 at boot.
        assert_eq!(router.call(0, id("clock_time_get"), &[0, 1, 0], &mut m), ok);
        assert_eq!(ns(&m), 5_000_000);
        router.set_realtime_at_boot(1_796_000_000_000_000);
        assert_eq!(router.call(0, id("clock_time_get"), &[0, 1, 0], &mut m), ok);
        assert_eq!(ns(&m), 1_796_000_000_005_000_000);
        assert_eq!(router.call(0, id("clock_time_get"), &[1, 1, 0], &mut m), ok);
        assert_eq!(ns(&m), 5_000_000);
        // An absolute wait on the realtime clock 10 ms after boot parks until then (a
        // subscription at 16: userdata, tag 0 = clock, clock id at 32, time at 40, flags at 56).
        let sub = |m: &mut [u8], clock: u32, at_ns: u64| {
            m[16..64].fill(0);
            m[32..36].copy_from_slice(&clock.to_le_bytes());
            m[40..48].copy_from_slice(&at_ns.to_le_bytes());
            m[56..58].copy_from_slice(&1u16.to_le_bytes());
        };
        sub(&mut m, 0, 1_796_000_000_010_000_000);
        assert!(matches!(router.call(0, id("poll_oneoff"), &[16, 64, 1, 8], &mut m), SysAction::Park { .. }));
        assert_eq!(router.sleeping_until_ms(), Some(10));
        // (The same absolute time on the monotonic clock is far away.)
        router.cancel(0);
        sub(&mut m, 1, 1_796_000_000_010_000_000);
        assert!(matches!(router.call(0, id("poll_oneoff"), &[16, 64, 1, 8], &mut m), SysAction::Park { .. }));
        assert!(router.sleeping_until_ms().is_some_and(|ms| ms > 1_000_000_000));
    }

    /// `poll_oneoff` on stdin with a console input: ready now, an event at once; not
    /// ready, the task parks until the input is (a key) or the clock's time (a
    /// timeout), whichever comes first; without the console's grant, `notcapable`.
    #[test]
    fn polling_stdin_waits_for_the_input_or_the_timeout() {
        use crate::hal::sim::{SimClock, SimTime};
        let time = SimTime::new();
        let mut clock = SimClock::new(&time);
        let mut hal: Registry<'_> = Registry::new();
        hal.register("clock", &mut clock).expect("a free slot");
        let mut log = Logger::new([Event::EMPTY; 8]);
        let ok = SysAction::Return(Some(Value::I32(errno::SUCCESS)));
        let park = SysAction::Park { lend: None };
        // Subscriptions at 0: a clock 5 ms from now (userdata 7), a read of stdin
        // (userdata 9); events at 96, their count at 128.
        let subs = |m: &mut [u8]| {
            m[..96].fill(0);
            m[0] = 7;
            m[8] = EVENT_CLOCK;
            m[24..32].copy_from_slice(&5_000_000u64.to_le_bytes());
            m[48] = 9;
            m[56] = EVENT_FD_READ;
        };
        let event = |m: &[u8]| (m[96], u16::from_le_bytes([m[104], m[105]]), m[106], m[128]);
        let mut m = [0u8; 160];
        let mut input = Script { chunks: std::vec![], answers: std::vec![true], fail: false };
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            router.set_console_input(&mut input);
            assert!(router.admit(0, "g", Grants::parse("hal/clock log")));
            assert!(router.admit(1, "quiet", Grants::parse("hal/clock")));
            // Ready now: stdin's event at once.
            subs(&mut m);
            assert_eq!(router.call(0, id("poll_oneoff"), &[0, 96, 2, 128], &mut m), ok);
            assert_eq!(event(&m), (9, 0, EVENT_FD_READ, 1));
            // Without the console's grant: the event carries `notcapable`.
            subs(&mut m);
            assert_eq!(router.call(1, id("poll_oneoff"), &[0, 96, 2, 128], &mut m), ok);
            assert_eq!(event(&m), (9, errno::NOTCAPABLE as u16, EVENT_FD_READ, 1));
        }
        // Not ready: parked; time may not jump (the input comes on its own time); the
        // input becomes ready before the timeout: stdin's event.
        input.answers = std::vec![false, false, false, true];
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            router.set_console_input(&mut input);
            assert!(router.admit(0, "g", Grants::parse("hal/clock log")));
            subs(&mut m);
            m[96..160].fill(0);
            assert_eq!(router.call(0, id("poll_oneoff"), &[0, 96, 2, 128], &mut m), park);
            assert!(router.waiting_for_input() && router.has_parked_calls());
            assert_eq!(router.sleeping_until_ms(), None);
            assert_eq!(router.poll(0, &mut m), None);
            time.advance_ms(2);
            assert_eq!(router.poll(0, &mut m), None);
            assert_eq!(router.poll(0, &mut m), Some(ok));
            assert_eq!(event(&m), (9, 0, EVENT_FD_READ, 1));
            assert!(!router.waiting_for_input() && !router.has_parked_calls());
            assert_eq!(router.poll(0, &mut m), None, "answered once");
        }
        // Never ready: the clock's event when its time comes.
        input.answers = std::vec![false; 8];
        let mut router = Router::new(&mut hal, &mut log, 1);
        router.set_console_input(&mut input);
        assert!(router.admit(0, "g", Grants::parse("hal/clock log")));
        subs(&mut m);
        m[96..160].fill(0);
        assert_eq!(router.call(0, id("poll_oneoff"), &[0, 96, 2, 128], &mut m), park);
        assert_eq!(router.poll(0, &mut m), None);
        time.advance_ms(5);
        assert_eq!(router.poll(0, &mut m), Some(ok));
        assert_eq!(event(&m), (7, 0, EVENT_CLOCK, 1));
        // Stdin alone, never ready: parked with no time to wake at; cancelled, forgotten.
        m[..48].fill(0);
        m[0] = 9;
        m[8] = EVENT_FD_READ;
        assert_eq!(router.call(0, id("poll_oneoff"), &[0, 96, 1, 128], &mut m), park);
        assert!(router.waiting_for_input());
        router.cancel(0);
        assert!(!router.waiting_for_input() && !router.has_parked_calls());
        // Without a clock device (a sleep then ends at once), a wait on stdin alone
        // still waits for the input.
        let mut bare: Registry<'_> = Registry::new();
        let mut router = Router::new(&mut bare, &mut log, 1);
        router.set_console_input(&mut input);
        assert!(router.admit(0, "g", Grants::parse("hal/clock log")));
        assert_eq!(router.call(0, id("poll_oneoff"), &[0, 96, 1, 128], &mut m), park);
        assert_eq!(router.poll(0, &mut m), None);
        assert!(router.waiting_for_input());
    }

    /// A console input the test scripts: `chunks` read in turn (one per read, cut to
    /// the buffer), ready as `answers` say in turn (then ready), failing when `fail` is set.
    struct Script {
        chunks: std::vec::Vec<&'static [u8]>,
        answers: std::vec::Vec<bool>,
        fail: bool,
    }

    impl embedded_io::ErrorType for Script {
        type Error = embedded_io::ErrorKind;
    }

    impl embedded_io::ReadReady for Script {
        fn read_ready(&mut self) -> Result<bool, Self::Error> {
            if self.fail {
                return Err(embedded_io::ErrorKind::Other);
            }
            Ok(if self.answers.is_empty() { true } else { self.answers.remove(0) })
        }
    }

    impl embedded_io::Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            if self.chunks.is_empty() {
                return Ok(0);
            }
            let c = self.chunks.remove(0);
            let n = c.len().min(buf.len());
            buf[..n].copy_from_slice(&c[..n]);
            Ok(n)
        }
    }

    #[test]
    fn stdin_reads_the_console_input_into_the_first_nonempty_buffer() {
        let mut hal: Registry<'_> = Registry::new();
        let mut log = Logger::new([Event::EMPTY; 8]);
        let errno = |e: i32| SysAction::Return(Some(Value::I32(e)));
        let word = |m: &[u8], at: usize| u32::from_le_bytes([m[at], m[at + 1], m[at + 2], m[at + 3]]);
        // iovs at 0: {32, 0} (empty, skipped), {32, 4}; nread at 16.
        let iovs = |m: &mut [u8]| {
            m[0..16].fill(0);
            m[0..4].copy_from_slice(&32u32.to_le_bytes());
            m[8..12].copy_from_slice(&32u32.to_le_bytes());
            m[12..16].copy_from_slice(&4u32.to_le_bytes());
        };
        let mut m = [0u8; 64];
        // Without a console input: the end of the input, for any module.
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            assert!(router.admit(0, "g", Grants::parse("")));
            iovs(&mut m);
            m[16..20].copy_from_slice(&9u32.to_le_bytes());
            assert_eq!(router.call(0, id("fd_read"), &[0, 0, 2, 16], &mut m), errno(errno::SUCCESS));
            assert_eq!(word(&m, 16), 0);
            assert_eq!(router.call(0, id("fd_read"), &[1, 0, 2, 16], &mut m), errno(errno::BADF));
        }
        let mut input = Script { chunks: std::vec![&b"hello\n"[..], b"ok"], answers: std::vec![], fail: false };
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            router.set_console_input(&mut input);
            assert!(router.admit(0, "g", Grants::parse("log")));
            assert!(router.admit(1, "quiet", Grants::parse("hal/*")));
            iovs(&mut m);
            // A short read into the second buffer: 4 bytes of "hello\n" (the rest of that
            // chunk is the script's to drop), then "ok".
            assert_eq!(router.call(0, id("fd_read"), &[0, 0, 2, 16], &mut m), errno(errno::SUCCESS));
            assert_eq!((word(&m, 16), &m[32..36]), (4, &b"hell"[..]));
            assert_eq!(router.call(0, id("fd_read"), &[0, 0, 2, 16], &mut m), errno(errno::SUCCESS));
            assert_eq!((word(&m, 16), &m[32..34]), (2, &b"ok"[..]));
            // The end.
            assert_eq!(router.call(0, id("fd_read"), &[0, 0, 2, 16], &mut m), errno(errno::SUCCESS));
            assert_eq!(word(&m, 16), 0);
            // The console is the `log` grant's: a module without it is refused (and logged).
            assert_eq!(router.call(1, id("fd_read"), &[0, 0, 2, 16], &mut m), errno(errno::NOTCAPABLE));
            // A buffer or the list past memory: EFAULT.
            m[12..16].copy_from_slice(&40u32.to_le_bytes());
            assert_eq!(router.call(0, id("fd_read"), &[0, 0, 2, 16], &mut m), errno(errno::FAULT));
            assert_eq!(router.call(0, id("fd_read"), &[0, 60, 2, 16], &mut m), errno(errno::FAULT));
        }
        // Nothing arrived yet: the task parks (and simulated time may not jump) until the
        // input is ready, then gets its bytes; cancelled (it died), it is forgotten.
        input.chunks = std::vec![&b"late"[..], b"never"];
        input.answers = std::vec![false, false, true, false];
        {
            let mut router = Router::new(&mut hal, &mut log, 1);
            router.set_console_input(&mut input);
            assert!(router.admit(0, "g", Grants::parse("log")));
            assert!(router.admit(1, "h", Grants::parse("log")));
            iovs(&mut m);
            m[32..36].fill(0);
            assert_eq!(router.call(0, id("fd_read"), &[0, 0, 2, 16], &mut m), SysAction::Park { lend: None });
            assert_eq!(router.sleeping_until_ms(), None);
            assert_eq!(router.poll(0, &mut m), None);
            assert_eq!(router.poll(0, &mut m), Some(errno(errno::SUCCESS)));
            assert_eq!((word(&m, 16), &m[32..36]), (4, &b"late"[..]));
            assert_eq!(router.poll(0, &mut m), None, "answered once");
            assert_eq!(router.call(1, id("fd_read"), &[0, 0, 2, 16], &mut m), SysAction::Park { lend: None });
            router.cancel(1);
            assert_eq!(router.poll(1, &mut m), None);
        }
        assert_eq!(input.chunks, [&b"never"[..]], "the cancelled read took nothing");
        input.fail = true;
        let mut router = Router::new(&mut hal, &mut log, 1);
        router.set_console_input(&mut input);
        assert!(router.admit(0, "g", Grants::parse("log")));
        assert_eq!(router.call(0, id("fd_read"), &[0, 0, 2, 16], &mut m), errno(errno::IO));
    }

}
