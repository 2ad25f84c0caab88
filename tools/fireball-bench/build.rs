//! Compiles the C kernels of benches/kernels/ natively (clang -O2, as
//! scripts/build-bench-kernels.sh checks them) so the bench can time the native
//! code next to the engines. Each kernel's `run` is renamed
//! `fireball_bench_kernel_<name>` so they can share one binary.

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/kernels");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    println!("cargo:rerun-if-env-changed=CLANG");
    for name in ["fib", "i32_arith", "i64_arith", "memory", "nbody", "call_indirect"] {
        let src = dir.join(format!("{name}.c"));
        println!("cargo:rerun-if-changed={}", src.display());
        cc::Build::new()
            .compiler(&clang)
            .file(&src)
            .define("run", format!("fireball_bench_kernel_{name}").as_str())
            .opt_level(2)
            .flag("-ffp-contract=off")
            .flag("-fno-math-errno")
            .warnings(false)
            .compile(&format!("fireball_bench_kernel_{name}"));
    }
}
