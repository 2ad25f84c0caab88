//! `cfg(hard_f64)`: the target has f64 instructions (x86-64 with SSE2, AArch64
//! with NEON) and feature `soft-f64` is off. Then the interpreter computes f64
//! arithmetic and comparisons with them and `sqrt` comes from libm (which compiles
//! to the instruction); otherwise with the integer code of `float.rs`.
//!
//! `cfg(arm_ldrb_post)`: a 32-bit Arm target whose instruction set has the
//! post-indexed `ldrb` (Thumb-2 or A32: v7 and v8-M Mainline, not v6-M or v8-M
//! Baseline, nor big-endian `armeb`), and feature `checked` (no `unsafe`) is off;
//! the interpreter's hot reads are then `asm!` blocks (`raw.rs`: `Code::next_op`,
//! `Code::next_i8`, `Slot::get_local`/`set_local`, `Slot::pop_wide`).
//!
//! `cfg(m0_bottom)`: a 32-bit Arm target, or feature `device-dispatch` (the device's
//! path on the host, for tests), and feature `checked` off. The interpreter then
//! keeps memory 0's bytes in the thread (`raw::Bottom`) and serves loads and stores
//! of memory 0 from there, every other access out of line (`exec.rs`: `access_slow`).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(hard_f64)");
    println!("cargo::rustc-check-cfg=cfg(arm_ldrb_post)");
    println!("cargo::rerun-if-env-changed=CARGO_FEATURE_CHECKED");
    let target = std::env::var("TARGET").unwrap_or_default();
    let post_indexed = ["thumbv7", "thumbv8m.main", "armv7", "armv8"].iter().any(|p| target.starts_with(p));
    if post_indexed && std::env::var_os("CARGO_FEATURE_CHECKED").is_none() {
        println!("cargo::rustc-cfg=arm_ldrb_post");
    }
    println!("cargo::rustc-check-cfg=cfg(m0_bottom)");
    println!("cargo::rerun-if-env-changed=CARGO_FEATURE_DEVICE_DISPATCH");
    let arm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "arm");
    if (arm || std::env::var_os("CARGO_FEATURE_DEVICE_DISPATCH").is_some()) && std::env::var_os("CARGO_FEATURE_CHECKED").is_none() {
        println!("cargo::rustc-cfg=m0_bottom");
    }
    println!("cargo::rerun-if-env-changed=CARGO_FEATURE_SOFT_F64");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let hard = has("sse2") || (arch == "aarch64" && has("neon"));
    if hard && std::env::var_os("CARGO_FEATURE_SOFT_F64").is_none() {
        println!("cargo::rustc-cfg=hard_f64");
    }
}
