#!/usr/bin/env node
// Per-neuron realised tau_m / target and tau_r / target of board seed 1's hidden layer,
// uncalibrated (nominal codes) and calibrated, from the board's truth file:
// docs/calibration-tau.{svg,png}. Run after run.sh: node examples/board-calibration/plot.mjs
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
const dist = resolve(process.env.GLEKIT_DIST ?? 'dist');
const { writePlot } = await import(join(dist, 'src', 'plot', 'index.js'));
const truth = JSON.parse(readFileSync('examples/board-calibration/results/truth-1.json', 'utf8'));
const cal = JSON.parse(readFileSync('calibration/examples/yinyang-board-1.json', 'utf8'));
const max = 2 ** truth.trimBits - 1;
const val = (m, c) => Math.max(m.lo * (m.hi / m.lo) ** (c / max), 0);
const points = [];
for (const n of truth.neurons.filter((x) => x.layer === 0)) {
  for (const [k, p] of [[0, 'tauM'], [1, 'tauR']]) {
    const t = n.target[p];
    let nominal = val(n.maps[p], n.nominal[k]), calibrated = val(n.maps[p], cal.layers[0].params[p].codes[n.index]);
    if (p === 'tauM') { nominal = Math.max(nominal, truth.dt); calibrated = Math.max(calibrated, truth.dt); }
    points.push({ x: n.index, y: nominal / t, series: `${p} uncalibrated` }, { x: n.index, y: calibrated / t, series: `${p} calibrated` });
  }
}
const r = await writePlot('docs/calibration-tau', {
  title: 'Board seed 1, hidden layer: realised / target time constant per neuron (board truth)',
  xLabel: 'neuron', yLabel: 'realised / target', points: points.filter((p) => p.y < 3), width: 720, height: 320, yDomain: [0.3, 2.2],
});
console.log(r.png);
