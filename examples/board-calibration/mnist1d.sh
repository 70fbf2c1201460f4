#!/usr/bin/env bash
# GLE on a sequence task on the emulated analog board: the MNIST-1D network of the papers'
# benchmark (examples/robustness-mnist1d/model.json, 91.4 % test), uncalibrated against
# calibrated, on boards seeds 1..3 (2 % broken neurons, unpaced line, MTU 8192 so that the
# 328 neurons' trims fit one TRIM_SET). Its lagging units have tau_r = dt (one step), below
# the board's shortest time constant (about 2 steps), so the model is first retimed 4x finer
# (dt 0.05, 1440 steps per sequence, MNIST-1D sampled at 1440 points): tau_r = 4 steps.
# Per board: hil compare on the first N test samples (default 300) before and after
# calibration, the calibration's spreads from the board's truth (analyse.mjs), and what each
# realised parameter costs (decompose.mjs, the float engine on the realised parameters).
# Writes results/mnist1d/{float,board-S-*}.json and summary.json. Run from the repository root
# after npm run build: bash examples/board-calibration/mnist1d.sh
set -euo pipefail
G=${GLEKIT:-"node dist/src/cli/main.js"}
HERE=examples/board-calibration
OUT=$HERE/results/mnist1d
N=${N:-300}
mkdir -p "$OUT"
$G retime --model examples/robustness-mnist1d/model.json --factor 4 --out "$OUT/model-x4.json" > /dev/null
$G eval --model "$OUT/model-x4.json" --task mnist1d --json | tail -1 > "$OUT/float.json"
$G compile --model "$OUT/model-x4.json" --hw fpga-fixed16 --out "$OUT/model-x4.gled" > /dev/null 2>&1
for S in ${SEEDS:-1 2 3}; do
  B="$OUT/board-$S"
  rm -f "$B.flash" "$B".*.json
  $G board start --flash "$B.flash" --analog --seed "$S" --truth-out "$B.truth.json" --broken 0.02 --slot-size 131072 --mtu 8192 > "$B.port" 2> "$B.log" &
  BOARD=$!
  for _ in $(seq 50); do [ -s "$B.port" ] && break; sleep 0.1; done
  PORT=$(cut -d' ' -f2 "$B.port")
  $G deploy --port "$PORT" --descriptor "$OUT/model-x4.gled" --permanent > /dev/null 2>&1
  cp "$B.truth.json" "$B.uncalibrated-truth.json"
  $G hil compare --port "$PORT" --descriptor "$OUT/model-x4.gled" --task mnist1d --limit "$N" --json 2>/dev/null | tail -1 > "$B.uncalibrated.json" || true  # exits 2: the board differs from the emulator
  $G calibrate --port "$PORT" --model "$OUT/model-x4.json" --force --cache-dir "$OUT/cache" --out "$B.calibration.json" --json 2>/dev/null | tail -1 > "$B.calibrate.json"
  $G compile --model "$OUT/model-x4.json" --hw fpga-fixed16 --board-calibration "$B.calibration.json" --out "$B.calibrated.gled" > /dev/null 2>&1
  $G deploy --port "$PORT" --descriptor "$B.calibrated.gled" --permanent > /dev/null 2>&1
  cp "$B.truth.json" "$B.calibrated-truth.json"
  $G hil compare --port "$PORT" --descriptor "$B.calibrated.gled" --task mnist1d --limit "$N" --json 2>/dev/null | tail -1 > "$B.calibrated.json" || true
  kill "$BOARD"; wait "$BOARD" 2>/dev/null || true
  node $HERE/analyse.mjs "$B.calibrated-truth.json" "$B.calibration.json" > "$B.spread.json"
  for V in uncalibrated calibrated; do node $HERE/decompose.mjs "$B.$V-truth.json" "$OUT/model-x4.json" "$N" > "$B.$V-decompose.json"; done
  rm -f "$B.flash" "$B.truth.json" "$B.calibrated.gled"
done
node -e '
const fs = require("fs"); const o = "'"$OUT"'"; const seeds = "'"${SEEDS:-1 2 3}"'".split(" ").map(Number);
const read = (f) => JSON.parse(fs.readFileSync(`${o}/${f}`, "utf8"));
const ms = (v) => { const m = v.reduce((a, b) => a + b, 0) / v.length; return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1)), values: v }; };
const r = { samples: read(`board-${seeds[0]}.uncalibrated.json`).samples, floatAccuracy: read("float.json").testAccuracy,
  emulatorAccuracy: read(`board-${seeds[0]}.uncalibrated.json`).emulatorAccuracy };
for (const v of ["uncalibrated", "calibrated"]) r[v] = ms(seeds.map((s) => read(`board-${s}.${v}.json`).accuracy));
r.spread = {};
for (const p of ["tauM", "tauR", "gain", "offset"]) r.spread[p] = { before: ms(seeds.map((s) => read(`board-${s}.spread.json`).params[p].working.before)), after: ms(seeds.map((s) => read(`board-${s}.spread.json`).params[p].working.after)) };
r.okNeurons = seeds.map((s) => read(`board-${s}.calibrate.json`).stats.okNeurons);
r.calibrationSeconds = ms(seeds.map((s) => read(`board-${s}.calibrate.json`).stats.seconds));
r.decompose = {};
for (const v of ["uncalibrated", "calibrated"]) {
  const rows = seeds.map((s) => read(`board-${s}.${v}-decompose.json`).accuracy);
  r.decompose[v] = Object.fromEntries(Object.keys(rows[0]).map((k) => [k, ms(rows.map((x) => x[k]))]));
}
fs.writeFileSync(`${o}/summary.json`, JSON.stringify(r, null, 1) + "\n"); console.log(JSON.stringify(r));'
