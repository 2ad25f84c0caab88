#!/usr/bin/env bash
# Where Fireball spends its host time on one program of the bench, by function:
# `perf record -e cpu-clock` sampling (a software clock, so it works on virtual
# machines without hardware counters) of the bench executable running only that
# program, then `perf report` by symbol. Not part of the test command: a profiling
# aid for issue 9, the host-side companion of scripts/trace-qemu.sh.
#
# The bench process runs every engine on the program (Fireball, Fireball metered,
# wasmi, wasm3, native), so the report lists their functions side by side; the
# second table keeps the engine's own symbols (`fireball_wasm::`) with their share
# of Fireball's samples. The interpreter loop is one function, `execute_in`, listed
# once per instantiation (the metered and the unmetered loop). Out-of-line helpers
# (the LEB readers' slow paths, memory's tail window, float conversions) show up
# on their own, which callgrind's totals (scripts/bench-instructions.sh) do not.
#
# Usage: bash scripts/profile-host.sh PROGRAM [REPS]
#   PROGRAM  a name as the bench prints it (fib, i64_arith, coremark, deflate, json, ...)
#   REPS     timed runs per variant (default 3; more samples, a steadier split)
# Needs perf (Debian's linux-perf); sampling 5 000 times a second.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bash scripts/profile-host.sh PROGRAM [REPS]" >&2; exit 2; }
prog=$1
reps=${2:-3}
command -v perf >/dev/null || { echo "profile-host: needs perf (apt-get install linux-perf)" >&2; exit 2; }
source scripts/bench-bin.inc.sh
bin=$(bench_bin profile-host)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
perf record -q -e cpu-clock -F 5000 -o "$work/perf.data" "$bin" --reps="$reps" "=$prog" >"$work/out" 2>"$work/err" ||
  { cat "$work/err" >&2; echo "profile-host: perf record failed" >&2; exit 1; }
grep -q "^$prog " "$work/out" || { echo "profile-host: the bench has no program '$prog'" >&2; exit 1; }
perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
  awk '/^ +[0-9.]+%/ { sub(/^ +/, ""); pct = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); sub(/ +- +- *$/, ""); print pct "\t" $0 }' >"$work/rows"
echo "== $prog: all engines, share of the process's samples (top 25)"
head -25 "$work/rows" | awk -F'\t' '{ printf "%8s  %s\n", $1, $2 }'
echo
echo "== $prog: Fireball's own functions, share of Fireball's samples"
python3 - "$work/rows" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    pct, sym = line.rstrip("\n").split("\t", 1)
    if "fireball_wasm::" in sym:
        rows.append((float(pct.rstrip("%")), sym))
total = sum(p for p, _ in rows) or 1.0
merged = {}
for p, s in rows:
    merged[s] = merged.get(s, 0.0) + p
for s, p in sorted(merged.items(), key=lambda x: -x[1])[:20]:
    print(f"{100 * p / total:7.1f}%  {s}")
print(f"(Fireball: {total:.1f} % of the process's samples; execute_in merges its instantiations)")
PY
