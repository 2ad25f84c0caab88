//! Link arguments for the wasm32 build (a build script's link arguments apply
//! whatever RUSTFLAGS says, which scripts/build-programs.sh sets itself).
fn main() {
    let family = std::env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    if family.split(',').any(|f| f == "wasm") {
        // An 8 KiB shadow stack instead of rustc's 1 MiB default, which alone would
        // be 16 pages of linear memory. rustc links with --stack-first: the stack
        // sits below the data, so an overflow traps instead of corrupting it.
        println!("cargo:rustc-link-arg=-zstack-size=8192");
        // Where the data ends: Fireball sizes the memory it backs from it
        // (`fireball inspect` prints it), as for a C guest.
        println!("cargo:rustc-link-arg=--export=__heap_base");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
