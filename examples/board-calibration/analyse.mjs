#!/usr/bin/env node
/**
 * Calibration acceptance from an emulated analog board's hidden truth (gle_board --analog
 * --truth-out, firmware-bridge/ANALOG.md "Truth file"), not from the calibration's own
 * estimates: per parameter, the spread of the realised values against their targets at
 * the board's nominal codes (uncalibrated) and at the calibration's codes, calix's
 * acceptance (calibrated <= 0.3 x uncalibrated), and two floors: the trim resolution's
 * (every neuron at its best code) and the measurement's (host estimate vs truth at the
 * calibrated codes, one check).
 *
 *   node analyse.mjs TRUTH.json CALIBRATION.json   -> one JSON line
 */
import { readFileSync } from 'node:fs';

const [truthPath, calPath] = process.argv.slice(2);
const truth = JSON.parse(readFileSync(truthPath, 'utf8'));
const cal = JSON.parse(readFileSync(calPath, 'utf8'));
const PARAMS = ['tauM', 'tauR', 'gain', 'offset'];
const max = 2 ** truth.trimBits - 1;
const dt = truth.dt;

function value(neuron, p, code) {
  const m = neuron.maps[p];
  const x = code / max;
  let v = m.kind === 'exp' ? m.lo * (m.hi / m.lo) ** x : m.at0 + (m.at1023 - m.at0) * x;
  if (p === 'tauM' && v < dt) v = dt; // the board raises tau_m to dt (forward Euler)
  return v;
}
const codeOf = (neuron, p) => {
  const l = cal.layers[neuron.layer];
  return l.params[p].codes[neuron.index];
};
const okOf = (neuron) => cal.layers[neuron.layer].ok[neuron.index];

function spread(p, vals, targets) {
  if (p === 'offset') {
    const d = vals.map((v, i) => v - targets[i]);
    const m = d.reduce((a, b) => a + b, 0) / d.length;
    return Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (d.length - 1));
  }
  const r = vals.map((v, i) => v / targets[i]);
  const m = r.reduce((a, b) => a + b, 0) / r.length;
  return Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / (r.length - 1)) / m;
}

const out = { seed: truth.seed, neurons: truth.neurons.length, broken: truth.neurons.filter((n) => n.broken !== null).map((n) => `${n.layer}:${n.index}(${n.broken})`) };
out.flagged = truth.neurons.filter((n) => !okOf(n)).map((n) => `${n.layer}:${n.index}`);
out.brokenFlagged = truth.neurons.filter((n) => n.broken !== null).every((n) => !okOf(n));
out.params = {};
for (const p of PARAMS) {
  // every neuron that is not broken (the uncalibrated chip has them all), and the ones the calibration passes
  const sets = { working: truth.neurons.filter((n) => n.broken === null), passed: truth.neurons.filter((n) => okOf(n)) };
  const r = {};
  for (const [name, ns] of Object.entries(sets)) {
    const targets = ns.map((n) => n.target[p]);
    const before = spread(p, ns.map((n) => value(n, p, n.nominal[PARAMS.indexOf(p)])), targets);
    const after = spread(p, ns.map((n) => value(n, p, codeOf(n, p))), targets);
    const best = spread(p, ns.map((n) => {
      let bv = value(n, p, 0);
      for (let c = 1; c <= max; c++) { const v = value(n, p, c); if (Math.abs(v - n.target[p]) < Math.abs(bv - n.target[p])) bv = v; }
      return bv;
    }), targets);
    r[name] = { n: ns.length, before, after, ratio: after / before, resolutionFloor: best };
  }
  // the host's final estimates against the truth at the same codes (taus: estimates in steps, truth in model time)
  const scale = p === 'tauM' || p === 'tauR' ? dt : 1;
  const est = [], tru = [];
  for (const n of sets.passed) {
    const m = cal.layers[n.layer].params[p].measured[n.index];
    if (m === null) continue;
    est.push(m * scale); tru.push(value(n, p, codeOf(n, p)));
  }
  r.measurementError = spread(p, est, tru);
  r.accepted = r.working.after <= 0.3 * r.working.before;
  out.params[p] = r;
}
out.accepted = PARAMS.every((p) => out.params[p].accepted);
out.stats = { rounds: cal.stats.rounds, probes: cal.stats.probes, seconds: cal.stats.seconds, bytesRead: cal.stats.bytesRead, okNeurons: cal.stats.okNeurons };
process.stdout.write(`${JSON.stringify(out)}\n`);
