//! Puts the board's memory map in OUT_DIR as `memory.x`, where cortex-m-rt's
//! `link.x` includes it from, chosen by target:
//!   thumbv8m.main-* → memory/mps2-an505/memory.x (Cortex-M33)
//!   otherwise       → memory/mps2-an386/memory.x (Cortex-M4)
//! (No `memory.x` at the crate root: the linker runs there and would find it
//! before OUT_DIR, whatever the target.)
//!
//! Also packs the guests the firmware embeds (`fireball pack`, done here with the
//! engine on the host): `OUT_DIR/sensor.fbx`, the module with its side table,
//! both kept in flash. The firmware's loader checks the table, never trusts it.
//!
//! With the feature `wasm3`, links bin coremark-wasm3 with newlib-nano (`libc_nano`,
//! `libm`) for the target, found through arm-none-eabi-gcc: wasm3's C calls
//! `strcmp`, `vsnprintf` and friends.

use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let board = if target.starts_with("thumbv8m.main") {
        "mps2-an505"
    } else {
        "mps2-an386"
    };
    let src = format!("memory/{board}/memory.x");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy(&src, out.join("memory.x")).unwrap_or_else(|e| panic!("copy {src}: {e}"));
    println!("cargo:rustc-link-search={}", out.display());
    // src/uart.rs: where UART0 is.
    println!("cargo::rustc-check-cfg=cfg(board_an505)");
    if board == "mps2-an505" {
        println!("cargo:rustc-cfg=board_an505");
    }
    for (src, name) in [
        ("../../examples/sensor/sensor.wasm", "sensor.fbx"),
        ("../../benches/workloads/wasm/coremark.wasm", "coremark.fbx"),
        ("../../examples/debug/calc.wasm", "calc.fbx"),
        ("../../examples/debug/trap.wasm", "trap.fbx"),
        ("../../examples/debug/ticker.wasm", "ticker.fbx"),
        ("guest/fib.wasm", "fib.fbx"),
    ] {
        let wasm = fs::read(src).unwrap_or_else(|e| panic!("read {src}: {e}"));
        let module = fireball_wasm::Module::new(&wasm).unwrap_or_else(|e| panic!("{src}: {e}"));
        let mut packed = Vec::new();
        module.write_packed(|c| packed.extend_from_slice(c));
        fs::write(out.join(name), &packed).unwrap_or_else(|e| panic!("write {name}: {e}"));
        println!("cargo:rerun-if-changed={src}");
    }
    // src/bin/debug.rs embeds one guest set: FIREBALL_DEBUG_GUEST = calc (default), trap, or
    // pair (ticker.wasm twice: as the app and as a service).
    println!("cargo:rerun-if-env-changed=FIREBALL_DEBUG_GUEST");
    let guest = env::var("FIREBALL_DEBUG_GUEST").unwrap_or_else(|_| "calc".into());
    let (file, name, pair) = match guest.as_str() {
        "trap" => ("trap.fbx", "trap.wasm", false),
        "pair" => ("ticker.fbx", "ticker.wasm", true),
        _ => ("calc.fbx", "calc.wasm", false),
    };
    println!("cargo:rustc-env=FIREBALL_DEBUG_GUEST_FILE={file}");
    println!("cargo:rustc-env=FIREBALL_DEBUG_GUEST_NAME={name}");
    println!("cargo::rustc-check-cfg=cfg(debug_pair)");
    if pair {
        println!("cargo:rustc-cfg=debug_pair");
    }
    if env::var_os("CARGO_FEATURE_WASM3").is_some() {
        link_newlib(&target);
    }
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-changed=build.rs");
}

/// Adds newlib-nano's folder for `target` (the multilib arm-none-eabi-gcc picks)
/// to bin coremark-wasm3's link.
fn link_newlib(target: &str) {
    let flags: &[&str] = if target.starts_with("thumbv8m.main") {
        &["-mthumb", "-march=armv8-m.main+fp", "-mfloat-abi=hard"]
    } else {
        &["-mthumb", "-march=armv7e-m+fp", "-mfloat-abi=hard"]
    };
    let out = std::process::Command::new("arm-none-eabi-gcc")
        .args(flags)
        .arg("-print-file-name=libc_nano.a")
        .output()
        .unwrap_or_else(|e| panic!("arm-none-eabi-gcc (gcc-arm-none-eabi, for wasm3): {e}"));
    let lib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let dir = match lib.parent() {
        Some(d) if lib.is_file() => d,
        _ => panic!("newlib-nano not found (libnewlib-arm-none-eabi): arm-none-eabi-gcc says {}", lib.display()),
    };
    println!("cargo:rustc-link-arg-bin=coremark-wasm3=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bin=coremark-wasm3=-lc_nano");
    println!("cargo:rustc-link-arg-bin=coremark-wasm3=-lm");
}
