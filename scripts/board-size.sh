#!/usr/bin/env bash
# Flash and static RAM of the Nucleo-F401RE firmware (boards/stm32f401: the
# sensor example on the real ADC, every device of the board registered),
# release with LTO, against the design's budget (FIREBALL.md §1, §5):
#   the STM32F401 reference chip: 256 KB flash, 96 KB SRAM;
#   Fireball itself (engine + kernel + subsystems + facade): 100 KB hard limit.
#
# Method: the board crate builds two binaries with the same clocks, pins and
# peripheral set-up: `baseline` (no Fireball) and the firmware. Fireball's
# share = firmware − baseline − the embedded guest (sensor.fbx); LTO inlines
# across crates, so the split is by difference, not by symbol.
#
# Fails when the firmware outgrows the chip (flash or RAM), or when Fireball's
# share outgrows CORE_GUARD_BYTES, by default the 100 KB design limit itself
# (met since the engine shrank to 47.3 KB; an exported value overrides it).
#
# Usage: bash scripts/board-size.sh      (needs binutils-arm-none-eabi; see scripts/setup.sh)
set -euo pipefail

FLASH_BUDGET=$((256 * 1024))
RAM_BUDGET=$((96 * 1024))
CORE_LIMIT=$((100 * 1024))
CORE_GUARD_BYTES=${CORE_GUARD_BYTES:-$CORE_LIMIT}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOARD="$ROOT/boards/stm32f401"
ELF="$BOARD/target/thumbv7em-none-eabihf/release"

(cd "$BOARD" && cargo build -q --release --bins)

# section ELF NAME: bytes of that section (0 if absent).
section() { arm-none-eabi-size -A "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'; }
flash() { echo $(( $(section "$1" .vector_table) + $(section "$1" .text) + $(section "$1" .rodata) + $(section "$1" .data) )); }
ram() { echo $(( $(section "$1" .data) + $(section "$1" .bss) + $(section "$1" .uninit) )); }

fw="$ELF/fireball-stm32f401"
base="$ELF/baseline"
guest=$(ls -t "$BOARD"/target/thumbv7em-none-eabihf/release/build/fireball-stm32f401-*/out/sensor.fbx 2>/dev/null | head -n 1 || true)
guest_bytes=$( [ -n "$guest" ] && stat -c %s "$guest" || echo 0 )
fw_flash=$(flash "$fw"); fw_ram=$(ram "$fw")
base_flash=$(flash "$base"); base_ram=$(ram "$base")
core=$(( fw_flash - base_flash - guest_bytes ))
plan_ram=$(( 64 * 1024 ))

verdict() { if [ "$1" -le "$2" ]; then echo "ok, $(( $2 - $1 )) B ($(( ($2 - $1) / 1024 )) KB) left"; else echo "OVER by $(( $1 - $2 )) B"; fi; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }

echo "boards/stm32f401 (Nucleo-F401RE), thumbv7em-none-eabihf, release: opt-level \"s\", LTO, codegen-units 1"
printf '%-48s %12s %12s\n' "" "flash" "static RAM"
printf '%-48s %12s %12s\n' "firmware (sensor example, all devices)" "$(kb "$fw_flash")" "$(kb "$fw_ram")"
printf '%-48s %12s %12s\n' "  baseline (same board set-up, no Fireball)" "$(kb "$base_flash")" "$(kb "$base_ram")"
printf '%-48s %12s %12s\n' "  the guest, packed (sensor.fbx)" "$(kb "$guest_bytes")" "-"
printf '%-48s %12s %12s\n' "  Fireball (engine, kernel, subsystems, facade)" "$(kb "$core")" "$(kb "$plan_ram")"
printf '%-48s %12s %12s\n' "budget: STM32F401" "$(kb $FLASH_BUDGET)" "$(kb $RAM_BUDGET)"
echo "(Fireball's static RAM is the RAM its memory plan divides: P1..P6 and the coroutine stacks.)"
echo "flash: $(verdict "$fw_flash" $FLASH_BUDGET); static RAM: $(verdict "$fw_ram" $RAM_BUDGET) (the rest, $(kb $(( RAM_BUDGET - fw_ram ))), is the native stack)"
echo "Fireball vs the design's 100 KB hard limit: $(verdict "$core" $CORE_LIMIT)"

status=0
[ "$fw_flash" -le "$FLASH_BUDGET" ] || { echo "board-size: the firmware does not fit the STM32F401's flash"; status=1; }
[ "$fw_ram" -le "$RAM_BUDGET" ] || { echo "board-size: the firmware does not fit the STM32F401's RAM"; status=1; }
[ "$core" -le "$CORE_GUARD_BYTES" ] || { echo "board-size: Fireball grew past $CORE_GUARD_BYTES B (the design's hard limit unless CORE_GUARD_BYTES says otherwise)"; status=1; }
exit $status
