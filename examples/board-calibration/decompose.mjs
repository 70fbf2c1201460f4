#!/usr/bin/env node
/**
 * What an analog board's realisation costs a network, parameter by parameter: the float
 * engine on the board's realised parameters (truthNetwork, src/substrate/board-truth.ts;
 * no noise), as realised and with tau (tau_m and tau_r), gain or offset put back on their
 * targets, alone and together, on the first N test samples.
 *
 *   node decompose.mjs TRUTH.json MODEL.json [N]   -> one JSON line
 */
import { join, resolve } from 'node:path';
const dist = resolve(process.env.GLEKIT_DIST ?? 'dist');
const { readAnalogTruth, truthNetwork } = await import(join(dist, 'src', 'substrate', 'board-truth.js'));
const { loadClassificationTask } = await import(join(dist, 'src', 'tasks', 'index.js'));
const { loadModel, trainingInfo } = await import(join(dist, 'src', 'model', 'index.js'));

const [truthPath, modelPath, count] = process.argv.slice(2);
const model = loadModel(modelPath);
const n = Number(count ?? 300);
const data = loadClassificationTask(model.task, trainingInfo(model).dataSeed, model.presentation);
const p = model.presentation;
if (p.mode !== 'sequence' || p.readout !== 'sum') throw new Error('decompose.mjs: a sequence task with a summed read-out');

const realised = readAnalogTruth(truthPath);

function accuracy(fix) {
  const truth = structuredClone(realised);
  for (const nr of truth.neurons) {
    const layer = model.network.layers[nr.layer];
    if (fix.includes('tau')) {
      nr.realised.tauM = layer.tauM[nr.index];
      nr.realised.tauR = layer.tauR[nr.index];
    }
    if (fix.includes('gain')) nr.realised.gain = 1;
    if (fix.includes('offset')) nr.realised.offset = 0;
  }
  const net = truthNetwork(truth, n);
  const outputs = truth.layers[truth.layers.length - 1].nOut;
  const x = new Float64Array(n);
  const score = new Float64Array(n * outputs);
  net.resetState();
  for (let t = 0; t < p.stepsPerSample; t++) {
    for (let s = 0; s < n; s++) x[s] = data.test.inputs[s * data.test.inputSize + t];
    net.step(x, null);
    const r = net.layers[net.layers.length - 1].r;
    for (let k = 0; k < score.length; k++) score[k] += r[k];
  }
  let right = 0;
  for (let s = 0; s < n; s++) {
    let best = 0;
    for (let j = 1; j < outputs; j++) if (score[s * outputs + j] > score[s * outputs + best]) best = j;
    if (best === data.test.labels[s]) right++;
  }
  return right / n;
}

const variants = [[], ['tau'], ['gain'], ['offset'], ['tau', 'gain'], ['tau', 'offset'], ['gain', 'offset'], ['tau', 'gain', 'offset']];
const out = { truth: truthPath, samples: n, accuracy: {} };
for (const v of variants) out.accuracy[v.length === 0 ? 'as realised' : `${v.join('+')} on target`] = accuracy(v);
process.stdout.write(`${JSON.stringify(out)}\n`);
