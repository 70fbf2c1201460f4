/**
 * The board calibration file (calibration/README.md, calibration/schema.json): keyed by
 * board id, firmware version and the targets' hash; per layer and parameter, every
 * neuron's code, measured value and success flag; the measurement rounds and time; a
 * content hash over the rest. Written atomically; a user's own calibrations live in a
 * cache directory ($GLEKIT_CACHE/calibration, default ~/.cache/glekit/calibration).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { canonicalSha256 } from '../util/canonical-json.js';
import { GlekitError, ValidationError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { Field, isObject } from '../util/json-reader.js';
import { PARAMS, type CalibrationTargets, type ParamName } from './targets.js';

export const CALIBRATION_FORMAT = 'glekit.board-calibration/1';

export interface ParamCalibration {
  /** per neuron: the trim code found */
  codes: number[];
  /** the target the code was searched for */
  target: number[];
  /** the value measured at the nominal code, before calibration (the host's estimate) */
  before: (number | null)[];
  /** the value measured at `codes` in the final check (the host's estimate), null when it did not measure */
  measured: (number | null)[];
  /** the code reaches the target within the tolerance */
  ok: boolean[];
}

export interface LayerCalibration {
  nOut: number;
  params: Record<ParamName, ParamCalibration>;
  /** every parameter ok: the neuron may be used as calibrated */
  ok: boolean[];
}

/** Spread of the host's estimates: CV of measured / target over the neurons, and the mean ratio. */
export interface Spread {
  cv: number | null;
  meanRatio: number | null;
  /** for offsets (target 0): the std of measured - target */
  std: number | null;
}

export interface CalibrationStats {
  /** measurement rounds (TRIM_SET then one PROBE per layer and level) */
  rounds: number;
  probes: number;
  /** ADC bytes read back */
  bytesRead: number;
  seconds: number;
  /** the rounds of each stage */
  stages: Record<string, { rounds: number; seconds: number }>;
  /** neurons whose every parameter is ok / all neurons */
  okNeurons: number;
  neurons: number;
  spread: Record<ParamName, { before: Spread; after: Spread }>;
  /** the measurement noise found in the readout stage (membrane units, per sample) */
  readNoise: number;
}

export interface BoardCalibration {
  format: typeof CALIBRATION_FORMAT;
  tool: string;
  createdAt: string;
  board: { id: string; firmware: string };
  targetsHash: string;
  targets: CalibrationTargets;
  params: ParamName[];
  trimBits: number;
  adc: { bits: number; lo: number; hi: number; reliableLo: number; reliableHi: number };
  /** the probe settings the measurements used */
  probe: { staticLevels: number[][]; stepLevel: number[]; staticSteps: number; stepSteps: number };
  tolerance: Record<ParamName, number>;
  layers: LayerCalibration[];
  stats: CalibrationStats;
  contentHash: string;
}

/** A calibration file that cannot be used: truncated, damaged, of another format, or for another board or targets. */
export class CalibrationFileError extends GlekitError {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationFileError';
  }
}

export function calibrationContentHash(c: Omit<BoardCalibration, 'contentHash'> & { contentHash?: string }): string {
  const { contentHash: _drop, ...rest } = c;
  return `sha256:${canonicalSha256(rest)}`;
}

/** The cache key: board id, firmware version, targets hash. */
export function calibrationKey(boardId: string, firmware: string, targetsHash: string): string {
  return createHash('sha256').update(`${boardId}\n${firmware}\n${targetsHash}`).digest('hex');
}

export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.GLEKIT_CACHE !== undefined && env.GLEKIT_CACHE !== '' ? env.GLEKIT_CACHE : join(homedir(), '.cache', 'glekit');
  return join(base, 'calibration');
}

/** Where the cache keeps the calibration of this key: <dir>/<board>-<key16>.json. */
export function cachePath(boardId: string, firmware: string, targetsHash: string, dir = cacheDirectory()): string {
  const safe = boardId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'board';
  return join(dir, `${safe}-${calibrationKey(boardId, firmware, targetsHash).slice(0, 16)}.json`);
}

export function writeCalibration(path: string, c: BoardCalibration): void {
  writeFileAtomic(path, `${JSON.stringify(c, null, 1)}\n`);
}

function nullableNumbers(f: Field, n: number): (number | null)[] {
  return f.array(n).map((x) => (x.isNull() ? null : x.number()));
}

/** Reads and checks a calibration file; every problem is a CalibrationFileError naming the file. */
export function readCalibration(path: string): BoardCalibration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CalibrationFileError(`${path}: cannot read the calibration file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CalibrationFileError(
      `${path}: the calibration file is truncated or not JSON (${(err as Error).message}); run glekit calibrate again (--force) to remake it`,
    );
  }
  try {
    return checkCalibration(doc, path);
  } catch (err) {
    if (err instanceof ValidationError) throw new CalibrationFileError(`${path}: not a usable calibration file: ${err.message}`);
    throw err;
  }
}

function checkCalibration(doc: unknown, path: string): BoardCalibration {
  const root = new Field(path, '', doc).object();
  if (root.child('format').string() !== CALIBRATION_FORMAT) root.child('format').fail(`must be "${CALIBRATION_FORMAT}"`);
  const c = doc as BoardCalibration;
  const hash = root.child('contentHash').string();
  if (!isObject(c.board) || typeof c.board.id !== 'string' || typeof c.board.firmware !== 'string') root.child('board').fail('must be {id, firmware}');
  root.child('targetsHash').string();
  const params = root
    .child('params')
    .array(4)
    .map((p) => p.string());
  if (params.join(',') !== PARAMS.join(',')) root.child('params').fail(`must be ${JSON.stringify(PARAMS)}`);
  root.child('trimBits').number({ integer: true, min: 1, max: 16 });
  const layers = root.child('layers').array();
  const tl = root.child('targets').child('layers').array(layers.length);
  layers.forEach((lf, l) => {
    const nOut = lf.child('nOut').number({ integer: true, min: 1 });
    if (tl[l].child('nOut').number({ integer: true }) !== nOut) lf.child('nOut').fail(`differs from targets.layers[${l}].nOut`);
    lf.child('ok')
      .array(nOut)
      .forEach((x) => x.boolean());
    for (const p of PARAMS) {
      const pf = lf.child('params').child(p).object();
      pf.child('codes')
        .array(nOut)
        .forEach((x) => x.number({ integer: true, min: 0, max: 2 ** c.trimBits - 1 }));
      pf.child('target')
        .array(nOut)
        .forEach((x) => x.number());
      nullableNumbers(pf.child('before'), nOut);
      nullableNumbers(pf.child('measured'), nOut);
      pf.child('ok')
        .array(nOut)
        .forEach((x) => x.boolean());
    }
  });
  const want = calibrationContentHash(c);
  if (hash !== want) {
    throw new CalibrationFileError(`${path}: the calibration file is damaged or was edited: its content hash is ${hash}, its content hashes to ${want}`);
  }
  return c;
}

/** A calibration from the cache, or null when there is none (a damaged cache entry is an error naming it). */
export function cachedCalibration(path: string): BoardCalibration | null {
  return existsSync(path) ? readCalibration(path) : null;
}

/** Per-layer trim codes, parameter-major (the descriptor's `trims` and TRIM_SET's order within a layer). */
export function layerTrims(c: BoardCalibration): Uint16Array[] {
  return c.layers.map((l) => {
    const out = new Uint16Array(4 * l.nOut);
    PARAMS.forEach((p, k) =>
      l.params[p].codes.forEach((code, i) => {
        out[k * l.nOut + i] = code;
      }),
    );
    return out;
  });
}

/**
 * Refuses a calibration made on another board or for other targets, naming both sides.
 * `expected.boardId` may be null when no board is at hand (compile).
 */
export function checkCalibrationFits(
  c: BoardCalibration,
  path: string,
  expected: { boardId?: string | null; firmware?: string | null; targetsHash: string; what: string },
): void {
  if (expected.boardId != null && c.board.id !== expected.boardId) {
    throw new CalibrationFileError(`${path}: this calibration is of board ${c.board.id}, not of board ${expected.boardId}`);
  }
  if (expected.firmware != null && c.board.firmware !== expected.firmware) {
    throw new CalibrationFileError(`${path}: this calibration was made with firmware ${c.board.firmware}, the board runs ${expected.firmware}`);
  }
  if (c.targetsHash !== expected.targetsHash) {
    const shape = (ls: { nOut: number }[]): string => ls.map((l) => l.nOut).join('-');
    throw new CalibrationFileError(
      `${path}: this calibration is for other targets (targets ${c.targetsHash.slice(0, 16)}, layers ${shape(c.targets.layers)}) ` +
        `than ${expected.what} (targets ${expected.targetsHash.slice(0, 16)})`,
    );
  }
}
