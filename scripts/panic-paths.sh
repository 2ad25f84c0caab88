#!/usr/bin/env bash
# Fireball's panic paths on a Cortex-M: every branch from a Fireball function to a
# panicking function of core or alloc (a slice index out of range, a `str` slice off a
# character boundary, a failed `copy_from_slice`, an allocation failure inside a `Vec`
# method, a `RefCell` borrow)
# in the firmwares of boards/qemu-m4:
#   size, size-packed   the engine alone (the firmwares scripts/size.sh builds), at
#                       opt-level "s" and "z": functions of `fireball_wasm`
#   example             the whole system (the facade, kernel, router, logger, engine,
#                       a packed guest), at "s": functions of `fireball_wasm`,
#                       `fireball_coos`, `fireball_sys`, `fireball` and the board's
#                       own (`example`, whose `main` holds what LTO inlined into it)
# A panic on a device halts every module, not just the one at fault, so Fireball keeps
# none on its runtime paths: each would be an invariant the code relies on without the
# compiler seeing it, written instead as an error, an internal-error trap or a fallback.
#
# Accepted, and why (ALLOWED below, as "function regex<TAB>callee regex"):
# - `fireball_wasm::error::try_resize`: `allocator_api2`'s `Vec::resize` keeps its own
#   growth path (a panic on overflow or allocation failure) although `try_reserve_exact`
#   has made room just before; writing the spare capacity instead needs `unsafe` outside
#   the places STYLE.md allows.
# - `fireball_coos::own::Registry::create_buffer` (out of line for this): the same for
#   `extend_from_slice` after `try_reserve_exact`, and talc's precondition check in the
#   `shrink` of `into_boxed_slice`.
# - talc's own precondition check, inlined into the partition allocator's `grow`.
#
# The linker folds the panic functions' bodies, so the callee's name is whichever
# symbol the folded body kept (a division by zero has shown up as
# `panic_already_borrowed`): the accepted entries name the function, not the callee.
# What it cannot see: the `checked` and `debug` builds; third-party code (the
# semihosting console's own `RefCell`) not inlined into a checked function.
#
# Exits non-zero, listing them, if any other panic path appears.
# Usage: bash scripts/panic-paths.sh   (after scripts/size.sh, or it builds the firmwares)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOARD="$ROOT/boards/qemu-m4"
TARGET=thumbv7em-none-eabihf
ALLOWED=$(printf '%s\n' \
  '^fireball_wasm::error::try_resize$	.' \
  '^fireball_coos::own::Registry<A>::create_buffer$	.' \
  '^<&fireball_coos::mem::Partition as allocator_api2::alloc::Allocator>::grow$	^core::panicking::panic_nounwind_fmt$')

command -v arm-none-eabi-objdump >/dev/null || { echo "panic-paths.sh: arm-none-eabi-objdump not found (apt-get install binutils-arm-none-eabi)" >&2; exit 2; }

found=0
for profile in release release-z; do
  bins=(size size-packed)
  if [ "$profile" = release ]; then bins+=(example); fi
  (cd "$BOARD" && cargo build --quiet --target "$TARGET" --profile "$profile" "${bins[@]/#/--bin=}")
  for bin in "${bins[@]}"; do
    elf="$BOARD/target/$TARGET/$profile/$bin"
    case "$bin" in
      example) crates='^<?&?(fireball_wasm|fireball_coos|fireball_sys|fireball|example)::' ;;
      *) crates='^<?&?fireball_wasm::' ;;
    esac
    # "function<TAB>callee" for each branch (bl, b, b<cond>, cbz/cbnz) to a panicking function.
    sites=$(arm-none-eabi-objdump -d --no-show-raw-insn -C "$elf" | awk -v crates="$crates" '
      /^[0-9a-f]+ <.*>:$/ { fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); next }
      fn ~ crates && $2 ~ /^(b|bl|cb)/ {
        if (match($0, /<(core::panicking::[^>]*|core::slice::index::[^>]*fail[^>]*|core::str::[^>]*slice_error_fail[^>]*|core::slice::[^>]*len_mismatch[^>]*|core::option::(unwrap|expect)_failed[^>]*|core::result::unwrap_failed[^>]*|core::cell::panic_[^>]*|allocator_api2::raw_vec::capacity_overflow[^>]*|alloc::alloc::handle_alloc_error[^>]*|alloc::raw_vec::[^>]*)>/)) {
          callee = substr($0, RSTART + 1, RLENGTH - 2); sub(/\+0x[0-9a-f]+$/, "", callee)
          print fn "\t" callee
        }
      }')
    # Split into accepted and other sites by the (function, callee) pairs above.
    split=$(printf '%s\n' "$sites" | awk -F'\t' -v allowed="$ALLOWED" '
      BEGIN { n = split(allowed, rows, "\n"); for (i = 1; i <= n; i++) { split(rows[i], p, "\t"); fre[i] = p[1]; cre[i] = p[2] } }
      NF == 2 {
        ok = 0
        for (i = 1; i <= n; i++) if ($1 ~ fre[i] && $2 ~ cre[i]) ok = 1
        if (ok) accepted++; else print
      }
      END { print "#accepted " accepted + 0 }')
    accepted=$(printf '%s\n' "$split" | awk '/^#accepted / { print $2 }')
    other=$(printf '%s\n' "$split" | grep -v '^#accepted ' | sort | uniq -c || true)
    if [ -n "$other" ]; then
      echo "$bin ($profile): panic paths:"
      printf '%s\n' "$other"
      found=1
    else
      echo "$bin ($profile): no panic path but the $accepted accepted ones (see the script's header)"
    fi
  done
done
exit "$found"
