# Sourced by scripts/bench-instructions.sh and scripts/profile-host.sh (not run alone):
# bench_bin SCRIPT prints the path of the bench's `engines` executable (building it
# if needed, `cargo bench --no-run`), or fails with SCRIPT's name. Run from the
# repository root.
bench_bin() {
  local script=$1 bin
  bin=$(cargo bench -q -p fireball-bench --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "engines" and m.get("executable"):
        print(m["executable"])')
  [ -x "$bin" ] || { echo "$script: no bench executable" >&2; return 1; }
  printf '%s\n' "$bin"
}
