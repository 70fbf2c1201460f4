/**
 * The text of `glekit hw show NAME`: one screen that says what the substrate can
 * represent and how it deviates, with every number tagged [lit] or [ill] so a reader
 * sees at once which figures are published and which are guesses.
 */
import { profileHash } from './profile.js';
import type { Clip, GainMismatch, HwProfile, NumberFormat, Sourced, TauMismatch, TauRepresentation, TimeConstantSpec } from './types.js';
import { CAPACITY_LIMITS } from './types.js';

export interface DescribeOptions {
  /** append every number's ref, by field path */
  sources?: boolean;
}

function num(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 && Number.isInteger(x)) return x.toLocaleString('en-US');
  if (a >= 1e-3 && a < 1e6) return String(Number(x.toPrecision(6)));
  return x.toExponential(3).replace(/\.?0+e/, 'e');
}

function seconds(x: number): string {
  const a = Math.abs(x);
  if (a === 0) return '0 s';
  if (a < 1e-6) return `${num(x * 1e9)} ns`;
  if (a < 1e-3) return `${num(x * 1e6)} us`;
  if (a < 1) return `${num(x * 1e3)} ms`;
  return `${num(x)} s`;
}

const tag = (s: Sourced): string => `[${s.source}]`;
const q = (s: Sourced, fmt: (x: number) => string = num): string => `${fmt(s.value)} ${tag(s)}`;
/** a number glued to its unit word, tag after: "10-bit [lit]" */
const qu = (s: Sourced, unit: string): string => `${num(s.value)}${unit} ${tag(s)}`;

function clipText(c: Clip | undefined): string {
  return c === undefined ? '' : `, clip ${q(c.min)}..${q(c.max)}`;
}

function tauMismatchText(m: TauMismatch): string {
  if (m.distribution === 'none') return `no mismatch (CV ${q(m.cv)})`;
  let t = `${m.distribution} CV ${q(m.cv)}`;
  if (m.cvUncalibrated !== undefined) t += ` (uncalibrated ${q(m.cvUncalibrated)})`;
  t += clipText(m.clip);
  if (m.granularity === 'core') {
    t += `, one draw per core of ${m.coreSize === undefined ? '?' : q(m.coreSize)} neurons`;
    if (m.withinCoreCv !== undefined) t += ` times per-neuron CV ${q(m.withinCoreCv)}`;
  } else {
    t += ', per neuron';
  }
  return t;
}

function representationText(r: TauRepresentation): string {
  const setting = r.sharing === 'core' ? 'set once per core' : 'set per neuron';
  switch (r.kind) {
    case 'continuous': {
      const range =
        r.min !== undefined || r.max !== undefined
          ? ` within ${r.min === undefined ? '0' : q(r.min, seconds)}..${r.max === undefined ? 'unbounded' : q(r.max, seconds)}`
          : '';
      return `continuous${range}, ${setting}`;
    }
    case 'analog-cell': {
      const codes =
        r.codeMin !== undefined || r.codeMax !== undefined
          ? `, codes ${r.codeMin === undefined ? '0' : q(r.codeMin)}..${r.codeMax === undefined ? String(2 ** r.bits.value - 1) : q(r.codeMax)}`
          : '';
      return `${qu(r.bits, '-bit')} analog cell${codes} over ${q(r.min, seconds)}..${q(r.max, seconds)} (${r.mapping} in the code), rounding ${r.rounding}, ${setting}`;
    }
    case 'decay':
      return `${qu(r.bits, '-bit')} decay d, tau = 2^bits / d steps, rounding ${r.rounding}, ${setting}`;
    case 'bit-shift':
      return `bit-shift decay, tau = 2^s steps with s in ${q(r.shiftMin)}..${q(r.shiftMax)}, rounding ${r.rounding} in log2, ${setting}`;
  }
}

function timeConstantLines(label: string, tc: TimeConstantSpec): string[] {
  const lines = [`${label.padEnd(9)}${tc.nominal === undefined ? '' : `nominal ${q(tc.nominal, seconds)}; `}${representationText(tc.representation)}`];
  lines.push(`${''.padEnd(9)}mismatch: ${tauMismatchText(tc.mismatch)}`);
  return lines;
}

function gainText(g: GainMismatch): string {
  if (g.distribution === 'none') return `no gain mismatch (CV ${q(g.cv)})`;
  return `gain mismatch ${g.distribution} CV ${q(g.cv)}${clipText(g.clip)}, per ${g.granularity}`;
}

function formatText(f: NumberFormat): string {
  switch (f.format) {
    case 'float':
      return 'float';
    case 'analog':
      return `analog${f.min !== undefined && f.max !== undefined ? ` ${q(f.min)}..${q(f.max)}` : ''}, saturating`;
    case 'fixed':
      return `${qu(f.bits, '-bit')}${f.fractionalBits === undefined ? '' : ` with ${q(f.fractionalBits)} fractional bits`}, ${f.overflow === 'wrap' ? 'wraps' : 'saturates'}`;
  }
}

/** Multi-line, human-readable summary of a profile. */
export function describeProfile(p: HwProfile, options: DescribeOptions = {}): string {
  const L: string[] = [];
  const pad = (k: string): string => k.padEnd(9);
  L.push(`${p.name} (${p.kind})`);
  L.push(...wrap(p.description, 78, '  '));
  L.push(`${pad('hash')}sha256 ${profileHash(p)}`);

  const t = p.timing;
  const timing: string[] = [t.mode === 'continuous' ? 'continuous time' : 'discrete steps'];
  if (t.dt !== undefined) timing.push(`dt ${q(t.dt, seconds)}`);
  if (t.acceleration !== undefined) timing.push(`${qu(t.acceleration, 'x')} faster than biology`);
  if (t.clockHz !== undefined) timing.push(`clock ${num(t.clockHz.value / 1e6)} MHz ${tag(t.clockHz)}`);
  L.push(`${pad('timing')}${timing.join(', ')}`);

  L.push(...timeConstantLines('tau_m', p.timeConstants.tauM));
  L.push(...timeConstantLines('tau_r', p.timeConstants.tauR));

  const w = p.weights;
  if (w.format === 'float') {
    L.push(`${pad('weights')}float`);
  } else {
    const sign =
      w.sign === 'signed'
        ? "two's complement"
        : w.sign === 'sign-magnitude'
          ? 'sign-magnitude'
          : `magnitude, sign from separate exc/inh synapses (${w.synapsesPerSignedWeight === undefined ? '1' : q(w.synapsesPerSignedWeight)} per signed weight)`;
    const scale =
      w.scale.kind === 'free'
        ? 'free per-matrix scale'
        : w.scale.kind === 'power-of-two'
          ? `per-matrix scale 2^e, e in ${q(w.scale.minExponent)}..${q(w.scale.maxExponent)}`
          : `fixed point, ${q(w.scale.fractionalBits)} fractional bits`;
    const coding = w.coding?.kind === 'base-mask' ? `, mask over ${q(w.coding.bases)} bases` : '';
    L.push(`${pad('weights')}${qu(w.bits, '-bit')} ${sign}${coding}; ${scale}; rounding ${w.rounding}, ${w.overflow === 'wrap' ? 'wraps' : 'saturates'}`);
  }
  L.push(`${''.padEnd(9)}${gainText(w.gainMismatch)}`);

  const s = p.state;
  const state = [`membrane ${formatText(s.membrane)}`];
  if (s.synaptic !== undefined) state.push(`synaptic ${formatText(s.synaptic)}`);
  if (s.rate !== undefined) state.push(`rate ${formatText(s.rate)}`);
  if (s.accumulator !== undefined) state.push(`accumulator ${formatText(s.accumulator)}`);
  L.push(`${pad('state')}${state.join('; ')}`);
  if (s.readout !== undefined) {
    const r = s.readout;
    const codes = r.codeMin !== undefined && r.codeMax !== undefined ? `, reliable codes ${q(r.codeMin)}..${q(r.codeMax)}` : '';
    const every = r.samplePeriod === undefined ? '' : `, sampled every ${q(r.samplePeriod, seconds)}`;
    L.push(`${pad('readout')}${qu(r.bits, '-bit')} ADC${codes}${every}, ${r.overflow === 'wrap' ? 'wraps' : 'saturates'}`);
  }

  const noise = (n: HwProfile['noise']['membrane']): string => `${q(n.std)} ${n.unit === 'readout-lsb' ? 'readout LSB' : 'of full scale'}`;
  L.push(`${pad('noise')}per step: membrane ${noise(p.noise.membrane)}, rate ${noise(p.noise.rate)}`);

  const n = p.nonlinearity;
  const phi =
    n.kind === 'exact'
      ? 'exact'
      : n.kind === 'lut'
        ? `lookup table of ${q(n.entries)} entries over [${q(n.min)}, ${q(n.max)}), ${n.interpolation === 'none' ? 'no interpolation' : 'linear interpolation'}${n.outputBits === undefined ? '' : `, ${qu(n.outputBits, '-bit')} entries`}`
        : n.kind === 'piecewise-linear'
          ? `piecewise linear, ${q(n.segments)} segments over [${q(n.min)}, ${q(n.max)}]`
          : `hard clamp to [${q(n.min)}, ${q(n.max)}]`;
  L.push(`${pad('phi')}${phi}`);

  const d = p.delays;
  const draw =
    d.draw.kind === 'constant'
      ? `${q(d.draw.value)} steps`
      : d.draw.kind === 'uniform'
        ? `uniform ${q(d.draw.min)}..${q(d.draw.max)} steps`
        : `normal mean ${q(d.draw.mean)} std ${q(d.draw.std)} in ${q(d.draw.min)}..${q(d.draw.max)} steps`;
  const prog = d.programmable === undefined ? '' : `; programmable ${q(d.programmable.min)}..${q(d.programmable.max)} steps`;
  L.push(`${pad('delays')}${draw} per ${d.granularity}${prog}`);

  const limits = CAPACITY_LIMITS.filter((k) => p.capacity[k] !== undefined).map((k) => `${k} ${q(p.capacity[k] as Sourced)}`);
  L.push(`${pad('limits')}${limits.length === 0 ? 'none known' : limits.join(', ')}`);

  if (p.hostLinks.length === 0) L.push(`${pad('host')}none known`);
  p.hostLinks.forEach((h, i) => {
    const parts: string[] = [h.kind];
    if (h.protocol !== undefined) parts.push(h.protocol);
    if (h.baud !== undefined) parts.push(`${q(h.baud)} baud`);
    if (h.maxBaud !== undefined) parts.push(`up to ${q(h.maxBaud)} baud`);
    if (h.bytesPerSecond !== undefined) parts.push(`${q(h.bytesPerSecond)} B/s`);
    if (h.maxFrameBytes !== undefined) parts.push(`frames up to ${q(h.maxFrameBytes)} B`);
    L.push(`${pad(i === 0 ? 'host' : '')}${parts.join(', ')}`);
  });

  if (p.calibration !== undefined) {
    const c = p.calibration;
    const parts = [c.perNeuron ? 'per neuron' : 'not per neuron (shared parameters)'];
    if (c.durationSeconds !== undefined) parts.push(`takes ${q(c.durationSeconds, seconds)}`);
    if (c.schedule !== undefined) parts.push(c.schedule);
    if (c.acceptanceSpreadRatio !== undefined) parts.push(`accepted below ${qu(c.acceptanceSpreadRatio, 'x')} the uncalibrated spread`);
    L.push(`${pad('calib')}${parts.join(', ')}`);
  }

  L.push('[lit] published, [ill] illustrative');
  if (options.sources === true) {
    const sourced = sourcedValues(p);
    L.push('', 'sources:');
    if (sourced.some(([, s]) => s.ref.includes('hardware.md')))
      L.push('  (a ref "hardware.md § SECTION" names a section of hw-models/hardware.md, which gives the public source)');
    for (const [path, s] of sourced) L.push(`  ${path} = ${num(s.value)} [${s.source}] ${s.ref}`);
  }
  return L.join('\n');
}

/** Every sourced number in the profile with its field path, in file order. */
export function sourcedValues(p: HwProfile): Array<[string, Sourced]> {
  const out: Array<[string, Sourced]> = [];
  const walk = (x: unknown, path: string): void => {
    if (x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) {
      x.forEach((v, i) => walk(v, `${path}[${i}]`));
      return;
    }
    const o = x as Record<string, unknown>;
    if (typeof o.value === 'number' && typeof o.source === 'string' && typeof o.ref === 'string') {
      out.push([path, o as unknown as Sourced]);
      return;
    }
    for (const [k, v] of Object.entries(o)) walk(v, path === '' ? k : `${path}.${k}`);
  };
  walk(p, '');
  return out;
}

function wrap(text: string, width: number, indent: string): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur !== '' && indent.length + cur.length + 1 + w.length > width) {
      lines.push(indent + cur);
      cur = w;
    } else {
      cur = cur === '' ? w : `${cur} ${w}`;
    }
  }
  if (cur !== '') lines.push(indent + cur);
  return lines;
}
