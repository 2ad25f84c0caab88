#!/usr/bin/env bash
# Start-up on Cortex-M under QEMU with -icount shift=0 (SysTick counts executed
# instructions: boards/qemu-m4/src/icount.rs), in the `startup` firmware
# (boards/qemu-m4/src/bin/startup.rs). For each guest build.rs validated and packed
# into flash: the engine's load validating (Module::from_packed_in) and prevalidated
# (Module::from_prevalidated_in), the prevalidated module's instantiation with up to
# 128 KiB of linear memory; and, for the guests a board runs, the whole system built
# by the facade as a board's main does (plan, kernel, router, logger; the module
# loaded prevalidated, instantiated and spawned). Fails if any load or build fails.
set -euo pipefail
cd "$(dirname "$0")/../boards/qemu-m4"
for t in thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
  cargo build -q --release --bin startup --target "$t"
done
echo "== Cortex-M4, mps2-an386"
qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
  -icount shift=0 -kernel target/thumbv7em-none-eabihf/release/startup
echo "== Cortex-M33, mps2-an505"
qemu-system-arm -cpu cortex-m33 -machine mps2-an505 -nographic -semihosting-config enable=on,target=native \
  -icount shift=0 -kernel target/thumbv8m.main-none-eabihf/release/startup
