#!/usr/bin/env bash
# Where a Cortex-M firmware spends its instructions, by function and by hot
# block, from QEMU's own execution trace (not part of the test command: a
# profiling aid for the interpreter and the kernel).
#
# Method: qemu-system-arm -singlestep -d exec,nochain logs one line per executed
# instruction into a FIFO; a small Python counter reads the first LIMIT lines
# and counts executions per address. The counts are then attributed to the
# ELF's function symbols (arm-none-eabi-nm), and for FUNC the hottest
# straight-line blocks are printed with their disassembly (arm-none-eabi-objdump)
# and each instruction's count: spills (`ldr/str [sp, #…]`), register copies and
# calls in a hot handler show up directly. -icount is off under -singlestep, so
# the firmware's own instruction figures are meaningless in this mode.
#
# Usage: bash scripts/trace-qemu.sh [BIN] [LIMIT] [FUNC]
#   BIN    a binary of boards/qemu-m4, built release for the Cortex-M4 (default coremark)
#   LIMIT  instructions to trace from reset (default 30000000: load, run(1), some of run(10))
#   FUNC   the function whose hot blocks to list (default the interpreter loop)
#   e.g.   bash scripts/trace-qemu.sh kernel 3000000 'fireball_coos::sched::Kernel<A,P,M>::run'
set -euo pipefail
BIN=${1:-coremark}
LIMIT=${2:-30000000}
FUNC=${3:-'fireball_wasm::exec::Thread<A>::execute_in'}
source "$(dirname "$0")/qemu-trace.inc.sh"
cd "$(dirname "$0")/../boards/qemu-m4"
start_trace trace-qemu.sh "$BIN"
arm-none-eabi-nm -S -C "$ELF" >"$work/syms"
arm-none-eabi-objdump -d --no-show-raw-insn -C "$ELF" >"$work/dis"
python3 - "$work" "$LIMIT" "$FUNC" <<'EOF'
import bisect, collections, re, sys
work, limit, func = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count = collections.Counter()
pat = re.compile(rb'/([0-9a-f]{8})/')
n = 0
with open(work + '/trace', 'rb') as f:
    for line in f:
        m = pat.search(line)
        if m:
            count[int(m.group(1), 16)] += 1
            n += 1
            if n >= limit:
                break
syms = []
for l in open(work + '/syms'):
    p = l.split(None, 3)
    if len(p) == 4 and p[2] in 'tT':
        syms.append((int(p[0], 16) & ~1, int(p[1], 16), p[3].strip()))
syms.sort()
starts = [s[0] for s in syms]
per_fn = collections.Counter()
for pc, c in count.items():
    i = bisect.bisect_right(starts, pc) - 1
    per_fn[syms[i][2] if i >= 0 and pc < syms[i][0] + syms[i][1] else '?'] += c
print(f'{n} instructions traced; by function:')
for name, c in per_fn.most_common(15):
    print(f'  {100 * c / n:5.1f} %  {c:>10}  {name[:110]}')
body = re.search(r'^[0-9a-f]+ <' + re.escape(func) + r'>:\n(.*?)\n\n', open(work + '/dis').read(), re.S | re.M)
if not body:
    sys.exit(f'no function {func!r} in the binary')
text = {}
for l in body.group(1).splitlines():
    m = re.match(r'\s*([0-9a-f]+):\s+(.*)', l)
    if m:
        text[int(m.group(1), 16)] = m.group(2)[:90]
hot = sorted(a for a in text if count.get(a, 0) > n // 2000)
blocks, cur = [], []
for a in hot:
    if cur and a - cur[-1] > 4:
        blocks.append(cur)
        cur = []
    cur.append(a)
if cur:
    blocks.append(cur)
blocks.sort(key=lambda b: -sum(count[a] for a in b))
total = sum(count.get(a, 0) for a in text)
print(f'\n{func}: {total} instructions; its hottest blocks (executions, address, instruction):')
for b in blocks[:12]:
    print(f'-- {sum(count[a] for a in b)} instructions, entered {count[b[0]]} times')
    for a in b:
        print(f'  {count[a]:>9}  {a:6x}  {text[a]}')
EOF
