#!/usr/bin/env bash
# Yin-Yang test accuracy of the same LE model on the 5 analog boards of run.sh, uncalibrated
# (the board's nominal codes) and calibrated (compile --board-calibration with the board's
# committed calibration), read from glekit hil compare. Run after run.sh, on its flash files
# (the emulated board takes its id from its flash, so the same flash is the same board).
set -euo pipefail
G=${GLEKIT:-"node dist/src/cli/main.js"}
OUT=examples/board-calibration/results
MODEL=test/fixtures/yinyang-seed1.model.json
for S in ${SEEDS:-1 2 3 4 5}; do
  $G compile --model $MODEL --hw fpga-fixed16 --board-calibration calibration/examples/yinyang-board-$S.json --out "$OUT/yinyang-cal-$S.gled" > /dev/null
  $G board start --flash "$OUT/board-$S.flash" --analog --seed "$S" --broken 0.02 --slot-size 65536 --mtu 2048 > "$OUT/acc-$S.port" 2> /dev/null &
  BOARD=$!
  for _ in $(seq 50); do [ -s "$OUT/acc-$S.port" ] && break; sleep 0.1; done
  PORT=$(cut -d' ' -f2 "$OUT/acc-$S.port")
  for V in uncalibrated calibrated; do
    F="$OUT/yinyang.gled"; [ $V = calibrated ] && F="$OUT/yinyang-cal-$S.gled"
    $G deploy --port "$PORT" --descriptor "$F" --permanent > /dev/null 2>&1
    $G hil compare --port "$PORT" --descriptor "$F" --task yinyang --json 2>/dev/null | tail -1 > "$OUT/hil-$V-$S.json" || true  # exits 1: the analog board differs from the emulator
  done
  kill "$BOARD"; wait "$BOARD" 2>/dev/null || true
done
node -e '
const fs = require("fs"); const o = "'"$OUT"'";
const ms = (v) => { const m = v.reduce((a, b) => a + b, 0) / v.length; return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1)), values: v }; };
const acc = (v) => ms([1,2,3,4,5].map((s) => JSON.parse(fs.readFileSync(`${o}/hil-${v}-${s}.json`, "utf8")).accuracy));
const r = { uncalibrated: acc("uncalibrated"), calibrated: acc("calibrated"), emulator: JSON.parse(fs.readFileSync(`${o}/hil-uncalibrated-1.json`, "utf8")).emulatorAccuracy };
fs.writeFileSync(`${o}/accuracy.json`, JSON.stringify(r, null, 1) + "\n"); console.log(JSON.stringify(r));'
