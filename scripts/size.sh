#!/usr/bin/env bash
# Flash cost of the Fireball engine alone (decode + validate + interpret) on
# thumbv7em-none-eabihf (Cortex-M4F), with LTO, at opt-level "s" and "z".
#
# Method: boards/qemu-m4 builds two binaries with the same runtime (cortex-m-rt,
# talc heap, semihosting printing and exit, panic-halt):
#   baseline          src/bin/baseline.rs: the runtime, no engine
#   size              src/bin/size.rs: the runtime + Module::new / instantiate / Thread::resume,
#                     printing and exiting as the baseline does (no error messages)
#   size-packed       src/bin/size-packed.rs: the same with Module::from_packed (a firmware whose
#                     modules are packed at build time links that loader instead; printed too)
# The engine's cost is full - baseline, per section (.text, .rodata, .data; the
# vector table is the same in both), minus the embedded guest module's bytes.
# It still includes the firmware's own driver code in main() (a few dozen
# instructions of calls), since LTO inlines the engine into it and they cannot be split.
#
# Exits non-zero if the engine exceeds BUDGET_BYTES (40 KB, issue 8) or the packed-only
# firmware PACKED_BUDGET_BYTES at some opt-level.
# The largest symbols of the full binary go to boards/qemu-m4/target/size-report.txt.
#
# Usage: bash scripts/size.sh            (needs binutils-arm-none-eabi; see scripts/setup.sh)
set -euo pipefail

BUDGET_BYTES=${BUDGET_BYTES:-40960}   # issue 8's line: the engine (size.rs, plain modules) within 40 KB at each opt-level
PACKED_BUDGET_BYTES=${PACKED_BUDGET_BYTES:-43008}   # regression guard for the packed-only firmware (size-packed.rs: 39.9 KB at "s")
TARGET_BYTES=28672                     # goal: 28 KB
TARGET=thumbv7em-none-eabihf
OPT_LEVELS=(s z)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOARD="$ROOT/boards/qemu-m4"
GUEST="$BOARD/guest/fib.wasm"
REPORT="$BOARD/target/size-report.txt"

for tool in arm-none-eabi-size arm-none-eabi-nm; do
  command -v "$tool" >/dev/null || { echo "size.sh: $tool not found (apt-get install binutils-arm-none-eabi)" >&2; exit 2; }
done

# Profile (in boards/qemu-m4/Cargo.toml) for an opt-level; the level is forced with
# --config so the label always tells the truth.
profile_for() { case "$1" in s) echo release ;; *) echo "release-$1" ;; esac; }

# size_of ELF SECTION: bytes of SECTION in ELF (0 if absent).
size_of() { arm-none-eabi-size -A "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'; }

guest_bytes=$(stat -c %s "$GUEST")
mkdir -p "$BOARD/target"
: >"$REPORT"
summary=()
over=0

# The board's rustflags (boards/qemu-m4/.cargo/config.toml) split every critical edge
# before register allocation, for speed at "s"; at "z", the flash-first level, that
# costs ~480 B of engine (41 307 B, past the line), so a "z" build leaves it out: its
# RUSTFLAGS (which replace the config's) are the link arguments alone.
flags_for() { case "$1" in s) echo "" ;; *) echo "-C link-arg=-Tlink.x -C link-arg=--nmagic" ;; esac; }

for opt in "${OPT_LEVELS[@]}"; do
  profile=$(profile_for "$opt")
  flags=$(flags_for "$opt")
  echo "== building $TARGET, profile $profile (opt-level=$opt, lto, codegen-units=1${flags:+; RUSTFLAGS=$flags})" >&2
  (cd "$BOARD" && if [ -n "$flags" ]; then export RUSTFLAGS="$flags"; fi && cargo build --quiet --target "$TARGET" --profile "$profile" \
      --config "profile.$profile.opt-level=\"$opt\"" --bins)
  dir="$BOARD/target/$TARGET/$profile"
  base="$dir/baseline"
  full="$dir/size"

  printf '\nopt-level=%s              %10s %10s %10s\n' "$opt" baseline full delta
  declare -A d=()
  for sec in .vector_table .text .rodata .data .bss; do
    b=$(size_of "$base" "$sec"); f=$(size_of "$full" "$sec")
    d[$sec]=$((f - b))
    printf '  %-22s %10d %10d %+10d\n' "$sec" "$b" "$f" "${d[$sec]}"
  done
  bflash=$(( $(size_of "$base" .vector_table) + $(size_of "$base" .text) + $(size_of "$base" .rodata) + $(size_of "$base" .data) ))
  fflash=$(( $(size_of "$full" .vector_table) + $(size_of "$full" .text) + $(size_of "$full" .rodata) + $(size_of "$full" .data) ))
  printf '  %-22s %10d %10d %+10d\n' "flash (vt+text+ro+data)" "$bflash" "$fflash" "$((fflash - bflash))"

  text=${d[.text]}
  rodata=$(( ${d[.rodata]} - guest_bytes ))
  data=${d[.data]}
  engine=$((text + rodata + data))
  line="engine flash (opt-level=$opt): $engine bytes (text $text + rodata $rodata + data $data), budget $TARGET_BYTES"
  if [ "$engine" -le "$TARGET_BYTES" ]; then line+=" -> 28 KB target MET"; else line+=" -> 28 KB target NOT met (over by $((engine - TARGET_BYTES)))"; fi
  if [ "$engine" -gt "$BUDGET_BYTES" ]; then line+="; EXCEEDS hard limit BUDGET_BYTES=$BUDGET_BYTES"; over=1; else line+="; within BUDGET_BYTES=$BUDGET_BYTES"; fi
  summary+=("$line")
  echo "  (rodata delta excludes the ${guest_bytes}-byte guest module; engine RAM in .bss: ${d[.bss]} bytes)"

  # The same for a firmware that loads packed modules only (src/bin/size-packed.rs: the
  # boards' case), which links the loader that checks a packed side table instead.
  fbx=$(ls -t "$BOARD"/target/$TARGET/$profile/build/fireball-qemu-m4-*/out/fib.fbx | head -n 1)
  fbx_bytes=$(stat -c %s "$fbx")
  packed=$(( $(size_of "$dir/size-packed" .text) + $(size_of "$dir/size-packed" .rodata) + $(size_of "$dir/size-packed" .data) \
             - $(size_of "$base" .text) - $(size_of "$base" .rodata) - $(size_of "$base" .data) - fbx_bytes ))
  summary+=("  packed modules only (size-packed.rs, the ${fbx_bytes}-byte fib.fbx excluded): $packed bytes")
  if [ "$packed" -gt "$PACKED_BUDGET_BYTES" ]; then summary[-1]+="; EXCEEDS PACKED_BUDGET_BYTES=$PACKED_BUDGET_BYTES"; over=1; else summary[-1]+="; within PACKED_BUDGET_BYTES=$PACKED_BUDGET_BYTES"; fi

  # Per component: every flash symbol that only the full binary has, by name.
  # What the symbols do not cover (baseline symbols that grew, padding) is "unattributed".
  comm -13 <(arm-none-eabi-nm -C "$base" | awk '$2 ~ /^[tTrRdD]$/ { $1 = ""; $2 = ""; print substr($0, 3) }' | sort -u) \
           <(arm-none-eabi-nm -C "$full" | awk '$2 ~ /^[tTrRdD]$/ { $1 = ""; $2 = ""; print substr($0, 3) }' | sort -u) >"$BOARD/target/.engine-syms"
  components=$(arm-none-eabi-nm -S -t d -C "$full" | awk '$3 ~ /^[tTrRdD]$/' |
    awk -v syms="$BOARD/target/.engine-syms" -v guest="$guest_bytes" -v engine="$engine" '
      BEGIN { while ((getline l < syms) > 0) only[l] = 1 }
      {
        size = $2 + 0; name = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", name)
        if (!(name in only)) next
        if (name ~ /GUEST/) next
        c = "other (drops, panics, glue)"
        if (name ~ /fireball_wasm::(module|reader|types|pack|sidetable)|core::str::converts::from_utf8/) c = "decoder"
        else if (name ~ /fireball_wasm::(validate|ops)/) c = "validator"
        else if (name ~ /fireball_wasm::(exec|raw|trap|value)/) c = "interpreter"
        else if (name ~ /fireball_wasm::store/) c = "instantiation (store)"
        else if (name ~ /fireball_wasm::float|libm::|compiler_builtins::float|__aeabi_(d|f2d|i2d|ui2d|l2d|ul2d|l2f|ul2f|f2lz|f2ulz|d2)/) c = "float (soft f64, rounding)"
        else if (name ~ /compiler_builtins::int|__aeabi_u?ldivmod|divmoddi4/) c = "64-bit division"
        else if (name ~ /__rust_(alloc|realloc|dealloc)|talc::|allocator_api2::|fireball_wasm::error::try_push/) c = "alloc (allocator, vector growth)"
        else if (name ~ /mem(cpy|set|move|cmp|clr)/) c = "mem* (copy, fill)"
        else if (name ~ /^size::/) c = "driver (size.rs: load, run, read)"
        sum[c] += size; total += size
      }
      END {
        for (c in sum) printf "  %-36s %7d\n", c, sum[c] | "sort -k1,1"
        close("sort -k1,1")
        printf "  %-36s %7d\n", "net of baseline-only code, padding", engine - total
      }')
  rm -f "$BOARD/target/.engine-syms"
  echo "  per component (opt-level=$opt):"
  echo "$components"

  {
    echo "== opt-level=$opt: $full"
    echo "-- 20 largest flash symbols (size hex, type, name)"
    arm-none-eabi-nm --size-sort -S -C "$full" | awk '$3 ~ /^[tTrRdD]$/' | tail -n 20 | sort -k2,2r |
      while read -r addr size type name; do printf '%8d  %s  %s\n' "$((16#$size))" "$type" "$name"; done
    echo "-- 20 largest flash symbols only in the full binary (the engine's and main's)"
    comm -13 <(arm-none-eabi-nm -C "$base" | awk '$2 ~ /^[tTrRdD]$/ { $1 = ""; $2 = ""; print substr($0, 3) }' | sort -u) \
             <(arm-none-eabi-nm -C "$full" | awk '$2 ~ /^[tTrRdD]$/ { $1 = ""; $2 = ""; print substr($0, 3) }' | sort -u) >"$BOARD/target/.engine-syms"
    arm-none-eabi-nm --size-sort -S -C "$full" | awk '$3 ~ /^[tTrRdD]$/' |
      while read -r addr size type name; do grep -qxF -- "$name" "$BOARD/target/.engine-syms" && printf '%8d  %s  %s\n' "$((16#$size))" "$type" "$name"; done |
      sort -rn | awk 'NR <= 20'
    echo
  } >>"$REPORT"
  rm -f "$BOARD/target/.engine-syms"
done

echo
printf '%s\n' "${summary[@]}"
echo
echo "top symbols (full binary, opt-level=${OPT_LEVELS[0]}); all listings in ${REPORT#$ROOT/}:"
sed -n '2,22p' "$REPORT"

exit "$over"
