/** Model files for tests that need one of a known shape but not a trained one. */
import { join } from 'node:path';
import { layerToModel, makeModelFile, saveModel } from '../../src/model/model-file.js';
import { initLayers } from '../../src/train/init.js';

/**
 * An untrained LE network of the Yin-Yang preset's shape (4-40-3, init seed 3), written as
 * DIR/model.json: for sweeps, where cost and determinism matter and accuracy does not.
 */
export function writeUntrainedYinYang(dir: string): string {
  const layers = initLayers(
    4,
    [
      { size: 40, phi: 'hardSigmoid', tauM: 1, tauR: 1 },
      { size: 3, phi: 'linear', tauM: 1, tauR: 1 },
    ],
    { weightStd: 1, biasStd: 0.1, scaleByFanIn: true },
    3,
  );
  const path = join(dir, 'model.json');
  saveModel(
    path,
    makeModelFile({
      tool: 'test',
      task: 'yinyang',
      network: { dt: 0.1, gamma: 0, beta: 1, loss: 'ce', prospectiveErrors: false, layers: layers.map(layerToModel) },
      presentation: { mode: 'static', stepsPerSample: 5, settleSteps: 4, readout: 'last' },
      training: { seed: 1, dataSeed: 0, batchSize: 32, evalBatchSize: 1000, learning: { optimizer: 'adam', lr: 0.01 } },
      metrics: {},
    }),
  );
  return path;
}
