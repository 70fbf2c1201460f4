/**
 * `node dist/bench/emulator.js [--json] [--quick]`: fixed-point inference steps per
 * second of the TypeScript emulator and the C engine (through its host program, timed
 * inside the process), batch 1, for the shapes of bench/run.ts's SPEED_TABLE.
 *
 * The networks are what compiling for fpga-fixed16 produces: 16-bit weights and state
 * with per-layer binary points, hard-sigmoid hidden layers through a 1024-entry table,
 * a linear output, LE time constants (tau_m = tau_r = 20 dt). Weights are random codes;
 * the step costs the same whatever their values.
 */
import { encodeDescriptor, formatFromParts, type Descriptor, type DescriptorLayer } from '../src/descriptor/index.js';
import { benchC, cEngineAvailable, FixedEngine } from '../src/emulator/index.js';
import { machineInfo } from '../src/engine/machine.js';
import { Rng } from '../src/util/rng.js';
import { median } from '../src/util/stats.js';

const SHAPES = [
  [2, 30, 30, 3],
  [40, 100, 100, 10],
  [784, 300, 100, 10],
];

const RND_INF = 5;
const SAT = 1;
const fmt = (width: number, frac: number) => formatFromParts(width, frac, true, RND_INF, SAT);

function benchDescriptor(sizes: number[], seed: number): Descriptor {
  const rng = new Rng(seed);
  const layers: DescriptorLayer[] = [];
  for (let l = 1; l < sizes.length; l++) {
    const nIn = sizes[l - 1],
      nOut = sizes[l];
    const top = l === sizes.length - 1;
    const weights = new Int16Array(nIn * nOut);
    // N(0, 0.05)-sized weights at 12 fraction bits
    for (let k = 0; k < weights.length; k++) weights[k] = Math.round(rng.gaussian(0, 0.05) * 4096);
    const table = new Int32Array(1024);
    for (let k = 0; k < 1024; k++) table[k] = Math.round(Math.min(1, Math.max(0, -8 + k / 64)) * 8192);
    layers.push({
      nIn,
      nOut,
      phi: top ? 'linear' : 'hardSigmoid',
      delay: 0,
      weightFormat: fmt(16, 12),
      weights,
      biasFormat: fmt(16, 10),
      bias: new Int32Array(nOut),
      driveFormat: fmt(16, 10),
      membraneFormat: fmt(16, 10),
      prospectiveFormat: fmt(16, 10),
      rateFormat: top ? fmt(16, 10) : fmt(16, 13),
      alphaFrac: 10,
      alpha: new Uint16Array(nOut).fill(51),
      rhoFrac: 10,
      rho: new Uint16Array(nOut).fill(1024),
      nonlinearity: top ? { kind: 'identity' } : { kind: 'table', base: -8 * 1024, shift: 4, interpolate: false, table },
      placement: null,
    });
  }
  return {
    formatVersion: 1,
    header: { tool: 'bench', profile: { name: 'fpga-fixed16-like', hash: 'none' }, model: { hash: 'none', task: 'bench' }, precision: 'per-layer', info: {} },
    network: {
      dt: 0.05,
      dtSeconds: null,
      inputSize: sizes[0],
      outputSize: sizes[sizes.length - 1],
      inputFormat: fmt(16, 14),
      presentation: { mode: 'static', stepsPerSample: 100, settleSteps: 0, readout: 'last' },
      layers,
    },
  };
}

function measureTs(d: Descriptor, seconds: number, repeats: number): number {
  const engine = new FixedEngine(d);
  const rng = new Rng(3);
  const x = new Int32Array(d.network.inputSize).map(() => rng.int(16384));
  let chunk = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < chunk; i++) engine.step(x);
    if (performance.now() - t0 > (seconds * 1000) / 10 || chunk > 1 << 22) break;
    chunk *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < chunk; i++) engine.step(x);
    rates.push(chunk / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

function measureC(bytes: Uint8Array, seconds: number, repeats: number): number | null {
  if (!cEngineAvailable()) return null;
  let steps = 1000;
  for (;;) {
    const r = benchC(bytes, steps);
    if (r.nanoseconds > (seconds * 1e9) / 4 || steps > 1 << 26) break;
    steps *= 4;
  }
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const b = benchC(bytes, steps);
    rates.push(steps / (b.nanoseconds / 1e9));
  }
  return median(rates);
}

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const results = SHAPES.map((sizes, i) => {
  const d = benchDescriptor(sizes, 10 + i);
  const bytes = encodeDescriptor(d);
  const ts = measureTs(d, quick ? 0.3 : 1.5, quick ? 3 : 7);
  const c = measureC(bytes, quick ? 0.3 : 1.5, quick ? 3 : 5);
  const row = { sizes, batch: 1, tsStepsPerSecond: Math.round(ts), cStepsPerSecond: c === null ? null : Math.round(c) };
  if (!json) process.stdout.write(`${sizes.join('-')} batch 1: TypeScript ${row.tsStepsPerSecond} steps/s, C ${row.cStepsPerSecond ?? 'not built'} steps/s\n`);
  return row;
});
if (json)
  process.stdout.write(JSON.stringify({ benchmark: 'fixed-point inference step', cEngine: cEngineAvailable(), machine: machineInfo(), results }) + '\n');
