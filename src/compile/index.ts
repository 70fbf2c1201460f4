/**
 * Compile: model file + hardware profile -> device descriptor.
 *
 *   map       place neurons on cores; check neuron counts, fan-in/out, memory, delays,
 *             and every weight against its format (map.ts);
 *   quantise  integer formats from the profile and --precision (plans.ts, precision.ts),
 *             binary points from the value ranges the float target reaches on range
 *             data (ranges.ts, formats.ts); per layer (layer.ts): time constants as decay
 *             factors dt/tau_m and prospective factors tau_r/tau_m (time-constants.ts),
 *             the nonlinearity as the profile realises it (tables.ts), weights and
 *             biases (weights.ts);
 *   report    per layer and tensor: the format, where it came from, its range, the range
 *             seen on the range data, and how many values saturated (report.ts): weights
 *             at quantisation, and the datapath's values in a bit-accurate overflow run
 *             of the range data (overflow.ts);
 *   write     the descriptor (src/descriptor, firmware-bridge/DESCRIPTOR.md).
 */
import { DESCRIPTOR_VERSION, descriptorHash, encodeDescriptor, type Descriptor, type DescriptorLayer, type Placement } from '../descriptor/index.js';
import { footprintBytes } from '../descriptor/index.js';
import { quantiseArray, type FixedFormat } from '../fixed/index.js';
import { profileHash, resolveSettings, type HwProfile, type ResolvedSettings } from '../hw/index.js';
import type { ModelFile } from '../model/model-file.js';
import { trainingInfo } from '../model/training-info.js';
import { GlekitError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { VERSION } from '../version.js';
import { pickFormat } from './formats.js';
import { compileLayer } from './layer.js';
import { CompileError, capacityViolations, chooseDelays, placeNeurons, type MapViolation } from './map.js';
import { countOverflows } from './overflow.js';
import { missingFormats, profilePlans, type NetworkPlans } from './plans.js';
import { parsePrecision, type PrecisionSpec } from './precision.js';
import { loadRangeData, maxAbs, measureRanges, type RangeData, type ValueRanges } from './ranges.js';
import { inputReport, type TensorReport } from './report.js';
import { decayPlan } from './time-constants.js';

export { CompileError, type MapViolation } from './map.js';
export { parsePrecision, type PrecisionSpec } from './precision.js';
export {
  measureRanges,
  loadRangeData,
  RANGE_DATA_FORMAT,
  type RangeData,
  type ValueRanges,
} from './ranges.js';
export { HEADROOM_SATURATE, HEADROOM_WRAP } from './formats.js';
export { EXACT_TABLE } from './tables.js';
export type { TensorReport } from './report.js';

export interface CompileOptions {
  model: ModelFile;
  profile: HwProfile;
  /** the --precision text */
  precision?: string;
  /** range-data file (--range-data); default: the model task's training samples */
  rangeFile?: string;
  rangeSamples?: number;
  /** per-layer delays in steps; default: the profile's */
  delays?: number[];
}

export interface CompileResult {
  descriptor: Descriptor;
  bytes: Uint8Array;
  hash: string;
  report: TensorReport[];
  notes: string[];
  placement: Placement[];
  /** where the range data came from, and how many samples it held */
  rangeSource: string;
  rangeSamples: number;
  /** bytes of the C engine's buffers for this network (footprintBytes; layer records not included) */
  footprint: Record<string, number>;
  /** the profile's memory, when it states one */
  memoryBytes: number | null;
}

interface Mapped {
  delays: number[];
  plans: NetworkPlans;
  alphaFrac: number;
  placement: Placement[];
}

/** Map: capacity, delays, the profile's formats and time-constant representation. Throws CompileError listing every broken limit. */
function mapModel(
  model: ModelFile,
  profile: HwProfile,
  s: ResolvedSettings,
  spec: PrecisionSpec,
  requestedDelays: number[] | undefined,
  notes: string[],
): Mapped {
  const nLayers = model.network.layers.length;
  const violations: MapViolation[] = capacityViolations(profile, model);
  const { delays, violations: delayViolations } = chooseDelays(profile, s, nLayers, requestedDelays);
  violations.push(...delayViolations);
  if (s.timing.mode === 'continuous') {
    violations.push({
      limit: 'timing.mode',
      layer: 'network',
      message: `network: ${profile.name} runs in continuous time (timing.mode continuous); a descriptor steps a clocked integer datapath`,
    });
  }
  if (model.network.gamma !== 0 && model.network.prospectiveErrors) {
    notes.push('inference only: the descriptor carries no error path (gamma and learning are not compiled)');
  }
  let plans: NetworkPlans;
  try {
    plans = profilePlans(profile, s, nLayers, spec, violations);
  } catch (e) {
    if (!(e instanceof GlekitError)) throw e;
    violations.push({ limit: 'representation', layer: 'network', message: `network: ${e.message}` });
    throw new CompileError(profile.name, violations);
  }
  violations.push(...missingFormats(profile.name, plans));
  const decay = decayPlan(profile, s, spec, violations);
  const placement = placeNeurons(s, model);
  if (violations.length > 0) throw new CompileError(profile.name, violations);
  return { delays, plans, alphaFrac: decay.bits, placement };
}

/** Quantise: the input format and every layer, with the report rows. Throws CompileError listing what does not fit. */
function quantiseLayers(
  model: ModelFile,
  profileName: string,
  s: ResolvedSettings,
  m: Mapped,
  ranges: ValueRanges,
  notes: string[],
): { inputFormat: FixedFormat; layers: DescriptorLayer[]; report: TensorReport[] } {
  const data = ranges.data;
  const inputFormat = pickFormat(m.plans.input, maxAbs(ranges.input), 'input');
  const inputQ = quantiseArray(data.inputs, inputFormat);
  const report: TensorReport[] = [inputReport(inputFormat, m.plans.input.origin, ranges.input, data.inputs.length, inputQ.saturated)];
  const layers: DescriptorLayer[] = [];
  const violations: MapViolation[] = [];
  let xf = inputFormat;
  model.network.layers.forEach((ml, l) => {
    const ctx = { s, dt: model.network.dt, alphaFrac: m.alphaFrac, delay: m.delays[l], placement: m.placement[l], notes, violations };
    const built = compileLayer(ml, l, m.plans.layers[l], ranges.layers[l], xf, ctx);
    if (built === null) return;
    layers.push(built.layer);
    report.push(...built.report);
    xf = built.layer.rateFormat;
  });
  if (violations.length > 0) throw new CompileError(profileName, violations);
  return { inputFormat, layers, report };
}

/** The firmware engine's buffers for this network must fit the device's memory. */
function checkFootprint(descriptor: Descriptor, profile: HwProfile, memory: number | null): Record<string, number> {
  const footprint = footprintBytes(descriptor);
  if (memory !== null && footprint.total > memory) {
    throw new CompileError(profile.name, [
      {
        limit: 'memoryBytes',
        layer: 'network',
        message: `network: the C engine needs ${footprint.total} bytes for this network (weights ${footprint.weights}, tables ${footprint.tables}, state and delay lines ${footprint.membrane + footprint.delayLines}), more than memoryBytes ${memory} of ${profile.name}`,
      },
    ]);
  }
  return footprint;
}

/** Compiles a model for a profile. Throws CompileError listing every limit it breaks. */
export function compileModel(opts: CompileOptions): CompileResult {
  const { model, profile } = opts;
  const s = resolveSettings(profile);
  const spec = parsePrecision(opts.precision);
  const mlayers = model.network.layers;
  const notes: string[] = [];
  const mapped = mapModel(model, profile, s, spec, opts.delays, notes);
  const data: RangeData = loadRangeData(model, opts.rangeFile, opts.rangeSamples);
  const { inputFormat, layers, report } = quantiseLayers(model, profile.name, s, mapped, measureRanges(model, data), notes);
  const descriptor: Descriptor = {
    formatVersion: DESCRIPTOR_VERSION,
    header: {
      tool: `glekit ${VERSION}`,
      profile: { name: profile.name, hash: `sha256:${profileHash(profile)}` },
      model: { hash: model.contentHash, task: model.task },
      precision: spec.text,
      info: {},
    },
    network: {
      dt: model.network.dt,
      dtSeconds: s.timing.dt,
      inputSize: mlayers[0].inputSize,
      outputSize: mlayers[mlayers.length - 1].outputSize,
      inputFormat,
      presentation: { ...model.presentation },
      layers,
    },
  };
  const memory = s.limits.memoryBytes;
  const footprint = checkFootprint(descriptor, profile, memory);
  countOverflows(descriptor, data, report);
  // "calibration" below is a key of descriptors already written (format 1): it holds the range data's source
  descriptor.header.info = {
    dataSeed: trainingInfo(model).dataSeed,
    calibration: { source: data.source, samples: data.count },
    notes,
    report: report.map((r) => ({ ...r })),
  };
  const bytes = encodeDescriptor(descriptor);
  return {
    descriptor,
    bytes,
    hash: descriptorHash(bytes),
    report,
    notes,
    placement: mapped.placement,
    rangeSource: data.source,
    rangeSamples: data.count,
    footprint,
    memoryBytes: memory,
  };
}

/** Writes a compiled descriptor through a temporary file and a rename. */
export function writeDescriptorFile(path: string, bytes: Uint8Array): void {
  writeFileAtomic(path, bytes);
}
