#!/usr/bin/env bash
# Builds the Rust example guests (no_std cdylibs on the fireball-guest crate)
# for wasm32-unknown-unknown and copies each to its checked-in .wasm; prints
# their sizes and imports:
#   examples/rust-sensor  -> examples/rust-sensor/sensor.wasm  (ADC summary frames)
#   examples/rust-hal     -> examples/rust-hal/hal.wasm        (LED, button, I2C sensor)
#
# Runs in each example's directory so that its .cargo/config.toml applies
# (the 4 KiB stack: -C link-arg=-zstack-size=4096). A RUSTFLAGS in the
# environment would replace those flags, so it is cleared.
# Usage: scripts/build-rust-guest.sh
set -euo pipefail

cd "$(dirname "$0")/../examples"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

for pair in rust-sensor:sensor rust-hal:hal; do
  dir=${pair%%:*}
  out=${pair##*:}
  (cd "$dir"
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
      cargo build --release --target wasm32-unknown-unknown --manifest-path Cargo.toml
    cp "target/wasm32-unknown-unknown/release/${dir//-/_}.wasm" "$out.wasm"
    chmod 644 "$out.wasm"
    echo "examples/$dir/$out.wasm: $(wc -c <"$out.wasm") bytes"
    if command -v wasm-objdump >/dev/null; then
      wasm-objdump -x -j Import "$out.wasm" | grep -- '<-'
    fi)
done
