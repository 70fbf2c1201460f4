/**
 * Map: place the network's neurons on the profile's cores and check everything that can
 * make it not fit: neuron counts, cores, fan-in and fan-out, synapses, memory, delays,
 * the descriptor format's own limits, and (once the weight formats are known) every
 * weight and bias against the range its format can hold. A network that does not fit
 * fails with one message per broken limit, each naming the layer, the neuron and the limit.
 */
import { architectureOf, checkCapacity, type HwProfile, type ResolvedSettings } from '../hw/index.js';
import type { ModelFile } from '../model/model-file.js';
import { GlekitError } from '../util/errors.js';
import { LIMITS, type Placement } from '../descriptor/index.js';

export interface MapViolation {
  limit: string;
  /** layer index, 'input' or 'network' */
  layer: number | 'input' | 'network';
  message: string;
}

/** The compile failed on limits; every one is listed. */
export class CompileError extends GlekitError {
  constructor(
    readonly profileName: string,
    readonly violations: MapViolation[],
  ) {
    super(`the network does not fit ${profileName}:\n  ${violations.map((v) => v.message).join('\n  ')}`);
    this.name = 'CompileError';
  }
}

/** "neuron 0" or "neurons 0..n-1": every neuron of a layer of n. */
export function neuronsText(n: number): string {
  return n === 1 ? 'neuron 0' : `neurons 0..${n - 1}`;
}

/** Capacity checks of the profile, with the neurons each violation concerns named. */
export function capacityViolations(profile: HwProfile, model: ModelFile): MapViolation[] {
  const layers = model.network.layers;
  const arch = architectureOf(layers);
  const out: MapViolation[] = [];
  for (const v of checkCapacity(profile, arch)) {
    let where = '';
    if (v.limit === 'fanIn' && typeof v.layer === 'number') where = ` (every one of its ${neuronsText(layers[v.layer].outputSize)} needs it)`;
    else if (v.limit === 'fanOut') {
      const n = v.layer === 'input' ? layers[0].inputSize : typeof v.layer === 'number' ? layers[v.layer].outputSize : 0;
      where = v.layer === 'input' ? ` (each of input channels 0..${n - 1})` : ` (each of its ${neuronsText(n)})`;
    } else if (v.limit === 'outputs' && typeof v.layer === 'number') where = ` (${neuronsText(layers[v.layer].outputSize)})`;
    out.push({ limit: v.limit, layer: v.layer, message: v.message + where });
  }
  layers.forEach((l, i) => {
    for (const [what, n] of [
      ['nIn', l.inputSize],
      ['nOut', l.outputSize],
    ] as const) {
      if (n > LIMITS.size)
        out.push({ limit: 'descriptor.size', layer: i, message: `layer ${i}: ${what} ${n} exceeds the descriptor format's limit of ${LIMITS.size}` });
    }
  });
  if (layers.length > LIMITS.layers) {
    out.push({
      limit: 'descriptor.layers',
      layer: 'network',
      message: `network: ${layers.length} layers exceed the descriptor format's limit of ${LIMITS.layers}`,
    });
  }
  return out;
}

/** Each layer starts on a fresh core (as realiseChip places neurons); null cores when the profile has none. */
export function placeNeurons(s: ResolvedSettings, model: ModelFile): Placement[] {
  const per = s.limits.neuronsPerCore;
  let next = 0;
  return model.network.layers.map((l) => {
    const cores = per === null ? 1 : Math.ceil(l.outputSize / per);
    const p: Placement = { neuronsPerCore: per, firstCore: next, cores };
    next += cores;
    return p;
  });
}

/**
 * Per-layer transmission delays in steps: the --delays option, else the profile's
 * constant delay. Checked against the profile's programmable range (a profile without
 * one can only realise its own constant) and the descriptor's limit.
 */
export function chooseDelays(
  profile: HwProfile,
  s: ResolvedSettings,
  nLayers: number,
  requested: number[] | undefined,
): { delays: number[]; violations: MapViolation[] } {
  const violations: MapViolation[] = [];
  if (s.delays.granularity === 'synapse') {
    violations.push({
      limit: 'delays.granularity',
      layer: 'network',
      message: `network: ${profile.name} has per-synapse delays; descriptor format 1 carries one delay per layer (limit delays.granularity)`,
    });
  }
  const draw = s.delays.draw;
  const fixed = draw.kind === 'constant' ? draw.value : null;
  if (fixed === null && requested === undefined) {
    violations.push({
      limit: 'delays.draw',
      layer: 'network',
      message: `network: ${profile.name} draws its delays at random (delays.draw ${draw.kind}); give them with --delays`,
    });
  }
  if (requested !== undefined && requested.length !== nLayers) {
    throw new GlekitError(`option --delays: needs one delay per layer (${nLayers}), got ${requested.length}`);
  }
  const delays = requested ?? new Array<number>(nLayers).fill(fixed ?? 0);
  const lo = s.delays.programmableMin,
    hi = s.delays.programmableMax;
  delays.forEach((d, l) => {
    if (!Number.isInteger(d) || d < 0) throw new GlekitError(`option --delays: layer ${l}: ${d} is not a non-negative integer`);
    if (lo !== null && hi !== null) {
      if (d < lo || d > hi)
        violations.push({
          limit: 'delays.programmable',
          layer: l,
          message: `layer ${l} (all its neurons): delay ${d} steps is outside the programmable range ${lo}..${hi} of ${profile.name}`,
        });
    } else if (fixed !== null && d !== fixed) {
      violations.push({
        limit: 'delays.programmable',
        layer: l,
        message: `layer ${l} (all its neurons): delay ${d} steps, but ${profile.name} has no programmable delays (its delay is always ${fixed})`,
      });
    }
    if (d > LIMITS.delay)
      violations.push({
        limit: 'descriptor.delay',
        layer: l,
        message: `layer ${l}: delay ${d} exceeds the descriptor format's limit of ${LIMITS.delay} steps`,
      });
  });
  return { delays, violations };
}
