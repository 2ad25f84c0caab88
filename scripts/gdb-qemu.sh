#!/usr/bin/env bash
# The debugger on the board: boards/qemu-m4's `debug` firmware (examples/debug/calc.wasm
# on the kernel) built with the stub (`--features gdb`) serves lldb-22 over UART0,
# which QEMU (mps2-an386, Cortex-M4, and mps2-an505, Cortex-M33) connects to a TCP port;
# lldb runs headless and this script checks the lines it prints: the calc session on
# both machines, a trap, and a breakpoint in a service next to the app (Cortex-M4). Then it prints what the
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

# One lldb session against the firmware: TARGET CPU MACHINE GUEST, then lldb's
# arguments; the lines lldb must print are in $EXPECT (one per line), and the
# firmware's last line in $DONE.
session() {
  local t=$1 cpu=$2 machine=$3 guest=$4
  shift 4
  (cd $BOARD && FIREBALL_DEBUG_GUEST=$guest cargo build -q --release --bin debug --features gdb --target "$t")
  cp "$BOARD/target/$t/release/debug" "$work/fw"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  timeout 120 qemu-system-arm -cpu "$cpu" -machine "$machine" -display none -monitor none \
    -semihosting-config enable=on,target=native -serial "tcp:127.0.0.1:$port,server=on,wait=off" \
    -kernel "$work/fw" >"$work/qemu.out" 2>&1 &
  qemu_pid=$!
  for _ in $(seq 100); do grep -q "gdb: waiting" "$work/qemu.out" && break; sleep 0.1; done
  grep "gdb: waiting" "$work/qemu.out" || { cat "$work/qemu.out"; exit 1; }
  timeout 120 lldb-22 --no-lldbinit -b -o "process connect --plugin wasm connect://127.0.0.1:$port" "$@" \
    >"$work/lldb.out" 2>&1 || true
  wait "$qemu_pid" && rc=0 || rc=$?
  qemu_pid=
  cat "$work/lldb.out" "$work/qemu.out"
  fail=0
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    grep -qF -- "$line" "$work/lldb.out" || { echo "gdb-qemu ($machine, $guest): lldb did not print: $line"; fail=1; }
  done <<<"$EXPECT"
  grep -qF "$DONE" "$work/qemu.out" || { echo "gdb-qemu ($machine, $guest): the firmware did not end with: $DONE"; fail=1; }
  [ "$rc" = 0 ] || { echo "gdb-qemu ($machine, $guest): QEMU exited with $rc"; fail=1; }
  [ $fail = 0 ] || exit 1
  echo "gdb-qemu: lldb session over the UART of $machine ($cpu), $guest: ok"
}

# calc: break, bt, variables, a global, next, finish, delete, continue to exit (both machines).
EXPECT='stop reason = breakpoint 1.1
calc.wasm`scale(value=10, factor=1) at calc.c:9
calc.wasm`weighted_sum(values=0x
calc.wasm`main at calc.c:24
(int) value = 10
(int) calls = 0
stop reason = step over
stop reason = step out
1 breakpoints deleted
Process 1 exited with status = 0'
DONE='debug firmware: guest returned 0'
for m in "thumbv7em-none-eabihf cortex-m4 mps2-an386" "thumbv8m.main-none-eabihf cortex-m33 mps2-an505"; do
  # shellcheck disable=SC2086
  session $m calc -o 'breakpoint set -n scale' -o continue -o bt -o 'frame variable' -o 'target variable calls' \
    -o next -o finish -o 'breakpoint delete 1' -o continue
done
# trap: stops at the trap with its locals; the buffer read from linear memory.
EXPECT='stop reason = signal SIGSEGV
trap.wasm`store(base=0x00001000, index=268435456, value=44) at trap.c:8
trap.wasm`main at trap.c:13
(int) index = 268435456
0x00001008: 33
Process 1 exited with status = 9'
DONE='gdb: killed by lldb'
session thumbv7em-none-eabihf cortex-m4 mps2-an386 trap -o continue -k bt -k 'frame variable' \
  -k 'memory read -s4 -fd -c4 base' -k 'process kill'
# pair: ticker.wasm as the app and as a service; a breakpoint in the service only.
EXPECT='Breakpoint 1: where = service.wasm`tick
* thread #2, stop reason = breakpoint 1.1
service.wasm`tick(n=2) at ticker.c:10
thread #1: tid = 0x0001, 0x4000000000000
service.wasm`ticker at ticker.c:16
(int) n = 2
(int) turns = 1'
session thumbv7em-none-eabihf cortex-m4 mps2-an386 pair -o 'breakpoint set -n tick -s service.wasm' \
  -o continue -o continue -o 'thread list' -o bt -o 'frame variable' -o 'target variable turns' -o 'process kill'

# What the debugger adds (the guest, its DWARF included, is in every build).
printf '\n%-9s %-28s %8s %8s %8s\n' opt build text data bss
for prof in release release-z; do
  for f in none fireball-wasm/debug gdb; do
    (cd $BOARD && cargo build -q --profile $prof --bin debug $([ $f = none ] || echo --features $f))
    read -r text data bss _ < <(arm-none-eabi-size $BOARD/target/$T/$prof/debug | tail -1)
    printf '%-9s %-28s %8d %8d %8d\n' "$prof" "$f" "$text" "$data" "$bss"
  done
done
