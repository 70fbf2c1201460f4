/**
 * Learning curves of a run, as data (CSV for spreadsheets and plotting tools, JSON for
 * programs) after every epoch, and as plots (SVG and PNG) at the end of the run.
 */
import { join } from 'node:path';
import { writePlot, type PlotPoint } from '../plot/index.js';
import { writeFileAtomic } from '../util/files.js';
import type { EpochRecord } from './plateau.js';

const COLUMNS: (keyof EpochRecord)[] = ['epoch', 'trainAccuracy', 'trainLoss', 'validationAccuracy', 'validationLoss', 'testAccuracy', 'lr', 'seconds'];

/** One row per epoch; values not measured in an epoch are left empty. */
export function curvesCsv(history: EpochRecord[]): string {
  const rows = history.map((h) => COLUMNS.map((c) => (Number.isFinite(h[c]) ? String(h[c]) : '')).join(','));
  return [COLUMNS.join(','), ...rows].join('\n') + '\n';
}

export function writeCurveData(runDir: string, meta: Record<string, unknown>, history: EpochRecord[]): void {
  writeFileAtomic(join(runDir, 'curves.csv'), curvesCsv(history));
  const epochs = history.map((h) => Object.fromEntries(COLUMNS.map((c) => [c, Number.isFinite(h[c]) ? h[c] : null])));
  writeFileAtomic(join(runDir, 'curves.json'), JSON.stringify({ ...meta, columns: COLUMNS, epochs }, null, 1) + '\n');
}

function series(history: EpochRecord[], key: keyof EpochRecord, name: string, scale = 1): PlotPoint[] {
  return history.filter((h) => Number.isFinite(h[key])).map((h) => ({ x: h.epoch, y: scale * h[key], series: name }));
}

/** accuracy.svg/png (train, validation, test in %) and loss.svg/png (train and validation loss). */
export async function writeCurvePlots(runDir: string, title: string, history: EpochRecord[]): Promise<string[]> {
  const written: string[] = [];
  const accuracy = [
    ...series(history, 'trainAccuracy', 'train', 100),
    ...series(history, 'validationAccuracy', 'validation', 100),
    ...series(history, 'testAccuracy', 'test', 100),
  ];
  if (accuracy.length > 0) {
    const p = await writePlot(join(runDir, 'accuracy'), { title: `${title}: accuracy`, xLabel: 'epoch', yLabel: 'accuracy (%)', points: accuracy });
    written.push(p.svg, p.png);
  }
  const loss = [...series(history, 'trainLoss', 'train'), ...series(history, 'validationLoss', 'validation')];
  if (loss.length > 0) {
    const p = await writePlot(join(runDir, 'loss'), { title: `${title}: loss`, xLabel: 'epoch', yLabel: 'loss', points: loss });
    written.push(p.svg, p.png);
  }
  return written;
}
