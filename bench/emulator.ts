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
import { encodeDescriptor, type Descriptor } from '../src/descriptor/index.js';
import { benchC, cEngineAvailable, FixedEngine } from '../src/emulator/index.js';
import { machineInfo } from '../src/engine/machine.js';
import { Rng } from '../src/util/rng.js';
import { median } from '../src/util/stats.js';
import { syntheticDescriptor } from './synthetic.js';

const SHAPES = [
  [2, 30, 30, 3],
  [40, 100, 100, 10],
  [784, 300, 100, 10],
];

/** random codes of N(0, 0.05)-sized weights at 12 fraction bits */
const gaussianWeight = (rng: Rng): number => Math.round(rng.gaussian(0, 0.05) * 4096);

function benchDescriptor(sizes: number[], seed: number): Descriptor {
  return syntheticDescriptor(sizes, seed, { weightCode: gaussianWeight, hidden: 'hardSigmoid', stepsPerSample: 100, profile: 'fpga-fixed16-like' });
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
