/**
 * Quantise: time constants. Each neuron's tau_m and tau_r are first represented as the
 * profile represents them (analog cells, decay factors, bit shifts), then stored as the
 * decay factor alpha = dt / tau_m and the prospective factor rho = tau_r / tau_m.
 */
import { LIMITS } from '../descriptor/index.js';
import { representTau, type HwProfile, type ResolvedSettings, type ResolvedTauRepresentation } from '../hw/index.js';
import type { ModelLayer } from '../model/model-file.js';
import type { MapViolation } from './map.js';
import { findEntry, type PrecisionSpec } from './precision.js';

/** The time constant the representation realises, in model units (step-based ones only see tau / dt). */
function representedTau(rep: ResolvedTauRepresentation, tau: number, dt: number, s: ResolvedSettings): number {
  if (rep.kind === 'decay' || rep.kind === 'bit-shift') return representTau(rep, tau, dt);
  const unit = s.timing.dt !== null ? s.timing.dt / dt : 1;
  return representTau(rep, tau * unit, s.timing.dt) / unit;
}

function decayBits(rep: ResolvedTauRepresentation): { bits: number; origin: string } {
  switch (rep.kind) {
    case 'decay':
      return { bits: rep.bits, origin: `profile (${rep.bits}-bit decay: dt/tau = d / 2^${rep.bits})` };
    case 'bit-shift':
      return { bits: rep.shiftMax, origin: `profile (bit-shift decay up to 2^-${rep.shiftMax})` };
    default:
      return { bits: LIMITS.alphaFrac, origin: `the descriptor's finest (${LIMITS.alphaFrac} fraction bits; the profile's time constants are ${rep.kind})` };
  }
}

/** The fraction bits of alpha = dt / tau_m: a --precision decay entry, else the profile's representation. */
export function decayPlan(profile: HwProfile, s: ResolvedSettings, spec: PrecisionSpec, violations: MapViolation[]): { bits: number; origin: string } {
  const decayEntry = findEntry(spec, 'decay', null);
  const decay = decayEntry?.width != null ? { bits: decayEntry.width, origin: `--precision ${decayEntry.text}` } : decayBits(s.tauM.representation);
  if (decay.bits > LIMITS.alphaFrac) {
    violations.push({
      limit: 'timeConstants.tauM.representation.bits',
      layer: 'network',
      message: `network: ${profile.name} holds dt/tau_m with ${decay.bits} fraction bits; the descriptor holds at most ${LIMITS.alphaFrac} (use --precision decay=${LIMITS.alphaFrac})`,
    });
  }
  return decay;
}

export interface LayerTimeConstants {
  alpha: Uint16Array;
  rhoFrac: number;
  rho: Uint16Array;
}

/**
 * alpha and rho of one layer's neurons. A tau_m too long for alphaFrac bits is a
 * violation; a ratio tau_r / tau_m beyond 16 bits fails the layer (null).
 */
export function layerTimeConstants(
  ml: ModelLayer,
  l: number,
  dt: number,
  alphaFrac: number,
  s: ResolvedSettings,
  notes: string[],
  violations: MapViolation[],
): LayerTimeConstants | null {
  const alpha = new Uint16Array(ml.outputSize);
  const rhoReal = new Float64Array(ml.outputSize);
  const one = 2 ** alphaFrac;
  let tauErr = 0;
  for (let i = 0; i < ml.outputSize; i++) {
    const tm = representedTau(s.tauM.representation, ml.tauM[i], dt, s);
    const tr = representedTau(s.tauR.representation, ml.tauR[i], dt, s);
    tauErr = Math.max(tauErr, Math.abs(tm / ml.tauM[i] - 1), Math.abs(tr / ml.tauR[i] - 1));
    const a = Math.round((one * dt) / tm);
    if (a < 1)
      violations.push({
        limit: 'timeConstants.tauM',
        layer: l,
        message: `layer ${l}, neuron ${i}: tau_m ${ml.tauM[i]} exceeds the longest time constant ${alphaFrac} fraction bits of dt/tau_m can hold (${one} dt)`,
      });
    alpha[i] = Math.min(one, Math.max(0, a));
    rhoReal[i] = tr / tm;
  }
  if (tauErr > 1e-9) notes.push(`layer ${l}: time constants as represented differ from the model's by up to ${(100 * tauErr).toFixed(2)} %`);
  let rhoFrac = Math.min(LIMITS.rhoFrac, Math.max(alphaFrac, 0));
  const rhoMax = rhoReal.reduce((a, b) => Math.max(a, b), 0);
  while (rhoFrac > 0 && Math.round(rhoMax * 2 ** rhoFrac) > 65535) rhoFrac--;
  if (Math.round(rhoMax * 2 ** rhoFrac) > 65535) {
    violations.push({
      limit: 'timeConstants.tauR',
      layer: l,
      message: `layer ${l}: tau_r / tau_m reaches ${rhoMax}, beyond the descriptor's 16-bit prospective factor`,
    });
    return null;
  }
  const rho = new Uint16Array(ml.outputSize);
  for (let i = 0; i < ml.outputSize; i++) rho[i] = Math.round(rhoReal[i] * 2 ** rhoFrac);
  return { alpha, rhoFrac, rho };
}
