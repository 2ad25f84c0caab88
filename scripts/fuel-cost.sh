#!/usr/bin/env bash
# What the fuel check costs, measured deterministically: host instructions
# executed (valgrind/callgrind) by `fireball run` on each benchmark kernel,
# unmetered (Thread::run) vs metered (Thread::resume with an endless budget).
# Wall-clock timing on a shared machine swings by more than the effect itself.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "fuel-cost: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
cargo build -q --release -p fireball-cli
bin=target/release/fireball
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/ {print $4}'; }
# The process without any wasm work, subtracted from both sides.
base=$(count $bin run examples/fib.wat --invoke fib 0)
printf '%-14s %8s %14s %14s %8s\n' kernel arg unmetered metered cost
prod=1; n=0
for c in benches/kernels/*.c; do
  grep -q "bench-n:" "$c" || continue   # the native driver is not a kernel
  k=$(basename "$c" .c)
  # A tenth of the bench's work (fib is exponential: five levels shallower).
  arg=$(awk '/bench-n:/ {print int($3 / 10)}' "$c")
  [ "$k" = fib ] && arg=$(awk '/bench-n:/ {print $3 - 5}' "$c")
  a=$(( $(count $bin run "benches/kernels/$k.wasm" --invoke run "$arg") - base ))
  b=$(( $(count $bin run "benches/kernels/$k.wasm" --invoke run "$arg" --fuel 1000000000000) - base ))
  r=$(python3 -c "print(f'{$b/$a:.4f}')")
  prod=$(python3 -c "print($prod*$r)"); n=$((n+1))
  printf '%-14s %8s %14s %14s %+7.2f%%\n' "$k" "$arg" "$a" "$b" "$(python3 -c "print(($r-1)*100)")"
done
printf 'geomean fuel-check cost: %+.2f%% host instructions\n' "$(python3 -c "print(($prod**(1/$n)-1)*100)")"
