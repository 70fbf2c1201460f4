/**
 * End-to-end jobs behind `glekit train` and `glekit eval`: data, preset, training,
 * checkpoints, learning curves, model file, summary. The CLI only parses flags and
 * prints what these return.
 *
 * Run layout (defaults; --out and --run-dir move them):
 *   runs/TASK-seedN.model.json    the trained model (written when the run completes)
 *   runs/TASK-seedN/checkpoint.json   state after the last completed epoch (atomic)
 *   runs/TASK-seedN/curves.csv, curves.json   one row per epoch, rewritten every epoch
 *   runs/TASK-seedN/accuracy.svg|png, loss.svg|png   plots of the curves (at the end)
 *   runs/TASK-seedN/summary.json  the --json summary of the completed run
 */
import { join, resolve } from 'node:path';
import type { Dtype, LayerParameters } from '../engine/types.js';
import { layerToModel, makeModelFile, saveModel, type ModelContent } from '../model/model-file.js';
import { loadClassificationTask } from '../tasks/index.js';
import { GlekitError, ValidationError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { createProgress } from '../util/progress.js';
import { VERSION } from '../version.js';
import {
  checkpointExists,
  configFingerprint,
  loadCheckpoint,
  saveCheckpoint,
  type CheckpointFile,
  type RunIdentity,
  type TrainingState,
} from './checkpoint.js';
import { buildSpec, evaluateClassifier, trainClassifier, type ClassifierConfig, type TrainOutcome } from './classifier.js';
import { stepInputSize } from '../presentation/index.js';
import { writeCurveData, writeCurvePlots } from './curves.js';
import { runLagLine, LAGLINE_DEFAULTS, type LagLineResult } from './lagline.js';
import type { EpochRecord } from './plateau.js';
import { CLASSIFIER_PRESETS, type ClassifierPreset } from './presets.js';
import { defaultKernels, kernelsLabel } from '../engine/native.js';
import { machineInfo, type MachineInfo } from '../engine/machine.js';

export interface TrainRequest {
  task: string;
  seed: number;
  dataSeed: number;
  /** model file (default runs/TASK-seedN.model.json) */
  out?: string;
  /** folder for checkpoint, curves and plots (default runs/TASK-seedN) */
  runDir?: string;
  epochs?: number;
  dtype?: Dtype;
  quiet: boolean;
  /** continue from the run folder's checkpoint (a fresh start when there is none) */
  resume?: boolean;
  /** discard an unfinished checkpoint and start again */
  restart?: boolean;
  /** train at most this many epochs in this session, then stop with the checkpoint written */
  stopAfter?: number;
  /** where notes for the user go (default stderr) */
  note?: (line: string) => void;
}

export interface TrainSummary {
  task: string;
  seed: number;
  dataSeed: number;
  /** 'completed', or 'stopped' by --stop-after (then there is no model and no test accuracy yet) */
  status: 'completed' | 'stopped';
  testAccuracy: number | null;
  validationAccuracy: number | null;
  trainAccuracy: number;
  epochs: number;
  epochsDone: number;
  /** epochs that were already done when this session started (0: a fresh run) */
  resumedFromEpoch: number;
  /** this session's wall time */
  wallSeconds: number;
  /** training time over all sessions of the run */
  trainingSeconds: number;
  modelPath: string | null;
  modelHash: string | null;
  runDir: string;
  checkpointPath: string;
  kernels: string;
  /** where the run was computed: CPU, kernels and their vector width (of this session, for a resumed run) */
  machine: MachineInfo;
  dtype: Dtype;
}

export function presetFor(task: string): ClassifierPreset {
  const preset = CLASSIFIER_PRESETS[task];
  if (!preset) throw new GlekitError(`unknown task "${task}" (known: ${[...Object.keys(CLASSIFIER_PRESETS), 'lagline'].join(', ')})`);
  return preset;
}

/** The run this request continues or starts, and the checkpoint it resumes from (if any). */
function chooseStart(req: TrainRequest, checkpointPath: string, identity: RunIdentity, epochs: number, note: (s: string) => void): TrainingState | undefined {
  if (!checkpointExists(checkpointPath)) {
    if (req.resume) note(`no checkpoint at ${checkpointPath}: starting from scratch`);
    return undefined;
  }
  if (!req.resume) {
    if (req.restart) return undefined;
    const previous = loadCheckpoint(checkpointPath);
    if (previous.state.epochsDone < previous.epochsPlanned) {
      throw new GlekitError(
        `${checkpointPath} holds an unfinished run (epoch ${previous.state.epochsDone} of ${previous.epochsPlanned}); ` +
          'pass --resume to continue it or --restart to discard it',
      );
    }
    return undefined;
  }
  const ckpt = loadCheckpoint(checkpointPath);
  for (const key of ['task', 'seed', 'dataSeed', 'dtype', 'configHash'] as const) {
    if (ckpt[key] !== identity[key]) {
      throw new ValidationError(
        checkpointPath,
        key,
        ckpt[key],
        `does not match this run (${identity[key]}); it belongs to another run or preset, so it cannot be resumed`,
      );
    }
  }
  if (ckpt.kernels !== identity.kernels) {
    note(
      `warning: ${checkpointPath} was written with the ${ckpt.kernels} kernels, this run uses ${identity.kernels}: ` +
        'the result will differ from an uninterrupted run by summation order',
    );
  }
  if (ckpt.state.epochsDone > epochs) {
    throw new ValidationError(checkpointPath, 'epochsDone', ckpt.state.epochsDone, `exceeds the requested ${epochs} epochs`);
  }
  note(`resuming ${checkpointPath} after epoch ${ckpt.state.epochsDone} of ${epochs}`);
  return ckpt.state;
}

class StopAfter extends Error {}

const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(2)} %` : '-');

/** What a checkpoint must match to be resumed: the tool, the task, the seeds and the configuration (epochs aside). */
function runIdentity(req: TrainRequest, config: ClassifierConfig, kernels: string): RunIdentity {
  const { epochs: _epochs, ...configWithoutEpochs } = config;
  return {
    tool: `glekit ${VERSION}`,
    task: req.task,
    seed: req.seed,
    dataSeed: req.dataSeed,
    dtype: config.dtype,
    configHash: configFingerprint({ ...configWithoutEpochs, dataSeed: req.dataSeed }),
    kernels,
  };
}

/** The progress log's line for a finished epoch. */
function epochLine(record: EpochRecord, epochs: number): string {
  return (
    `epoch ${record.epoch}/${epochs}: train ${pct(record.trainAccuracy)} (loss ${record.trainLoss.toFixed(4)}) ` +
    `validation ${pct(record.validationAccuracy)} (loss ${record.validationLoss.toFixed(4)})` +
    `${Number.isFinite(record.testAccuracy) ? ` test ${pct(record.testAccuracy)}` : ''} lr ${record.lr.toPrecision(3)} (${record.seconds.toFixed(1)} s)`
  );
}

/** The model file's network section for trained layers. */
function modelNetwork(config: ClassifierConfig, layers: LayerParameters[]): ModelContent['network'] {
  return {
    dt: config.dt,
    gamma: config.gamma,
    beta: config.beta,
    loss: config.loss,
    prospectiveErrors: config.prospectiveErrors,
    layers: layers.map(layerToModel),
  };
}

export async function runClassifierTraining(req: TrainRequest): Promise<TrainSummary> {
  const started = performance.now();
  const note = req.note ?? ((line: string) => process.stderr.write(line + '\n'));
  const preset = presetFor(req.task);
  const config: ClassifierConfig = {
    ...preset,
    seed: req.seed,
    epochs: req.epochs ?? preset.epochs,
    dtype: req.dtype ?? preset.dtype,
  };
  const runDir = req.runDir ?? join('runs', `${req.task}-seed${req.seed}`);
  const checkpointPath = join(runDir, 'checkpoint.json');
  const modelPath = req.out ?? join('runs', `${req.task}-seed${req.seed}.model.json`);
  const kernels = defaultKernels();
  const identity = runIdentity(req, config, kernelsLabel(kernels));
  const machine = machineInfo(kernels);
  const resume = chooseStart(req, checkpointPath, identity, config.epochs, note);
  const firstEpoch = resume?.epochsDone ?? 0;

  const data = loadClassificationTask(req.task, req.dataSeed);
  const batchesPerEpoch = Math.floor(data.train.count / config.batchSize);
  const firstBatch = firstEpoch * batchesPerEpoch;
  const lastEpoch = req.stopAfter === undefined ? config.epochs : Math.min(config.epochs, firstEpoch + req.stopAfter);
  const progress = createProgress(`train ${req.task} seed ${req.seed}`, Math.max(1, (lastEpoch - firstEpoch) * batchesPerEpoch), { quiet: req.quiet });
  const curveMeta = { task: req.task, seed: req.seed, dataSeed: req.dataSeed, dtype: config.dtype, kernels: identity.kernels, machine };
  let info = '';
  let stopped = false;
  let history = resume?.history ?? [];
  let outcome: TrainOutcome | undefined;
  try {
    outcome = trainClassifier(config, data.train, data.validation, {
      kernels,
      resume,
      test: data.test,
      onBatch: (done) => progress.update(done - firstBatch, info),
      onEpoch: (record, state) => {
        const snapshot = state();
        history = snapshot.history;
        const file: CheckpointFile = { ...identity, epochsPlanned: config.epochs, machine, state: snapshot };
        saveCheckpoint(checkpointPath, file);
        writeCurveData(runDir, curveMeta, snapshot.history);
        info = `epoch ${record.epoch}: validation ${pct(record.validationAccuracy)}`;
        progress.log(epochLine(record, config.epochs));
        if (record.epoch >= lastEpoch && lastEpoch < config.epochs) throw new StopAfter();
      },
    });
  } catch (err) {
    if (!(err instanceof StopAfter)) throw err;
    stopped = true;
  } finally {
    progress.stop();
  }
  const last = history[history.length - 1];
  const base = {
    task: req.task,
    seed: req.seed,
    dataSeed: req.dataSeed,
    trainAccuracy: last?.trainAccuracy ?? NaN,
    epochs: config.epochs,
    epochsDone: history.length,
    resumedFromEpoch: firstEpoch,
    runDir: resolve(runDir),
    checkpointPath: resolve(checkpointPath),
    kernels: identity.kernels,
    machine,
    dtype: config.dtype,
  };
  if (stopped || outcome === undefined) {
    return {
      ...base,
      status: 'stopped',
      testAccuracy: null,
      validationAccuracy: last && Number.isFinite(last.validationAccuracy) ? last.validationAccuracy : null,
      wallSeconds: (performance.now() - started) / 1000,
      trainingSeconds: history.reduce((s, h) => s + h.seconds, 0),
      modelPath: null,
      modelHash: null,
    };
  }

  const spec = buildSpec(config, stepInputSize(config.presentation, data.inputSize), outcome.layers);
  const test = evaluateClassifier(spec, config.presentation, data.test, config.evalBatchSize, kernels);
  const validationAccuracy = last && Number.isFinite(last.validationAccuracy) ? last.validationAccuracy : null;
  const wallSeconds = (performance.now() - started) / 1000;
  const model = makeModelFile({
    tool: identity.tool,
    task: req.task,
    network: modelNetwork(config, outcome.layers),
    presentation: config.presentation,
    training: { ...config, dataSeed: req.dataSeed, kernels: identity.kernels, machine, history: outcome.history },
    metrics: {
      testAccuracy: test.accuracy,
      ...(validationAccuracy === null ? {} : { validationAccuracy }),
      trainAccuracy: base.trainAccuracy,
      epochs: config.epochs,
      wallSeconds,
      trainingSeconds: outcome.trainingSeconds,
    },
  });
  saveModel(modelPath, model);
  await writeCurvePlots(runDir, `${req.task} seed ${req.seed}`, outcome.history);
  const summary: TrainSummary = {
    ...base,
    status: 'completed',
    testAccuracy: test.accuracy,
    validationAccuracy,
    wallSeconds,
    trainingSeconds: outcome.trainingSeconds,
    modelPath: resolve(modelPath),
    modelHash: model.contentHash,
  };
  writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify(summary, null, 1) + '\n');
  return summary;
}

export interface LagLineRequest {
  seed: number;
  compare: boolean;
  prospectiveErrors: boolean;
  quiet: boolean;
}

export function runLagLineExperiment(req: LagLineRequest): { task: 'lagline'; seed: number; wallSeconds: number; runs: LagLineResult[] } {
  const started = performance.now();
  const variants = req.compare ? [true, false] : [req.prospectiveErrors];
  const runs = variants.map((prospectiveErrors) => {
    const config = { ...LAGLINE_DEFAULTS, seed: req.seed, prospectiveErrors };
    const totalSteps = Math.round((config.initTime + config.trainTime) / 0.01);
    const progress = createProgress(`lagline (prospective errors ${prospectiveErrors ? 'on' : 'off'})`, totalSteps, { quiet: req.quiet });
    const result = runLagLine(config, (done) => progress.update(done));
    progress.update(totalSteps);
    progress.stop();
    return result;
  });
  return { task: 'lagline', seed: req.seed, wallSeconds: (performance.now() - started) / 1000, runs };
}
