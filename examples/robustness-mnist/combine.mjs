// The three tau-mismatch sweeps of run.sh in one plot: le-tau-mismatch.svg/png.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePlot } from '../../dist/src/plot/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const series = [
  ['tau-cv', 'as trained'],
  ['tau-cv-train-reset', 'loop: W, b'],
  ['tau-cv-learn-tau-reset', 'loop: W, b, tau_m'],
  ['tau-cv-learn-tau-fast-reset', 'loop: W, b, fast tau_m'],
];
const points = series.flatMap(([dir, name]) => {
  const s = JSON.parse(readFileSync(join(here, dir, 'summary.json'), 'utf8'));
  return s.points.map((p) => ({ x: p.params.tauMCV, y: 100 * p.accuracyMean, yError: 100 * p.accuracyStd, series: name }));
});
const files = await writePlot(join(here, 'le-tau-mismatch'), {
  title: 'LE MNIST (784-300-100-10) under tau mismatch',
  xLabel: 'CV of tau_m and tau_r, independent per neuron',
  yLabel: 'test accuracy %, mean +- std of 5 chips',
  points,
});
console.log(files.svg, files.png);
