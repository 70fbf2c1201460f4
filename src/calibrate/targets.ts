/**
 * What a board calibration aims at: per neuron, the realised tau_m and tau_r (in steps of
 * the board's clock, i.e. the model's dt), the synaptic gain (1: the compiled weights act
 * as they are) and the membrane offset (0). Taken from a model file (`--model`) or a
 * targets file (`--targets`, format glekit.calibration-targets/1). The targets hash keys
 * calibration files: a calibration is for one board and one set of targets.
 */
import { parseActivation, type ActivationName } from '../engine/activations.js';
import type { ModelFile } from '../model/model-file.js';
import { canonicalSha256 } from '../util/canonical-json.js';
import { ValidationError } from '../util/errors.js';
import { Field, readJsonFile } from '../util/json-reader.js';

export const TARGETS_FORMAT = 'glekit.calibration-targets/1';

/** The trimmed parameters, in PROTOCOL.md §6's order. */
export const PARAMS = ['tauM', 'tauR', 'gain', 'offset'] as const;
export type ParamName = (typeof PARAMS)[number];

export interface LayerTargets {
  phi: ActivationName;
  nOut: number;
  /** membrane time constant per neuron, in steps */
  tauM: number[];
  /** prospective time constant per neuron, in steps */
  tauR: number[];
  gain: number[];
  offset: number[];
}

export interface CalibrationTargets {
  format: typeof TARGETS_FORMAT;
  /** the model time of one step (informational: the taus are in steps) */
  dt: number;
  layers: LayerTargets[];
}

/** sha256 (hex) of the targets' canonical JSON: the key's third part. */
export function targetsHash(t: CalibrationTargets): string {
  return canonicalSha256({
    format: t.format,
    layers: t.layers.map((l) => ({ phi: l.phi, nOut: l.nOut, tauM: l.tauM, tauR: l.tauR, gain: l.gain, offset: l.offset })),
  });
}

export function neuronCount(t: CalibrationTargets): number {
  return t.layers.reduce((a, l) => a + l.nOut, 0);
}

/** The model's time constants in steps, gain 1, offset 0. */
export function targetsFromModel(model: Pick<ModelFile, 'network'>): CalibrationTargets {
  const dt = model.network.dt;
  return {
    format: TARGETS_FORMAT,
    dt,
    layers: model.network.layers.map((l) => ({
      phi: l.phi,
      nOut: l.outputSize,
      tauM: l.tauM.map((v) => v / dt),
      tauR: l.tauR.map((v) => v / dt),
      gain: new Array<number>(l.outputSize).fill(1),
      offset: new Array<number>(l.outputSize).fill(0),
    })),
  };
}

function perNeuron(f: Field, n: number, dflt: number | null, positive: boolean): number[] {
  if (f.value === undefined) {
    if (dflt === null) f.fail('is required');
    return new Array<number>(n).fill(dflt as number);
  }
  if (typeof f.value === 'number') {
    const v = f.number(positive ? { minExclusive: 0 } : {});
    return new Array<number>(n).fill(v);
  }
  const items = f.array();
  if (items.length !== n) f.fail(`must hold ${n} values (one per neuron) or one number, has ${items.length}`);
  return items.map((x) => x.number(positive ? { minExclusive: 0 } : {}));
}

/**
 * A targets file: {"format": "glekit.calibration-targets/1", "dt": 0.1, "layers": [{"phi":
 * "hardSigmoid", "nOut": 120, "tauM": 10 | [...], "tauR": ..., "gain": 1, "offset": 0}]};
 * taus in steps, a number stands for every neuron of the layer.
 */
export function loadTargetsFile(path: string): CalibrationTargets {
  const root = new Field(path, '', readJsonFile(path)).object();
  const fmt = root.child('format').string();
  if (fmt !== TARGETS_FORMAT) root.child('format').fail(`must be "${TARGETS_FORMAT}"`);
  const dtField = root.child('dt');
  const dt = dtField.value === undefined ? 1 : dtField.number({ minExclusive: 0 });
  const layers = root
    .child('layers')
    .array()
    .map((lf) => {
      lf.object();
      const phiField = lf.child('phi');
      const phi = phiField.value === undefined ? 'linear' : parseActivation(phiField.string());
      if (phi === null) phiField.fail('is not an activation glekit knows');
      const nOut = lf.child('nOut').number({ integer: true, min: 1 });
      return {
        phi: phi as ActivationName,
        nOut,
        tauM: perNeuron(lf.child('tauM'), nOut, null, true),
        tauR: perNeuron(lf.child('tauR'), nOut, null, true),
        gain: perNeuron(lf.child('gain'), nOut, 1, true),
        offset: perNeuron(lf.child('offset'), nOut, 0, false),
      };
    });
  if (layers.length === 0) throw new ValidationError(path, 'layers', [], 'must hold at least one layer');
  return { format: TARGETS_FORMAT, dt, layers };
}
