#!/usr/bin/env bash
# Builds the C hostile guests under tests/hostile/ into the checked-in .wasm that
# tools/fireball-cli/tests/hostile.rs runs (the tests need no C toolchain), with the
# examples' flags (scripts/build-examples.sh explains them). The .wat guests beside
# them are parsed by the test itself. Needs clang, lld and wasi-libc (scripts/setup.sh).
#
#   scripts/build-hostile.sh            rebuild every C guest
#   scripts/build-hostile.sh --check    rebuild into a temporary folder and fail if a
#                                       checked-in .wasm differs
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
DIR=tests/hostile
OUT=$DIR
if [ "${1:-}" = "--check" ]; then
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
fi

COMMON=(--target=wasm32-wasi -O2 -Wl,--allow-undefined -Wl,--stack-first
  -Wl,--initial-memory=65536 -Wl,--export=__heap_base -Wl,--strip-all -Wl,-z,stack-size=2048)

status=0
for src in "$DIR"/*.c; do
  name=$(basename "$src" .c)
  wasm=$OUT/$name.wasm
  "$CLANG" "${COMMON[@]}" -o "$wasm" "$src"
  chmod 644 "$wasm"
  printf '%-12s %6d bytes\n' "$name" "$(wc -c <"$wasm")"
  if [ "$OUT" != "$DIR" ] && ! cmp -s "$wasm" "$DIR/$name.wasm"; then
    echo "  differs from the checked-in $DIR/$name.wasm: run scripts/build-hostile.sh"
    status=1
  fi
done
exit $status
