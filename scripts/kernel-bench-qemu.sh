#!/usr/bin/env bash
# COOS micro-benchmarks on Cortex-M under QEMU with -icount shift=0 (deterministic:
# SysTick counts executed instructions, 40 per tick on mps2-an386, 50 on mps2-an505).
# Prints instructions per operation next to the spec's targets.
set -euo pipefail
cd "$(dirname "$0")/../boards/qemu-m4"
for t in thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
  cargo build -q --release --bin kernel --target "$t"
done
# One run takes a few seconds. Once (of many runs) QEMU 7.2 hung in the M33 run while
# a build loaded both cores, spinning without output: a run that does not finish
# in 120 s is retried once, then fails the script rather than the CI's clock.
run() {
  local cpu=$1 machine=$2 elf=$3 try
  for try in 1 2; do
    timeout 120 qemu-system-arm -cpu "$cpu" -machine "$machine" -nographic -semihosting-config enable=on,target=native \
      -icount shift=0 -kernel "$elf" && return 0
    [ $? -eq 124 ] || return 1
    echo "(QEMU did not finish in 120 s: run $try of 2)" >&2
  done
  return 1
}
echo "== Cortex-M4, mps2-an386"
run cortex-m4 mps2-an386 target/thumbv7em-none-eabihf/release/kernel
echo "== Cortex-M33, mps2-an505"
run cortex-m33 mps2-an505 target/thumbv8m.main-none-eabihf/release/kernel
