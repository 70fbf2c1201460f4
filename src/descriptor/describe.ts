/**
 * A descriptor for people and for board builds: the C engine's memory for it, a JSON
 * description and an aligned text one (`glekit inspect`), and the compiler's per-layer
 * quantisation report.
 */
import { toReal } from '../fixed/index.js';
import { descriptorHash } from './envelope.js';
import type { Descriptor, DescriptorLayer } from './types.js';

/** Bytes of the C engine's buffers for a descriptor, by the formula of gle_get_info (gle_engine.c). */
export function footprintBytes(d: Descriptor): Record<string, number> {
  const ls = d.network.layers;
  const weights = ls.reduce((a, l) => a + l.nIn * l.nOut, 0);
  const neurons = ls.reduce((a, l) => a + l.nOut, 0);
  const ring = ls.reduce((a, l) => a + (l.delay + 1) * l.nIn, 0);
  const table = ls.reduce((a, l) => a + (l.nonlinearity.kind === 'table' ? l.nonlinearity.table.length : 0), 0);
  const out = {
    weights: 2 * weights,
    bias: 4 * neurons,
    decay: 4 * neurons,
    membrane: 4 * neurons,
    delayLines: 4 * ring,
    tables: 4 * table,
    outputs: 4 * d.network.outputSize,
  };
  return { ...out, total: Object.values(out).reduce((a, b) => a + b, 0) };
}

function tauSummary(l: DescriptorLayer, dt: number): string {
  let mMin = Infinity,
    mMax = -Infinity,
    rMin = Infinity,
    rMax = -Infinity;
  for (let i = 0; i < l.nOut; i++) {
    const tm = l.alpha[i] === 0 ? Infinity : (dt * 2 ** l.alphaFrac) / l.alpha[i];
    const tr = (tm * l.rho[i]) / 2 ** l.rhoFrac;
    mMin = Math.min(mMin, tm);
    mMax = Math.max(mMax, tm);
    rMin = Math.min(rMin, tr);
    rMax = Math.max(rMax, tr);
  }
  const span = (a: number, b: number): string => (a === b ? `${+a.toPrecision(5)}` : `${+a.toPrecision(5)}..${+b.toPrecision(5)}`);
  return `tau_m ${span(mMin, mMax)}, tau_r ${span(rMin, rMax)} (dt/tau_m in ${l.alphaFrac} fraction bits, tau_r/tau_m in ${l.rhoFrac})`;
}

function nlSummary(l: DescriptorLayer): string {
  const nl = l.nonlinearity;
  const P = l.prospectiveFormat;
  switch (nl.kind) {
    case 'identity':
      return 'identity';
    case 'clamp':
      return `clamp to [${toReal(nl.lo, P)}, ${toReal(nl.hi, P)}]`;
    case 'table':
      return `${nl.table.length}-entry table from ${toReal(nl.base, P)}, step ${2 ** nl.shift * P.lsb}${nl.interpolate ? ', interpolated' : ''}`;
  }
}

/** A JSON-friendly description of a descriptor. */
export function describeDescriptor(d: Descriptor, bytes: Uint8Array): Record<string, unknown> {
  const n = d.network;
  return {
    formatVersion: d.formatVersion,
    sha256: descriptorHash(bytes),
    bytes: bytes.length,
    tool: d.header.tool,
    profile: d.header.profile,
    model: d.header.model,
    precision: d.header.precision,
    dt: n.dt,
    dtSeconds: n.dtSeconds,
    inputSize: n.inputSize,
    outputSize: n.outputSize,
    inputFormat: n.inputFormat.toString(),
    outputFormat: n.layers[n.layers.length - 1].rateFormat.toString(),
    presentation: n.presentation,
    layers: n.layers.map((l) => ({
      nIn: l.nIn,
      nOut: l.nOut,
      phi: l.phi,
      delay: l.delay,
      weightFormat: l.weightFormat.toString(),
      biasFormat: l.biasFormat.toString(),
      driveFormat: l.driveFormat.toString(),
      membraneFormat: l.membraneFormat.toString(),
      prospectiveFormat: l.prospectiveFormat.toString(),
      rateFormat: l.rateFormat.toString(),
      timeConstants: tauSummary(l, n.dt),
      nonlinearity: nlSummary(l),
      placement: l.placement,
    })),
    footprintBytes: footprintBytes(d),
    info: d.header.info,
  };
}

export function formatDescriptorText(d: Descriptor, bytes: Uint8Array): string {
  const n = d.network;
  const fp = footprintBytes(d);
  const lines = [
    `descriptor format ${d.formatVersion}, ${bytes.length} bytes, ${descriptorHash(bytes)}`,
    `  written by ${d.header.tool} for profile ${d.header.profile.name} (${d.header.profile.hash.slice(0, 19)}...), precision ${d.header.precision}`,
    `  from model ${d.header.model.hash.slice(0, 19)}... (task ${d.header.model.task})`,
    `network ${n.inputSize}-${n.layers.map((l) => l.nOut).join('-')}, dt ${n.dt}${n.dtSeconds === null ? '' : ` (${n.dtSeconds} s on the device)`}, ` +
      `${n.presentation.mode} presentation of ${n.presentation.stepsPerSample} steps, read-out ${n.presentation.readout}`,
    `  input: real x -> code quantise(x, ${n.inputFormat}); output: code x 2^-${n.layers[n.layers.length - 1].rateFormat.fracBits}`,
  ];
  n.layers.forEach((l, i) => {
    lines.push(
      `layer ${i}: ${l.nIn} -> ${l.nOut}, ${l.phi}, delay ${l.delay}${l.placement ? `, cores ${l.placement.firstCore}..${l.placement.firstCore + l.placement.cores - 1}` : ''}`,
    );
    lines.push(`  weights ${l.weightFormat}, bias ${l.biasFormat}, drive ${l.driveFormat}`);
    lines.push(`  membrane ${l.membraneFormat}, prospective ${l.prospectiveFormat}, rate ${l.rateFormat}`);
    lines.push(`  ${tauSummary(l, n.dt)}`);
    lines.push(`  nonlinearity: ${nlSummary(l)}`);
  });
  lines.push(
    `C engine memory for this network: ${fp.total} bytes (weights ${fp.weights}, bias ${fp.bias}, decay factors ${fp.decay}, membranes ${fp.membrane}, delay lines ${fp.delayLines}, tables ${fp.tables}, outputs ${fp.outputs}) plus layer records`,
  );
  const report = d.header.info.report;
  if (Array.isArray(report)) lines.push('quantisation report (from compile):', ...formatReport(report as ReportRow[]));
  return lines.join('\n');
}

export interface ReportRow {
  layer: number | 'input';
  tensor: string;
  format: string;
  origin: string;
  formatMin: number;
  formatMax: number;
  seenMin: number | null;
  seenMax: number | null;
  values: number;
  saturated: number;
}

const num = (x: number | null): string =>
  x === null ? '-' : Math.abs(x) >= 1000 || (x !== 0 && Math.abs(x) < 0.001) ? x.toExponential(2) : `${+x.toFixed(4)}`;

/** The per-layer quantisation report as aligned text lines. */
export function formatReport(rows: ReportRow[]): string[] {
  const table = [['layer', 'tensor', 'format', 'format range', 'seen range', 'saturated', 'origin']];
  for (const r of rows) {
    table.push([
      String(r.layer),
      r.tensor,
      r.format,
      `[${num(r.formatMin)}, ${num(r.formatMax)}]`,
      `[${num(r.seenMin)}, ${num(r.seenMax)}]`,
      `${r.saturated} / ${r.values}`,
      r.origin,
    ]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  return table.map((row) => '  ' + row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  '));
}
