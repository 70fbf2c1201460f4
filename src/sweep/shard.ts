/**
 * Splitting a study's jobs into N shards: which shard this process is (--shard I/N, or a
 * Slurm array's or a Kubernetes indexed job's variables), each job's expected cost, and a
 * deterministic split that balances the cost.
 *
 * The split depends only on the plan (the jobs, their costs, their order) and N, never on
 * which jobs are done: a requeued task gets the shard it had. Correctness does not depend
 * on it either: a job is done when any records file holds it, whichever process wrote it.
 */
import { GlekitError } from '../util/errors.js';

export interface Shard {
  /** 0-based */
  index: number;
  count: number;
  /** where I and N came from, for the log */
  source: string;
}

/** Upper bound on N: a typo is likelier than an array this wide. */
export const MAX_SHARDS = 100_000;

function checkShard(index: number, count: number, source: string): Shard {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS)
    throw new GlekitError(`${source}: the number of shards must be an integer in 1..${MAX_SHARDS} (got ${count})`);
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new GlekitError(`${source}: the shard index must be an integer in 0..${count - 1} (got ${index})`);
  return { index, count, source };
}

function intFrom(text: string, what: string): number {
  const t = text.trim();
  const n = /^-?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n)) throw new GlekitError(`${what} must be an integer (got ${JSON.stringify(text)})`);
  return n;
}

/** --shard I/N, I in 0..N-1. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\S+)\s*\/\s*(\S+)\s*$/.exec(text);
  if (m === null) throw new GlekitError(`option --shard: must be I/N with I in 0..N-1, e.g. 3/8 (got ${JSON.stringify(text)})`);
  return checkShard(intFrom(m[1], 'option --shard: I'), intFrom(m[2], 'option --shard: N'), `--shard ${text.trim()}`);
}

/**
 * This process's shard from the environment:
 * - Slurm array: I = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT
 *   (or MAX - MIN + 1); the ids must be contiguous (--array=0-7, not 0-14:2). With `shards`
 *   given (--shards N), I = SLURM_ARRAY_TASK_ID itself, so that `sbatch --array=3` of the
 *   same script reruns shard 3 alone.
 * - Kubernetes indexed job: I = JOB_COMPLETION_INDEX; N must be given (--shards N), since
 *   Kubernetes does not export the job's completions.
 */
export function shardFromEnvironment(env: NodeJS.ProcessEnv, shards?: number): Shard {
  const id = env.SLURM_ARRAY_TASK_ID;
  if (id !== undefined && id !== '') {
    const taskId = intFrom(id, 'SLURM_ARRAY_TASK_ID');
    if (shards !== undefined) return checkShard(taskId, shards, `SLURM_ARRAY_TASK_ID=${taskId} with --shards ${shards}`);
    const num = (name: string): number | undefined => (env[name] === undefined || env[name] === '' ? undefined : intFrom(env[name]!, name));
    const min = num('SLURM_ARRAY_TASK_MIN');
    const max = num('SLURM_ARRAY_TASK_MAX');
    const count = num('SLURM_ARRAY_TASK_COUNT');
    const source = `Slurm array task ${taskId} (SLURM_ARRAY_TASK_MIN=${min ?? '-'}, MAX=${max ?? '-'}, COUNT=${count ?? '-'})`;
    if (min === undefined && count === undefined) {
      throw new GlekitError(`${source}: cannot tell the number of shards; give --shard I/N or --shards N`);
    }
    const base = min ?? 0;
    const n = count ?? max! - base + 1;
    if (max !== undefined && max - base + 1 !== n) {
      throw new GlekitError(
        `${source}: the array's task ids are not contiguous; submit it as --array=0-${n - 1}, or give --shards N (then I = SLURM_ARRAY_TASK_ID)`,
      );
    }
    return checkShard(taskId - base, n, source);
  }
  const k8s = env.JOB_COMPLETION_INDEX;
  if (k8s !== undefined && k8s !== '') {
    const index = intFrom(k8s, 'JOB_COMPLETION_INDEX');
    if (shards === undefined)
      throw new GlekitError(`JOB_COMPLETION_INDEX=${index}: give the number of shards with --shards N (the job's completions; Kubernetes does not export it)`);
    return checkShard(index, shards, `Kubernetes JOB_COMPLETION_INDEX=${index} with --shards ${shards}`);
  }
  throw new GlekitError(
    'which shard? give --shard I/N (--shard 0/1 runs every job), or run inside a Slurm array (SLURM_ARRAY_TASK_ID) or a Kubernetes indexed job (JOB_COMPLETION_INDEX with --shards N)',
  );
}

/**
 * What decides a job's expected cost, in one unit: one time step of one sample through
 * one synapse (or neuron) at evaluation. Measured against the records committed under
 * examples/ (per-job seconds, medians): a training sample costs 0.75 of an evaluation
 * sample (Yin-Yang 0.78 with 10 epochs, MNIST 0.75 with 1), learning tau_m 1.2 times that,
 * and temporal noise 128 synapse-steps per neuron-step (Yin-Yang 14x, MNIST-1D 5.3x the
 * cost of an evaluation without noise: 89 and 192 per neuron).
 */
export interface CostModel {
  /** time steps per sample */
  steps: number;
  synapses: number;
  neurons: number;
  /** samples of the evaluated split, of the training split, of the validation split */
  evalSamples: number;
  trainSamples: number;
  validationSamples: number;
  trainOnChip: number;
  learnTau: boolean;
}

export const TRAIN_SAMPLE_COST = 0.75;
export const LEARN_TAU_FACTOR = 1.2;
export const NOISE_COST_PER_NEURON = 128;

/** Expected cost of one job; `noisy`: the chip at its point has temporal noise (on membrane or rate). */
export function expectedCost(m: CostModel, noisy: boolean): number {
  const perStep = m.synapses + m.neurons + (noisy ? NOISE_COST_PER_NEURON * m.neurons : 0);
  const train = m.trainOnChip * (m.trainSamples * TRAIN_SAMPLE_COST * (m.learnTau ? LEARN_TAU_FACTOR : 1) + m.validationSamples);
  return m.steps * perStep * (m.evalSamples + train);
}

/**
 * The shard of every job: longest expected cost first, each to the shard with the least
 * cost so far (ties: the job earlier in the plan first, the lower shard). Deterministic in
 * the costs, their order and N.
 */
export function splitByCost(costs: readonly number[], count: number): number[] {
  const order = costs.map((_, i) => i).sort((a, b) => costs[b] - costs[a] || a - b);
  const load = new Array<number>(count).fill(0);
  const shardOf = new Array<number>(costs.length).fill(0);
  for (const i of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    shardOf[i] = best;
    load[best] += costs[i];
  }
  return shardOf;
}

export interface Balance {
  shards: number;
  /** expected cost per shard */
  loads: number[];
  jobsPerShard: number[];
  /** the largest shard's expected cost over the mean (1: perfect) */
  maxOverMean: number;
}

export function balanceOf(costs: readonly number[], shardOf: readonly number[], count: number): Balance {
  const loads = new Array<number>(count).fill(0);
  const jobsPerShard = new Array<number>(count).fill(0);
  shardOf.forEach((s, i) => {
    loads[s] += costs[i];
    jobsPerShard[s]++;
  });
  const mean = loads.reduce((a, b) => a + b, 0) / count;
  return { shards: count, loads, jobsPerShard, maxOverMean: mean > 0 ? Math.max(...loads) / mean : 1 };
}
