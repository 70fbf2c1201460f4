#!/usr/bin/env bash
# Calibration of the Yin-Yang LE network's image on 5 emulated analog boards (seeds 1..5),
# each paced at 921600 baud, 2 % of neurons broken; acceptance from each board's hidden truth.
# Writes calibration/examples/yinyang-board-S.json (the committed calibrations) and
# examples/board-calibration/results/seed-S.json (analyse.mjs), then summary.json.
# Run from the repository root after npm run build: bash examples/board-calibration/run.sh
set -euo pipefail
G=${GLEKIT:-"node dist/src/cli/main.js"}
HERE=examples/board-calibration
OUT=$HERE/results
mkdir -p "$OUT" calibration/examples
MODEL=test/fixtures/yinyang-seed1.model.json
$G compile --model $MODEL --hw fpga-fixed16 --out "$OUT/yinyang.gled" > /dev/null
for S in ${SEEDS:-1 2 3 4 5}; do
  rm -f "$OUT/board-$S.flash"
  $G board start --flash "$OUT/board-$S.flash" --analog --seed "$S" --truth-out "$OUT/truth-$S.json" --broken 0.02 \
    --slot-size 65536 --mtu 2048 --pace > "$OUT/board-$S.port" 2> "$OUT/board-$S.log" &
  BOARD=$!
  for _ in $(seq 50); do [ -s "$OUT/board-$S.port" ] && break; sleep 0.1; done
  PORT=$(cut -d' ' -f2 "$OUT/board-$S.port")
  $G deploy --port "$PORT" --baud 921600 --descriptor "$OUT/yinyang.gled" --permanent > /dev/null 2>&1
  $G calibrate --port "$PORT" --baud 921600 --model $MODEL --force --cache-dir "$OUT/cache" \
    --out calibration/examples/yinyang-board-$S.json --json | tail -1 > "$OUT/calibrate-$S.json"
  node $HERE/analyse.mjs "$OUT/truth-$S.json" calibration/examples/yinyang-board-$S.json > "$OUT/seed-$S.json"
  kill "$BOARD"; wait "$BOARD" 2>/dev/null || true
done
node -e '
const fs = require("fs");
const rows = [1,2,3,4,5].map((s) => JSON.parse(fs.readFileSync(`'"$OUT"'/seed-${s}.json`, "utf8")));
const ms = (v) => { const m = v.reduce((a, b) => a + b, 0) / v.length; return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1)) }; };
const out = { seeds: rows.map((r) => r.seed), accepted: rows.every((r) => r.accepted), params: {} };
for (const p of ["tauM", "tauR", "gain", "offset"]) {
  out.params[p] = Object.fromEntries(["before", "after", "ratio", "resolutionFloor"].map((k) => [k, ms(rows.map((r) => r.params[p].working[k]))]));
  out.params[p].measurementError = ms(rows.map((r) => r.params[p].measurementError));
}
out.seconds = ms(rows.map((r) => r.stats.seconds)); out.rounds = ms(rows.map((r) => r.stats.rounds)); out.probes = ms(rows.map((r) => r.stats.probes));
out.okNeurons = rows.map((r) => r.stats.okNeurons); out.broken = rows.map((r) => r.broken); out.brokenFlagged = rows.every((r) => r.brokenFlagged);
fs.writeFileSync("'"$OUT"'/summary.json", JSON.stringify(out, null, 1) + "\n");
console.log(JSON.stringify(out));'
