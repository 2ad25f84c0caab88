#!/usr/bin/env bash
# The bench's engine comparison in host instructions instead of time: each
# program of `cargo bench -p fireball-bench` runs once more (`--reps=1 =NAME`)
# under valgrind's callgrind, which dumps its counters on entry to and exit from
# each engine's call of `run(n)` (the harness's `Fireball::call`, `Wasmi::call`,
# `Wasm3::call`, `native_call`, all out of line), so each dump ended by an exit
# holds one call's instructions. The harness calls the variants in a fixed
# order (Fireball, Fireball metered, wasmi, wasm3, native) for its warm-up and
# its timed run; the script reports the timed run's. Loading, translation and
# compilation are outside those calls, as they are outside the timings.
#
# Instructions are not time (a mispredicted indirect jump costs more than an
# add, and the engines dispatch differently), but they are deterministic: on a
# shared machine whose timings swing by 30 % or more they tell an engine
# change's effect to a fraction of a percent.
#
# Usage: bash scripts/bench-instructions.sh [PROGRAM…]   (default: every program;
#        names as the bench prints them, e.g. coremark json nbody-rs). ~10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "bench-instructions: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
command -v callgrind_annotate >/dev/null || { echo "bench-instructions: needs callgrind_annotate (valgrind)" >&2; exit 2; }
source scripts/bench-bin.inc.sh
bin=$(bench_bin bench-instructions)
programs=("$@")
if [ ${#programs[@]} -eq 0 ]; then
  # The bench's programs, as its table lists them (kernels, then workloads).
  programs=(fib i32_arith i64_arith memory nbody call_indirect coremark deflate json nbody-rs regex sha2)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-14s %14s %14s %14s %14s %12s %9s %9s %9s\n' program fireball fb+fuel wasmi wasm3 native fb/wasmi fb/wasm3 fuel
python3 - "$work" "$bin" "${programs[@]}" <<'PY'
import glob, math, re, subprocess, sys
work, binary, programs = sys.argv[1], sys.argv[2], sys.argv[3:]
FUNCS = {'fb': 'engines::Fireball::call', 'wasmi': 'engines::Wasmi::call', 'wasm3': 'engines::Wasm3::call', 'native': 'engines::native_call'}
ratios = {'wasmi': [], 'wasm3': [], 'fuel': []}
for p in programs:
    out = f'{work}/{p}.cg'
    dumps = [f'--dump-{w}={f}' for f in FUNCS.values() for w in ('before', 'after')]
    subprocess.run(['valgrind', '--tool=callgrind', f'--callgrind-out-file={out}', *dumps, binary, '--reps=1', f'={p}'],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    calls = {k: [] for k in FUNCS}
    for part in sorted(glob.glob(out + '.*'), key=lambda f: int(f.rsplit('.', 1)[1])):
        text = open(part).read()
        trig = re.search(r'^desc: Trigger: --dump-after=(\S+)', text, re.M)
        total = re.search(r'^(?:summary|totals): (\d+)', text, re.M)
        if trig and total:
            for k, f in FUNCS.items():
                if trig.group(1) == f:
                    calls[k].append(int(total.group(1)))
    # Fireball's calls alternate unmetered, metered; each variant is called twice.
    if len(calls['fb']) != 4 or any(len(calls[k]) != 2 for k in ('wasmi', 'wasm3', 'native')):
        print(f'{p}: unexpected calls {calls} (is {p} a program of the bench?)', file=sys.stderr)
        sys.exit(1)
    fb, fuel, wasmi, wasm3, native = calls['fb'][2], calls['fb'][3], calls['wasmi'][1], calls['wasm3'][1], calls['native'][1]
    ratios['wasmi'].append(fb / wasmi); ratios['wasm3'].append(fb / wasm3); ratios['fuel'].append(fuel / fb)
    print(f'{p:<14} {fb:14d} {fuel:14d} {wasmi:14d} {wasm3:14d} {native:12d} {fb/wasmi:8.2f}x {fb/wasm3:8.2f}x {100*(fuel/fb-1):+8.2f}%', flush=True)
g = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
print(f'geomean: Fireball / wasmi {g(ratios["wasmi"]):.2f}x, Fireball / wasm3 {g(ratios["wasm3"]):.2f}x, '
      f'fuel {100*(g(ratios["fuel"])-1):+.2f}% (host instructions per call of run(n))')
PY
