# Sourced by scripts/trace-qemu.sh and scripts/opcode-costs-qemu.sh (not run alone):
# build a boards/qemu-m4 firmware for the Cortex-M4 and start QEMU writing one line
# per executed instruction (-singlestep -d exec,nochain) into the FIFO $work/trace,
# removed with its folder on exit. -icount is off under -singlestep, so the
# firmware's own instruction figures are meaningless in this mode.
#
# start_trace SCRIPT BIN: sets ELF (the firmware) and work (the folder); the current
# directory must be boards/qemu-m4.
start_trace() {
  local script=$1 bin=$2 tool
  for tool in arm-none-eabi-nm arm-none-eabi-objdump python3 qemu-system-arm; do
    command -v "$tool" >/dev/null || { echo "$script: $tool not found (scripts/setup.sh)" >&2; exit 2; }
  done
  cargo build -q --release --bin "$bin"
  ELF=target/thumbv7em-none-eabihf/release/$bin
  work=$(mktemp -d)
  trap 'pkill -f "qemu-system-arm.*-D $work/trace" 2>/dev/null || true; rm -rf "$work"' EXIT
  mkfifo "$work/trace"
  qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
    -singlestep -d exec,nochain -D "$work/trace" -kernel "$ELF" >"$work/out" 2>&1 &
}
