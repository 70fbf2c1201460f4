// The tau-mismatch sweeps in two plots, run after run.sh:
// le-tau-mismatch.svg/png: as trained, 10 epochs in the loop, 10 epochs in the loop learning tau_m;
// le-tau-mismatch-reset.svg/png: the follow-up with the chip's state reset before each training batch.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePlot } from '../../dist/src/plot/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const plots = [
  ['le-tau-mismatch', 'state carried over', [
    ['tau-cv', 'as trained'],
    ['tau-cv-train', 'loop: W, b'],
    ['tau-cv-learn-tau', 'loop: W, b, tau_m'],
  ]],
  ['le-tau-mismatch-reset', 'state reset per batch', [
    ['tau-cv', 'as trained'],
    ['tau-cv-train-reset', 'loop: W, b'],
    ['tau-cv-learn-tau-reset', 'loop: W, b, tau_m'],
  ]],
];
for (const [file, subtitle, series] of plots) {
  const points = series.flatMap(([dir, name]) => {
    const s = JSON.parse(readFileSync(join(here, dir, 'summary.json'), 'utf8'));
    return s.points.map((p) => ({ x: p.params.tauMCV, y: 100 * p.accuracyMean, yError: 100 * p.accuracyStd, series: name }));
  });
  const files = await writePlot(join(here, file), {
    title: `LE Yin-Yang under tau mismatch (${subtitle})`,
    xLabel: 'CV of tau_m and tau_r, independent per neuron',
    yLabel: 'test accuracy %, mean +- std of 10 chips',
    points,
  });
  console.log(files.svg, files.png);
}
