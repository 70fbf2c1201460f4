import { GlekitError } from '../util/errors.js';
import type { ClassificationDataset } from './types.js';
import { generateYinYang } from './yinyang.js';

export type { ClassificationDataset, ClassificationSplit } from './types.js';
export { generateYinYang, yinYangClass } from './yinyang.js';
export { laglineSpec, smoothedSquareWave, LAGLINE_TEACHER } from './lagline.js';

export const CLASSIFICATION_TASKS = ['yinyang'] as const;

/** The data of a classification task; generated tasks take the data seed. */
export function loadClassificationTask(name: string, dataSeed: number): ClassificationDataset {
  switch (name) {
    case 'yinyang': return generateYinYang({ seed: dataSeed });
    default: throw new GlekitError(`unknown classification task "${name}" (known: ${CLASSIFICATION_TASKS.join(', ')})`);
  }
}
