#!/usr/bin/env bash
# CoreMark on a Cortex-M4 (mps2-an386) and a Cortex-M33 (mps2-an505) under QEMU
# with -icount shift=0, where SysTick counts executed instructions: Fireball runs
# the bench's CoreMark workload (benches/workloads/wasm/coremark.wasm, packed by
# boards/qemu-m4/build.rs) in place from flash; the firmware prints instructions
# per iteration and per wasm instruction, and fails if a checksum is wrong.
set -euo pipefail
cd "$(dirname "$0")/../boards/qemu-m4"
for t in thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
  cargo build -q --release --bin coremark --target "$t"
done
echo "== Cortex-M4, mps2-an386"
qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
  -icount shift=0 -kernel target/thumbv7em-none-eabihf/release/coremark
echo "== Cortex-M33, mps2-an505"
qemu-system-arm -cpu cortex-m33 -machine mps2-an505 -nographic -semihosting-config enable=on,target=native \
  -icount shift=0 -kernel target/thumbv8m.main-none-eabihf/release/coremark
