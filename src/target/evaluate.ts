/**
 * Written once for every target: the accuracy of a target on a labelled split, and the
 * comparison of two targets on one stimulus (hardware in the loop).
 */
import { createHash } from 'node:crypto';
import { argmax } from '../presentation/index.js';
import type { ClassificationSplit } from '../tasks/types.js';
import { GlekitError } from '../util/errors.js';
import type { Stimulus, Target, TargetOutputs } from './types.js';

/** SHA-256 over read-out codes, each as int64 little-endian. */
export function outputsSha256(codes: ArrayLike<number>): string {
  const b = Buffer.alloc(codes.length * 8);
  for (let i = 0; i < codes.length; i++) b.writeBigInt64LE(BigInt(codes[i]), 8 * i);
  return createHash('sha256').update(b).digest('hex');
}

export interface Evaluation {
  target: string;
  samples: number;
  accuracy: number;
  correct: number;
  outputs: TargetOutputs;
  /** outputsSha256 of the read-out codes, where the target has codes */
  outputsSha256: string | null;
  wallSeconds: number;
}

function checkOutputs(target: Target, outputs: TargetOutputs, count: number): void {
  const expected = count * target.outputSize;
  if (outputs.values.length !== expected)
    throw new GlekitError(`${target.label}: returned ${outputs.values.length} read-outs for ${count} samples of ${target.outputSize}`);
}

/**
 * Refuses an evaluation whose read-outs are not all finite: an accuracy over NaN or
 * infinite read-outs is a number that means nothing. (Sweeps record divergence as data
 * instead, src/sweep/job.ts.)
 */
export function requireFinite(e: Evaluation, outputSize: number): Evaluation {
  const bad = e.outputs.values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new GlekitError(
      `${e.target}: the network diverged: read-out ${bad % outputSize} of sample ${Math.floor(bad / outputSize)} is ${e.outputs.values[bad]}`,
    );
  return e;
}

/** The first `limit` samples of a split (all without a limit). */
export function firstSamples<T extends Stimulus>(split: T & { labels?: Uint8Array }, limit?: number): T {
  const count = Math.min(split.count, limit ?? split.count);
  if (count === split.count) return split;
  return { ...split, count, inputs: split.inputs.subarray(0, count * split.inputSize), labels: split.labels?.subarray(0, count) };
}

/** Accuracy of a target on a labelled split: argmax of each read-out against the label. */
export async function evaluate(target: Target, split: ClassificationSplit): Promise<Evaluation> {
  const started = performance.now();
  const outputs = await target.run(split);
  const wallSeconds = (performance.now() - started) / 1000;
  checkOutputs(target, outputs, split.count);
  let correct = 0;
  for (let s = 0; s < split.count; s++) if (argmax(outputs.values, s, target.outputSize) === split.labels[s]) correct++;
  return {
    target: target.label,
    samples: split.count,
    accuracy: split.count === 0 ? NaN : correct / split.count,
    correct,
    outputs,
    outputsSha256: outputs.codes === null ? null : outputsSha256(outputs.codes),
    wallSeconds,
  };
}

export interface Mismatch {
  sample: number;
  output: number;
  a: number;
  b: number;
}

export interface Comparison {
  a: string;
  b: string;
  samples: number;
  /** what was compared: integer codes where both targets have them, real values otherwise */
  compared: 'codes' | 'values';
  /** every compared number equal */
  equal: boolean;
  firstMismatch: Mismatch | null;
  mismatches: number;
  maxAbsDifference: number;
  /** fraction of samples whose argmax agrees */
  argmaxAgreement: number;
  outputsSha256: { a: string | null; b: string | null };
  wallSeconds: { a: number; b: number };
}

function compareOutputs(
  n: number,
  outA: TargetOutputs,
  outB: TargetOutputs,
  count: number,
): Omit<Comparison, 'a' | 'b' | 'samples' | 'outputsSha256' | 'wallSeconds'> {
  const useCodes = outA.codes !== null && outB.codes !== null;
  const xa = useCodes ? outA.codes! : outA.values,
    xb = useCodes ? outB.codes! : outB.values;
  let firstMismatch: Mismatch | null = null;
  let mismatches = 0;
  let maxAbsDifference = 0;
  for (let i = 0; i < xa.length; i++) {
    if (xa[i] === xb[i]) continue;
    mismatches++;
    if (firstMismatch === null) firstMismatch = { sample: Math.floor(i / n), output: i % n, a: xa[i], b: xb[i] };
    const d = Math.abs(outA.values[i] - outB.values[i]);
    if (!(d <= maxAbsDifference)) maxAbsDifference = d;
  }
  let agree = 0;
  for (let s = 0; s < count; s++) if (argmax(outA.values, s, n) === argmax(outB.values, s, n)) agree++;
  return {
    compared: useCodes ? 'codes' : 'values',
    equal: mismatches === 0,
    firstMismatch,
    mismatches,
    maxAbsDifference,
    argmaxAgreement: count === 0 ? NaN : agree / count,
  };
}

/** Runs one stimulus on two targets and compares their read-outs number by number. */
export async function compare(a: Target, b: Target, stimulus: Stimulus): Promise<Comparison> {
  if (a.outputSize !== b.outputSize)
    throw new GlekitError(`${a.label} has ${a.outputSize} outputs, ${b.label} ${b.outputSize}: they do not run the same network`);
  const t0 = performance.now();
  const outA = await a.run(stimulus);
  const t1 = performance.now();
  const outB = await b.run(stimulus);
  const t2 = performance.now();
  checkOutputs(a, outA, stimulus.count);
  checkOutputs(b, outB, stimulus.count);
  return {
    a: a.label,
    b: b.label,
    samples: stimulus.count,
    ...compareOutputs(a.outputSize, outA, outB, stimulus.count),
    outputsSha256: { a: outA.codes === null ? null : outputsSha256(outA.codes), b: outB.codes === null ? null : outputsSha256(outB.codes) },
    wallSeconds: { a: (t1 - t0) / 1000, b: (t2 - t1) / 1000 },
  };
}

/** Both targets evaluated on a labelled split, and their read-outs compared. */
export async function compareOnSplit(a: Target, b: Target, split: ClassificationSplit): Promise<{ a: Evaluation; b: Evaluation; comparison: Comparison }> {
  if (a.outputSize !== b.outputSize)
    throw new GlekitError(`${a.label} has ${a.outputSize} outputs, ${b.label} ${b.outputSize}: they do not run the same network`);
  const evA = await evaluate(a, split);
  const evB = await evaluate(b, split);
  const comparison: Comparison = {
    a: a.label,
    b: b.label,
    samples: split.count,
    ...compareOutputs(a.outputSize, evA.outputs, evB.outputs, split.count),
    outputsSha256: { a: evA.outputsSha256, b: evB.outputsSha256 },
    wallSeconds: { a: evA.wallSeconds, b: evB.wallSeconds },
  };
  return { a: evA, b: evB, comparison };
}
