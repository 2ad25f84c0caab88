//! Puts the chip's memory map in OUT_DIR as `memory.x`, where cortex-m-rt's
//! `link.x` includes it from: `memory/stm32f405/memory.x` with the `qemu-f405`
//! feature, `memory/stm32f401re/memory.x` otherwise.
//!
//! Also packs the guests the firmware can embed (`fireball pack`, done here with
//! the engine on the host): `OUT_DIR/<name>.fbx`, each module with its side
//! table, both kept in flash: the seed's sensor example (the default), and the
//! pin and bus examples `blink`, `i2c-sensor` (C) and `rust-hal` (Rust), and
//! the offloader's `checksum` (C, on the CRC unit) and `uart-hello` (C, a service
//! writing on `uart/1`, in the QEMU run). The firmware's loader checks the table, never trusts it.

use std::{env, fs, path::PathBuf};

fn main() {
    let chip = if env::var_os("CARGO_FEATURE_QEMU_F405").is_some() { "stm32f405" } else { "stm32f401re" };
    let src = format!("memory/{chip}/memory.x");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy(&src, out.join("memory.x")).unwrap_or_else(|e| panic!("copy {src}: {e}"));
    println!("cargo:rustc-link-search={}", out.display());
    for (src, name) in [
        ("../../examples/sensor/sensor.wasm", "sensor.fbx"),
        ("../../examples/blink/blink.wasm", "blink.fbx"),
        ("../../examples/i2c-sensor/i2c_sensor.wasm", "i2c_sensor.fbx"),
        ("../../examples/rust-hal/hal.wasm", "rust_hal.fbx"),
        ("../../examples/checksum/checksum.wasm", "checksum.fbx"),
        ("../../examples/uart-hello/uart_hello.wasm", "uart_hello.fbx"),
    ] {
        let wasm = fs::read(src).unwrap_or_else(|e| panic!("read {src}: {e}"));
        let module = fireball_wasm::Module::new(&wasm).unwrap_or_else(|e| panic!("{src}: {e}"));
        let mut packed = Vec::new();
        module.write_packed(|c| packed.extend_from_slice(c));
        fs::write(out.join(name), &packed).unwrap_or_else(|e| panic!("write {name}: {e}"));
        println!("cargo:rerun-if-changed={src}");
    }
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-changed=build.rs");
}
