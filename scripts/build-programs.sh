#!/usr/bin/env bash
# Builds the "real programs" a new user tries first, ordinary programs with no
# Fireball-specific code, into the checked-in .wasm that `fireball run` and
# tools/fireball-cli/tests/programs.rs use (running them needs no toolchain):
#
#   examples/programs/hello-c/hello.wasm        C: printf (integers, floats) and malloc, wasi-libc
#   examples/programs/files-c/files.wasm        C: stdin, files, directories, a socket: errnos on a device
#   examples/programs/hello-rust/hello.wasm     Rust std, wasm32-wasip1: println!, Vec, String, env::args
#   examples/programs/coremark/coremark.wasm    Rust std, wasm32-wasip1: CoreMark 1.0 (the `coremark` crate)
#   examples/programs/hello-cpp/hello.wasm      C++17, libc++: iostream, unique_ptr, virtuals, map, <algorithm>
#   examples/programs/hello-zig/hello.wasm      Zig 0.13.0 std, wasm32-wasi: ArrayList, print, args, clock
#
#   scripts/build-programs.sh            rebuild every program and copy it into place
#   scripts/build-programs.sh --check    rebuild into a temporary folder and fail
#                                        if a checked-in .wasm differs
#
# Prints each program's size and the size of its code section.
#
# C: clang + wasi-libc (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32;
# scripts/setup.sh installs them), with exactly the README's flags for an app
# (see scripts/build-examples.sh for what each does). No --allow-undefined: an
# ordinary program has no undefined functions, and a typo should not link.
#
# Zig: 0.13.0 exactly (its output depends on the version), `zig` on the PATH or
# PyPI's ziglang wheel (`pip install ziglang==0.13.0`, run as `python3 -m ziglang`).
# Not installed by scripts/setup.sh: without it the Zig program is not rebuilt
# (said so below), and its checked-in .wasm is what the tests run.
# Rust: the default rustup toolchain plus its wasm32-wasip1 target (added here
# if missing). Each program is a standalone cargo project with its own lock file
# (built with --locked) and its own release profile; its build.rs adds the
# wasm link arguments (an 8 KiB stack, --export=__heap_base), which apply
# whatever RUSTFLAGS says. The rustc flags are set here, replacing any of the
# caller's (as CARGO_ENCODED_RUSTFLAGS, the form of RUSTFLAGS that survives a
# space in a path), to --remap-path-prefix the repository and the cargo home: without it the
# panic locations of dependencies carry this clone's absolute paths, and two
# clones would build different bytes. The output also depends on the rustc
# version (CoreMark's report even prints it): examples/programs/rustc-version.txt
# records the one the checked-in .wasm were built with, and --check says so
# first when this toolchain differs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CLANG=${CLANG:-clang}
OUT=examples/programs
CHECK=0
if [ "${1:-}" = "--check" ]; then
  CHECK=1
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
fi

RUST_TARGET=wasm32-wasip1
if ! rustup target list --installed | grep -qx "$RUST_TARGET"; then
  rustup target add "$RUST_TARGET"
fi

status=0
rustc_version=$(rustc -V)
if [ "$CHECK" = 1 ] && [ "$rustc_version" != "$(cat examples/programs/rustc-version.txt)" ]; then
  echo "the checked-in Rust programs were built with $(cat examples/programs/rustc-version.txt),"
  echo "  this is $rustc_version: expect them to differ (rebuild with scripts/build-programs.sh and commit)"
fi

# Size of a module's code section, in bytes (needs wabt's wasm-objdump).
code_size() {
  if command -v wasm-objdump >/dev/null; then
    local hex
    hex=$(wasm-objdump -h "$1" | sed -n 's/^ *Code .*(size=\(0x[0-9a-f]*\)).*/\1/p')
    echo $((hex))
  else
    echo "?"
  fi
}

# report NAME WASM: print sizes, compare with the checked-in copy in --check mode.
report() {
  local rel=$1 wasm=$2
  chmod 644 "$wasm"
  printf '%-32s %7d bytes, code section %6s bytes\n' "$rel" "$(wc -c <"$wasm")" "$(code_size "$wasm")"
  if [ "$CHECK" = 1 ] && ! cmp -s "$wasm" "examples/programs/$rel"; then
    echo "  differs from the checked-in examples/programs/$rel: run scripts/build-programs.sh"
    status=1
  fi
}

# C: exactly the README's flags.
mkdir -p "$OUT/hello-c"
"$CLANG" --target=wasm32-wasi -O2 -Wl,-z,stack-size=2048 -Wl,--stack-first \
  -Wl,--initial-memory=65536 -Wl,--export=__heap_base -Wl,--strip-all \
  -o "$OUT/hello-c/hello.wasm" examples/programs/hello-c/hello.c
report hello-c/hello.wasm "$OUT/hello-c/hello.wasm"
mkdir -p "$OUT/files-c"
"$CLANG" --target=wasm32-wasi -O2 -Wl,-z,stack-size=2048 -Wl,--stack-first \
  -Wl,--initial-memory=65536 -Wl,--export=__heap_base -Wl,--strip-all \
  -o "$OUT/files-c/files.wasm" examples/programs/files-c/files.c
report files-c/files.wasm "$OUT/files-c/files.wasm"
# C++: the same flags, C++17, no exceptions (wasm32-wasi has none); Debian's
# libc++-14-dev-wasm32 and libc++abi-14-dev-wasm32 (scripts/setup.sh installs them).
mkdir -p "$OUT/hello-cpp"
"${CLANG}++" --target=wasm32-wasi -std=c++17 -O2 -fno-exceptions -Wl,-z,stack-size=2048 -Wl,--stack-first \
  -Wl,--initial-memory=65536 -Wl,--export=__heap_base -Wl,--strip-all \
  -o "$OUT/hello-cpp/hello.wasm" examples/programs/hello-cpp/hello.cpp
report hello-cpp/hello.wasm "$OUT/hello-cpp/hello.wasm"
# With its debug information (-g, not stripped): a trap's backtrace names source lines.
# The source path is the same on every machine (/fireball/...).
mkdir -p "$OUT/trap-c"
"$CLANG" --target=wasm32-wasi -O2 -g -fdebug-prefix-map="$ROOT"=/fireball -Wl,-z,stack-size=2048 -Wl,--stack-first \
  -Wl,--initial-memory=65536 -Wl,--export=__heap_base \
  -o "$OUT/trap-c/trap.wasm" examples/programs/trap-c/trap.c
report trap-c/trap.wasm "$OUT/trap-c/trap.wasm"

ZIG_VERSION=0.13.0
if command -v zig >/dev/null && [ "$(zig version)" = "$ZIG_VERSION" ]; then
  ZIG=(zig)
elif python3 -c 'import ziglang' 2>/dev/null && [ "$(python3 -m ziglang version)" = "$ZIG_VERSION" ]; then
  ZIG=(python3 -m ziglang)
else
  ZIG=()
fi
if [ ${#ZIG[@]} -gt 0 ]; then
  # ReleaseSmall, an 8 KiB stack (Zig's default is 16 MiB); no paths in the output.
  mkdir -p "$OUT/hello-zig"
  (cd examples/programs/hello-zig && "${ZIG[@]}" build-exe hello.zig -target wasm32-wasi -O ReleaseSmall \
    --stack 8192 -femit-bin="$OUT/hello-zig/hello.wasm")
  rm -f "$OUT/hello-zig/hello.wasm.o"
  report hello-zig/hello.wasm "$OUT/hello-zig/hello.wasm"
else
  echo "hello-zig/hello.wasm: not rebuilt (no Zig $ZIG_VERSION: pip install ziglang==$ZIG_VERSION)"
fi

# Rust: one shared target folder under the repository's (ignored) target/.
CARGO_HOME_DIR=${CARGO_HOME:-$HOME/.cargo}
# Flags separated by 0x1f (CARGO_ENCODED_RUSTFLAGS), so a path may hold a space.
FLAGS=$(printf '%s\x1f%s' "--remap-path-prefix=$ROOT=/fireball" "--remap-path-prefix=$CARGO_HOME_DIR=/cargo")
# project  binary
RUST_PROGRAMS="
hello-rust hello
coremark   coremark
"
while read -r project bin; do
  [ -z "$project" ] && continue
  env -u RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS="$FLAGS" \
    cargo build -q --release --locked --target "$RUST_TARGET" \
    --manifest-path "examples/programs/$project/Cargo.toml" --target-dir "$ROOT/target/programs"
  mkdir -p "$OUT/$project"
  cp "target/programs/$RUST_TARGET/release/$bin.wasm" "$OUT/$project/$bin.wasm"
  report "$project/$bin.wasm" "$OUT/$project/$bin.wasm"
done <<<"$RUST_PROGRAMS"
if [ "$CHECK" = 0 ]; then
  echo "$rustc_version" >examples/programs/rustc-version.txt
fi
exit $status
