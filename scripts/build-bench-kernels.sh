#!/usr/bin/env bash
# Rebuilds the benchmark kernels benches/kernels/*.c into the checked-in
# benches/kernels/*.wasm used by `cargo bench -p fireball-bench`, then builds
# each kernel natively and checks that it returns the `// expect:` checksum of
# its source for the `// bench-n:` argument (the bench checks both engines
# against the same line).
#
# Needs clang and lld (Debian: `apt-get install clang lld`; scripts/setup.sh
# installs them). Usage: scripts/build-bench-kernels.sh [--no-check]
set -euo pipefail

cd "$(dirname "$0")/../benches/kernels"
CLANG=${CLANG:-clang}
CHECK=1
[ "${1:-}" = "--no-check" ] && CHECK=0

# Freestanding wasm32 MVP code (clang's default CPU), no libc: -ffreestanding
# also stops clang from turning loops into memcpy/memset calls nobody defines.
# One export, `run`; a 16 KiB shadow stack; linear memory fixed at 2 pages.
WASM_FLAGS=(--target=wasm32 -O2 -ffreestanding -nostdlib
  -Wl,--no-entry -Wl,--export=run -Wl,--strip-all
  -Wl,-z,stack-size=16384 -Wl,--initial-memory=131072 -Wl,--max-memory=131072)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for src in *.c; do
  [ "$src" = native_main.c ] && continue
  name=${src%.c}
  "$CLANG" "${WASM_FLAGS[@]}" -o "$name.wasm" "$src"
  chmod 644 "$name.wasm"
  size=$(wc -c <"$name.wasm")
  if [ "$CHECK" = 0 ]; then
    printf '%-14s %6d bytes\n' "$name" "$size"
    continue
  fi
  n=$(sed -n 's|^// bench-n: *\([0-9]*\).*|\1|p' "$src")
  want=$(sed -n 's|^// expect: *\(-\{0,1\}[0-9]*\).*|\1|p' "$src")
  "$CLANG" -O2 -ffp-contract=off -fno-math-errno -o "$tmp/$name" "$src" native_main.c -lm
  got=$("$tmp/$name" "$n")
  if [ "$got" = "$want" ]; then
    printf '%-14s %6d bytes  run(%s) = %s  ok\n' "$name" "$size" "$n" "$got"
  else
    printf '%-14s %6d bytes  run(%s) = %s  but the source says expect: %s\n' "$name" "$size" "$n" "$got" "$want"
    status=1
  fi
done
exit $status
