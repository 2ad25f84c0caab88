#!/usr/bin/env bash
# Builds the Rust example guest examples/rust-sensor (a no_std cdylib on the
# fireball-guest crate) for wasm32-unknown-unknown and copies it to the
# checked-in examples/rust-sensor/sensor.wasm; prints its size and imports.
#
# Runs in the example's directory so that its .cargo/config.toml applies
# (the 4 KiB stack: -C link-arg=-zstack-size=4096). A RUSTFLAGS in the
# environment would replace those flags, so it is cleared.
# Usage: scripts/build-rust-guest.sh
set -euo pipefail

cd "$(dirname "$0")/../examples/rust-sensor"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
  cargo build --release --target wasm32-unknown-unknown --manifest-path Cargo.toml
cp target/wasm32-unknown-unknown/release/rust_sensor.wasm sensor.wasm
chmod 644 sensor.wasm

echo "examples/rust-sensor/sensor.wasm: $(wc -c <sensor.wasm) bytes"
if command -v wasm-objdump >/dev/null; then
  wasm-objdump -x -j Import sensor.wasm | grep -- '<-'
fi
