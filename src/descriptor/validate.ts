/**
 * The bounds of SEMANTICS.md section 7, checked on a descriptor held in memory; the C
 * loader (firmware-bridge/src/gle_loader.c) checks the same rules.
 */
import type { FixedFormat } from '../fixed/index.js';
import { LIMITS, storedRange } from './limits.js';
import { DescriptorError, type Descriptor, type DescriptorLayer } from './types.js';

const bitLength = (n: number): number => (n <= 0 ? 0 : Math.floor(Math.log2(n)) + 1);

/**
 * The bounds of SEMANTICS.md section 7 on a descriptor held in memory. They keep every
 * intermediate of a step below 2^53, so the TypeScript engine's doubles are exact, and
 * every shift in range, so the C engine never meets undefined behaviour.
 */
export function validateDescriptor(d: Descriptor, source: string): void {
  const fail = (field: string, problem: string): never => {
    throw new DescriptorError(source, field, problem);
  };
  const n = d.network;
  if (n.layers.length < 1 || n.layers.length > LIMITS.layers) fail('network.layers', `must hold 1..${LIMITS.layers} layers (has ${n.layers.length})`);
  if (!(n.dt > 0)) fail('network.dt', 'must be positive');
  const p = n.presentation;
  if (!Number.isInteger(p.stepsPerSample) || p.stepsPerSample < 1 || p.stepsPerSample > LIMITS.stepsPerSample)
    fail('network.presentation.stepsPerSample', `must be in 1..${LIMITS.stepsPerSample}`);
  if (!Number.isInteger(p.settleSteps) || p.settleSteps < 0 || p.settleSteps >= p.stepsPerSample)
    fail('network.presentation.settleSteps', `must be in 0..stepsPerSample-1 (${p.stepsPerSample - 1})`);
  checkActivation(n.inputFormat, 'network.inputFormat', fail);
  if (n.inputSize !== n.layers[0].nIn) fail('network.inputSize', `must equal layers[0].nIn (${n.layers[0].nIn})`);
  if (n.outputSize !== n.layers[n.layers.length - 1].nOut)
    fail('network.outputSize', `must equal the last layer's nOut (${n.layers[n.layers.length - 1].nOut})`);
  let xf = n.inputFormat;
  let prevOut = n.inputSize;
  n.layers.forEach((l, i) => {
    const at = `network.layers[${i}]`;
    checkLayerShape(l, at, xf, prevOut, fail);
    checkLayerCodes(l, at, fail);
    checkNonlinearity(l, at, fail);
    xf = l.rateFormat;
    prevOut = l.nOut;
  });
}

type Fail = (field: string, problem: string) => never;

function checkActivation(f: FixedFormat, field: string, fail: Fail): void {
  if (f.width > LIMITS.activationWidth || (f.signed && f.width < 2))
    fail(field, `width must be in ${f.signed ? 2 : 1}..${LIMITS.activationWidth} (is ${f.width})`);
}

function checkState(f: FixedFormat, field: string, fail: Fail, min = 2, max: number = LIMITS.stateWidth): void {
  if (!f.signed) fail(field, 'must be signed');
  if (f.width < min || f.width > max) fail(field, `width must be in ${min}..${max} (is ${f.width})`);
}

/** Sizes, formats and the shifts of one step: every intermediate below 2^53, every shift in range. */
function checkLayerShape(l: DescriptorLayer, at: string, xf: FixedFormat, prevOut: number, fail: Fail): void {
  if (l.nIn !== prevOut) fail(`${at}.nIn`, `must equal the size of the layer's input (${prevOut})`);
  for (const [k, v] of [
    ['nIn', l.nIn],
    ['nOut', l.nOut],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > LIMITS.size) fail(`${at}.${k}`, `must be in 1..${LIMITS.size}`);
  if (!Number.isInteger(l.delay) || l.delay < 0 || l.delay > LIMITS.delay) fail(`${at}.delay`, `must be in 0..${LIMITS.delay}`);
  checkState(l.weightFormat, `${at}.weightFormat`, fail, 2, LIMITS.weightWidth);
  checkState(l.biasFormat, `${at}.biasFormat`, fail);
  checkState(l.driveFormat, `${at}.driveFormat`, fail);
  checkState(l.membraneFormat, `${at}.membraneFormat`, fail);
  checkState(l.prospectiveFormat, `${at}.prospectiveFormat`, fail);
  checkActivation(l.rateFormat, `${at}.rateFormat`, fail);
  if (l.weights.length !== l.nIn * l.nOut) fail(`${at}.weights`, `must hold nIn x nOut = ${l.nIn * l.nOut} values`);
  for (const [k, a] of [
    ['bias', l.bias],
    ['alpha', l.alpha],
    ['rho', l.rho],
  ] as const)
    if (a.length !== l.nOut) fail(`${at}.${k}`, `must hold nOut = ${l.nOut} values`);

  const fw = l.weightFormat.fracBits,
    fx = xf.fracBits,
    fu = l.membraneFormat.fracBits;
  const accShift = fw + fx - l.driveFormat.fracBits;
  if (l.driveFormat.fracBits !== fu) fail(`${at}.driveFormat`, `must have the membrane's fraction bits (${fu}), has ${l.driveFormat.fracBits}`);
  if (accShift < 0 || accShift > 62)
    fail(`${at}.driveFormat`, `accumulator shift (weight frac ${fw} + input frac ${fx} - drive frac ${l.driveFormat.fracBits} = ${accShift}) must be in 0..62`);
  const biasShift = fw + fx - l.biasFormat.fracBits;
  if (biasShift < 0 || l.biasFormat.width - 1 + biasShift > LIMITS.accBits)
    fail(`${at}.biasFormat`, `bias shift (${biasShift}) must be >= 0 with width - 1 + shift <= ${LIMITS.accBits}`);
  const xMag = xf.signed ? xf.width - 1 : xf.width;
  if (bitLength(l.nIn) + l.weightFormat.width - 1 + xMag > LIMITS.accBits) {
    fail(
      `${at}.weightFormat`,
      `accumulator bound: bits(nIn) ${bitLength(l.nIn)} + weight width - 1 (${l.weightFormat.width - 1}) + input magnitude bits ${xMag} exceeds ${LIMITS.accBits}`,
    );
  }
  if (!Number.isInteger(l.alphaFrac) || l.alphaFrac < 0 || l.alphaFrac > LIMITS.alphaFrac) fail(`${at}.alphaFrac`, `must be in 0..${LIMITS.alphaFrac}`);
  if (!Number.isInteger(l.rhoFrac) || l.rhoFrac < 0 || l.rhoFrac > LIMITS.rhoFrac) fail(`${at}.rhoFrac`, `must be in 0..${LIMITS.rhoFrac}`);
  const pShift = l.rhoFrac + fu - l.prospectiveFormat.fracBits;
  if (pShift < 0 || pShift > 62)
    fail(
      `${at}.prospectiveFormat`,
      `prospective shift (rho frac ${l.rhoFrac} + membrane frac ${fu} - prospective frac ${l.prospectiveFormat.fracBits} = ${pShift}) must be in 0..62`,
    );
}

/** Every stored code inside its format; alpha at most 1 (tau_m not below dt). */
function checkLayerCodes(l: DescriptorLayer, at: string, fail: Fail): void {
  const [wLo, wHi] = storedRange(l.weightFormat);
  for (let k = 0; k < l.weights.length; k++) {
    if (l.weights[k] < wLo || l.weights[k] > wHi)
      fail(`${at}.weights`, `code ${l.weights[k]} at [${Math.floor(k / l.nIn)}][${k % l.nIn}] is outside the weight format's ${wLo}..${wHi}`);
  }
  const [bLo, bHi] = storedRange(l.biasFormat);
  const one = 2 ** l.alphaFrac;
  for (let j = 0; j < l.nOut; j++) {
    if (l.bias[j] < bLo || l.bias[j] > bHi) fail(`${at}.bias`, `code ${l.bias[j]} of neuron ${j} is outside the bias format's ${bLo}..${bHi}`);
    if (l.alpha[j] > one) fail(`${at}.alpha`, `code ${l.alpha[j]} of neuron ${j} exceeds 2^alphaFrac = ${one} (tau_m below dt)`);
  }
}

function checkNonlinearity(l: DescriptorLayer, at: string, fail: Fail): void {
  const nl = l.nonlinearity;
  const rShift = l.prospectiveFormat.fracBits - l.rateFormat.fracBits;
  const [rLo, rHi] = storedRange(l.rateFormat);
  const [pLo, pHi] = storedRange(l.prospectiveFormat);
  if (nl.kind === 'identity' || nl.kind === 'clamp') {
    if (rShift < -LIMITS.rateLeftShift || rShift > 62)
      fail(`${at}.rateFormat`, `rate shift (prospective frac - rate frac = ${rShift}) must be in -${LIMITS.rateLeftShift}..62`);
    if (nl.kind === 'clamp') {
      if (!Number.isInteger(nl.lo) || !Number.isInteger(nl.hi) || nl.lo > nl.hi || nl.lo < pLo || nl.hi > pHi) {
        fail(`${at}.nonlinearity`, `clamp bounds must be prospective codes with lo <= hi (lo ${nl.lo}, hi ${nl.hi}, codes ${pLo}..${pHi})`);
      }
    }
  } else {
    const entries = nl.table.length;
    if (entries < 1 || entries > LIMITS.tableEntries) fail(`${at}.nonlinearity.table`, `must hold 1..${LIMITS.tableEntries} entries (has ${entries})`);
    if (nl.interpolate && entries < 2) fail(`${at}.nonlinearity.table`, 'an interpolated table needs at least 2 entries');
    if (!Number.isInteger(nl.shift) || nl.shift < 0 || nl.shift > LIMITS.tableShift) fail(`${at}.nonlinearity.shift`, `must be in 0..${LIMITS.tableShift}`);
    if (!Number.isInteger(nl.base) || nl.base < -(2 ** 31) || nl.base > 2 ** 31 - 1) fail(`${at}.nonlinearity.base`, 'must be an int32');
    for (let k = 0; k < entries; k++) {
      if (nl.table[k] < rLo || nl.table[k] > rHi) fail(`${at}.nonlinearity.table`, `entry ${k} (${nl.table[k]}) is outside the rate format's ${rLo}..${rHi}`);
    }
  }
}
