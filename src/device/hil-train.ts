/**
 * Training with the board in the loop (`glekit hil train`), hxtorch's scheme: the forward
 * pass and every layer's states come from the board (RUN samples with `record`), the LE
 * local updates are computed on the host from those states, and the updated parameters
 * go back to the board by re-compiling and re-uploading the image. At the end of each
 * epoch the image that runs (activated as a test) is confirmed only if held-out accuracy
 * did not fall; otherwise the board goes back to the best image. A checkpoint after every
 * epoch lets a run survive the host or the board being killed (--resume).
 *
 * The host update is the engine's (src/engine/network.ts) for LE with tau_r = tau_m and
 * gamma = 0 (then the prospective error equals the error): per step t, the top error
 * beta (y - softmax(r_top(t-1))) (CE) or beta (y - r_top(t-1)) (MSE), each layer's error
 * e_l(t) = incoming(t) * phi'_l(t-1), sent down as W_l^T e_l(t) (one step per layer),
 * and in the learning window gW_l = -(1/B) sum_b e_l(t) r_{l-1}(t-1)^T, gb_l = -(1/B)
 * sum_b e_l(t). phi' is read from the recorded rate (rate inside the nonlinearity's
 * linear range). The window's steps are summed into one update per batch (the Yin-Yang
 * preset learns in one step, so that is the chip trainer's update exactly).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AnalogInfo, BoardClient } from '../bridge/index.js';
import { adcValue } from '../bridge/index.js';
import { compileModel } from '../compile/index.js';
import { decodeDescriptor, type Descriptor } from '../descriptor/index.js';
import type { ActivationName } from '../engine/activations.js';
import { Network } from '../engine/network.js';
import { DEFAULT_LEARNING, type LayerParameters, type LearningSetup } from '../engine/types.js';
import { loadProfile } from '../hw/index.js';
import { layerToModel, makeModelFile, modelToSpec, type ModelFile } from '../model/model-file.js';
import { loadClassificationTask } from '../tasks/index.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { GlekitError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { Rng } from '../util/rng.js';
import { deployDescriptor, revertBoard, withBoard, type ConnectOptions } from './deploy.js';
import { imageSha256, sampleCodes } from './target.js';

/** What the host update needs of the network (a model's network section). */
export interface HostNetwork {
  beta: number;
  loss: 'mse' | 'ce';
  phi: readonly ActivationName[];
}

/** One batch's recorded states as real values: [sample][step][layer] -> { u, r } (each nOut). */
export interface RecordedBatch {
  batch: number;
  steps: number;
  /** u[l]: batch x steps x nOut_l (sample-major), r[l] likewise */
  u: Float64Array[];
  r: Float64Array[];
}

/**
 * phi'(pu) read from the rate r = phi(pu). For clamped nonlinearities the slope is 1
 * inside the range; `eps` (in rate units) keeps read noise at a rail from counting as inside.
 */
export function phiPrimeFromRate(phi: ActivationName, r: number, eps: number): number {
  switch (phi) {
    case 'linear':
      return 1;
    case 'hardSigmoid':
      return r > eps && r < 1 - eps ? 1 : 0;
    case 'relu':
      return r > eps ? 1 : 0;
    case 'sigmoid': {
      const c = Math.min(1, Math.max(0, r));
      return c * (1 - c);
    }
    case 'tanh': {
      const c = Math.min(1, Math.max(-1, r));
      return 1 - c * c;
    }
    case 'softplus':
      return 1 - Math.exp(-Math.max(0, r));
  }
}

/**
 * The LE gradients of one batch from its recorded states (module comment): gW, gb per
 * layer, summed over the learning window's steps, as the engine's grad* arrays (descent
 * direction is minus these). `x` is batch x nIn0 (held input), `y` batch x nOut one-hot.
 */
export function hostGradients(
  net: HostNetwork,
  params: readonly LayerParameters[],
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rec: RecordedBatch,
  settleSteps: number,
  eps: readonly number[] = [],
): { gW: Float64Array[]; gb: Float64Array[] } {
  const B = rec.batch,
    T = rec.steps,
    L = params.length;
  const nOut = params.map((p) => p.outputSize),
    nIn = params.map((p) => p.inputSize);
  const gW = params.map((p) => new Float64Array(p.inputSize * p.outputSize));
  const gb = params.map((p) => new Float64Array(p.outputSize));
  let rpPrev = nOut.map((n) => new Float64Array(B * n));
  let rPrev = nOut.map((n) => new Float64Array(B * n));
  let ebPrev = nIn.map((n) => new Float64Array(B * n));
  const top = L - 1;
  const topErr = new Float64Array(B * nOut[top]);
  for (let t = 0; t < T; t++) {
    // top error from the previous step's read-out
    for (let b = 0; b < B; b++) {
      const off = b * nOut[top];
      if (net.loss === 'mse') {
        for (let j = 0; j < nOut[top]; j++) topErr[off + j] = net.beta * (y[off + j] - rPrev[top][off + j]);
      } else {
        let max = -Infinity;
        for (let j = 0; j < nOut[top]; j++) max = Math.max(max, rPrev[top][off + j]);
        let sum = 0;
        for (let j = 0; j < nOut[top]; j++) sum += Math.exp(rPrev[top][off + j] - max);
        for (let j = 0; j < nOut[top]; j++) topErr[off + j] = net.beta * (y[off + j] - Math.exp(rPrev[top][off + j] - max) / sum);
      }
    }
    const ebNext = nIn.map((n) => new Float64Array(B * n));
    const inWindow = t >= settleSteps;
    for (let l = 0; l < L; l++) {
      const no = nOut[l],
        ni = nIn[l],
        W = params[l].weights;
      const incoming = l === top ? topErr : ebPrev[l + 1];
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < no; j++) {
          const e = incoming[b * no + j] * rpPrev[l][b * no + j];
          if (e === 0) continue;
          if (l > 0) {
            const eb = ebNext[l];
            for (let i = 0; i < ni; i++) eb[b * ni + i] += W[j * ni + i] * e;
          }
          if (inWindow) {
            gb[l][j] -= e / B;
            const g = gW[l];
            for (let i = 0; i < ni; i++) {
              const xi = l === 0 ? x[b * ni + i] : rPrev[l - 1][b * ni + i];
              g[j * ni + i] -= (e * xi) / B;
            }
          }
        }
      }
    }
    // this step's recorded states become the previous step's
    const rNow = nOut.map((n) => new Float64Array(B * n));
    const rpNow = nOut.map((n) => new Float64Array(B * n));
    for (let l = 0; l < L; l++) {
      const no = nOut[l];
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < no; j++) {
          const r = rec.r[l][(b * T + t) * no + j];
          rNow[l][b * no + j] = r;
          rpNow[l][b * no + j] = phiPrimeFromRate(net.phi[l], r, eps[l] ?? 0);
        }
      }
    }
    rPrev = rNow;
    rpPrev = rpNow;
    ebPrev = ebNext;
  }
  return { gW, gb };
}

/** Where the board's recorded codes go in real values: digital (codes x 2^-F) or analog (INFO's adc and ranges). */
export function statesToValues(d: Descriptor, states: ArrayLike<number>, count: number, analog: AnalogInfo | null): RecordedBatch {
  const n = d.network,
    T = n.presentation.stepsPerSample;
  const perStep = n.layers.reduce((a, l) => a + 2 * l.nOut, 0);
  if (states.length !== count * T * perStep) throw new GlekitError(`the board recorded ${states.length} state words, expected ${count * T * perStep}`);
  const u: Float64Array[] = [],
    r: Float64Array[] = [];
  let offset = 0;
  n.layers.forEach((layer, l) => {
    const no = layer.nOut;
    const uu = new Float64Array(count * T * no),
      rr = new Float64Array(count * T * no);
    const range = analog === null ? null : analog.ranges[l];
    if (analog !== null && range === undefined) throw new GlekitError(`the board's INFO analog has no range for layer ${l}`);
    for (let s = 0; s < count; s++) {
      for (let t = 0; t < T; t++) {
        const from = (s * T + t) * perStep + offset,
          to = (s * T + t) * no;
        for (let j = 0; j < no; j++) {
          const cu = states[from + j],
            cr = states[from + no + j];
          uu[to + j] = analog === null ? cu * layer.membraneFormat.lsb : adcValue(analog.adc, cu, range!);
          rr[to + j] = analog === null ? cr * layer.rateFormat.lsb : adcValue(analog.adc, cr, range!);
        }
      }
    }
    u.push(uu);
    r.push(rr);
    offset += 2 * no;
  });
  return { batch: count, steps: T, u, r };
}

/** The rate tolerance of phiPrimeFromRate per layer: 1.5 ADC LSB on an analog board, 0 on a digital one. */
export function rateTolerance(d: Descriptor, analog: AnalogInfo | null): number[] {
  if (analog === null) return d.network.layers.map(() => 0);
  const lsb = (analog.adc.hi - analog.adc.lo) / (2 ** analog.adc.bits - 1);
  return analog.ranges.map(([lo, hi]) => 1.5 * lsb * (hi - lo));
}

/** Checks that the host's LE update is the engine's for this model; names what is not. */
export function checkHostUpdateApplies(model: ModelFile, source: string): void {
  const n = model.network;
  if (n.gamma !== 0) throw new GlekitError(`${source}: hil train computes LE updates (gamma = 0); this model has gamma ${n.gamma}`);
  n.layers.forEach((l, i) => {
    for (let j = 0; j < l.tauM.length; j++) {
      if (n.prospectiveErrors && Math.abs(l.tauM[j] - l.tauR[j]) > 1e-12 * Math.abs(l.tauM[j])) {
        throw new GlekitError(`${source}: hil train needs tau_r = tau_m with prospective errors (layer ${i}, neuron ${j}: ${l.tauM[j]} vs ${l.tauR[j]})`);
      }
    }
  });
  if (n.loss !== 'ce' && n.loss !== 'mse') throw new GlekitError(`${source}: loss ${String(n.loss)} is not one hil train knows`);
}

// ----- the run --------------------------------------------------------------------------

export interface HilTrainRequest {
  port: string;
  modelPath: string;
  model: ModelFile;
  task: string;
  profile: string;
  epochs: number;
  lr: number;
  batchSize: number;
  /** rewrites each compiled image (the CLI writes a board calibration's trims with it: compile --board-calibration) */
  patchImage?: (d: Descriptor, bytes: Uint8Array) => Uint8Array;
  /** training samples per epoch (default: the whole split) */
  trainLimit?: number;
  validationLimit?: number;
  testLimit?: number;
  dataSeed?: number;
  seed: number;
  checkpoint: string;
  resume: boolean;
  connect?: ConnectOptions;
  note?: (line: string) => void;
}

export interface HilEpoch {
  epoch: number;
  trainAccuracy: number;
  validationAccuracy: number;
  decision: 'confirmed' | 'reverted';
  revertHow: 'reset' | 'activate' | 'redeploy' | null;
  uploads: number;
  seconds: number;
}

export interface HilTrainSummary {
  port: string;
  board: string;
  analog: boolean;
  task: string;
  epochs: number;
  lr: number;
  batchSize: number;
  trainSamplesPerEpoch: number;
  initialValidationAccuracy: number;
  initialTestAccuracy: number;
  bestValidationAccuracy: number;
  testAccuracy: number;
  history: HilEpoch[];
  upload: { count: number; bytes: number; meanSeconds: number; meanCompileSeconds: number };
  resumedFrom: number;
  seconds: number;
  checkpoint: string;
  model: ModelFile;
}

interface Checkpoint {
  format: 'glekit-hil-checkpoint';
  modelHash: string;
  task: string;
  epoch: number;
  bestValidationAccuracy: number;
  initialValidationAccuracy: number;
  initialTestAccuracy: number;
  history: HilEpoch[];
  layers: { weights: number[]; bias: number[] | null }[];
}

function readCheckpoint(path: string, model: ModelFile): Checkpoint | null {
  if (!existsSync(path)) return null;
  let c: Checkpoint;
  try {
    c = JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch (err) {
    throw new GlekitError(`${path}: the checkpoint is truncated or not JSON (${(err as Error).message})`);
  }
  if (c.format !== 'glekit-hil-checkpoint') throw new GlekitError(`${path}: not a hil train checkpoint`);
  if (c.modelHash !== model.contentHash) throw new GlekitError(`${path}: the checkpoint is of model ${c.modelHash}, not ${model.contentHash}`);
  return c;
}

/** The model with these parameters (weights, biases; time constants as they were). */
export function withParameters(model: ModelFile, params: readonly LayerParameters[], extra: Record<string, unknown> = {}): ModelFile {
  return makeModelFile({
    tool: model.tool,
    task: model.task,
    presentation: model.presentation,
    metrics: model.metrics,
    training: { ...model.training, ...extra },
    network: { ...model.network, layers: params.map(layerToModel) },
  });
}

function argmaxCorrect(y: ArrayLike<number>, labels: ArrayLike<number>, from: number, count: number, nOut: number): number {
  let correct = 0;
  for (let s = 0; s < count; s++) {
    let best = 0;
    for (let j = 1; j < nOut; j++) if (y[s * nOut + j] > y[s * nOut + best]) best = j;
    if (best === labels[from + s]) correct++;
  }
  return correct;
}

/** Accuracy of the image the board runs on a split (RUN samples, read-out codes). */
async function boardAccuracy(client: BoardClient, d: Descriptor, split: ClassificationSplit): Promise<number> {
  const x = sampleCodes(d, split.inputs, split.count, split.inputSize);
  const out = await client.runSamples(x);
  return argmaxCorrect(out.y, split.labels, 0, split.count, d.network.outputSize) / split.count;
}

function firstN(split: ClassificationSplit, n: number | undefined): ClassificationSplit {
  if (n === undefined || n >= split.count) return split;
  return { count: n, inputSize: split.inputSize, inputs: split.inputs.subarray(0, n * split.inputSize), labels: split.labels.subarray(0, n) };
}

/** One training batch: RUN with record on the board, the host's LE update, the optimizer step. Returns the batch's correct count. */
async function learnBatch(
  client: BoardClient,
  host: Network,
  net: HostNetwork,
  d: Descriptor,
  analog: AnalogInfo | null,
  train: ClassificationSplit,
  idx: ArrayLike<number>,
  x: Float64Array,
  y: Float64Array,
): Promise<number> {
  const B = idx.length,
    n = train.inputSize,
    nOut = host.outputSize;
  const inputs = new Float32Array(B * n);
  const labels = new Uint8Array(B);
  y.fill(0);
  for (let b = 0; b < B; b++) {
    const s = idx[b];
    for (let i = 0; i < n; i++) {
      inputs[b * n + i] = train.inputs[s * n + i];
      x[b * n + i] = train.inputs[s * n + i];
    }
    labels[b] = train.labels[s];
    y[b * nOut + labels[b]] = 1;
  }
  const out = await client.runSamples(sampleCodes(d, inputs, B, n), { record: true });
  if (out.states === undefined) throw new GlekitError(`port ${client.port}: the board returned no states for RUN with record`);
  const rec = statesToValues(d, out.states, B, analog);
  const params = host.layers.map((l) => l.toParameters());
  const { gW, gb } = hostGradients(net, params, x, y, rec, d.network.presentation.settleSteps, rateTolerance(d, analog));
  host.layers.forEach((l, i) => {
    l.gradWeights.set(gW[i]);
    if (l.gradBias !== null) l.gradBias.set(gb[i]);
    l.gradTauM.fill(0);
  });
  host.applyGradients();
  return argmaxCorrect(out.y, labels, 0, B, nOut);
}

/**
 * The board back to the best image: MCUboot's revert when the other slot still holds it
 * (revertBoard, then confirmed), else (the epoch's uploads wrote over its slot) by upload.
 */
async function backToBest(
  client: BoardClient,
  bestBytes: Uint8Array,
  upload: (b: Uint8Array, mode: 'permanent') => Promise<void>,
): Promise<'reset' | 'activate' | 'redeploy'> {
  const state = await client.state();
  const other = state.slots.find((s) => s.slot !== state.active);
  if (other !== undefined && other.hash !== null && other.bootable && Buffer.from(other.hash).toString('hex') === imageSha256(bestBytes)) {
    const how = (await revertBoard(client)).how;
    if (how === 'reset') await client.confirm();
    return how;
  }
  await upload(bestBytes, 'permanent');
  return 'redeploy';
}

/** What an epoch leaves behind for --resume: parameters, epoch, best and initial accuracies, history. */
function writeCheckpoint(
  req: HilTrainRequest,
  model: ModelFile,
  host: Network,
  e: { epoch: number; bestAcc: number; initialVal: number; initialTest: number; history: HilEpoch[] },
): void {
  const cp: Checkpoint = {
    format: 'glekit-hil-checkpoint',
    modelHash: model.contentHash,
    task: req.task,
    epoch: e.epoch,
    bestValidationAccuracy: e.bestAcc,
    initialValidationAccuracy: e.initialVal,
    initialTestAccuracy: e.initialTest,
    history: e.history,
    layers: host.layers.map((l) => ({ weights: Array.from(l.weights), bias: l.bias === null ? null : Array.from(l.bias) })),
  };
  writeFileAtomic(req.checkpoint, JSON.stringify(cp));
}

interface RunTotals {
  batches: number;
  initialVal: number;
  initialTest: number;
  bestAcc: number;
  testAccuracy: number;
  history: HilEpoch[];
  uploads: { count: number; seconds: number; compileSeconds: number; bytes: number };
  resumedFrom: number;
  t0: number;
}

function hilSummary(req: HilTrainRequest, model: ModelFile, host: Network, boardId: string, analog: boolean, r: RunTotals): HilTrainSummary {
  const out = withParameters(
    model,
    host.layers.map((l) => l.toParameters()),
    {
      hilTrain: {
        board: boardId,
        task: req.task,
        epochs: req.epochs,
        lr: req.lr,
        batchSize: req.batchSize,
        bestValidationAccuracy: r.bestAcc,
        testAccuracy: r.testAccuracy,
      },
    },
  );
  return {
    port: req.port,
    board: boardId,
    analog,
    task: req.task,
    epochs: req.epochs,
    lr: req.lr,
    batchSize: req.batchSize,
    trainSamplesPerEpoch: r.batches * req.batchSize,
    initialValidationAccuracy: r.initialVal,
    initialTestAccuracy: r.initialTest,
    bestValidationAccuracy: r.bestAcc,
    testAccuracy: r.testAccuracy,
    history: r.history,
    upload: {
      count: r.uploads.count,
      bytes: r.uploads.count === 0 ? 0 : r.uploads.bytes / r.uploads.count,
      meanSeconds: r.uploads.seconds / Math.max(1, r.uploads.count),
      meanCompileSeconds: r.uploads.compileSeconds / Math.max(1, r.uploads.count),
    },
    resumedFrom: r.resumedFrom,
    seconds: (performance.now() - r.t0) / 1000,
    checkpoint: req.checkpoint,
    model: out,
  };
}

/** Everything a run holds before it reaches the board: the host network, the data, the image builder. */
function hilSetup(req: HilTrainRequest, model: ModelFile) {
  const profile = loadProfile(req.profile);
  const spec = modelToSpec(model, 'float64');
  const trained = (typeof model.training.learning === 'object' && model.training.learning !== null ? model.training.learning : {}) as Partial<LearningSetup>;
  const learning: LearningSetup = { ...DEFAULT_LEARNING, ...trained, lr: req.lr, learnTauM: false };
  const host = new Network(spec, { batch: 1, learning });
  const net: HostNetwork = {
    beta: model.network.beta,
    loss: model.network.loss as 'ce' | 'mse',
    phi: model.network.layers.map((l) => l.phi as ActivationName),
  };
  const dataSeed = req.dataSeed ?? (typeof model.training.dataSeed === 'number' ? model.training.dataSeed : 0);
  const data = loadClassificationTask(req.task, dataSeed, model.presentation);
  const train = data.train,
    validation = firstN(data.validation, req.validationLimit),
    test = firstN(data.test, req.testLimit);
  const perEpoch = Math.min(train.count, req.trainLimit ?? train.count);
  const batches = Math.floor(perEpoch / req.batchSize);
  if (batches === 0) throw new GlekitError(`batch size ${req.batchSize} is larger than the ${perEpoch} training samples per epoch`);

  const params = (): LayerParameters[] => host.layers.map((l) => l.toParameters());
  const setParams = (p: { weights: ArrayLike<number>; bias: ArrayLike<number> | null }[]): void => {
    host.layers.forEach((l, i) => {
      l.weights.set(p[i].weights);
      if (l.bias !== null && p[i].bias !== null) l.bias.set(p[i].bias!);
    });
  };
  const snapshot = (): { weights: Float64Array; bias: Float64Array | null }[] =>
    host.layers.map((l) => ({ weights: Float64Array.from(l.weights), bias: l.bias === null ? null : Float64Array.from(l.bias) }));
  const uploads = { count: 0, seconds: 0, compileSeconds: 0, bytes: 0 };
  const build = (): { bytes: Uint8Array; d: Descriptor } => {
    const tc = performance.now();
    const m = withParameters(model, params());
    let bytes = compileModel({ model: m, profile }).bytes;
    if (req.patchImage !== undefined) bytes = req.patchImage(decodeDescriptor(bytes, 'hil image'), bytes);
    uploads.compileSeconds += (performance.now() - tc) / 1000;
    return { bytes, d: decodeDescriptor(bytes, 'hil image') };
  };

  return { host, net, train, validation, test, batches, params, setParams, snapshot, uploads, build };
}

export async function hilTrain(req: HilTrainRequest): Promise<HilTrainSummary> {
  const t0 = performance.now();
  const note = req.note ?? (() => {});
  const model = req.model;
  checkHostUpdateApplies(model, req.modelPath);
  if (model.task !== req.task) throw new GlekitError(`${req.modelPath}: a model of task "${model.task}", not "${req.task}"`);
  if (model.presentation.mode !== 'static') throw new GlekitError('hil train: only held-sample (static) presentations for now');
  const { host, net, train, validation, test, batches, setParams, snapshot, uploads, build } = hilSetup(req, model);

  return withBoard(req.port, req.connect ?? {}, async (client) => {
    const upload = async (bytes: Uint8Array, mode: 'test' | 'permanent'): Promise<void> => {
      const r = await deployDescriptor(client, 'hil image', bytes, mode);
      if (!r.alreadyRunning) {
        uploads.count++;
        uploads.seconds += r.uploadSeconds;
        uploads.bytes += r.bytes;
      }
    };
    const ck = req.resume ? readCheckpoint(req.checkpoint, model) : null;
    if (ck !== null) setParams(ck.layers);
    let best = build();
    let bestParams = snapshot();
    await upload(best.bytes, 'permanent');
    // a fresh boot: the image's own trims in force, not what a TRIM_SET (a calibration) left in RAM
    await client.reset();
    const info = await client.info();
    const analog = info.analog;
    let bestAcc: number, initialVal: number, initialTest: number;
    const history: HilEpoch[] = ck?.history.slice() ?? [];
    if (ck !== null) {
      bestAcc = ck.bestValidationAccuracy;
      initialVal = ck.initialValidationAccuracy;
      initialTest = ck.initialTestAccuracy;
      note(`resuming after epoch ${ck.epoch} (best validation ${(100 * bestAcc).toFixed(1)} %)`);
    } else {
      initialVal = bestAcc = await boardAccuracy(client, best.d, validation);
      initialTest = await boardAccuracy(client, best.d, test);
      note(
        `board ${info.boardId}${analog === null ? '' : ' (analog)'}: before training validation ${(100 * initialVal).toFixed(1)} %, test ${(100 * initialTest).toFixed(1)} %`,
      );
    }
    const startEpoch = ck?.epoch ?? 0;
    const nOut = model.network.layers[model.network.layers.length - 1].outputSize;
    const x = new Float64Array(req.batchSize * train.inputSize);
    const y = new Float64Array(req.batchSize * nOut);
    let current = best;
    for (let epoch = startEpoch; epoch < req.epochs; epoch++) {
      const te = performance.now();
      const uploadsBefore = uploads.count;
      const order = Rng.derive(req.seed, 1000 + epoch).permutation(train.count);
      let correct = 0;
      for (let k = 0; k < batches; k++) {
        correct += await learnBatch(client, host, net, current.d, analog, train, order.subarray(k * req.batchSize, (k + 1) * req.batchSize), x, y);
        current = build();
        // uploads go to the slot that does not run: after the epoch's first batch that is the
        // best image's. A reset first (the unconfirmed test image reverts to the best one) puts
        // the upload over the test image instead, so that a power cut at any point boots the best image
        if (k > 0) await client.reset();
        await upload(current.bytes, 'test');
      }
      // the epoch's image runs as a test: confirmed only if held-out accuracy did not fall
      const val = await boardAccuracy(client, current.d, validation);
      let decision: HilEpoch['decision'],
        revertHow: HilEpoch['revertHow'] = null;
      if (val >= bestAcc) {
        await client.confirm();
        bestAcc = val;
        best = current;
        bestParams = snapshot();
        decision = 'confirmed';
      } else {
        decision = 'reverted';
        revertHow = await backToBest(client, best.bytes, upload);
        setParams(bestParams);
        current = best;
      }
      const rec: HilEpoch = {
        epoch: epoch + 1,
        trainAccuracy: correct / (batches * req.batchSize),
        validationAccuracy: val,
        decision,
        revertHow,
        uploads: uploads.count - uploadsBefore,
        seconds: (performance.now() - te) / 1000,
      };
      history.push(rec);
      note(
        `epoch ${epoch + 1}/${req.epochs}: train ${(100 * rec.trainAccuracy).toFixed(1)} %, validation ${(100 * val).toFixed(1)} % -> ${decision}${revertHow ? ` (${revertHow})` : ''}, ${rec.uploads} uploads, ${rec.seconds.toFixed(1)} s`,
      );
      writeCheckpoint(req, model, host, { epoch: epoch + 1, bestAcc, initialVal, initialTest, history });
    }
    const testAccuracy = await boardAccuracy(client, current.d, test);
    return hilSummary(req, model, host, info.boardId, analog !== null, {
      batches,
      initialVal,
      initialTest,
      bestAcc,
      testAccuracy,
      history,
      uploads,
      resumedFrom: ck?.epoch ?? 0,
      t0,
    });
  });
}
