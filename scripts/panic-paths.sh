#!/usr/bin/env bash
# The engine's panic paths on a Cortex-M: every branch from a `fireball_wasm::` function
# to a panicking function of core or alloc (a slice index out of range, a failed
# `copy_from_slice`, an allocation failure inside a `Vec` method) in the firmwares that
# scripts/size.sh builds: `size` (plain modules) and `size-packed` (packed modules only),
# at opt-level "s" and "z", and in the `example` firmware at "s" (the whole system: the
# engine API the kernel calls, packed guests, host calls). A panic on a device halts every module, not just the one at
# fault, so the engine keeps none: each would be a bug (an invariant the engine relies on
# without the compiler seeing it), turned into an error or an internal-error trap instead.
#
# The one accepted exception, listed below: `error::try_resize`, where
# `allocator_api2::vec::Vec::resize` keeps its own growth path (a panic on overflow or
# allocation failure) although `try_reserve_exact` has made room just before.
#
# What it cannot see: engine code that LTO inlined into a caller outside the crate
# (the firmware's `main`); the `checked` and `debug` builds (not in these firmwares).
#
# Exits non-zero, listing them, if any other panic path appears.
# Usage: bash scripts/panic-paths.sh   (after scripts/size.sh, or it builds the firmwares)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOARD="$ROOT/boards/qemu-m4"
TARGET=thumbv7em-none-eabihf
ALLOWED='^fireball_wasm::error::try_resize$'

command -v arm-none-eabi-objdump >/dev/null || { echo "panic-paths.sh: arm-none-eabi-objdump not found (apt-get install binutils-arm-none-eabi)" >&2; exit 2; }

found=0
for profile in release release-z; do
  bins=(size size-packed)
  if [ "$profile" = release ]; then bins+=(example); fi
  (cd "$BOARD" && cargo build --quiet --target "$TARGET" --profile "$profile" "${bins[@]/#/--bin=}")
  for bin in "${bins[@]}"; do
    elf="$BOARD/target/$TARGET/$profile/$bin"
    # "function<TAB>callee" for each branch (bl, b, b<cond>, cbz/cbnz) to a panicking function.
    sites=$(arm-none-eabi-objdump -d --no-show-raw-insn -C "$elf" | awk '
      /^[0-9a-f]+ <.*>:$/ { fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); next }
      fn ~ /^fireball_wasm::/ && $2 ~ /^(b|bl|cb)/ {
        if (match($0, /<(core::panicking::[^>]*|core::slice::index::[^>]*fail[^>]*|core::slice::[^>]*len_mismatch[^>]*|core::option::(unwrap|expect)_failed[^>]*|core::result::unwrap_failed[^>]*|core::cell::panic_[^>]*|allocator_api2::raw_vec::capacity_overflow[^>]*|alloc::alloc::handle_alloc_error[^>]*|alloc::raw_vec::[^>]*)>/)) {
          callee = substr($0, RSTART + 1, RLENGTH - 2); sub(/\+0x[0-9a-f]+$/, "", callee)
          print fn "\t" callee
        }
      }' | sort | uniq -c)
    allowed=$(printf '%s\n' "$sites" | awk -F'\t' -v re="$ALLOWED" 'NF { split($1, a, " "); f = $1; sub(/^ *[0-9]+ /, "", f); if (f ~ re) n += a[1] } END { print n + 0 }')
    other=$(printf '%s\n' "$sites" | awk -F'\t' -v re="$ALLOWED" 'NF { f = $1; sub(/^ *[0-9]+ /, "", f); if (f !~ re) print }')
    if [ -n "$other" ]; then
      echo "$bin ($profile): panic paths in the engine:"
      printf '%s\n' "$other"
      found=1
    else
      echo "$bin ($profile): no panic path in the engine ($allowed in error::try_resize's Vec::resize, accepted)"
    fi
  done
done
exit "$found"
