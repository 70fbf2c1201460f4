/**
 * Checkpoints: everything a killed run needs to continue exactly as if it had never
 * stopped. After epoch k that is the parameters, the optimizer's memory (SGD momentum,
 * Adam moments) and update count, the training network's dynamic state (a held
 * presentation does not reset it between batches, so it carries across epochs), the
 * plateau schedule and the history. The data order needs no state: epoch k's order is
 * drawn from its own stream derived from (seed, k).
 *
 * The file is JSON with every array stored as base64 of its float64 bytes (little
 * endian), which is exact for float32 and float64 engines alike and ten times smaller
 * and faster than decimal text. Like the model file it carries a format version and a
 * SHA-256 over its content, and it is validated on load with errors that name the field.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { parseActivation } from '../engine/activations.js';
import type { FloatArray } from '../engine/kernels.js';
import type { MachineInfo } from '../engine/machine.js';
import type { Network } from '../engine/network.js';
import type { LayerParameters } from '../engine/types.js';
import { canonicalJson } from '../util/canonical-json.js';
import { ValidationError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { Field, readJsonFile } from '../util/json-reader.js';
import type { EpochRecord, PlateauState } from './plateau.js';

export const CHECKPOINT_FORMAT = 'glekit-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;

export interface OptimizerMemory {
  weights: Float64Array[];
  bias: Float64Array[];
  tauM: Float64Array[];
}

/** The dynamic state a step reads: what the previous step left. */
export interface LayerDynamics {
  u: Float64Array;
  v: Float64Array;
  r: Float64Array;
  rp: Float64Array;
  eb: Float64Array;
}

export interface TrainingState {
  /** epochs completed */
  epochsDone: number;
  layers: LayerParameters[];
  /** Adam's t: updates applied so far */
  updateCount: number;
  optimizer: OptimizerMemory[];
  batch: number;
  dynamics: LayerDynamics[];
  plateau: PlateauState;
  history: EpochRecord[];
  trainingSeconds: number;
}

const copy = (a: FloatArray): Float64Array => Float64Array.from(a);

export function captureTrainingState(net: Network, rest: Pick<TrainingState, 'epochsDone' | 'plateau' | 'history' | 'trainingSeconds'>): TrainingState {
  return {
    epochsDone: rest.epochsDone,
    layers: net.parameters(),
    updateCount: net.updateCount,
    optimizer: net.layers.map((l) => ({ weights: l.optWeights.map(copy), bias: l.optBias.map(copy), tauM: l.optTauM.map(copy) })),
    batch: net.batch,
    dynamics: net.layers.map((l) => ({ u: copy(l.u), v: copy(l.v), r: copy(l.r), rp: copy(l.rp), eb: copy(l.eb) })),
    plateau: { ...rest.plateau },
    history: rest.history.map((h) => ({ ...h })),
    trainingSeconds: rest.trainingSeconds,
  };
}

/**
 * Puts optimizer memory and dynamic state back into a network built from the state's
 * parameters. Values pass through float64, which holds float32 exactly, so a float32
 * network gets back the very bits it had.
 */
export function restoreTrainingState(net: Network, state: TrainingState): void {
  if (state.batch !== net.batch) throw new RangeError(`checkpoint batch ${state.batch} differs from the network's ${net.batch}`);
  if (state.optimizer.length !== net.layers.length || state.dynamics.length !== net.layers.length) {
    throw new RangeError(`checkpoint has ${state.dynamics.length} layers, the network ${net.layers.length}`);
  }
  net.updateCount = state.updateCount;
  const fresh = (a: Float64Array): FloatArray => {
    const t = net.newArray(a.length);
    t.set(a);
    return t;
  };
  net.layers.forEach((layer, i) => {
    const opt = state.optimizer[i];
    layer.optWeights = opt.weights.map(fresh);
    layer.optBias = opt.bias.map(fresh);
    layer.optTauM = opt.tauM.map(fresh);
    const d = state.dynamics[i];
    layer.u.set(d.u);
    layer.v.set(d.v);
    layer.r.set(d.r);
    layer.rp.set(d.rp);
    layer.eb.set(d.eb);
  });
}

// ---- the file ---------------------------------------------------------------------

/** Identifies a run: a checkpoint only resumes the run it came from. */
export interface RunIdentity {
  task: string;
  seed: number;
  dataSeed: number;
  dtype: string;
  /** hash of the training configuration without the number of epochs (a run may be extended) */
  configHash: string;
  kernels: string;
  tool: string;
}

export interface CheckpointFile extends RunIdentity {
  epochsPlanned: number;
  /**
   * Where the last epoch was computed (information only: not part of the run's identity,
   * so a run resumes on another machine, and checkpoints written before it was recorded
   * still resume; absent in those).
   */
  machine?: MachineInfo;
  state: TrainingState;
}

function toBase64(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function hashContent(content: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** NaN (an epoch without a test evaluation, an empty validation split) is stored as null. */
const numOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function checkpointToJson(file: CheckpointFile): string {
  const s = file.state;
  const body = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    tool: file.tool,
    task: file.task,
    seed: file.seed,
    dataSeed: file.dataSeed,
    dtype: file.dtype,
    configHash: file.configHash,
    kernels: file.kernels,
    ...(file.machine === undefined ? {} : { machine: file.machine }),
    epochsPlanned: file.epochsPlanned,
    epochsDone: s.epochsDone,
    trainingSeconds: s.trainingSeconds,
    updateCount: s.updateCount,
    batch: s.batch,
    plateau: s.plateau,
    history: s.history.map((h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, numOrNull(v)]))),
    layers: s.layers.map((l, i) => ({
      phi: l.phi,
      inputSize: l.inputSize,
      outputSize: l.outputSize,
      weights: toBase64(l.weights),
      bias: l.bias === null ? null : toBase64(l.bias),
      tauM: toBase64(l.tauM),
      tauR: toBase64(l.tauR),
      optimizer: {
        weights: s.optimizer[i].weights.map(toBase64),
        bias: s.optimizer[i].bias.map(toBase64),
        tauM: s.optimizer[i].tauM.map(toBase64),
      },
      dynamics: Object.fromEntries(Object.entries(s.dynamics[i]).map(([k, v]) => [k, toBase64(v as Float64Array)])),
    })),
  };
  return JSON.stringify({ ...body, contentHash: hashContent(body) });
}

export function saveCheckpoint(path: string, file: CheckpointFile): void {
  writeFileAtomic(path, checkpointToJson(file));
}

function readFloats(f: Field, length: number): Float64Array {
  const text = f.string();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) f.fail('must be base64');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 8 * length) f.fail(`must hold ${length} float64 values (${8 * length} bytes), it holds ${bytes.length} bytes`);
  const out = new Float64Array(length);
  new Uint8Array(out.buffer).set(bytes);
  for (let i = 0; i < length; i++) if (!Number.isFinite(out[i])) f.fail(`holds a non-finite value at index ${i}`);
  return out;
}

function readFloatList(f: Field, length: number): Float64Array[] {
  return f.array().map((item) => readFloats(item, length));
}

const nullableNumber = (f: Field): number => (f.isNull() ? NaN : f.number());

/** The optional `machine` record, kept as written (it is information, nothing reads it back). */
function readMachine(root: Field): { machine?: MachineInfo } {
  if (!root.has('machine')) return {};
  return { machine: root.child('machine').object().value as MachineInfo };
}

export function parseCheckpoint(doc: unknown, source: string): CheckpointFile {
  const root = new Field(source, '', doc).object();
  if (root.child('format').value !== CHECKPOINT_FORMAT) root.child('format').fail(`must be "${CHECKPOINT_FORMAT}" (is this a glekit checkpoint?)`);
  const version = root.child('formatVersion').number({ integer: true, min: 1 });
  if (version > CHECKPOINT_FORMAT_VERSION)
    root.child('formatVersion').fail(`is newer than this glekit understands (${CHECKPOINT_FORMAT_VERSION}); upgrade glekit`);
  const storedHash = root.child('contentHash').string();
  const { contentHash: _omit, ...body } = doc as Record<string, unknown>;
  const actualHash = hashContent(body);
  if (storedHash !== actualHash) {
    throw new ValidationError(
      source,
      'contentHash',
      storedHash,
      `does not match the content (content hashes to ${actualHash}); the file was modified or damaged`,
    );
  }
  const batch = root.child('batch').number({ integer: true, min: 1 });
  let previousOut = -1;
  const layerFields = root.child('layers').array();
  if (layerFields.length === 0) root.child('layers').fail('must hold at least one layer');
  const layers: LayerParameters[] = [];
  const optimizer: OptimizerMemory[] = [];
  const dynamics: LayerDynamics[] = [];
  layerFields.forEach((lf, index) => {
    lf.object();
    const phi = parseActivation(lf.child('phi').value) ?? lf.child('phi').fail('is not a known activation');
    const nIn = lf.child('inputSize').number({ integer: true, min: 1 });
    const nOut = lf.child('outputSize').number({ integer: true, min: 1 });
    if (index > 0 && nIn !== previousOut) lf.child('inputSize').fail(`must equal the output size of layer ${index - 1} (${previousOut})`);
    previousOut = nOut;
    layers.push({
      phi,
      inputSize: nIn,
      outputSize: nOut,
      weights: readFloats(lf.child('weights'), nIn * nOut),
      bias: lf.child('bias').isNull() ? null : readFloats(lf.child('bias'), nOut),
      tauM: readFloats(lf.child('tauM'), nOut),
      tauR: readFloats(lf.child('tauR'), nOut),
    });
    const of = lf.child('optimizer').object();
    optimizer.push({
      weights: readFloatList(of.child('weights'), nIn * nOut),
      bias: readFloatList(of.child('bias'), nOut),
      tauM: readFloatList(of.child('tauM'), nOut),
    });
    const df = lf.child('dynamics').object();
    dynamics.push({
      u: readFloats(df.child('u'), batch * nOut),
      v: readFloats(df.child('v'), batch * nOut),
      r: readFloats(df.child('r'), batch * nOut),
      rp: readFloats(df.child('rp'), batch * nOut),
      eb: readFloats(df.child('eb'), batch * nIn),
    });
  });
  const pf = root.child('plateau').object();
  const plateau: PlateauState = {
    lr: pf.child('lr').number({ minExclusive: 0 }),
    best: pf.child('best').isNull() ? null : pf.child('best').number(),
    epochsSinceBest: pf.child('epochsSinceBest').number({ integer: true, min: 0 }),
  };
  const epochsDone = root.child('epochsDone').number({ integer: true, min: 1 });
  const historyFields = root.child('history').array(epochsDone);
  const history: EpochRecord[] = historyFields.map((hf) => {
    hf.object();
    return {
      epoch: hf.child('epoch').number({ integer: true, min: 1 }),
      trainAccuracy: nullableNumber(hf.child('trainAccuracy')),
      trainLoss: nullableNumber(hf.child('trainLoss')),
      validationAccuracy: nullableNumber(hf.child('validationAccuracy')),
      validationLoss: nullableNumber(hf.child('validationLoss')),
      testAccuracy: nullableNumber(hf.child('testAccuracy')),
      lr: hf.child('lr').number(),
      seconds: hf.child('seconds').number({ min: 0 }),
    };
  });
  return {
    tool: root.child('tool').string(),
    task: root.child('task').string(),
    seed: root.child('seed').number({ integer: true }),
    dataSeed: root.child('dataSeed').number({ integer: true }),
    dtype: root.child('dtype').oneOf(['float32', 'float64'] as const),
    configHash: root.child('configHash').string(),
    kernels: root.child('kernels').string(),
    ...readMachine(root),
    epochsPlanned: root.child('epochsPlanned').number({ integer: true, min: 1 }),
    state: {
      epochsDone,
      layers,
      updateCount: root.child('updateCount').number({ integer: true, min: 0 }),
      optimizer,
      batch,
      dynamics,
      plateau,
      history,
      trainingSeconds: root.child('trainingSeconds').number({ min: 0 }),
    },
  };
}

export function loadCheckpoint(path: string): CheckpointFile {
  return parseCheckpoint(readJsonFile(path), path);
}

export function checkpointExists(path: string): boolean {
  return existsSync(path);
}

/** Hash of a configuration, for RunIdentity.configHash. */
export function configFingerprint(config: object): string {
  return hashContent(config);
}
