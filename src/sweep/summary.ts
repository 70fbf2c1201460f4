/**
 * From records to what a user reads: per point the mean, standard deviation (n - 1)
 * and count of the accuracy over chips, as a table and as plots of accuracy against
 * each varied parameter with one-std error bars.
 */
import { join } from 'node:path';
import type { Overrides } from '../hw/index.js';
import { writeFileAtomic } from '../util/files.js';
import type { Divergence, JobRecord } from './job.js';
import { axisLabel, pointKey, type VaryAxis } from './plan.js';

export interface PointSummary {
  params: Overrides;
  accuracyMean: number;
  accuracyStd: number;
  n: number;
  /** before training in the loop (equal to accuracy when there was none) */
  accuracyBeforeTrainingMean: number;
  accuracyBeforeTrainingStd: number;
  /** jobs of this point whose network diverged: left out of the means, listed with where and when */
  diverged: { seed: number; divergence: Divergence }[];
}

/** Sorted first: jobs finish in any order, and the summary must not depend on it to the last bit. */
function meanStd(values: number[]): { mean: number; std: number } {
  const xs = [...values].sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: 0 };
  return { mean, std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) };
}

/** One summary per grid point, in grid order; points without records have n = 0. */
export function summarise(points: readonly Overrides[], records: Iterable<Pick<JobRecord, 'params' | 'seed' | 'metrics'>>): PointSummary[] {
  const byKey = new Map<string, Pick<JobRecord, 'seed' | 'metrics'>[]>();
  for (const p of points) byKey.set(pointKey(p), []);
  for (const r of records) byKey.get(pointKey(r.params))?.push(r);
  return points.map((params) => {
    // in seed order, so that the sums (and their last bits) do not depend on the order jobs finished in
    const all = byKey.get(pointKey(params))!.sort((x, y) => x.seed - y.seed);
    const diverged = all.filter((r) => r.metrics.diverged != null).map((r) => ({ seed: r.seed, divergence: r.metrics.diverged! }));
    const e = all.filter((r) => r.metrics.diverged == null);
    const a = meanStd(e.map((r) => r.metrics.accuracy ?? NaN));
    // a job that diverged in training in the loop was still measured before it
    const b = meanStd(all.filter((r) => r.metrics.accuracyBeforeTraining !== null).map((r) => r.metrics.accuracyBeforeTraining!));
    return { params, accuracyMean: a.mean, accuracyStd: a.std, n: e.length, accuracyBeforeTrainingMean: b.mean, accuracyBeforeTrainingStd: b.std, diverged };
  });
}

const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(2) : '-');

/** One line per diverged job: the point, the chip seed, and where and when its network stopped being finite. */
export function formatDivergences(axes: readonly VaryAxis[], summary: readonly PointSummary[]): string[] {
  return summary.flatMap((s) =>
    s.diverged.map(({ seed, divergence: d }) => {
      const point = axes.map((a) => `${axisLabel(a)}=${s.params[a.names[0]]}`).join(', ');
      const when = d.epoch === null ? d.stage : `${d.stage}, epoch ${d.epoch}`;
      return `diverged: ${point === '' ? '' : `${point}, `}chip seed ${seed}: ${d.where} = ${d.value} (${when}); left out of the mean`;
    }),
  );
}

/** A markdown table: one column per axis, then accuracy mean and std in %, n, and the diverged jobs when there are any. */
export function formatTable(axes: readonly VaryAxis[], summary: readonly PointSummary[], trained: boolean): string {
  const anyDiverged = summary.some((s) => s.diverged.length > 0);
  const head = [...axes.map(axisLabel), 'accuracy %', 'std %', 'n', ...(anyDiverged ? ['diverged'] : [])];
  if (trained) head.splice(axes.length, 0, 'before training %', 'std %');
  const rows = summary.map((s) => {
    const cells = axes.map((a) => String(s.params[a.names[0]]));
    if (trained) cells.push(pct(s.accuracyBeforeTrainingMean), pct(s.accuracyBeforeTrainingStd));
    cells.push(pct(s.accuracyMean), pct(s.accuracyStd), String(s.n));
    if (anyDiverged) cells.push(String(s.diverged.length));
    return cells;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * Plots of mean accuracy (%) against each axis, one line per combination of the other
 * axes' values, error bars one std over chips. Returns the files written.
 */
export async function writeSweepPlots(dir: string, axes: readonly VaryAxis[], summary: readonly PointSummary[], title: string): Promise<string[]> {
  const { writePlot } = await import('../plot/index.js');
  const files: string[] = [];
  for (const axis of axes) {
    const others = axes.filter((a) => a !== axis);
    const points = summary
      .filter((s) => s.n > 0)
      .map((s) => {
        const series = others.map((o) => `${axisLabel(o)}=${s.params[o.names[0]]}`).join(', ');
        return { x: s.params[axis.names[0]] as number, y: 100 * s.accuracyMean, yError: 100 * s.accuracyStd, ...(series === '' ? {} : { series }) };
      });
    if (points.length === 0) continue;
    const label = axisLabel(axis);
    const paths = await writePlot(join(dir, `accuracy-vs-${label}`), {
      title: `${title}: accuracy vs ${label}`,
      xLabel: label,
      yLabel: 'accuracy % (mean +- std over chips)',
      points,
    });
    files.push(paths.svg, paths.png);
  }
  return files;
}

export function writeSummaryFiles(dir: string, axes: readonly VaryAxis[], summary: readonly PointSummary[], trained: boolean, header: string): string[] {
  const json = join(dir, 'summary.json');
  const md = join(dir, 'summary.md');
  writeFileAtomic(
    json,
    JSON.stringify(
      {
        points: summary.map((s) => ({
          params: s.params,
          accuracyMean: s.accuracyMean,
          accuracyStd: s.accuracyStd,
          n: s.n,
          accuracyBeforeTrainingMean: s.accuracyBeforeTrainingMean,
          accuracyBeforeTrainingStd: s.accuracyBeforeTrainingStd,
          ...(s.diverged.length > 0 ? { diverged: s.diverged } : {}),
        })),
      },
      null,
      1,
    ) + '\n',
  );
  const divergences = formatDivergences(axes, summary);
  writeFileAtomic(md, `${header}\n\n${formatTable(axes, summary, trained)}\n${divergences.length > 0 ? `\n${divergences.join('\n')}\n` : ''}`);
  return [json, md];
}
