#!/usr/bin/env bash
# The debugger on the board: boards/qemu-m4's `debug` firmware (examples/debug/calc.wasm
# on the kernel) built with the stub (`--features gdb`) serves lldb-22 over UART0,
# which QEMU (mps2-an386, Cortex-M4, and mps2-an505, Cortex-M33) connects to a TCP port;
# lldb runs headless and this script checks the lines it prints. Then it prints what the
# debugger costs on thumbv7em:
# the same firmware without the stub, with only the engine's `debug` feature, and
# with both, at opt-level "s" and "z" (arm-none-eabi-size; text is flash, data + bss RAM).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BOARD=boards/qemu-m4
T=thumbv7em-none-eabihf
for tool in lldb-22 qemu-system-arm arm-none-eabi-size; do
  command -v "$tool" >/dev/null || { echo "gdb-qemu: $tool not found (scripts/setup.sh installs it)" >&2; exit 2; }
done
work=$(mktemp -d)
qemu_pid=
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

session() { # TARGET CPU MACHINE
  local t=$1 cpu=$2 machine=$3
  (cd $BOARD && cargo build -q --release --bin debug --features gdb --target "$t")
  cp "$BOARD/target/$t/release/debug" "$work/fw"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  timeout 120 qemu-system-arm -cpu "$cpu" -machine "$machine" -display none -monitor none \
    -semihosting-config enable=on,target=native -serial "tcp:127.0.0.1:$port,server=on,wait=off" \
    -kernel "$work/fw" >"$work/qemu.out" 2>&1 &
  qemu_pid=$!
  for _ in $(seq 100); do grep -q "gdb: waiting" "$work/qemu.out" && break; sleep 0.1; done
  grep "gdb: waiting" "$work/qemu.out" || { cat "$work/qemu.out"; exit 1; }
  timeout 120 lldb-22 --no-lldbinit -b -o "process connect --plugin wasm connect://127.0.0.1:$port" \
    -o 'breakpoint set -n scale' -o continue -o bt -o 'frame variable' -o 'target variable calls' \
    -o next -o finish -o 'breakpoint delete 1' -o continue >"$work/lldb.out" 2>&1 || true
  wait "$qemu_pid" && rc=0 || rc=$?
  qemu_pid=
  cat "$work/lldb.out"
  cat "$work/qemu.out"
  fail=0
  expect() { grep -qF -- "$1" "$work/lldb.out" || { echo "gdb-qemu ($machine): lldb did not print: $1"; fail=1; }; }
  expect 'stop reason = breakpoint 1.1'
  expect 'calc.wasm`scale(value=10, factor=1) at calc.c:9'
  expect 'calc.wasm`weighted_sum(values=0x'
  expect 'calc.wasm`main at calc.c:24'
  expect '(int) value = 10'
  expect '(int) calls = 0'
  expect 'stop reason = step over'
  expect 'stop reason = step out'
  expect '1 breakpoints deleted'
  expect 'Process 1 exited with status = 0'
  grep -q "debug firmware: guest returned 0" "$work/qemu.out" || { echo "gdb-qemu ($machine): the firmware did not finish"; fail=1; }
  [ "$rc" = 0 ] || { echo "gdb-qemu ($machine): QEMU exited with $rc"; fail=1; }
  [ $fail = 0 ] || exit 1
  echo "gdb-qemu: lldb session over the UART of $machine ($cpu): ok"
}
session thumbv7em-none-eabihf cortex-m4 mps2-an386
session thumbv8m.main-none-eabihf cortex-m33 mps2-an505


# What the debugger adds (the guest, its DWARF included, is in every build).
printf '\n%-9s %-28s %8s %8s %8s\n' opt build text data bss
for prof in release release-z; do
  for f in none fireball-wasm/debug gdb; do
    (cd $BOARD && cargo build -q --profile $prof --bin debug $([ $f = none ] || echo --features $f))
    read -r text data bss _ < <(arm-none-eabi-size $BOARD/target/$T/$prof/debug | tail -1)
    printf '%-9s %-28s %8d %8d %8d\n' "$prof" "$f" "$text" "$data" "$bss"
  done
done
