#!/usr/bin/env bash
# Builds the bench's real workloads, the Rust crates under benches/workloads/
# (each `pub fn run(n: u32) -> u64` plus a wasm export `run(i32) -> i64`), for
# wasm32-unknown-unknown into the checked-in benches/workloads/wasm/*.wasm that
# `cargo bench -p fireball-bench` runs in every engine; then runs the
# workloads' native unit tests (CoreMark's known CRCs among them).
#
#   scripts/build-bench-workloads.sh            rebuild every workload
#   scripts/build-bench-workloads.sh --check    rebuild from scratch in a temporary
#                                               folder and fail if a checked-in
#                                               .wasm differs
#
# Profile (benches/workloads/Cargo.toml): opt-level 3, fat LTO, one codegen unit,
# panic = "abort", strip: what a Rust user ships. rustc's default wasm features
# are kept; then wasm-lower (benches/workloads/wasm-lower) turns memory.copy and
# memory.fill into calls of two appended wasm functions and re-encodes indices
# minimally, so the bytes are WebAssembly 1.0 + sign-ext + saturating float-to-int,
# which wasm3 0.4.7 runs too: every engine runs the same bytes. (-C target-cpu=mvp
# is no help: the prebuilt std keeps bulk memory, and fat LTO spreads it back.)
#
# Reproducible across clones: paths of this checkout, of $CARGO_HOME and of the
# target folder are remapped, so the bytes depend only on the sources, the lock
# file and the compiler. benches/workloads/wasm/rustc-version.txt records the
# compiler that made them; --check says so first when yours differs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)
WS=$ROOT/benches/workloads
WORKLOADS=(coremark deflate json nbody regex sha2)
TARGET=wasm32-unknown-unknown
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET"

rustc_version=$(rustc --version)
if [ "$CHECK" = 1 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  OUT=$tmp/wasm
  TARGET_DIR=$tmp/target
  want=$(cat "$WS/wasm/rustc-version.txt")
  if [ "$rustc_version" != "$want" ]; then
    echo "build-bench-workloads: the checked-in .wasm were built by '$want', this is '$rustc_version':" >&2
    echo "  other compilers emit other bytes; rebuild them with scripts/build-bench-workloads.sh" >&2
    exit 1
  fi
else
  OUT=$WS/wasm
  TARGET_DIR=${CARGO_TARGET_DIR:-$WS/target}
fi
mkdir -p "$OUT" "$TARGET_DIR"
TARGET_DIR=$(cd "$TARGET_DIR" && pwd -P)
CARGO_HOME_DIR=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)

# The root workspace builds the same crates natively (fireball-bench's
# dev-dependencies): every package of benches/workloads/Cargo.lock that the root
# Cargo.lock also has must be there at the same version, or native and wasm
# would run different code.
locked() { awk '/^name = /{n=$3} /^version = /{print n, $3}' "$1" | tr -d '"' | sort -u; }
root_locked=$(locked "$ROOT/Cargo.lock")
mismatch=0
while read -r name version; do
  root_versions=$(awk -v p="$name" '$1==p{print $2}' <<<"$root_locked" | xargs)
  if [ -n "$root_versions" ] && ! grep -qx "$name $version" <<<"$root_locked"; then
    echo "build-bench-workloads: $name is $version in benches/workloads/Cargo.lock but $root_versions in Cargo.lock" >&2
    mismatch=1
  fi
done < <(locked "$WS/Cargo.lock")
[ "$mismatch" = 0 ] || exit 1

cd "$WS"
export CARGO_TARGET_DIR=$TARGET_DIR
# The host tool first, without the wasm flags.
env -u RUSTFLAGS cargo build -q --locked --release -p wasm-lower
# Last matching remap wins: the target folder may lie inside the checkout.
export RUSTFLAGS="--remap-path-prefix=$ROOT=/fireball --remap-path-prefix=$CARGO_HOME_DIR=/cargo --remap-path-prefix=$TARGET_DIR=/target"
status=0
for w in "${WORKLOADS[@]}"; do
  # A 64 KiB stack (rustc's default is 1 MiB), as an embedded user would link it: the
  # same bytes then run on the Cortex-M firmware (boards/qemu-m4, bin coremark).
  cargo rustc -q --locked --release --target "$TARGET" -p "workload-$w" --lib --crate-type cdylib -- -C link-arg=-zstack-size=65536
  raw="$TARGET_DIR/$TARGET/release/workload_$w.wasm"
  lowered=$("$TARGET_DIR/release/wasm-lower" "$raw" "$OUT/$w.wasm")
  chmod 644 "$OUT/$w.wasm"
  line=$(printf '%-9s %8d bytes (rustc %8d; %s)' "$w" "$(wc -c <"$OUT/$w.wasm")" "$(wc -c <"$raw")" "$lowered")
  if [ "$CHECK" = 1 ]; then
    if cmp -s "$OUT/$w.wasm" "$WS/wasm/$w.wasm"; then
      echo "$line  same as checked in"
    else
      echo "$line  DIFFERS from benches/workloads/wasm/$w.wasm"
      status=1
    fi
  else
    echo "$line"
  fi
done
[ "$CHECK" = 1 ] || echo "$rustc_version" >"$OUT/rustc-version.txt"

# Native: the workloads' own tests (CoreMark's CRCs against the reference's).
unset RUSTFLAGS
if log=$(cargo test -q --locked --release 2>&1); then
  echo "native tests: $(awk '/^test result: ok/{n+=$4} END{print n+0}' <<<"$log") passed"
else
  printf '%s\n' "$log" >&2
  echo "build-bench-workloads: native tests failed" >&2
  status=1
fi
[ "$status" = 0 ] || echo "build-bench-workloads: FAILED" >&2
exit $status
