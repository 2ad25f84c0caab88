#!/usr/bin/env bash
# COOS micro-benchmarks on Cortex-M under QEMU with -icount shift=0 (deterministic:
# SysTick counts executed instructions, 40 per tick on mps2-an386, 50 on mps2-an505).
# Prints instructions per operation next to the spec's targets.
set -euo pipefail
cd "$(dirname "$0")/../boards/qemu-m4"
for t in thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
  cargo build -q --release --bin kernel --target "$t"
done
echo "== Cortex-M4, mps2-an386"
qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
  -icount shift=0 -kernel target/thumbv7em-none-eabihf/release/kernel
echo "== Cortex-M33, mps2-an505"
qemu-system-arm -cpu cortex-m33 -machine mps2-an505 -nographic -semihosting-config enable=on,target=native \
  -icount shift=0 -kernel target/thumbv8m.main-none-eabihf/release/kernel
