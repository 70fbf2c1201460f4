import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist, MNIST_FILES, mnistDataDir, readIdxImages, readIdxLabels } from '../src/tasks/mnist.js';
import { generateMnist1d, mnist1dTemplates } from '../src/tasks/mnist1d.js';
import type { ClassificationSplit } from '../src/tasks/types.js';

function histogram(labels: Uint8Array, classes: number): number[] {
  const h = new Array<number>(classes).fill(0);
  for (const l of labels) h[l]!++;
  return h;
}

function bytesEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

describe('MNIST', () => {
  const t0 = performance.now();
  const ds = loadMnist();
  const loadMs = performance.now() - t0;
  console.log(`MNIST load: ${loadMs.toFixed(0)} ms`);

  it('has the 50k / 10k / 10k split of 784-pixel images', () => {
    expect(ds.inputSize).toBe(784);
    expect(ds.numClasses).toBe(10);
    for (const [s, n] of [
      [ds.train, 50_000],
      [ds.validation, 10_000],
      [ds.test, 10_000],
    ] as const) {
      expect(s.count).toBe(n);
      expect(s.inputSize).toBe(784);
      expect(s.inputs.length).toBe(n * 784);
      expect(s.labels.length).toBe(n);
    }
  });

  it('has the known first labels and a plausible label histogram', () => {
    expect(ds.train.labels[0]).toBe(5);
    expect(ds.test.labels[0]).toBe(7);
    for (const s of [ds.train, ds.validation, ds.test]) {
      for (const c of histogram(s.labels, 10)) {
        expect(c / s.count).toBeGreaterThan(0.08);
        expect(c / s.count).toBeLessThan(0.12);
      }
    }
    // the known class counts of the 10k test file
    expect(histogram(ds.test.labels, 10)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('scales pixels to [0, 1) by 1/256', () => {
    for (const s of [ds.train, ds.validation, ds.test]) {
      let min = Infinity;
      let max = -Infinity;
      for (const v of s.inputs) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect(min).toBe(0);
      expect(max).toBe(255 / 256);
    }
  });

  it('takes validation from the last 10k of the training file', () => {
    const labels = readIdxLabels(join(mnistDataDir(), MNIST_FILES.trainLabels));
    expect(Array.from(ds.validation.labels)).toEqual(Array.from(labels.subarray(50_000)));
    expect(Array.from(ds.train.labels)).toEqual(Array.from(labels.subarray(0, 50_000)));
  });

  it('caches per process', () => {
    expect(loadMnist()).toBe(ds);
  });
});

describe('IDX validation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glekit-idx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const src = mnistDataDir();

  it('rejects a bad magic number and names the file', () => {
    const bytes = readFileSync(join(src, MNIST_FILES.testLabels));
    bytes.writeUInt32BE(2051, 0);
    const path = join(dir, 'bad-magic-labels');
    writeFileSync(path, bytes);
    expect(() => readIdxLabels(path)).toThrow(path);
    expect(() => readIdxLabels(path)).toThrow(/magic.*2051/);
  });

  it('rejects a truncated image file and names the file', () => {
    const bytes = readFileSync(join(src, MNIST_FILES.testImages));
    const path = join(dir, 'truncated-images');
    writeFileSync(path, bytes.subarray(0, bytes.length - 100));
    expect(() => readIdxImages(path)).toThrow(path);
    expect(() => readIdxImages(path)).toThrow(/truncated/);
    writeFileSync(path, bytes.subarray(0, 10));
    expect(() => readIdxImages(path)).toThrow(/header.*truncated/);
  });

  it('rejects a wrong image size and an out-of-range label', () => {
    const images = readFileSync(join(src, MNIST_FILES.testImages)).subarray(0, 16 + 784);
    const wide = Buffer.from(images);
    wide.writeUInt32BE(1, 4);
    wide.writeUInt32BE(27, 12);
    const wpath = join(dir, 'wide-images');
    writeFileSync(wpath, wide);
    expect(() => readIdxImages(wpath)).toThrow(/cols/);

    const labels = Buffer.from(readFileSync(join(src, MNIST_FILES.testLabels)).subarray(0, 8 + 3));
    labels.writeUInt32BE(3, 4);
    labels[8 + 2] = 10;
    const lpath = join(dir, 'bad-labels');
    writeFileSync(lpath, labels);
    expect(() => readIdxLabels(lpath)).toThrow(/label\[2\]/);
  });

  it('loadMnist reports the corrupt file of a data folder', () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    for (const f of Object.values(MNIST_FILES)) copyFileSync(join(src, f), join(data, f));
    const bad = join(data, MNIST_FILES.trainLabels);
    const bytes = readFileSync(bad);
    writeFileSync(bad, bytes.subarray(0, 5000));
    expect(() => loadMnist({ dataDir: data })).toThrow(bad);
  });
});

/** Softmax regression by full-batch gradient descent; returns test accuracy. */
function logisticRegression(train: ClassificationSplit, test: ClassificationSplit, epochs: number, lr: number): number {
  const d = train.inputSize;
  const k = 10;
  const w = new Float64Array(k * (d + 1));
  const grad = new Float64Array(w.length);
  const p = new Float64Array(k);
  for (let e = 0; e < epochs; e++) {
    grad.fill(0);
    for (let n = 0; n < train.count; n++) {
      const off = n * d;
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        let z = w[c * (d + 1) + d]!;
        for (let i = 0; i < d; i++) z += w[c * (d + 1) + i]! * train.inputs[off + i]!;
        p[c] = z;
        if (z > max) max = z;
      }
      let sum = 0;
      for (let c = 0; c < k; c++) sum += p[c] = Math.exp(p[c]! - max);
      for (let c = 0; c < k; c++) {
        const g = p[c]! / sum - (c === train.labels[n] ? 1 : 0);
        for (let i = 0; i < d; i++) grad[c * (d + 1) + i]! += g * train.inputs[off + i]!;
        grad[c * (d + 1) + d]! += g;
      }
    }
    for (let i = 0; i < w.length; i++) w[i]! -= (lr * grad[i]!) / train.count;
  }
  let correct = 0;
  for (let n = 0; n < test.count; n++) {
    let best = -Infinity;
    let arg = 0;
    for (let c = 0; c < k; c++) {
      let z = w[c * (d + 1) + d]!;
      for (let i = 0; i < d; i++) z += w[c * (d + 1) + i]! * test.inputs[n * d + i]!;
      if (z > best) {
        best = z;
        arg = c;
      }
    }
    if (arg === test.labels[n]) correct++;
  }
  return correct / test.count;
}

function nearestCentroid(train: ClassificationSplit, test: ClassificationSplit): number {
  const d = train.inputSize;
  const centroids = new Float64Array(10 * d);
  const counts = histogram(train.labels, 10);
  for (let n = 0; n < train.count; n++) {
    const c = train.labels[n]!;
    for (let i = 0; i < d; i++) centroids[c * d + i]! += train.inputs[n * d + i]! / counts[c]!;
  }
  let correct = 0;
  for (let n = 0; n < test.count; n++) {
    let best = Infinity;
    let arg = 0;
    for (let c = 0; c < 10; c++) {
      let dist = 0;
      for (let i = 0; i < d; i++) dist += (test.inputs[n * d + i]! - centroids[c * d + i]!) ** 2;
      if (dist < best) {
        best = dist;
        arg = c;
      }
    }
    if (arg === test.labels[n]) correct++;
  }
  return correct / test.count;
}

describe('MNIST-1D', () => {
  it('normalises the templates to start at 0', () => {
    const t = mnist1dTemplates();
    expect(t).toHaveLength(10);
    for (const tpl of t) {
      expect(tpl).toHaveLength(12);
      expect(tpl[0]).toBe(0);
    }
  });

  it('is deterministic per seed', () => {
    const a = generateMnist1d({ seed: 3 });
    const b = generateMnist1d({ seed: 3 });
    const c = generateMnist1d({ seed: 4 });
    expect(bytesEqual(a.train.inputs, b.train.inputs)).toBe(true);
    expect(bytesEqual(a.test.inputs, b.test.inputs)).toBe(true);
    expect(Array.from(a.train.labels)).toEqual(Array.from(b.train.labels));
    expect(bytesEqual(a.train.inputs, c.train.inputs)).toBe(false);
    expect(bytesEqual(a.test.inputs, c.test.inputs)).toBe(false);
  });

  it.each([40, 360])('has the paper shapes at length %i', (length) => {
    const t0 = performance.now();
    const ds = generateMnist1d({ seed: 1, length });
    console.log(`MNIST-1D length ${length}: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(ds.inputSize).toBe(length);
    expect(ds.numClasses).toBe(10);
    expect(ds.train.count).toBe(4000);
    expect(ds.test.count).toBe(1000);
    expect(ds.validation.count).toBe(0);
    expect(ds.validation.inputs.length).toBe(0);
    expect(ds.train.inputs.length).toBe(4000 * length);
    expect(ds.test.inputs.length).toBe(1000 * length);
    let nonFinite = 0;
    for (const s of [ds.train, ds.test]) for (const v of s.inputs) if (!Number.isFinite(v)) nonFinite++;
    expect(nonFinite).toBe(0);
  });

  it('carves validation out of the train part', () => {
    const full = generateMnist1d({ seed: 9 });
    const ds = generateMnist1d({ seed: 9, validationFraction: 0.1 });
    expect(ds.train.count).toBe(3600);
    expect(ds.validation.count).toBe(400);
    expect(ds.test.count).toBe(1000);
    expect(bytesEqual(ds.test.inputs, full.test.inputs)).toBe(true);
    expect(bytesEqual(ds.validation.inputs, full.train.inputs.subarray(3600 * 40))).toBe(true);
  });

  it('balances the classes overall', () => {
    const ds = generateMnist1d({ seed: 2 });
    const all = new Uint8Array([...ds.train.labels, ...ds.test.labels]);
    expect(histogram(all, 10)).toEqual(new Array(10).fill(500));
    for (const c of histogram(ds.test.labels, 10)) expect(c).toBeGreaterThan(60);
  });

  it('is standardised to global mean 0 and std 1', () => {
    const ds = generateMnist1d({ seed: 5, length: 360 });
    let sum = 0;
    let sq = 0;
    let n = 0;
    for (const s of [ds.train, ds.test]) {
      for (const v of s.inputs) {
        sum += v;
        sq += v * v;
        n++;
      }
    }
    const mean = sum / n;
    expect(Math.abs(mean)).toBeLessThan(1e-5);
    expect(Math.sqrt(sq / n - mean * mean)).toBeCloseTo(1, 4);
  });

  it('rejects bad options', () => {
    expect(() => generateMnist1d({ seed: 1, length: 1 })).toThrow(/length/);
    expect(() => generateMnist1d({ seed: 1, validationFraction: 1 })).toThrow(/validationFraction/);
    expect(() => generateMnist1d({ seed: 1, trainCount: 2.5 })).toThrow(/trainCount/);
  });

  it('is learnable by a linear model, but only partly (published logistic regression: 32 %)', () => {
    const accs: number[] = [];
    const centroid: number[] = [];
    for (const seed of [0, 1, 2]) {
      const ds = generateMnist1d({ seed });
      accs.push(logisticRegression(ds.train, ds.test, 300, 0.5));
      centroid.push(nearestCentroid(ds.train, ds.test));
    }
    console.log(
      `MNIST-1D length 40: logistic regression ${accs.map((a) => (a * 100).toFixed(1)).join(', ')} %; nearest centroid ${centroid.map((a) => (a * 100).toFixed(1)).join(', ')} %`,
    );
    for (const a of [...accs, ...centroid]) {
      expect(a).toBeGreaterThan(0.2);
      expect(a).toBeLessThan(0.6);
    }
  });
});
