/**
 * The fixed target: a bit-accurate integer emulator of a compiled descriptor, the
 * TypeScript half of firmware-bridge/SEMANTICS.md (the C half is
 * firmware-bridge/src/gle_engine.c). Codes are integers held in JS numbers; the
 * descriptor's bounds keep every intermediate below 2^53, so double arithmetic is exact
 * and no BigInt is needed in the loop. Rounding and overflow are src/fixed's, shared with
 * the compiler, so the engine and the quantiser cannot disagree about a mode.
 *
 * Layers are processed top-down in place: layer l reads its input before layer l - 1
 * overwrites it, which is the "every layer reads the previous step's state" rule of the
 * float engine without double buffers. A step allocates nothing.
 */
import type { FixedFormat } from '../fixed/index.js';
import { fit, pow2, roundShift } from '../fixed/core.js';
import { present, type Presenter } from '../presentation/index.js';
import type { Descriptor, DescriptorLayer } from '../descriptor/index.js';

const NL_IDENTITY = 0;
const NL_CLAMP = 1;
const NL_TABLE = 2;

/** Per layer, how many results left their format's range before overflow handling, by stage. */
export interface OverflowCounts {
  drive: number;
  membrane: number;
  prospective: number;
  rate: number;
}

interface Runtime {
  nIn: number;
  nOut: number;
  /** ring of this layer's bottom input: depth = delay + 1 slots of nIn codes */
  ring: Int32Array;
  depth: number;
  head: number;
  weights: Int16Array;
  /** bias code * 2^biasShift: the accumulator's starting value, exact */
  biasAligned: Float64Array;
  accShift: number;
  drive: FixedFormat;
  membrane: FixedFormat;
  prosp: FixedFormat;
  rate: FixedFormat;
  alphaFrac: number;
  alphaOne: number;
  alpha: Uint16Array;
  rhoOne: number;
  rho: Uint16Array;
  pShift: number;
  nl: number;
  rShift: number;
  clampLo: number;
  clampHi: number;
  table: Int32Array;
  tableBase: number;
  tableShift: number;
  tableStep: number;
  interpolate: boolean;
  u: Int32Array;
  /** drive, membrane, prospective, rate */
  overflow: Float64Array;
}

/** overflow(round(v / 2^k)) in f, counting into counter[slot] when the rounded value is out of range. */
function requant(v: number, k: number, f: FixedFormat, counter: Float64Array, slot: number): number {
  const q = k > 0 ? roundShift(v, k, f.roundingCode) : k === 0 ? v : v * pow2(-k);
  if (q < f.minRaw || q > f.maxRaw) counter[slot]++;
  return fit(q, f);
}

function runtimeOf(l: DescriptorLayer, inputFormat: FixedFormat): Runtime {
  const depth = l.delay + 1;
  const fw = l.weightFormat.fracBits,
    fx = inputFormat.fracBits,
    fu = l.membraneFormat.fracBits;
  const biasMul = pow2(fw + fx - l.biasFormat.fracBits);
  const biasAligned = new Float64Array(l.nOut);
  for (let i = 0; i < l.nOut; i++) biasAligned[i] = l.bias[i] * biasMul;
  const nl = l.nonlinearity;
  return {
    nIn: l.nIn,
    nOut: l.nOut,
    ring: new Int32Array(depth * l.nIn),
    depth,
    head: 0,
    weights: l.weights,
    biasAligned,
    accShift: fw + fx - l.driveFormat.fracBits,
    drive: l.driveFormat,
    membrane: l.membraneFormat,
    prosp: l.prospectiveFormat,
    rate: l.rateFormat,
    alphaFrac: l.alphaFrac,
    alphaOne: pow2(l.alphaFrac),
    alpha: l.alpha,
    rhoOne: pow2(l.rhoFrac),
    rho: l.rho,
    pShift: l.rhoFrac + fu - l.prospectiveFormat.fracBits,
    nl: nl.kind === 'identity' ? NL_IDENTITY : nl.kind === 'clamp' ? NL_CLAMP : NL_TABLE,
    rShift: l.prospectiveFormat.fracBits - l.rateFormat.fracBits,
    clampLo: nl.kind === 'clamp' ? nl.lo : 0,
    clampHi: nl.kind === 'clamp' ? nl.hi : 0,
    table: nl.kind === 'table' ? nl.table : new Int32Array(0),
    tableBase: nl.kind === 'table' ? nl.base : 0,
    tableShift: nl.kind === 'table' ? nl.shift : 0,
    tableStep: nl.kind === 'table' ? pow2(nl.shift) : 1,
    interpolate: nl.kind === 'table' && nl.interpolate,
    u: new Int32Array(l.nOut),
    overflow: new Float64Array(4),
  };
}

export class FixedEngine {
  readonly descriptor: Descriptor;
  readonly inputSize: number;
  readonly outputSize: number;
  /** the top layer's rate codes after the last step */
  readonly output: Int32Array;
  private readonly layers: Runtime[];
  private readonly inputFormat: FixedFormat;

  constructor(descriptor: Descriptor) {
    this.descriptor = descriptor;
    const n = descriptor.network;
    this.inputSize = n.inputSize;
    this.outputSize = n.outputSize;
    this.output = new Int32Array(n.outputSize);
    this.inputFormat = n.inputFormat;
    let xf = n.inputFormat;
    this.layers = n.layers.map((l) => {
      const rt = runtimeOf(l, xf);
      xf = l.rateFormat;
      return rt;
    });
  }

  /** All state to 0: membranes, delay lines, outputs (overflow counters are kept). */
  reset(): void {
    for (const l of this.layers) {
      l.u.fill(0);
      l.ring.fill(0);
      l.head = 0;
    }
    this.output.fill(0);
  }

  resetOverflowCounts(): void {
    for (const l of this.layers) l.overflow.fill(0);
  }

  overflowCounts(): OverflowCounts[] {
    return this.layers.map((l) => ({ drive: l.overflow[0], membrane: l.overflow[1], prospective: l.overflow[2], rate: l.overflow[3] }));
  }

  /** Membrane codes of layer l (a live view). */
  membrane(l: number): Int32Array {
    return this.layers[l].u;
  }

  /** Rate codes layer l produced in the last step (a live view). */
  rates(l: number): Int32Array {
    if (l === this.layers.length - 1) return this.output;
    const above = this.layers[l + 1];
    return above.ring.subarray(above.head * above.nIn, (above.head + 1) * above.nIn);
  }

  /** One step with input codes x[offset .. offset + inputSize). Returns the output codes (a live view). */
  step(x: ArrayLike<number>, offset = 0): Int32Array {
    const layers = this.layers;
    const first = layers[0];
    first.head = first.head + 1 === first.depth ? 0 : first.head + 1;
    const inBase = first.head * first.nIn;
    // inputs are codes of the input format; anything else is brought into it as the format says
    const xf = this.inputFormat;
    for (let j = 0; j < first.nIn; j++) first.ring[inBase + j] = fit(x[offset + j], xf);

    for (let l = layers.length - 1; l >= 0; l--) {
      const L = layers[l];
      const nIn = L.nIn;
      // the oldest slot: the input from `delay` steps before the newest one
      const readSlot = L.head + 1 === L.depth ? 0 : L.head + 1;
      const src = L.ring;
      const srcOff = readSlot * nIn;
      let dst: Int32Array;
      let dstOff: number;
      if (l === layers.length - 1) {
        dst = this.output;
        dstOff = 0;
      } else {
        const above = layers[l + 1];
        above.head = above.head + 1 === above.depth ? 0 : above.head + 1;
        dst = above.ring;
        dstOff = above.head * above.nIn;
      }
      const W = L.weights,
        ba = L.biasAligned,
        u = L.u,
        ovf = L.overflow;
      const alpha = L.alpha,
        rho = L.rho,
        aOne = L.alphaOne,
        rOne = L.rhoOne;
      for (let i = 0; i < L.nOut; i++) {
        // four partial sums: each is bounded by the same 2^52 as the whole, so all stay exact
        const wBase = i * nIn;
        let a0 = ba[i],
          a1 = 0,
          a2 = 0,
          a3 = 0;
        let j = 0;
        for (; j + 3 < nIn; j += 4) {
          a0 += W[wBase + j] * src[srcOff + j];
          a1 += W[wBase + j + 1] * src[srcOff + j + 1];
          a2 += W[wBase + j + 2] * src[srcOff + j + 2];
          a3 += W[wBase + j + 3] * src[srcOff + j + 3];
        }
        for (; j < nIn; j++) a0 += W[wBase + j] * src[srcOff + j];
        const acc = a0 + a1 + a2 + a3;
        const s = requant(acc, L.accShift, L.drive, ovf, 0);
        const ui = u[i];
        const delta = s - ui;
        const uNew = requant(ui * aOne + alpha[i] * delta, L.alphaFrac, L.membrane, ovf, 1);
        const pu = requant(ui * rOne + rho[i] * delta, L.pShift, L.prosp, ovf, 2);
        u[i] = uNew;
        let r: number;
        if (L.nl === NL_TABLE) {
          const t = L.table;
          const last = t.length - 1;
          const d = pu - L.tableBase;
          if (d < 0) {
            r = t[0];
          } else {
            const k = Math.floor(d / L.tableStep);
            if (k >= last) r = t[last];
            else if (!L.interpolate) r = t[k];
            else r = requant(t[k] * L.tableStep + (t[k + 1] - t[k]) * (d - k * L.tableStep), L.tableShift, L.rate, ovf, 3);
          }
        } else {
          const v = L.nl === NL_CLAMP ? (pu < L.clampLo ? L.clampLo : pu > L.clampHi ? L.clampHi : pu) : pu;
          r = requant(v, L.rShift, L.rate, ovf, 3);
        }
        dst[dstOff + i] = r;
      }
    }
    return this.output;
  }
}

/**
 * Runs every sample of a presentation (src/presentation's loop): reset, then
 * stepsPerSample steps, then the read-out (the last step's outputs, or their sum over the
 * steps after settleSteps). `stepInputs` holds, per sample, stepsPerSample rows of
 * inputSize codes, each step reading its own row. Returns
 * the read-out codes, count x outputSize (exact integers; sums can pass 2^31).
 */
export function runPresentation(
  engine: FixedEngine,
  stepInputs: Int32Array,
  count: number,
  onStep?: (sample: number, step: number, engine: FixedEngine) => void,
): Float64Array {
  const p = engine.descriptor.network.presentation;
  const nIn = engine.inputSize,
    nOut = engine.outputSize;
  const perSample = p.stepsPerSample * nIn;
  if (stepInputs.length !== count * perSample) {
    throw new RangeError(`runPresentation: ${stepInputs.length} input codes for ${count} samples of ${p.stepsPerSample} x ${nIn}`);
  }
  const out = new Float64Array(count * nOut);
  const score = new Float64Array(nOut);
  let sample = 0;
  // every step reads its own row of step inputs, so fill has nothing to do
  const presenter: Presenter = {
    fill: () => {},
    step: (t) => {
      engine.step(stepInputs, sample * perSample + t * nIn);
    },
    output: () => engine.output,
  };
  const each = onStep === undefined ? undefined : (t: number): void => onStep(sample, t, engine);
  for (sample = 0; sample < count; sample++) {
    engine.reset();
    present(p, presenter, score, undefined, each);
    out.set(score, sample * nOut);
  }
  return out;
}
