/**
 * Data a task hands to training and evaluation. Samples are rows of a flat
 * Float32Array (count x inputSize); labels are class indices. Sequence tasks
 * (MNIST-1D) use the same shape: one row is the whole sequence, fed one scalar per step.
 */
export interface ClassificationSplit {
  readonly count: number;
  readonly inputSize: number;
  /** count x inputSize, row-major */
  readonly inputs: Float32Array;
  /** class index per sample */
  readonly labels: Uint8Array;
}

export interface ClassificationDataset {
  readonly name: string;
  readonly inputSize: number;
  readonly numClasses: number;
  readonly train: ClassificationSplit;
  readonly validation: ClassificationSplit;
  readonly test: ClassificationSplit;
}
