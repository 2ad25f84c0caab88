#!/usr/bin/env bash
# Builds the origin document's five example programs (FIREBALL.md §4), whose
# sources under examples/*/ are copied unmodified from the seed, into the
# checked-in examples/*/*.wasm that `fireball run` and the tests use (running
# them needs no C toolchain). Needs clang, lld and wasi-libc (Debian:
# clang lld wasi-libc libclang-rt-14-dev-wasm32; scripts/setup.sh installs them).
#
#   scripts/build-examples.sh            rebuild every example
#   scripts/build-examples.sh --check    rebuild into a temporary folder and
#                                        fail if a checked-in .wasm differs
#   scripts/build-examples.sh --debug [DIR]
#                                        build every example with debug info
#                                        (-g -O0, not stripped) into DIR
#                                        (default target/debug-examples), to
#                                        debug them with lldb (README: "Debugging a guest")
#
# The debugger's own guests, examples/debug/*.c, are always built with -g -O0
# and checked in (the lldb tests use them); -fdebug-prefix-map makes their DWARF
# name sources relative to the repository root, so the bytes do not depend on
# where the repository is checked out.
#
# Flags, and why (the README's "Building a guest" explains them for your own):
#   --target=wasm32-wasi         wasi-libc: memset, the C start-up (_start calls main)
#   -Wl,--allow-undefined        the seed declares the imports with plain `extern`:
#                                undefined functions become imports from "env"
#   -Wl,-z,stack-size=N          the C shadow stack: 64 KiB by default, far above
#                                what a 32 KB device's guest partition holds
#   -Wl,--stack-first            the stack sits below the data: an overflow runs
#                                off address 0 and traps instead of corrupting data
#   -Wl,--initial-memory=65536   one 64 KiB page, the least clang 14 emits; the
#                                runtime backs only what the partition allows
#   -Wl,--export=__heap_base     where the data ends: the runtime sizes the memory it
#                                backs from it (`fireball inspect` prints it)
#   -nostartfiles -Wl,--no-entry -Wl,--export=<entry>
#                                services have no main: their loop is the entry
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
OUT=examples
BASE=(--target=wasm32-wasi -Iinclude -Wl,--allow-undefined -Wl,--stack-first
  -Wl,--initial-memory=65536 -Wl,--export=__heap_base)
DEBUG=(-g -O0 -fdebug-prefix-map="$PWD"=.)
COMMON=("${BASE[@]}" -O2 -Wl,--strip-all)
if [ "${1:-}" = "--check" ]; then
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
elif [ "${1:-}" = "--debug" ]; then
  OUT=${2:-target/debug-examples}
  COMMON=("${BASE[@]}" "${DEBUG[@]}")
fi

# name  kind     entry               stack
EXAMPLES="
sensor       app      _start              2048
aggregator   app      _start              2048
inference    app      _start              4096
mesh-gateway service  mesh_gateway        512
iir-filter   service  preprocess_service  512
blink        app      _start              1024
i2c-sensor   app      _start              1024
checksum     app      _start              1024
uart-hello   service  uart_hello          512
"

status=0
while read -r name kind entry stack; do
  [ -z "$name" ] && continue
  src=examples/$name/${name//-/_}.c
  mkdir -p "$OUT/$name"
  wasm=$OUT/$name/${name//-/_}.wasm
  flags=("${COMMON[@]}" -Wl,-z,stack-size="$stack")
  if [ "$kind" = service ]; then
    flags+=(-nostartfiles -Wl,--no-entry -Wl,--export="$entry")
  fi
  "$CLANG" "${flags[@]}" -o "$wasm" "$src"
  chmod 644 "$wasm"
  printf '%-13s %-8s %6d bytes  entry %s\n' "$name" "$kind" "$(wc -c <"$wasm")" "$entry"
  if [ "$OUT" != examples ] && [ "${1:-}" != --debug ] && ! cmp -s "$wasm" "examples/$name/${name//-/_}.wasm"; then
    echo "  differs from the checked-in examples/$name/${name//-/_}.wasm: run scripts/build-examples.sh"
    status=1
  fi
done <<<"$EXAMPLES"

# The debugger's guests: C built for lldb (-g -O0), checked in.
[ "${1:-}" = "--debug" ] && exit $status
mkdir -p "$OUT/debug"
for spec in calc:app trap:app ticker:service; do
  name=${spec%%:*} kind=${spec#*:}
  wasm=$OUT/debug/$name.wasm
  flags=("${BASE[@]}" "${DEBUG[@]}" -Wl,-z,stack-size=4096)
  [ "$kind" = service ] && flags=("${BASE[@]}" "${DEBUG[@]}" -Wl,-z,stack-size=1024 -nostartfiles -Wl,--no-entry -Wl,--export="$name")
  "$CLANG" "${flags[@]}" -o "$wasm" "examples/debug/$name.c"
  chmod 644 "$wasm"
  printf '%-13s %-8s %6d bytes  (-g -O0)\n' "debug/$name" "$kind" "$(wc -c <"$wasm")"
  if [ "$OUT" != examples ] && ! cmp -s "$wasm" "examples/debug/$name.wasm"; then
    echo "  differs from the checked-in examples/debug/$name.wasm: run scripts/build-examples.sh"
    status=1
  fi
done
exit $status
