/**
 * The targets that run in this process or on this machine: the float engine, a realised
 * chip, and the two integer engines of a compiled descriptor.
 */
import type { WeightKernels } from '../engine/kernels.js';
import type { NetworkSpec } from '../engine/types.js';
import type { Descriptor } from '../descriptor/index.js';
import { presentationInputs, quantiseInputs } from '../descriptor/index.js';
import { FixedEngine, runPresentationC, traceC } from '../emulator/index.js';
import { present, presentationMismatch, type Presentation, type Presenter } from '../presentation/index.js';
import type { Substrate } from '../substrate/index.js';
import { evaluateOnChip } from '../substrate/index.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { evaluateClassifier } from '../train/index.js';
import { GlekitError } from '../util/errors.js';
import type { Stimulus, Target, TargetKind, TargetRunOptions } from './types.js';

/** A float target only reads out; the labels its evaluation asks for are placeholders. */
function unlabelled(s: Stimulus): ClassificationSplit {
  return { count: s.count, inputSize: s.inputSize, inputs: s.inputs, labels: new Uint8Array(s.count) };
}

function refuseRecord(target: Target, options: TargetRunOptions | undefined): void {
  if (options?.record === true && !target.canRecord) throw new GlekitError(`${target.label}: this target cannot record per-layer states`);
}

/** The float engine on given parameters (the truth every other target is held to). */
export function floatTarget(
  spec: NetworkSpec,
  presentation: Presentation,
  options: { evalBatchSize?: number; kernels?: WeightKernels; label?: string } = {},
): Target {
  const outputSize = spec.layers[spec.layers.length - 1].outputSize;
  const target: Target = {
    kind: 'float',
    label: options.label ?? `float (${spec.dtype ?? 'float64'})`,
    presentation,
    outputSize,
    canRecord: false,
    run: async (stimulus, runOptions) => {
      refuseRecord(target, runOptions);
      const values = new Float64Array(stimulus.count * outputSize);
      evaluateClassifier(spec, presentation, unlabelled(stimulus), options.evalBatchSize ?? 1000, options.kernels, values);
      return { values, codes: null, states: null };
    },
    close: async () => {},
  };
  return target;
}

/** A realised chip: the float engine with the chip's imperfections, on the substrate's host parameters. */
export function substrateTarget(sub: Substrate, presentation: Presentation, options: { evalBatchSize?: number; label?: string } = {}): Target {
  const outputSize = sub.spec.layers[sub.spec.layers.length - 1].outputSize;
  const target: Target = {
    kind: 'substrate',
    label: options.label ?? 'substrate',
    presentation,
    outputSize,
    canRecord: false,
    run: async (stimulus, runOptions) => {
      refuseRecord(target, runOptions);
      const { outputs } = evaluateOnChip(sub, presentation, unlabelled(stimulus), options.evalBatchSize ?? 1000, { outputs: true });
      return { values: outputs ?? new Float64Array(0), codes: null, states: null };
    },
    close: async () => {},
  };
  return target;
}

/** Read-out codes as real values: code x 2^-f, f the top layer's rate fraction bits. */
export function codesToValues(d: Descriptor, codes: Float64Array): Float64Array {
  const lsb = 2 ** -d.network.layers[d.network.layers.length - 1].rateFormat.fracBits;
  return codes.map((c) => c * lsb);
}

function recordedStatesSize(d: Descriptor, count: number): number {
  return count * d.network.presentation.stepsPerSample * d.network.layers.reduce((a, l) => a + 2 * l.nOut, 0);
}

/** What an integer target computes for a stimulus: read-out codes, and recorded states when asked. */
export type CodesRun = (stimulus: Stimulus, record: boolean) => Promise<{ codes: Float64Array; states: Float64Array | null }>;

/**
 * A target that runs a descriptor in integer codes (the TypeScript emulator, the C engine,
 * a board): checks the stimulus against the descriptor, runs, and reads codes out as
 * real values (code x 2^-f of the top layer's rate format).
 */
export function codesTarget(d: Descriptor, kind: TargetKind, label: string, runCodes: CodesRun, close: () => Promise<void> = async () => {}): Target {
  const n = d.network;
  return {
    kind,
    label,
    presentation: n.presentation,
    outputSize: n.outputSize,
    canRecord: true,
    run: async (stimulus, options) => {
      const why = presentationMismatch(n.presentation, stimulus.inputSize, n.inputSize);
      if (why !== null) throw new GlekitError(`${label}: ${why}`);
      const { codes, states } = await runCodes(stimulus, options?.record === true);
      return { values: codesToValues(d, codes), codes, states };
    },
    close,
  };
}

/** The TypeScript integer emulator, one sample at a time, codes quantised from the real inputs. */
export function fixedTarget(d: Descriptor, label = `fixed-ts (${d.header.profile.name})`): Target {
  const n = d.network;
  const engine = new FixedEngine(d);
  const x = new Int32Array(n.inputSize);
  const score = new Float64Array(n.outputSize);
  return codesTarget(d, 'fixed-ts', label, async (stimulus, recording) => {
    const size = stimulus.inputSize;
    const values = new Float64Array(size);
    const row = new Int32Array(size);
    const codes = new Float64Array(stimulus.count * n.outputSize);
    const states = recording ? new Float64Array(recordedStatesSize(d, stimulus.count)) : null;
    let at = 0;
    const record =
      states === null
        ? undefined
        : (): void => {
            for (let l = 0; l < n.layers.length; l++) {
              states.set(engine.membrane(l), at);
              at += n.layers[l].nOut;
              states.set(engine.rates(l), at);
              at += n.layers[l].nOut;
            }
          };
    const presenter: Presenter = {
      fill: (t) => {
        if (n.presentation.mode === 'static') x.set(row);
        else x[0] = row[t];
      },
      step: () => {
        engine.step(x);
      },
      output: () => engine.output,
    };
    for (let s = 0; s < stimulus.count; s++) {
      for (let i = 0; i < size; i++) values[i] = stimulus.inputs[s * size + i];
      quantiseInputs(values, n.inputFormat, row);
      engine.reset();
      present(n.presentation, presenter, score, undefined, record);
      codes.set(score, s * n.outputSize);
    }
    return { codes, states };
  });
}

/** firmware-bridge's C engine through its host program (build/firmware/gle_host): the C presentation loop. */
export function cEngineTarget(d: Descriptor, bytes: Uint8Array, label = `fixed-c (${d.header.profile.name})`): Target {
  return codesTarget(d, 'fixed-c', label, async (stimulus, recording) => {
    const stepInputs = presentationInputs(d, stimulus.inputs, stimulus.count, stimulus.inputSize);
    const codes = runPresentationC(bytes, stepInputs, d.network.outputSize);
    const states = recording ? Float64Array.from(traceC([{ bytes, stepInputs }])[0]) : null;
    return { codes, states };
  });
}
