/**
 * Which integer format each tensor of each layer gets. Three sources, applied in this
 * order and reported per tensor so that no setting overrides another silently:
 *  1. the hardware profile (widths, rounding and overflow modes, and the binary point
 *     where the profile fixes it);
 *  2. the policy: `per-layer` (the default) keeps the profile's widths and modes but
 *     places every binary point from the layer's value range, as a firmware with
 *     per-layer shifts (CMSIS-NN's Qm.n) or hls4ml's per-layer precision would;
 *     `profile` keeps the profile's binary points literally (an ap_fixed<16,6> stays
 *     ap_fixed<16,6> in every layer, a q15 weight stays in [-1, 1));
 *  3. `--precision` entries, for all layers (`weights=8`) or one (`weights@1=fixed<8,3>`).
 *     A bare width keeps the modes and places the binary point from the range; a format
 *     string fixes everything.
 */
import { FixedFormat, parseFormat, type Overflow, type Rounding } from '../fixed/index.js';
import type { ResolvedSettings } from '../hw/index.js';
import type { ProfileRounding } from '../hw/index.js';
import { GlekitError } from '../util/errors.js';
import { LIMITS } from '../descriptor/index.js';

export const TENSORS = ['weights', 'bias', 'drive', 'membrane', 'prospective', 'rate', 'input'] as const;
export type TensorName = (typeof TENSORS)[number];
export const POLICIES = ['profile', 'per-layer'] as const;
export type Policy = (typeof POLICIES)[number];

/** A tensor's format before its binary point may be known. */
export interface TensorPlan {
  width: number;
  /** null: placed from the value range */
  frac: number | null;
  signed: boolean;
  rounding: Rounding;
  overflow: Overflow;
  /** where the setting came from, for the report */
  origin: string;
  /** power-of-two weight scales: the binary point must stay within [fracMin, fracMax] */
  fracMin?: number;
  fracMax?: number;
}

export interface PrecisionEntry {
  tensor: TensorName | 'state' | 'decay' | 'policy';
  layer: number | null;
  /** a format, a bare width, a decay bit count, or a policy name */
  format: FixedFormat | null;
  width: number | null;
  policy: Policy | null;
  text: string;
}

export interface PrecisionSpec {
  policy: Policy;
  entries: PrecisionEntry[];
  text: string;
}

const KEYS = [...TENSORS, 'state', 'decay', 'policy'] as const;

/** Splits "a=fixed<8,3,RND,SAT>,b=4" at the commas outside angle brackets. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0,
    start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** Parses the --precision option. */
export function parsePrecision(text: string | undefined): PrecisionSpec {
  const spec: PrecisionSpec = { policy: 'per-layer', entries: [], text: text === undefined || text.trim() === '' ? 'per-layer' : text.trim() };
  if (text === undefined || text.trim() === '') return spec;
  for (const item of splitTopLevel(text)) {
    const fail = (problem: string): never => {
      throw new GlekitError(`option --precision: '${item}' ${problem}`);
    };
    if ((POLICIES as readonly string[]).includes(item)) {
      spec.policy = item as Policy;
      continue;
    }
    const eq = item.indexOf('=');
    if (eq < 0) fail(`must be KEY=VALUE or a policy (${POLICIES.join(', ')})`);
    const keyText = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    const at = keyText.indexOf('@');
    const key = at < 0 ? keyText : keyText.slice(0, at);
    if (!(KEYS as readonly string[]).includes(key)) fail(`has an unknown key '${key}' (known: ${KEYS.join(', ')})`);
    let layer: number | null = null;
    if (at >= 0) {
      layer = Number(keyText.slice(at + 1));
      if (!Number.isInteger(layer) || layer < 0) fail('has a layer index that is not a non-negative integer');
      if (key === 'policy' || key === 'input') fail(`cannot be set per layer`);
    }
    const entry: PrecisionEntry = { tensor: key as PrecisionEntry['tensor'], layer, format: null, width: null, policy: null, text: item };
    if (key === 'policy') {
      if (!(POLICIES as readonly string[]).includes(value)) fail(`must name a policy (${POLICIES.join(', ')})`);
      entry.policy = value as Policy;
      spec.policy = entry.policy;
      continue;
    }
    if (/^[0-9]+$/.test(value)) {
      entry.width = Number(value);
      if (key === 'decay') {
        if (entry.width < 0 || entry.width > LIMITS.alphaFrac) fail(`must give 0..${LIMITS.alphaFrac} fraction bits for dt/tau`);
      } else if (entry.width < 1 || entry.width > 32) fail('must give a width of 1..32 bits');
    } else {
      if (key === 'decay') fail('must be a number of fraction bits');
      try {
        entry.format = parseFormat(value);
      } catch (e) {
        fail(`has a bad format: ${(e as Error).message}`);
      }
    }
    spec.entries.push(entry);
  }
  return spec;
}

/** The entry that applies to (tensor, layer): a per-layer one beats a global one; later beats earlier. */
export function findEntry(spec: PrecisionSpec, tensor: TensorName | 'decay', layer: number | null): PrecisionEntry | null {
  const keys: PrecisionEntry['tensor'][] = tensor === 'drive' || tensor === 'membrane' || tensor === 'prospective' ? [tensor, 'state'] : [tensor];
  let best: PrecisionEntry | null = null;
  let bestRank = -1;
  spec.entries.forEach((e, i) => {
    if (!keys.includes(e.tensor)) return;
    if (e.layer !== null && e.layer !== layer) return;
    // a per-layer entry beats a global one, the tensor's own key beats 'state', later beats earlier
    const rank = (e.layer !== null ? 2000 : 0) + (e.tensor === tensor ? 1000 : 0) + i;
    if (rank > bestRank) {
      best = e;
      bestRank = rank;
    }
  });
  return best;
}

/** The profile's rounding rule as a fixed-point mode ('nearest' rounds half away from zero, as roundWith does). */
export function roundingMode(r: ProfileRounding, what: string): Rounding {
  switch (r) {
    case 'nearest':
      return 'RND_INF';
    case 'nearest-even':
      return 'RND_CONV';
    case 'floor':
      return 'TRN';
    case 'truncate':
      return 'TRN_ZERO';
    case 'ceil':
      throw new GlekitError(`${what}: rounding 'ceil' has no fixed-point mode in the descriptor (use --precision to choose one)`);
  }
}

export function overflowMode(o: 'saturate' | 'wrap', symmetric: boolean): Overflow {
  return o === 'wrap' ? 'WRAP' : symmetric ? 'SAT_SYM' : 'SAT';
}

/** The binary point that fits |x| <= maxAbs * headroom into a signed (or unsigned) width. */
export function fracForRange(width: number, signed: boolean, maxAbs: number, headroom: number): number {
  const top = signed ? 2 ** (width - 1) - 1 : 2 ** width - 1;
  const m = maxAbs * headroom;
  if (!(m > 0)) return Math.min(LIMITS.fracAbs, width - (signed ? 2 : 1));
  let f = Math.floor(Math.log2(top / m));
  // log2 can be off by one ulp at exact powers of two: settle it exactly
  while (m * 2 ** f > top) f--;
  while (m * 2 ** (f + 1) <= top) f++;
  return Math.max(-LIMITS.fracAbs, Math.min(LIMITS.fracAbs, f));
}

export function formatOf(p: TensorPlan, frac: number): FixedFormat {
  return new FixedFormat({ width: p.width, intBits: p.width - frac, signed: p.signed, rounding: p.rounding, overflow: p.overflow });
}

/** Applies a --precision entry to a profile-derived plan. */
export function applyEntry(plan: TensorPlan, entry: PrecisionEntry | null): TensorPlan {
  if (entry === null) return plan;
  if (entry.format !== null) {
    const f = entry.format;
    return { width: f.width, frac: f.fracBits, signed: f.signed, rounding: f.rounding, overflow: f.overflow, origin: `--precision ${entry.text}` };
  }
  return {
    ...plan,
    width: entry.width ?? plan.width,
    frac: null,
    fracMin: undefined,
    fracMax: undefined,
    origin: `--precision ${entry.text} (binary point from the range)`,
  };
}

/** The datapath's rounding: the profile's weight rounding rule (the one it states for its arithmetic). */
export function datapathRounding(s: ResolvedSettings): Rounding {
  return s.weights.format === 'integer' ? roundingMode(s.weights.rounding, 'weights.rounding') : 'RND';
}
