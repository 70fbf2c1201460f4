/**
 * A sweep's plan: the grid of points (one value of every varied parameter), the chip
 * seeds, and one job per (point, seed), each named by a hash of everything that decides
 * its result. The names make a sweep resumable: a job whose id is in the records file
 * is done, any other is not, whatever order the jobs finished in.
 */
import { createHash } from 'node:crypto';
import { OVERRIDE_NAMES, type OverrideName, type Overrides } from '../hw/index.js';
import { canonicalJson } from '../util/canonical-json.js';
import { GlekitError, ValidationError } from '../util/errors.js';

/** One --vary: several names move together (tauMCV+tauRCV=...) through the same values. */
export interface VaryAxis {
  names: OverrideName[];
  values: number[];
}

/** Largest grid a sweep accepts; beyond this a typo is likelier than a plan. */
export const MAX_JOBS = 1_000_000;

/** Rounds away float noise of FROM + k * STEP (0.30000000000000004 -> 0.3). */
function tidy(x: number): number {
  return Number(x.toPrecision(12));
}

function parseNumber(text: string, what: string, arg: string): number {
  const t = text.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) throw new ValidationError('--vary', arg, text, `${what} must be a number`);
  return v;
}

/**
 * Parses NAME=LIST or NAME=FROM:TO:STEP (inclusive); NAME may join several schema names
 * with '+' to move them together, e.g. tauMCV+tauRCV=0,0.1,0.2.
 */
export function parseVary(arg: string): VaryAxis {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ValidationError('--vary', arg, arg, 'must be NAME=LIST or NAME=FROM:TO:STEP (e.g. weightBits=2:16:1 or tauMCV=0,0.1,0.2)');
  const names = arg
    .slice(0, eq)
    .split('+')
    .map((s) => s.trim());
  for (const n of names) {
    if (!(OVERRIDE_NAMES as readonly string[]).includes(n)) {
      throw new ValidationError('--vary', arg, n, `names an unknown parameter (known: ${OVERRIDE_NAMES.join(', ')})`);
    }
  }
  if (new Set(names).size !== names.length) throw new ValidationError('--vary', arg, names.join('+'), 'repeats a name');
  const body = arg.slice(eq + 1).trim();
  let values: number[];
  if (body.includes(':')) {
    const parts = body.split(':');
    if (parts.length !== 3) throw new ValidationError('--vary', arg, body, 'a range must be FROM:TO:STEP');
    const [from, to, step] = parts.map((p, i) => parseNumber(p, ['FROM', 'TO', 'STEP'][i], arg));
    if (!(step > 0)) throw new ValidationError('--vary', arg, step, 'STEP must be positive');
    if (to < from) throw new ValidationError('--vary', arg, body, 'TO must not be below FROM');
    const count = Math.floor((to - from) / step + 1e-9) + 1;
    if (count > MAX_JOBS) throw new ValidationError('--vary', arg, body, `gives ${count} values, more than ${MAX_JOBS}`);
    values = Array.from({ length: count }, (_, k) => tidy(from + k * step));
  } else {
    values = body.split(',').map((p) => parseNumber(p, 'every value', arg));
  }
  if (values.length === 0) throw new ValidationError('--vary', arg, body, 'has no values');
  if (new Set(values).size !== values.length) throw new ValidationError('--vary', arg, body, 'repeats a value');
  return { names: names as OverrideName[], values };
}

/** Several --vary: the names must not overlap. */
export function parseVaries(args: readonly string[]): VaryAxis[] {
  const axes = args.map(parseVary);
  const seen = new Set<string>();
  for (const a of axes) {
    for (const n of a.names) {
      if (seen.has(n)) throw new ValidationError('--vary', n, n, 'is varied twice');
      seen.add(n);
    }
  }
  return axes;
}

export function axisLabel(a: VaryAxis): string {
  return a.names.join('+');
}

/** Every combination of the axes' values, first axis slowest. */
export function gridPoints(axes: readonly VaryAxis[]): Overrides[] {
  let points: Overrides[] = [{}];
  for (const a of axes) {
    const next: Overrides[] = [];
    for (const p of points)
      for (const v of a.values) {
        const q: Overrides = { ...p };
        for (const n of a.names) q[n] = v;
        next.push(q);
      }
    points = next;
    if (points.length > MAX_JOBS) throw new GlekitError(`the grid has more than ${MAX_JOBS} points`);
  }
  return points;
}

/** What decides every job's result apart from its point and seed. */
export interface SweepSettings {
  task: string;
  dataSeed: number;
  split: 'test' | 'validation';
  modelHash: string;
  profileName: string;
  profileHash: string;
  /** epochs of training in the loop (0: evaluate only) */
  trainOnChip: number;
  learnTau: boolean;
  /** learning rate of training in the loop */
  chipLr: number;
  /** tau_m's learning rate as a multiple of chipLr; absent when 1, so that older sweeps keep their job ids */
  tauLrFactor?: number;
  /** training in the loop resets the chip's state before each batch (ChipTrainingConfig.resetEachBatch) */
  resetState: boolean;
  kernels: string;
}

export interface Job {
  id: string;
  /** index of the point in the grid (for ordering the summary) */
  point: number;
  params: Overrides;
  seed: number;
}

export function jobId(settings: SweepSettings, params: Overrides, seed: number): string {
  return createHash('sha256').update(canonicalJson({ settings, params, seed })).digest('hex').slice(0, 20);
}

/** Chip seeds 1..seeds for every point. */
export function planJobs(settings: SweepSettings, points: readonly Overrides[], seeds: number): Job[] {
  if (points.length * seeds > MAX_JOBS) throw new GlekitError(`${points.length} points x ${seeds} seeds is more than ${MAX_JOBS} jobs`);
  const jobs: Job[] = [];
  points.forEach((params, point) => {
    for (let seed = 1; seed <= seeds; seed++) jobs.push({ id: jobId(settings, params, seed), point, params, seed });
  });
  return jobs;
}

/** A key for grouping records by point. */
export function pointKey(params: Overrides): string {
  return canonicalJson(params);
}
