#!/usr/bin/env bash
# What each wasm opcode costs the interpreter on a Cortex-M4, from QEMU's own
# execution trace (not part of the test command: a profiling aid for issue 9).
# A firmware that links both loops (`coremark-fuel`: `resume` with fuel and
# `Thread::run` without) gets a table per loop that ran in the window, each under
# its dispatch's address; e.g. `coremark-fuel 150000000 152000000` is in its
# unmetered run(10).
#
# Method: as scripts/trace-qemu.sh (qemu-system-arm -singlestep -d exec,nochain, one
# line per executed instruction into a FIFO). The interpreter loop's dispatch is its
# first `tbh`; the script reads that instruction's jump table out of the ELF, so it
# knows which opcodes land on which handler address. Every executed instruction from
# a handler's entry up to the next dispatch is charged to that handler: its own
# work, the shared paths it jumps to (a branch's side-table lookup, a call's frame),
# and the dispatch that follows. Per handler it prints the share of the window, the
# instructions, the dispatches and their ratio, and the opcodes that reach it (hex).
# A fused pair (`local.get` with the next `local.get`, `i32.const` with its operator)
# is charged to the first opcode: its ratio is per dispatch, not per wasm instruction.
#
# Usage: bash scripts/opcode-costs-qemu.sh [BIN] [START] [END]
#   BIN    a binary of boards/qemu-m4, built release for the Cortex-M4 (default coremark)
#   START  instructions to skip from reset (default 30000000: past load and run(1))
#   END    where the window ends (default 32000000: 2 M instructions)
set -euo pipefail
BIN=${1:-coremark}
START=${2:-30000000}
END=${3:-32000000}
source "$(dirname "$0")/qemu-trace.inc.sh"
cd "$(dirname "$0")/../boards/qemu-m4"
start_trace opcode-costs-qemu.sh "$BIN"
python3 - "$work" "$START" "$END" "$ELF" <<'EOF'
import collections, re, struct, subprocess, sys
work, start, end, elf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
dis = subprocess.run(['arm-none-eabi-objdump', '-d', '--no-show-raw-insn', '-C', elf], capture_output=True, text=True).stdout
# Every instantiation of the loop (a firmware may link two: `Thread::run` without fuel,
# `resume` with it); each has its own dispatch `tbh` and table, and the window is
# charged to whichever runs in it.
bodies = re.findall(r'^[0-9a-f]+ <fireball_wasm::exec::Thread<A>::execute_in>:\n(.*?)\n\n', dis, re.S | re.M)
if not bodies:
    sys.exit('no interpreter loop (execute_in) in the binary')
dispatches = []
for body in bodies:
    tbh = [int(m.group(1), 16) for m in re.finditer(r'^\s*([0-9a-f]+):\s+tbh', body, re.M)]
    if tbh:
        dispatches.append(tbh[0])
if not dispatches:
    sys.exit('no tbh dispatch in the interpreter loop')
hdr = subprocess.run(['arm-none-eabi-objdump', '-h', elf], capture_output=True, text=True).stdout
sec = re.search(r'\.text\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)', hdr)
vma, off = int(sec.group(1), 16), int(sec.group(2), 16)
data = open(elf, 'rb').read()
# The table follows the tbh (pc + 4); each halfword entry is half the distance to its target.
ops = collections.defaultdict(list)
for dispatch in dispatches:
    for op in range(256):
        a = dispatch + 4 + 2 * op
        e = struct.unpack('<H', data[off + a - vma:off + a - vma + 2])[0]
        ops[dispatch + 4 + 2 * e].append(op)
dispatch_set = set(dispatches)
pat = re.compile(rb'/([0-9a-f]{8})/')
n, cur, after = 0, None, False
disp, instr = collections.Counter(), collections.Counter()
loop_of = {}
outside = 0
with open(work + '/trace', 'rb') as f:
    for line in f:
        m = pat.search(line)
        if not m:
            continue
        n += 1
        if n <= start:
            continue
        pc = int(m.group(1), 16)
        if after is not False:
            loop_of[pc] = after
            after, cur = False, pc
            disp[cur] += 1
        if pc in dispatch_set:
            after = pc
        if cur is None:
            outside += 1
        else:
            instr[cur] += 1
        if n >= end:
            break
total = max(n - start, 1)
print(f'{total} instructions traced ({start}..{n}); {sum(disp.values())} dispatches; {outside} before the first dispatch')
for d in dispatches:
    mine = [a for a in instr if loop_of.get(a) == d]
    if len(dispatches) > 1:
        if not mine:
            print(f'(loop with its dispatch at {d:#x}: not run in this window)')
            continue
        print(f'loop with its dispatch at {d:#x}:')
    print(f'{"share":>6} {"instr":>10} {"dispatches":>10} {"per disp":>9}  opcodes')
    for a in sorted(mine, key=lambda a: -instr[a])[:30]:
        c = instr[a]
        names = ','.join(f'{o:#04x}' for o in ops.get(a, [])[:8]) + (' …' if len(ops.get(a, [])) > 8 else '')
        print(f'{100 * c / total:5.1f}% {c:>10} {disp[a]:>10} {c / max(disp[a], 1):>9.1f}  {names}')
EOF
