//! `include/fireball.h`, the C guest ABI, against the Rust side of it:
//! - its error codes are `HalError`'s table, name for name and code for code
//!   (`#define FB_ERR_NO_DEVICE (-1)` for `HalError::NoDevice`), including
//!   `Denied` (-11) and `BadMessage` (-12);
//! - its HAL keys are `hal::key`, its log levels and argument range `log`'s;
//! - it compiles cleanly for wasm32 (C99, C11, C++), also after and before a
//!   seed program's own `extern int hal_adc_read(int channel);` lines;
//! - a guest calling every import through it has exactly the imports the
//!   runtime serves: module `env`, the right names, i32 parameters and results.
//!
//! The compile checks need `clang` (and `wasm-ld` for the import check;
//! scripts/setup.sh installs both); without them they print why and pass.

use std::collections::BTreeMap;

mod common;
use common::{clang, include_dir, scratch};
use fireball_sys::hal::{key, HalError};
use fireball_sys::log;
use fireball_wasm::{ImportDesc, Module, ValType};

const HEADER: &str = include_str!("../../../include/fireball.h");

/// Every import the header declares: name, parameter count, result count (all i32).
const IMPORTS: &[(&str, usize, usize)] = &[
    ("ch_send", 2, 0),
    ("ch_recv", 2, 0),
    ("co_yield", 0, 0),
    ("buf_create", 2, 1),
    ("buf_send", 2, 1),
    ("buf_recv", 1, 1),
    ("buf_read", 3, 1),
    ("buf_release", 1, 1),
    ("hal_adc_read", 1, 1),
    ("hal_tx_send", 2, 1),
    ("hal_get_time_ms", 0, 1),
    ("hal_ble_init", 1, 1),
    ("hal_ble_send", 2, 1),
    ("log_event", 3, 1),
    ("sys_request", 6, 1),
    ("sys_read", 3, 1),
    ("sys_write", 3, 1),
];

/// `#define NAME VALUE` lines (the value's text, comments cut), in header order.
fn defines() -> BTreeMap<&'static str, &'static str> {
    let mut out = BTreeMap::new();
    for line in HEADER.lines() {
        let Some(rest) = line.strip_prefix("#define ") else { continue };
        let rest = rest.split("/*").next().unwrap_or("").trim();
        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
        assert!(out.insert(name, value.trim()).is_none(), "{name} defined twice");
    }
    out
}

/// The integer a `#define` holds: `12`, `(-3)`, `0x05`.
fn int_of(name: &str) -> i64 {
    let defs = defines();
    let text = defs.get(name).unwrap_or_else(|| panic!("fireball.h lacks #define {name}"));
    let t = text.trim_start_matches('(').trim_end_matches(')');
    let (neg, t) = t.strip_prefix('-').map_or((false, t), |t| (true, t));
    let v = match t.strip_prefix("0x") {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => t.parse(),
    }
    .unwrap_or_else(|e| panic!("#define {name} {text}: not an integer ({e})"));
    if neg {
        -v
    } else {
        v
    }
}

/// `NoAcknowledge` → `NO_ACKNOWLEDGE`.
fn screaming_snake(camel: &str) -> String {
    let mut s = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            s.push('_');
        }
        s.push(c.to_ascii_uppercase());
    }
    s
}

/// The `FB_ERR_*` lines, each checked to have the one regular form
/// `#define FB_ERR_<NAME> (<negative code>)`: (NAME, code) in header order.
fn header_error_codes() -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for line in HEADER.lines().filter(|l| l.starts_with("#define FB_ERR_")) {
        let bad = || panic!("not of the form `#define FB_ERR_<NAME> (-<n>)`: {line:?}");
        let rest = &line["#define FB_ERR_".len()..];
        let Some((name, value)) = rest.split_once(' ') else { bad() };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
            bad();
        }
        let Some(digits) = value.strip_prefix("(-").and_then(|v| v.strip_suffix(')')) else { bad() };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            bad();
        }
        out.push((name.to_string(), -digits.parse::<i32>().expect("code")));
    }
    out
}

#[test]
fn error_codes_are_hal_errors_table() {
    let header = header_error_codes();
    let rust: Vec<(String, i32)> =
        HalError::ALL.iter().map(|e| (screaming_snake(&format!("{e:?}")), e.code())).collect();
    // The first ten are the HAL's; the router adds two.
    let expected_tail = [("DENIED".to_string(), -11), ("BAD_MESSAGE".to_string(), -12)];
    assert!(header.ends_with(&expected_tail), "fireball.h ends its FB_ERR_ table with DENIED -11, BAD_MESSAGE -12");
    assert!(rust.ends_with(&expected_tail), "HalError::ALL ends with Denied -11, BadMessage -12: {rust:?}");
    assert_eq!(header, rust, "fireball.h's FB_ERR_* lines are HalError::ALL, in the same order");
    assert_eq!(int_of("FB_OK"), 0);
    // The header's comment table lists every code with its name.
    for (name, code) in &header {
        let row = format!("{code:>4}   {name} ");
        assert!(HEADER.contains(&row), "comment table row missing: {row:?}");
    }
}

#[test]
fn buffer_error_codes_are_distinct_and_negative() {
    let codes: Vec<(&str, i64)> =
        defines().keys().filter(|n| n.starts_with("FB_BUF_ERR_")).map(|&n| (n, int_of(n))).collect();
    let mut sorted: Vec<i64> = codes.iter().map(|&(_, v)| v).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(sorted, [-1, -2, -3, -4, -5], "{codes:?}");
}

#[test]
fn hal_keys_are_hal_key() {
    let pairs = [
        ("FB_KEY_CHANNELS", key::CHANNELS),
        ("FB_KEY_BITS", key::BITS),
        ("FB_KEY_MAX_FRAME", key::MAX_FRAME),
        ("FB_KEY_PROFILE", key::PROFILE),
        ("FB_KEY_ADDRESS", key::ADDRESS),
        ("FB_KEY_NOW_MS", key::NOW_MS),
        ("FB_KEY_COUNT", key::COUNT),
        ("FB_KEY_PIN", key::PIN),
        ("FB_KEY_LEVEL", key::LEVEL),
        ("FB_KEY_DATA", key::DATA),
        ("FB_KEY_LEN", key::LEN),
        ("FB_KEY_OFFSET", key::OFFSET),
    ];
    for (name, value) in pairs {
        assert_eq!(int_of(name), i64::from(value), "{name}");
    }
    let in_header = defines().keys().filter(|n| n.starts_with("FB_KEY_")).count();
    assert_eq!(in_header, pairs.len(), "a FB_KEY_ in fireball.h this test does not know: add it to hal::key and here");
}

#[test]
fn log_levels_and_ranges_are_the_loggers() {
    for n in 1..=5u8 {
        let level = log::Level::from_u8(n).expect("level");
        let name = format!("FB_LOG_{}", format!("{level:?}").to_ascii_uppercase());
        assert_eq!(int_of(&name), i64::from(n), "{name}");
    }
    assert_eq!(log::Level::from_u8(6), None);
    assert_eq!(int_of("FB_LOG_ARG_MIN"), i64::from(log::ARG_MIN));
    assert_eq!(int_of("FB_LOG_ARG_MAX"), i64::from(log::ARG_MAX));
    assert_eq!(int_of("FB_LOG_EVENT_MAX"), i64::from(fireball_sys::router::APP_EVENTS) - 1);
    assert_eq!(int_of("FB_REQ_KEY_OP"), 0);
    assert_eq!((int_of("FB_REQ_GET"), int_of("FB_REQ_SET")), (1, 2));
    use fireball_sys::router::{op, MAX_TRANSFER};
    assert_eq!(
        (int_of("FB_REQ_READ"), int_of("FB_REQ_WRITE"), int_of("FB_REQ_TRANSFER")),
        (i64::from(op::READ), i64::from(op::WRITE), i64::from(op::TRANSFER))
    );
    assert_eq!(int_of("FB_MAX_TRANSFER"), MAX_TRANSFER as i64);
}

#[test]
fn every_import_is_declared_once() {
    let declared: Vec<&str> = HEADER.lines().filter_map(|l| l.strip_prefix("FB__IMPORT(")?.split(')').next()).collect();
    let expected: Vec<&str> = IMPORTS.iter().map(|&(n, ..)| n).collect();
    assert_eq!(declared, expected);
}


/// A seed program's own declarations (FIREBALL.md §4), exactly as it writes them.
const SEED_DECLS: &str = "extern int hal_adc_read(int channel);
extern int hal_tx_send(const uint8_t* data, int len);
extern int hal_get_time_ms(void);
extern int hal_ble_init(int profile_id);
extern int hal_ble_send(const uint8_t* data, int len);
extern void ch_send(int ch_id, int value);
extern void ch_recv(int ch_id, int* value);
";

/// Calls every import and helper, so each one lands in the import section.
const PROBE: &str = r#"
__attribute__((export_name("probe"))) int probe(void) {
    static uint8_t bytes[16];
    int v = 0, h, rc = 0;
    ch_recv(0, &v);
    ch_send(1, v);
    co_yield();
    h = buf_create(bytes, 4);
    rc |= buf_send(2, h);
    h = buf_recv(2);
    rc |= buf_read(h, bytes, (int)sizeof bytes);
    rc |= buf_release(h);
    rc |= hal_adc_read(0) + hal_tx_send(bytes, 4) + hal_get_time_ms();
    rc |= hal_ble_init(1) + hal_ble_send(bytes, 4);
    rc |= fb_log_error(1, FB_LOG_ARG_MIN) + fb_log_warn(2, 0) + fb_log_info(3, FB_LOG_ARG_MAX);
    rc |= fb_log_debug(4, -1) + fb_log_trace(FB_LOG_EVENT_MAX, 1) + log_event(FB_LOG_INFO, 0, 0);
    rc |= fb_request("hal/adc/0", bytes, 4, bytes, (int)sizeof bytes) + fb_ms_since(v);
    rc |= sys_request("hal/tx", 6, bytes, 1, bytes, 0);
    rc |= sys_write("hal/crc/0", bytes, 4) + sys_read("hal/crc/0", bytes, 4);
    return rc == FB_ERR_DENIED || rc == FB_ERR_BAD_MESSAGE || rc == FB_BUF_ERR_NOT_OWNER;
}
"#;

#[test]
fn header_compiles_cleanly_for_wasm32() {
    let inc = format!("-I{}", include_dir().display());
    let variants = [
        ("header_only.c", "#include \"fireball.h\"\n".to_string()),
        ("probe.c", format!("#include \"fireball.h\"\n{PROBE}")),
        ("seed_first.c", format!("#include <stdint.h>\n{SEED_DECLS}#include \"fireball.h\"\n{PROBE}")),
        ("seed_after.c", format!("#include \"fireball.h\"\n{SEED_DECLS}{PROBE}")),
    ];
    let base = ["--target=wasm32", "-ffreestanding", "-nostdlib", "-fsyntax-only", "-Wall", "-Wextra", "-Werror"];
    for (name, text) in &variants {
        let src = scratch("guest_header", name);
        std::fs::write(&src, text).expect("write");
        for std in ["-std=c99", "-std=c11"] {
            let mut args = base.to_vec();
            args.extend([std, "-pedantic", "-Wconversion", "-Wsign-conversion", &inc, src.to_str().expect("utf8")]);
            let Some(out) = clang(&args, "include/fireball.h") else { return };
            assert!(out.status.success(), "clang {std} {name}:\n{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    // C++ (no seed declarations: C++ would need them in extern "C" itself).
    let src = scratch("guest_header", "probe.c");
    let mut args = base.to_vec();
    args.extend(["-x", "c++", "-std=c++17", &inc, src.to_str().expect("utf8")]);
    let Some(out) = clang(&args, "include/fireball.h") else { return };
    assert!(out.status.success(), "clang c++:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_guest_through_the_header_imports_exactly_the_abi() {
    let inc = format!("-I{}", include_dir().display());
    for (name, text) in [
        ("abi_header.c", format!("#include \"fireball.h\"\n{PROBE}")),
        ("abi_seed_first.c", format!("#include <stdint.h>\n{SEED_DECLS}#include \"fireball.h\"\n{PROBE}")),
    ] {
        let src = scratch("guest_header", name);
        let wasm = scratch("guest_header", &name.replace(".c", ".wasm"));
        std::fs::write(&src, text).expect("write");
        let Some(out) = clang(&[
            "--target=wasm32",
            "-O2",
            "-ffreestanding",
            "-nostdlib",
            "-Wall",
            "-Wextra",
            "-Werror",
            &inc,
            "-Wl,--no-entry",
            "-Wl,-z,stack-size=4096",
            "-Wl,--stack-first",
            "-Wl,--initial-memory=65536",
            "-o",
            wasm.to_str().expect("utf8"),
            src.to_str().expect("utf8"),
        ], "include/fireball.h") else {
            return;
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success()
            && (stderr.contains("wasm-ld") && stderr.contains("not found") || stderr.contains("unable to execute"))
        {
            eprintln!("SKIPPED: clang cannot link wasm32 (wasm-ld missing: install lld):\n{stderr}");
            return;
        }
        assert!(out.status.success(), "building {name}:\n{stderr}");
        let bytes = std::fs::read(&wasm).expect("read wasm");
        let module = Module::new(&bytes).expect("the probe guest loads");
        let mut seen = Vec::new();
        for (i, (m, field, desc)) in module.imports().enumerate() {
            assert_eq!(m, "env", "{field}: module");
            assert!(matches!(desc, ImportDesc::Func(_)), "{field}: a function");
            let ty = module.func_type(i as u32).expect("type");
            let &(_, params, results) =
                IMPORTS.iter().find(|&&(n, ..)| n == field).unwrap_or_else(|| panic!("unexpected import {field}"));
            assert_eq!(ty.params, vec![ValType::I32; params].as_slice(), "{field}: params");
            assert_eq!(ty.results, vec![ValType::I32; results].as_slice(), "{field}: results");
            seen.push(field);
        }
        seen.sort_unstable();
        let mut all: Vec<&str> = IMPORTS.iter().map(|&(n, ..)| n).collect();
        all.sort_unstable();
        assert_eq!(seen, all, "{name}: every import, once");
    }
}
