/**
 * The Yin-Yang data set of L. Kriener, J. Göltz, M. A. Petrovici, "The Yin-Yang dataset"
 * (NICE 2022, doi:10.1145/3517343.3517380, arXiv:2102.08211): rejection sampling inside
 * the unit disc of radius 0.5 around (0.5, 0.5) after drawing the wanted class uniformly;
 * inputs [x, y, 1-x, 1-y].
 */
import { Rng } from '../util/rng.js';
import type { ClassificationDataset, ClassificationSplit } from './types.js';

export const YINYANG_CLASSES = ['yin', 'yang', 'dot'] as const;

export function yinYangClass(x: number, y: number): number {
  const dRight = Math.hypot(x - 0.75, y - 0.5);
  const dLeft = Math.hypot(x - 0.25, y - 0.5);
  if (dRight < 0.1 || dLeft < 0.1) return 2;
  if ((dLeft > 0.1 && dLeft <= 0.25) || (y > 0.5 && dRight > 0.25)) return 1;
  return 0;
}

export function generateYinYangSplit(count: number, seed: number): ClassificationSplit {
  const rng = new Rng(seed);
  const inputs = new Float32Array(count * 4);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const wanted = rng.int(3);
    let x = 0,
      y = 0;
    for (;;) {
      x = rng.uniform();
      y = rng.uniform();
      if (Math.hypot(x - 0.5, y - 0.5) > 0.5) continue;
      if (yinYangClass(x, y) === wanted) break;
    }
    inputs.set([x, y, 1 - x, 1 - y], i * 4);
    labels[i] = wanted;
  }
  return { count, inputSize: 4, inputs, labels };
}

export interface YinYangOptions {
  seed: number;
  trainCount?: number;
  validationCount?: number;
  testCount?: number;
}

/** Train, validation and test come from independent streams derived from one seed. */
export function generateYinYang(options: YinYangOptions): ClassificationDataset {
  const { seed, trainCount = 5000, validationCount = 1000, testCount = 1000 } = options;
  const stream = (k: number): number => Rng.derive(seed, k).nextUint32();
  return {
    name: 'yinyang',
    inputSize: 4,
    numClasses: 3,
    train: generateYinYangSplit(trainCount, stream(0)),
    validation: generateYinYangSplit(validationCount, stream(1)),
    test: generateYinYangSplit(testCount, stream(2)),
  };
}
