#!/usr/bin/env bash
# What the debugger costs when no debugger is attached, measured deterministically:
# host instructions executed (valgrind/callgrind) by the engine running each
# benchmark kernel in 30 000-instruction slices (crates/fireball-wasm/examples/slices.rs),
# built without and with the `debug` feature (no breakpoint set, no step pending).
# Wall-clock timing on a shared machine swings by more than the effect itself.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "debug-cost: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
off=target/debug-cost/off on=target/debug-cost/on
cargo build -q --release -p fireball-wasm --example slices --target-dir "$off"
cargo build -q --release -p fireball-wasm --example slices --features debug --target-dir "$on"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/ {print $4}'; }
printf '%-14s %8s %14s %14s %8s %14s %8s\n' kernel arg "debug off" "debug on" cost "a breakpoint" cost
prod=1; n=0
for c in benches/kernels/*.c; do
  grep -q "bench-n:" "$c" || continue
  k=$(basename "$c" .c)
  arg=$(awk '/bench-n:/ {print int($3 / 10)}' "$c")
  [ "$k" = fib ] && arg=$(awk '/bench-n:/ {print $3 - 5}' "$c")
  a=$(count "$off/release/examples/slices" "benches/kernels/$k.wasm" run "$arg")
  b=$(count "$on/release/examples/slices" "benches/kernels/$k.wasm" run "$arg")
  # Attached, one breakpoint on `run`'s final `end`: the checking loop, `run` watched.
  c=$(BREAK_AT_END=1 count "$on/release/examples/slices" "benches/kernels/$k.wasm" run "$arg")
  r=$(python3 -c "print(f'{$b/$a:.5f}')")
  s=$(python3 -c "print(f'{$c/$a:.5f}')")
  prod=$(python3 -c "print($prod*$r)"); prod2=$(python3 -c "print(${prod2:-1}*$s)"); n=$((n+1))
  printf '%-14s %8s %14s %14s %+7.3f%% %14s %+7.2f%%\n' "$k" "$arg" "$a" "$b" "$(python3 -c "print(($r-1)*100)")" "$c" "$(python3 -c "print(($s-1)*100)")"
done
printf 'geomean cost of the debug feature with no debugger attached: %+.3f%% host instructions\n' "$(python3 -c "print(($prod**(1/$n)-1)*100)")"
printf 'geomean cost with a breakpoint set (in the invoked function): %+.2f%% host instructions\n' "$(python3 -c "print(($prod2**(1/$n)-1)*100)")"
