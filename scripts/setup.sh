#!/usr/bin/env bash
# Installs everything the build, the tests, the QEMU firmware and the benchmarks need
# on a fresh Debian (bookworm) machine. Idempotent: a second run only checks.
set -euo pipefail

# libclang1-14: the libclang that bindgen loads to build the bench's wasm3 bindings
# (.cargo/config.toml sets LIBCLANG_PATH=/usr/lib/llvm-14/lib).
# nodejs: V8, the differential fuzzer's tie-breaker when Fireball and wasmi disagree.
# libnewlib-arm-none-eabi (only recommended by gcc-arm-none-eabi): newlib, which the
# Cortex-M firmware coremark-wasm3 links wasm3's C with (scripts/coremark-qemu.sh).
# libc++-14-dev-wasm32, libc++abi-14-dev-wasm32: the C++ program (scripts/build-programs.sh).
# lldb-22 (bookworm-security): the debugger tests' client, the first Debian lldb with
# LLDB's WebAssembly process plugin (it conflicts with lldb-19; apt replaces that one).
APT_PACKAGES=(qemu-system-arm gcc-arm-none-eabi binutils-arm-none-eabi libnewlib-arm-none-eabi clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32 libclang1-14 wabt lua5.4 valgrind nodejs lldb-22)
# wasm32-wasip1: scripts/build-programs.sh (the Rust std programs); wasm32-unknown-unknown:
# scripts/build-bench-workloads.sh builds the bench's Rust workloads for it.
RUST_TARGETS=(thumbv7em-none-eabihf thumbv8m.main-none-eabihf wasm32-wasip1 wasm32-unknown-unknown)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

installed=$(rustup target list --installed)
for t in "${RUST_TARGETS[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
