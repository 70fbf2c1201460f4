/**
 * MNIST-1D (Greydanus 2020), regenerated from its published procedure with the
 * project's seeded RNG, so the exact samples differ from the NumPy original (which
 * uses NumPy's Mersenne Twister) while the distribution is the same.
 *
 * Where the written procedure leaves room, the choices below follow the original
 * program's behaviour as far as it is described; each is marked "Choice:".
 *
 * Choice: one RNG stream drives everything in the original's order (per sample:
 * padding, scale, shift, correlated noise, iid noise, shear; then the shuffle). The
 * output length only enters at the last interpolation, so the same seed at lengths 40
 * and 360 yields the same underlying samples, merely resampled.
 */
import { ValidationError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { ClassificationDataset, ClassificationSplit } from './types.js';

/** The ten hand-drawn digit templates, before normalisation. */
export const MNIST1D_RAW_TEMPLATES: readonly (readonly number[])[] = [
  [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
  [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
  [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
  [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
  [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
  [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
  [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
  [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
  [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
  [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
];

const TEMPLATE_LEN = 12;
const NUM_CLASSES = 10;
const PAD_MIN = 36;
const PAD_MAX = 60;
/** template plus the longest padding: every padded template is stretched to this */
const DILATED_LEN = TEMPLATE_LEN + PAD_MAX;
const SCALE_COEFF = 0.4;
const MAX_TRANSLATION = 48;
const CORR_NOISE_SCALE = 0.25;
const CORR_NOISE_SIGMA = 2;
const IID_NOISE_SCALE = 0.02;
const SHEAR_SCALE = 0.75;
/**
 * Choice: the original adds this to the template before padding and later detects the
 * padded positions as the exact zeros of the signal. Without it the template's first
 * point (0 after normalisation) would be mistaken for padding and overwritten by noise.
 */
const TEMPLATE_EPS = 1e-8;

/**
 * The normalised templates: per template subtract the mean, divide by the population
 * standard deviation (NumPy's default, ddof = 0), subtract the first value so every
 * digit starts at 0, divide by 6.
 */
export function mnist1dTemplates(): Float64Array[] {
  return MNIST1D_RAW_TEMPLATES.map((raw) => {
    const t = Float64Array.from(raw);
    let mean = 0;
    for (let i = 0; i < t.length; i++) mean += t[i]!;
    mean /= t.length;
    let variance = 0;
    for (let i = 0; i < t.length; i++) variance += (t[i]! - mean) ** 2;
    const std = Math.sqrt(variance / t.length);
    for (let i = 0; i < t.length; i++) t[i] = (t[i]! - mean) / std;
    const first = t[0]!;
    for (let i = 0; i < t.length; i++) t[i] = (t[i]! - first) / 6;
    return t;
  });
}

/**
 * Linear interpolation of `src` (n points on linspace(0, 1, n)) onto m points on
 * linspace(0, 1, m). Choice: linear, as the original's interp1d(kind='linear'); the
 * endpoints map exactly onto the endpoints.
 */
function interpolate(src: Float64Array, n: number, dst: Float64Array, m: number): void {
  const step = (n - 1) / (m - 1);
  for (let j = 0; j < m; j++) {
    const s = j * step;
    let i0 = Math.floor(s);
    if (i0 > n - 2) i0 = n - 2;
    const frac = s - i0;
    const a = src[i0]!;
    dst[j] = a + (src[i0 + 1]! - a) * frac;
  }
}

/**
 * Choice: the smoothing is SciPy's gaussian_filter(noise, sigma=2) semantics, which the
 * original calls: weights exp(-x^2 / (2 sigma^2)) for |x| <= round(4 sigma) = 8,
 * normalised to sum 1, and "reflect" boundaries (the edge sample is repeated:
 * ... c b a | a b c ... ). The noise is generated and smoothed over all 72 positions,
 * then used only where the signal is padding.
 */
const SMOOTH_RADIUS = Math.floor(4 * CORR_NOISE_SIGMA + 0.5);
const SMOOTH_KERNEL: Float64Array = (() => {
  const k = new Float64Array(2 * SMOOTH_RADIUS + 1);
  let sum = 0;
  for (let o = -SMOOTH_RADIUS; o <= SMOOTH_RADIUS; o++) {
    const w = Math.exp((-0.5 * o * o) / (CORR_NOISE_SIGMA * CORR_NOISE_SIGMA));
    k[o + SMOOTH_RADIUS] = w;
    sum += w;
  }
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum;
  return k;
})();

function smooth(src: Float64Array, dst: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let o = -SMOOTH_RADIUS; o <= SMOOTH_RADIUS; o++) {
      let idx = i + o;
      // one reflection suffices because the radius (8) is shorter than the signal (72)
      if (idx < 0) idx = -idx - 1;
      else if (idx >= n) idx = 2 * n - idx - 1;
      acc += SMOOTH_KERNEL[o + SMOOTH_RADIUS]! * src[idx]!;
    }
    dst[i] = acc;
  }
}

export interface Mnist1dOptions {
  readonly seed: number;
  /** samples per sequence after the final interpolation (paper 40; GLE uses 360) */
  readonly length?: number;
  /** train samples, validation included (paper 4000) */
  readonly trainCount?: number;
  /** test samples (paper 1000) */
  readonly testCount?: number;
  /**
   * Share of the train samples moved to the validation split, in [0, 1). The paper has
   * no validation split, so the default 0 keeps its 4000 / 1000 and leaves validation empty.
   */
  readonly validationFraction?: number;
}

const SOURCE = 'generateMnist1d options';

function checkCount(field: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new ValidationError(SOURCE, field, value, `must be an integer >= ${min}`);
}

/** Scratch buffers for one sample, reused so the per-sample loop allocates nothing. */
interface Scratch {
  padded: Float64Array;
  dilated: Float64Array;
  rolled: Float64Array;
  noise: Float64Array;
  smoothed: Float64Array;
}

/** Writes one transformed sample of template `tpl` into `out` (length `length`). */
function transform(tpl: Float64Array, rng: Rng, s: Scratch, out: Float64Array, length: number): void {
  const pad = PAD_MIN + rng.int(PAD_MAX - PAD_MIN + 1);
  const srcLen = TEMPLATE_LEN + pad;
  const padded = s.padded;
  for (let i = 0; i < TEMPLATE_LEN; i++) padded[i] = tpl[i]! + TEMPLATE_EPS;
  for (let i = TEMPLATE_LEN; i < srcLen; i++) padded[i] = 0;
  // stretching template + padding to a fixed length varies the digit's width
  interpolate(padded, srcLen, s.dilated, DILATED_LEN);

  const scale = 1 + SCALE_COEFF * (rng.uniform() - 0.5);
  // Choice: shift k in 0..47 to the right, circularly (new[i] = old[i - k]), as the
  // original's concatenate([x[-k:], x[:-k]]), for which k = 0 leaves x unchanged.
  const k = rng.int(MAX_TRANSLATION);
  const x = s.rolled;
  for (let i = 0; i < DILATED_LEN; i++) {
    let from = i - k;
    if (from < 0) from += DILATED_LEN;
    x[i] = s.dilated[from]! * scale;
  }

  for (let i = 0; i < DILATED_LEN; i++) s.noise[i] = CORR_NOISE_SCALE * rng.normal();
  smooth(s.noise, s.smoothed, DILATED_LEN);
  // Exact zeros are exactly the points interpolated between two padding zeros; scaling
  // and shifting keep them zero, and TEMPLATE_EPS keeps template points off zero.
  for (let i = 0; i < DILATED_LEN; i++) if (x[i] === 0) x[i] = s.smoothed[i]!;
  for (let i = 0; i < DILATED_LEN; i++) x[i] = x[i]! + IID_NOISE_SCALE * rng.normal();

  const shear = SHEAR_SCALE * (rng.uniform() - 0.5);
  for (let i = 0; i < DILATED_LEN; i++) x[i] = x[i]! - shear * (-0.5 + i / (DILATED_LEN - 1));

  interpolate(x, DILATED_LEN, out, length);
}

function split(all: Float32Array, labels: Uint8Array, order: Uint32Array, start: number, count: number, length: number): ClassificationSplit {
  const inputs = new Float32Array(count * length);
  const out = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const src = order[start + r]! * length;
    inputs.set(all.subarray(src, src + length), r * length);
    out[r] = labels[order[start + r]!]!;
  }
  return { count, inputSize: length, inputs, labels: out };
}

/**
 * Generates MNIST-1D. Train, validation and test come from one pool that is shuffled
 * and standardised together, as in the original.
 */
export function generateMnist1d(options: Mnist1dOptions): ClassificationDataset {
  const { seed, length = 40, trainCount = 4000, testCount = 1000, validationFraction = 0 } = options;
  if (!Number.isFinite(seed)) throw new ValidationError(SOURCE, 'seed', seed, 'must be a finite number');
  checkCount('length', length, 2);
  checkCount('trainCount', trainCount, 0);
  checkCount('testCount', testCount, 0);
  const total = trainCount + testCount;
  // standardising needs a spread, which needs at least two sequences
  if (total < 2) throw new ValidationError(SOURCE, 'trainCount + testCount', total, 'must be at least 2');
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new ValidationError(SOURCE, 'validationFraction', validationFraction, 'must lie in [0, 1)');
  }
  const validationCount = Math.round(trainCount * validationFraction);

  const templates = mnist1dTemplates();
  const rng = new Rng(seed);
  const scratch: Scratch = {
    padded: new Float64Array(TEMPLATE_LEN + PAD_MAX),
    dilated: new Float64Array(DILATED_LEN),
    rolled: new Float64Array(DILATED_LEN),
    noise: new Float64Array(DILATED_LEN),
    smoothed: new Float64Array(DILATED_LEN),
  };

  // Choice: the original draws num_samples // 10 per class, class after class, then
  // shuffles. We do the same; when the total is not a multiple of 10 the first
  // (total mod 10) classes get one extra sample so the requested total is met exactly.
  const raw = new Float64Array(total * length);
  const labels = new Uint8Array(total);
  const row = new Float64Array(length);
  let n = 0;
  for (let c = 0; c < NUM_CLASSES; c++) {
    const perClass = Math.floor(total / NUM_CLASSES) + (c < total % NUM_CLASSES ? 1 : 0);
    for (let j = 0; j < perClass; j++, n++) {
      transform(templates[c]!, rng, scratch, row, length);
      raw.set(row, n * length);
      labels[n] = c;
    }
  }
  const order = rng.permutation(total);

  // Choice: one global mean and population std (NumPy's xs.mean(), xs.std()) over all
  // splits, computed in float64 before rounding to float32, as the original does it.
  let mean = 0;
  for (let i = 0; i < raw.length; i++) mean += raw[i]!;
  mean /= raw.length;
  let variance = 0;
  for (let i = 0; i < raw.length; i++) {
    const d = raw[i]! - mean;
    variance += d * d;
  }
  const invStd = 1 / Math.sqrt(variance / raw.length);
  const all = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) all[i] = (raw[i]! - mean) * invStd;

  // Choice: shuffled order gives train first, then test (the original's split); the
  // validation split is the tail of the train part.
  const fitCount = trainCount - validationCount;
  return {
    name: 'mnist1d',
    inputSize: length,
    numClasses: NUM_CLASSES,
    train: split(all, labels, order, 0, fitCount, length),
    validation: split(all, labels, order, fitCount, validationCount, length),
    test: split(all, labels, order, trainCount, testCount, length),
  };
}
