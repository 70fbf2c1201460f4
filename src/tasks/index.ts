import type { Presentation } from '../presentation/index.js';
import { GlekitError } from '../util/errors.js';
import { loadMnist } from './mnist.js';
import { generateMnist1d } from './mnist1d.js';
import type { ClassificationDataset } from './types.js';
import { generateYinYang } from './yinyang.js';

export type { ClassificationDataset, ClassificationSplit } from './types.js';
export { generateYinYang, yinYangClass } from './yinyang.js';
export { laglineSpec, smoothedSquareWave, LAGLINE_TEACHER } from './lagline.js';
export { loadMnist } from './mnist.js';
export { generateMnist1d } from './mnist1d.js';

export const CLASSIFICATION_TASKS = ['yinyang', 'mnist', 'mnist1d'] as const;

/** MNIST-1D as GLE uses it: each sequence resampled to 360 points, one per step of dt = 0.2. */
export const MNIST1D_GLE_LENGTH = 360;

/**
 * The data of a classification task. Generated tasks (yinyang, mnist1d) take the data
 * seed; MNIST is fixed data and ignores it. A network that streams a sequence over more
 * steps than GLE's 360 (a model retimed to a finer dt) gets MNIST-1D resampled to its
 * length: the generator interpolates last, so these are the same sequences, sampled finer.
 */
export function loadClassificationTask(name: string, dataSeed: number, presentation?: Pick<Presentation, 'mode' | 'stepsPerSample'>): ClassificationDataset {
  const length = presentation?.mode === 'sequence' ? Math.max(presentation.stepsPerSample, MNIST1D_GLE_LENGTH) : MNIST1D_GLE_LENGTH;
  switch (name) {
    case 'yinyang':
      return generateYinYang({ seed: dataSeed });
    case 'mnist':
      return loadMnist();
    // The paper's 4000 train / 1000 test, plus 500 more samples from the same generator
    // as a validation split for the learning-rate schedule (the published script
    // scheduled on the test loss; a separate split keeps the test set untouched).
    case 'mnist1d':
      return generateMnist1d({ seed: dataSeed, length, trainCount: 4500, testCount: 1000, validationFraction: 1 / 9 });
    default:
      throw new GlekitError(`unknown classification task "${name}" (known: ${CLASSIFICATION_TASKS.join(', ')})`);
  }
}
