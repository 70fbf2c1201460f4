/**
 * `glekit calibrate`: the board's readout first (the ADC's reliable span sets the probe
 * levels; the read noise is measured), then every parameter: measured at the nominal
 * codes, its direction found, its codes searched for all neurons at once (search.ts),
 * then one final check of every parameter at the codes found, which gives the success
 * mask and the spread before and after. The result goes to a calibration file keyed by
 * board id, firmware and targets hash; the same key is reused unless forced. Progress is
 * kept after every stage (atomically, beside the cache entry), so a run that loses the
 * board resumes there, and a board that stops answering ends the run with a
 * CalibrationInterrupted error that names the stage; the cache entry is written only
 * whole.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { BridgeError, type AnalogInfo, type BoardClient } from '../bridge/index.js';
import { GlekitError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { VERSION } from '../version.js';
import {
  CALIBRATION_FORMAT,
  cachePath,
  cachedCalibration,
  calibrationContentHash,
  calibrationKey,
  checkCalibrationFits,
  writeCalibration,
  type BoardCalibration,
  type CalibrationStats,
  type LayerCalibration,
  type Spread,
} from './file.js';
import { Prober, planProbes, type Estimates } from './measure.js';
import { CodeSearch, majorityDirection } from './search.js';
import { PARAMS, neuronCount, targetsHash, type CalibrationTargets, type ParamName } from './targets.js';

export interface CalibrateOptions {
  /** also write the calibration here */
  out?: string;
  force?: boolean;
  /** the cache directory (default cacheDirectory()) */
  cacheDir?: string;
  /** measurements per round during the search: of gain and offset (default 1); of the time constants twice as many */
  repeats?: number;
  /** measurements per code at the end of the search and in the final check (default 3) */
  finalRepeats?: number;
  /** per parameter: the largest deviation that counts as calibrated (relative for taus and gain; in ADC steps for the offset) */
  tolerance?: Partial<Record<ParamName, number>>;
  onProgress?: (stage: string, round: number) => void;
}

export interface CalibrateResult {
  calibration: BoardCalibration;
  /** the cache entry */
  path: string;
  reused: boolean;
  /** stages taken over from an interrupted run */
  resumedStages: string[];
}

/** The board stopped answering (or rebooted away from the image) in the middle of a calibration. */
export class CalibrationInterrupted extends GlekitError {
  constructor(
    readonly stage: string,
    readonly progressFile: string,
    cause: Error,
  ) {
    super(
      `calibration interrupted in stage '${stage}': ${cause.message}; the stages done are kept in ${progressFile} and a new run with the same board and targets resumes after them`,
    );
    this.name = 'CalibrationInterrupted';
  }
}

const DEFAULT_TOLERANCE: Record<ParamName, number> = { tauM: 0.2, tauR: 0.2, gain: 0.15, offset: 10 };

const STAGES = ['readout', 'before', 'direction', 'offset+gain', 'tauM', 'tauR', 'check'] as const;
type Stage = (typeof STAGES)[number];

interface Progress {
  key: string;
  done: Stage[];
  codes: number[];
  nominal: number[];
  readNoise: number;
  before: Partial<Record<ParamName, (number | null)[]>>;
  directions: Partial<Record<ParamName, number>>;
  reachable: Partial<Record<ParamName, boolean[]>>;
  measured: Partial<Record<ParamName, (number | null)[]>>;
  stages: Record<string, { rounds: number; seconds: number }>;
  counters: { rounds: number; probes: number; bytesRead: number; seconds: number };
}

const toList = (a: Float64Array | undefined): (number | null)[] => Array.from(a ?? [], (v) => (Number.isFinite(v) ? v : null));
const fromList = (a: (number | null)[] | undefined, n: number): Float64Array => Float64Array.from(a ?? new Array<null>(n).fill(null), (v) => v ?? NaN);

function flatTargets(t: CalibrationTargets, p: ParamName): Float64Array {
  return Float64Array.from(t.layers.flatMap((l) => l[p]));
}

function spreadOf(values: Float64Array, target: Float64Array, p: ParamName, use: boolean[]): Spread {
  const ratios: number[] = [],
    diffs: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (!use[i] || !Number.isFinite(values[i])) continue;
    ratios.push(values[i] / target[i]);
    diffs.push(values[i] - target[i]);
  }
  const stat = (v: number[]): { m: number; s: number } | null => {
    if (v.length < 2) return null;
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return { m, s: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) };
  };
  const r = p === 'offset' ? null : stat(ratios);
  const d = stat(diffs);
  return { cv: r === null ? null : r.s / r.m, meanRatio: r === null ? null : r.m, std: p === 'offset' ? (d?.s ?? null) : null };
}

/** Calibrates the board for these targets, or takes the cached calibration of the same key. */
export async function calibrateBoard(client: BoardClient, targets: CalibrationTargets, opts: CalibrateOptions = {}): Promise<CalibrateResult> {
  const info = await client.info();
  const analog = checkAnalogBoard(client, info.analog, targets);
  const tHash = targetsHash(targets);
  const path = cachePath(info.boardId, info.firmware, tHash, opts.cacheDir);
  if (!opts.force) {
    const cached = cachedCalibration(path);
    if (cached !== null) {
      checkCalibrationFits(cached, path, { boardId: info.boardId, firmware: info.firmware, targetsHash: tHash, what: 'these targets' });
      if (opts.out !== undefined) writeCalibration(opts.out, cached);
      return { calibration: cached, path, reused: true, resumedStages: [] };
    }
  }
  const key = calibrationKey(info.boardId, info.firmware, tHash);
  const progressPath = `${path}.progress.json`;
  let progress = opts.force ? null : readProgress(progressPath, key);
  const resumedStages = progress?.done.slice() ?? [];
  const plan = planProbes(targets, analog);
  const prober = new Prober(client, analog, targets, plan);
  const n = prober.neurons;
  if (progress === null) {
    const nominal = Array.from(await client.trimGet());
    if (nominal.length !== 4 * n) throw new GlekitError(`port ${client.port}: TRIM_GET gave ${nominal.length} codes, expected 4 x ${n}`);
    progress = {
      key,
      done: [],
      codes: nominal.slice(),
      nominal,
      readNoise: NaN,
      before: {},
      directions: {},
      reachable: {},
      measured: {},
      stages: {},
      counters: { rounds: 0, probes: 0, bytesRead: 0, seconds: 0 },
    };
  }
  const p = progress;
  const tol = { ...DEFAULT_TOLERANCE, ...opts.tolerance };
  const ctx: StageContext = { prober, targets, p, opts, n, maxCode: 2 ** analog.trimBits - 1 };
  for (const stage of STAGES) {
    if (p.done.includes(stage)) continue;
    const t0 = performance.now();
    const r0 = prober.counters.rounds;
    try {
      await runStage(stage, ctx);
    } catch (err) {
      if (err instanceof BridgeError) throw new CalibrationInterrupted(stage, progressPath, err);
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    p.stages[stage] = { rounds: prober.counters.rounds - r0, seconds };
    p.counters.rounds += prober.counters.rounds - r0;
    p.counters.seconds += seconds;
    p.done.push(stage);
    writeFileAtomic(
      progressPath,
      JSON.stringify({
        ...p,
        counters: { ...p.counters, probes: prober.counters.probes + baseProbes(p), bytesRead: prober.counters.bytesRead + baseBytes(p) },
      }),
    );
  }
  const calibration = assemble(info.boardId, info.firmware, tHash, targets, analog, plan, p, tol, prober);
  writeCalibration(path, calibration);
  if (opts.out !== undefined) writeCalibration(opts.out, calibration);
  if (existsSync(progressPath)) rmSync(progressPath, { force: true });
  return { calibration, path, reused: false, resumedStages };
}

// probes and bytes of earlier (interrupted) runs, kept in the progress file
const resumedTotals = new WeakMap<Progress, { probes: number; bytesRead: number }>();
function baseProbes(p: Progress): number {
  return resumedTotals.get(p)?.probes ?? 0;
}
function baseBytes(p: Progress): number {
  return resumedTotals.get(p)?.bytesRead ?? 0;
}

function readProgress(path: string, key: string): Progress | null {
  if (!existsSync(path)) return null;
  try {
    const p = JSON.parse(readFileSync(path, 'utf8')) as Progress;
    if (p.key !== key || !Array.isArray(p.done) || !Array.isArray(p.codes)) return null;
    resumedTotals.set(p, { probes: p.counters.probes, bytesRead: p.counters.bytesRead });
    return p;
  } catch {
    // a progress file is written atomically, so this is not ours to trust: start again
    return null;
  }
}

function checkAnalogBoard(client: BoardClient, analog: AnalogInfo | null, targets: CalibrationTargets): AnalogInfo {
  if (analog === null || !client.boardInfo?.capabilities.includes('probe')) {
    throw new GlekitError(
      `port ${client.port}: the board is not an analog board with probes (its INFO has no 'analog' map or no "probe" capability): there is nothing to calibrate`,
    );
  }
  if (analog.params.join(',') !== PARAMS.join(',')) {
    throw new GlekitError(`port ${client.port}: the board trims ${JSON.stringify(analog.params)}, this glekit calibrates ${JSON.stringify(PARAMS)}`);
  }
  const want = neuronCount(targets);
  if (analog.neurons === 0)
    throw new GlekitError(`port ${client.port}: the board runs no image: deploy the network's descriptor first (glekit deploy), then calibrate`);
  if (analog.neurons !== want) {
    throw new GlekitError(
      `port ${client.port}: the board's image has ${analog.neurons} neurons, the targets ${want} (${targets.layers.map((l) => l.nOut).join('-')}): deploy the descriptor of the same network`,
    );
  }
  return analog;
}

interface StageContext {
  prober: Prober;
  targets: CalibrationTargets;
  p: Progress;
  opts: CalibrateOptions;
  n: number;
  maxCode: number;
}

const slice = (codes: number[], k: number, n: number): Uint16Array => Uint16Array.from(codes.slice(k * n, (k + 1) * n));

async function measureAll(ctx: StageContext, codes: Uint16Array, repeats: number): Promise<Estimates> {
  return { ...(await ctx.prober.measureStatic(codes, repeats)), ...(await ctx.prober.measureStep(codes, repeats)) };
}

async function runStage(stage: Stage, ctx: StageContext): Promise<void> {
  const { p, prober, n } = ctx;
  const finalRepeats = ctx.opts.finalRepeats ?? 3;
  switch (stage) {
    case 'readout': {
      // every layer answers a probe with its size, and the settled membrane's noise
      ctx.opts.onProgress?.(stage, 0);
      p.readNoise = await prober.readNoise(Uint16Array.from(p.codes));
      return;
    }
    case 'before': {
      ctx.opts.onProgress?.(stage, 0);
      const e = await measureAll(ctx, Uint16Array.from(p.nominal), finalRepeats);
      for (const q of PARAMS) p.before[q] = toList(e[q]);
      return;
    }
    case 'direction': {
      // every code moved by a sixteenth of the range (down where that would leave it)
      ctx.opts.onProgress?.(stage, 0);
      const delta = Math.max(1, Math.round((ctx.maxCode + 1) / 16));
      const moved = p.nominal.map((c) => (c + delta <= ctx.maxCode ? c + delta : c - delta));
      const e = await measureAll(ctx, Uint16Array.from(moved), 1);
      PARAMS.forEach((q, k) => {
        const d = Int32Array.from({ length: n }, (_, i) => moved[k * n + i] - p.nominal[k * n + i]);
        const dir = majorityDirection(fromList(p.before[q], n), e[q]!, d);
        if (dir === 0)
          throw new GlekitError(
            `port ${prober.client.port}: calibrate: no neuron's ${q} measured at two codes, so the direction of its trim is unknown (is the image's network what the targets say?)`,
          );
        p.directions[q] = dir;
      });
      return;
    }
    case 'offset+gain':
      return searchStage(ctx, stage, ['offset', 'gain'], (codes) => prober.measureStatic(codes, ctx.opts.repeats ?? 1));
    case 'tauM':
      return searchStage(ctx, stage, ['tauM'], (codes) => prober.measureStep(codes, 2 * (ctx.opts.repeats ?? 1)));
    case 'tauR':
      return searchStage(ctx, stage, ['tauR'], (codes) => prober.measureStep(codes, 2 * (ctx.opts.repeats ?? 1)));
    case 'check': {
      ctx.opts.onProgress?.(stage, 0);
      const e = await measureAll(ctx, Uint16Array.from(p.codes), finalRepeats);
      for (const q of PARAMS) p.measured[q] = toList(e[q]);
      return;
    }
  }
}

async function searchStage(ctx: StageContext, stage: string, params: ParamName[], measure: (codes: Uint16Array) => Promise<Estimates>): Promise<void> {
  const { p, n } = ctx;
  // The search starts from a measurement under the codes found so far, not from the
  // uncalibrated one: at the nominal codes of every parameter a fit can fail (a saturated
  // rate gives no tau_r), and a neuron without a start value could never be searched.
  ctx.opts.onProgress?.(stage, 0);
  const start = await measure(Uint16Array.from(p.codes));
  const searches = params.map((q) => {
    const k = PARAMS.indexOf(q);
    return new CodeSearch(flatTargets(ctx.targets, q), slice(p.codes, k, n), start[q]!, p.directions[q]!, {
      maxCode: ctx.maxCode,
      finalRepeats: ctx.opts.finalRepeats ?? 3,
      log: q === 'tauM' || q === 'tauR' || q === 'gain',
    });
  });
  for (let round = 1; ; round++) {
    const next = searches.map((s) => s.next());
    if (next.every((c) => c === null)) break;
    const codes = Uint16Array.from(p.codes);
    params.forEach((q, j) => {
      const c = next[j] ?? Uint16Array.from(searches[j].results().map((r) => r.code));
      codes.set(c, PARAMS.indexOf(q) * n);
    });
    ctx.opts.onProgress?.(stage, round);
    const e = await measure(codes);
    searches.forEach((s, j) => {
      if (next[j] !== null) s.observe(e[params[j]]!);
    });
  }
  params.forEach((q, j) => {
    const r = searches[j].results();
    const k = PARAMS.indexOf(q);
    r.forEach((x, i) => {
      p.codes[k * n + i] = x.code;
    });
    p.reachable[q] = r.map((x) => x.reachable);
  });
}

function assemble(
  boardId: string,
  firmware: string,
  tHash: string,
  targets: CalibrationTargets,
  analog: AnalogInfo,
  plan: ReturnType<typeof planProbes>,
  p: Progress,
  tol: Record<ParamName, number>,
  prober: Prober,
): BoardCalibration {
  const n = prober.neurons;
  const okFlat: Record<ParamName, boolean[]> = { tauM: [], tauR: [], gain: [], offset: [] };
  for (const q of PARAMS) {
    const target = flatTargets(targets, q);
    const measured = fromList(p.measured[q], n);
    const reach = p.reachable[q] ?? [];
    const lsbOf = (i: number): number => {
      let l = 0;
      while (l + 1 < prober.offsets.length && prober.offsets[l + 1] <= i) l++;
      return prober.lsb[l];
    };
    for (let i = 0; i < n; i++) {
      const dev = q === 'offset' ? Math.abs(measured[i] - target[i]) / lsbOf(i) : Math.abs(measured[i] / target[i] - 1);
      okFlat[q].push(reach[i] === true && Number.isFinite(dev) && dev <= tol[q]);
    }
  }
  const neuronOk = Array.from({ length: n }, (_, i) => PARAMS.every((q) => okFlat[q][i]));
  const layers: LayerCalibration[] = targets.layers.map((l, li) => {
    const at = prober.offsets[li];
    const params = Object.fromEntries(
      PARAMS.map((q, k) => [
        q,
        {
          codes: p.codes.slice(k * n + at, k * n + at + l.nOut),
          target: l[q].slice(),
          before: (p.before[q] ?? []).slice(at, at + l.nOut),
          measured: (p.measured[q] ?? []).slice(at, at + l.nOut),
          ok: okFlat[q].slice(at, at + l.nOut),
        },
      ]),
    ) as LayerCalibration['params'];
    return { nOut: l.nOut, params, ok: neuronOk.slice(at, at + l.nOut) };
  });
  const all = new Array<boolean>(n).fill(true);
  const spread = Object.fromEntries(
    PARAMS.map((q) => {
      const t = flatTargets(targets, q);
      return [q, { before: spreadOf(fromList(p.before[q], n), t, q, all), after: spreadOf(fromList(p.measured[q], n), t, q, neuronOk) }];
    }),
  ) as CalibrationStats['spread'];
  const totals = resumedTotals.get(p) ?? { probes: 0, bytesRead: 0 };
  const body: Omit<BoardCalibration, 'contentHash'> = {
    format: CALIBRATION_FORMAT,
    tool: `glekit ${VERSION}`,
    createdAt: new Date().toISOString(),
    board: { id: boardId, firmware },
    targetsHash: tHash,
    targets,
    params: [...PARAMS],
    trimBits: analog.trimBits,
    adc: { ...analog.adc },
    probe: { staticLevels: plan.staticLevels, stepLevel: plan.stepLevel, staticSteps: plan.staticSteps, stepSteps: plan.stepSteps },
    tolerance: tol,
    layers,
    stats: {
      rounds: p.counters.rounds,
      probes: totals.probes + prober.counters.probes,
      bytesRead: totals.bytesRead + prober.counters.bytesRead,
      seconds: p.counters.seconds,
      stages: p.stages,
      okNeurons: neuronOk.filter((x) => x).length,
      neurons: n,
      spread,
      readNoise: p.readNoise,
    },
  };
  return { ...body, contentHash: calibrationContentHash(body) };
}
