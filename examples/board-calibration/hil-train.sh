#!/usr/bin/env bash
# glekit hil train on the 5 analog boards (seeds 1..5, 2 % broken neurons, unpaced line, MTU 8192
# so that one recorded Yin-Yang sample fits a frame): each board is calibrated (a new flash is a
# new board id, so the committed calibrations of run.sh do not apply to it), then the Yin-Yang LE
# model is trained in the loop uncalibrated and calibrated, EPOCHS epochs each at LR (Adam, as
# robustness --chip-lr). Writes results/hiltrain-{uncalibrated,calibrated}-S.json and hiltrain.json.
set -euo pipefail
G=${GLEKIT:-"node dist/src/cli/main.js"}
OUT=${OUT:-examples/board-calibration/results}
EPOCHS=${EPOCHS:-3}; LR=${LR:-0.001}
MODEL=test/fixtures/yinyang-seed1.model.json
mkdir -p "$OUT/hil"
$G compile --model $MODEL --hw fpga-fixed16 --out "$OUT/hil/yinyang.gled" > /dev/null
for S in ${SEEDS:-1 2 3 4 5}; do
  rm -f "$OUT/hil/board-$S.flash" "$OUT"/hil/*-$S.model.json*
  $G board start --flash "$OUT/hil/board-$S.flash" --analog --seed "$S" --broken 0.02 --slot-size 65536 --mtu 8192 > "$OUT/hil/board-$S.port" 2> /dev/null &
  BOARD=$!
  for _ in $(seq 50); do [ -s "$OUT/hil/board-$S.port" ] && break; sleep 0.1; done
  PORT=$(cut -d' ' -f2 "$OUT/hil/board-$S.port")
  $G deploy --port "$PORT" --descriptor "$OUT/hil/yinyang.gled" --permanent > /dev/null 2>&1
  $G calibrate --port "$PORT" --model $MODEL --force --cache-dir "$OUT/hil/cache" --out "$OUT/hil/cal-$S.json" --json 2>/dev/null | tail -1 > "$OUT/hil/calibrate-$S.json"
  $G hil train --port "$PORT" --model $MODEL --task yinyang --epochs "$EPOCHS" --lr "$LR" --out "$OUT/hil/uncal-$S.model.json" --json 2> "$OUT/hil/uncal-$S.log" | tail -1 > "$OUT/hiltrain-uncalibrated-$S.json"
  $G hil train --port "$PORT" --model $MODEL --task yinyang --epochs "$EPOCHS" --lr "$LR" --board-calibration "$OUT/hil/cal-$S.json" \
    --out "$OUT/hil/cal-$S.model.json" --json 2> "$OUT/hil/cal-$S.log" | tail -1 > "$OUT/hiltrain-calibrated-$S.json"
  kill "$BOARD"; wait "$BOARD" 2>/dev/null || true
done
node -e '
const fs = require("fs"); const o = "'"$OUT"'"; const seeds = "'"${SEEDS:-1 2 3 4 5}"'".split(" ").map(Number);
const ms = (v) => { const m = v.reduce((a, b) => a + b, 0) / v.length; return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1)), values: v }; };
const r = {};
for (const v of ["uncalibrated", "calibrated"]) {
  const rows = seeds.map((s) => JSON.parse(fs.readFileSync(`${o}/hiltrain-${v}-${s}.json`, "utf8")));
  r[v] = { before: ms(rows.map((x) => x.initialTestAccuracy)), after: ms(rows.map((x) => x.testAccuracy)),
    decisions: rows.map((x) => x.history.map((h) => h.decision[0]).join("")), uploadMs: ms(rows.map((x) => 1000 * x.upload.meanSeconds)),
    compileMs: ms(rows.map((x) => 1000 * x.upload.meanCompileSeconds)), uploadBytes: rows[0].upload.bytes, seconds: ms(rows.map((x) => x.seconds)), epochs: rows[0].epochs, lr: rows[0].lr };
}
fs.writeFileSync(`${o}/hiltrain.json`, JSON.stringify(r, null, 1) + "\n"); console.log(JSON.stringify(r));'
