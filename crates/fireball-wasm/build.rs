//! `cfg(hard_f64)`: the target has f64 instructions (x86-64 with SSE2, AArch64
//! with NEON) and feature `soft-f64` is off. Then the interpreter computes f64
//! arithmetic and comparisons with them and `sqrt` comes from libm (which compiles
//! to the instruction); otherwise with the integer code of `float.rs`.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(hard_f64)");
    println!("cargo::rerun-if-env-changed=CARGO_FEATURE_SOFT_F64");
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let hard = has("sse2") || (arch == "aarch64" && has("neon"));
    if hard && std::env::var_os("CARGO_FEATURE_SOFT_F64").is_none() {
        println!("cargo::rustc-cfg=hard_f64");
    }
}
