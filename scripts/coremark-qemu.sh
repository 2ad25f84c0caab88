#!/usr/bin/env bash
# CoreMark on a Cortex-M4 (mps2-an386) under QEMU with -icount shift=0, where
# SysTick counts executed instructions (boards/qemu-m4/src/icount.rs), in four
# firmwares built from boards/qemu-m4, all running CoreMark 1.0's 2K performance
# run as the bench's workload (benches/workloads/coremark) does:
#   coremark         Fireball, benches/workloads/wasm/coremark.wasm packed by
#                    build.rs and executed in place from flash (metered: with fuel);
#   coremark-fuel    the same, then run(10) once more unmetered (`Thread::run`): what
#                    the fuel checks cost (a separate firmware: it links both loops);
#   coremark-native  the same Rust compiled for the target (twice: at opt-level 3,
#                    as coremark.wasm was built, the ratios' yardstick; and at the
#                    firmware's opt-level s);
#   coremark-wasmi   wasmi 2.0.0 no_std (feature wasmi), coremark.wasm from flash
#                    translated into RAM; without fuel (as the host bench runs it),
#                    then with fuel (as Fireball always runs);
#   coremark-wasm3   wasm3 0.4.7 (feature wasm3; its C built by arm-none-eabi-gcc,
#                    linked with newlib), coremark.wasm copied into RAM.
# Each firmware runs run(1) and run(10), checks both checksums (a wrong one fails
# it, and so this script) and prints instructions per iteration: the difference
# of the two runs over 9 iterations, so set-up and first-call costs are not
# counted. Then a table: instructions per iteration, ratio to native (opt-level
# 3), and each firmware's flash (text + rodata + data, from arm-none-eabi-size:
# runtime, engine and workload together). Fireball also runs on a Cortex-M33
# (mps2-an505). Takes about a minute from a warm build; the wasmi and wasm3
# builds take a few minutes from cold.
#
#   PROFILE=release-o3 bash scripts/coremark-qemu.sh   the engines at opt-level 3 too
#                                                       (default: release, opt-level s)
set -euo pipefail
cd "$(dirname "$0")/../boards/qemu-m4"
M4=thumbv7em-none-eabihf
M33=thumbv8m.main-none-eabihf
P=${PROFILE:-release}

for t in $M4 $M33; do
  cargo build -q --profile "$P" --bin coremark --target "$t"
done
cargo build -q --profile "$P" --bin coremark-fuel --target $M4
cargo build -q --release --bin coremark-native --target $M4
cargo build -q --profile release-o3 --bin coremark-native --target $M4
cargo build -q --profile "$P" --features wasmi,wasm3 --bin coremark-wasmi --bin coremark-wasm3 --target $M4

# Runs a firmware under QEMU; prints its output, fails if it fails (its output
# then goes to stderr: callers capture stdout).
run() {
  local cpu=$1 machine=$2 elf=$3 out
  if ! out=$(qemu-system-arm -cpu "$cpu" -machine "$machine" -nographic \
    -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "coremark-qemu: $elf failed on $machine" >&2
    exit 1
  fi
  printf '%s\n' "$out"
}

# Instructions per iteration that firmware output $1 reports for engine $2.
per_iter() {
  local n
  n=$(sed -n "s/^$2: \([0-9]*\) instructions per CoreMark iteration.*/\1/p" <<<"$1")
  [ -n "$n" ] || { echo "coremark-qemu: no figure for $2" >&2; exit 1; }
  echo "$n"
}

# Flash of a firmware: text (with rodata and the vector table) + data.
flash() { arm-none-eabi-size -B "$1" | awk 'NR == 2 { print $1 + $2 }'; }

echo "== Cortex-M4, mps2-an386"
out_fb=$(run cortex-m4 mps2-an386 target/$M4/$P/coremark); printf '%s\n' "$out_fb"
out_o3=$(run cortex-m4 mps2-an386 target/$M4/release-o3/coremark-native); printf 'opt-level 3: %s\n' "$out_o3"
out_s=$(run cortex-m4 mps2-an386 target/$M4/release/coremark-native); printf 'opt-level s: %s\n' "$out_s"
out_wasmi=$(run cortex-m4 mps2-an386 target/$M4/$P/coremark-wasmi); printf '%s\n' "$out_wasmi"
out_wasm3=$(run cortex-m4 mps2-an386 target/$M4/$P/coremark-wasm3); printf '%s\n' "$out_wasm3"
out_fuel=$(run cortex-m4 mps2-an386 target/$M4/$P/coremark-fuel)
fuel=$(sed -n 's/^fireball: run(10) unmetered .*; metered (fuel) \(.*\) more$/\1/p' <<<"$out_fuel")
[ -n "$fuel" ] || { printf '%s\n' "$out_fuel" >&2; echo "coremark-qemu: no fuel figure" >&2; exit 1; }

native=$(per_iter "$out_o3" native)
echo
echo "CoreMark 1.0 (2K performance run), Cortex-M4 under qemu-system-arm -icount shift=0:"
echo "instructions per iteration over run(10) - run(1), checksums checked"
printf '%-22s %14s %10s %14s\n' engine instr/iter "x native" "flash (B)"
row() { # label, instructions per iteration, firmware
  awk -v l="$1" -v n="$2" -v b="$native" -v f="$(flash "$3")" \
    'BEGIN { printf "%-22s %14d %10.1f %14d\n", l, n, n / b, f }'
}
row "native, opt-level 3" "$native" target/$M4/release-o3/coremark-native
row "native, opt-level s" "$(per_iter "$out_s" native)" target/$M4/release/coremark-native
row "Fireball (fuel)" "$(per_iter "$out_fb" fireball)" target/$M4/$P/coremark
row "wasmi 2.0.0" "$(per_iter "$out_wasmi" wasmi)" target/$M4/$P/coremark-wasmi
row "wasmi 2.0.0, fuel" "$(per_iter "$out_wasmi" wasmi+fuel)" target/$M4/$P/coremark-wasmi
row "wasm3 0.4.7" "$(per_iter "$out_wasm3" wasm3)" target/$M4/$P/coremark-wasm3
packed=$(sed -n 's/^coremark.wasm: \([0-9]*\) B packed.*/\1/p' <<<"$out_fb")
echo "(flash: the whole firmware, runtime and workload included: coremark.wasm is"
echo " $(wc -c <../../benches/workloads/wasm/coremark.wasm) B, $packed B packed with its side table for Fireball; engines built with profile $P)"
echo "Fireball's fuel checks: run(10) metered takes $fuel more instructions than unmetered (firmware coremark-fuel)"

echo
echo "== Cortex-M33, mps2-an505"
run cortex-m33 mps2-an505 target/$M33/$P/coremark
