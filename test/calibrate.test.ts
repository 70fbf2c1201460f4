/**
 * src/calibrate against an in-memory analog board (test/helpers/fake-analog-board.ts):
 * the fits, the code search, calibrateBoard's acceptance on the board's hidden truth
 * (calibrated spread <= 0.3 x uncalibrated on every parameter), the success mask of a
 * broken neuron, the cache (reuse, --force), a board that stops answering (named error,
 * no cache entry, resume), and bad calibration files.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoardClient, memoryLink } from '../src/bridge/index.js';
import {
  CalibrationFileError,
  CalibrationInterrupted,
  CodeSearch,
  TARGETS_FORMAT,
  calibrateBoard,
  checkCalibrationFits,
  fitRho,
  fitStepResponse,
  readCalibration,
  targetsHash,
  type CalibrationTargets,
} from '../src/calibrate/index.js';
import { FakeAnalogBoard, type FakeAnalogOptions } from './helpers/fake-analog-board.js';

const LAYERS: FakeAnalogOptions['layers'] = [
  { nOut: 24, phi: 'hardSigmoid', tauM: 10, tauR: 10 },
  { nOut: 3, phi: 'hardSigmoid', tauM: 10, tauR: 10 },
];

function targets(): CalibrationTargets {
  return {
    format: TARGETS_FORMAT,
    dt: 0.1,
    layers: LAYERS.map((l) => ({
      phi: l.phi,
      nOut: l.nOut,
      tauM: new Array(l.nOut).fill(l.tauM),
      tauR: new Array(l.nOut).fill(l.tauR),
      gain: new Array(l.nOut).fill(1),
      offset: new Array(l.nOut).fill(0),
    })),
  };
}

async function open(board: FakeAnalogBoard): Promise<BoardClient> {
  const [host, end] = memoryLink('mem-analog');
  board.attach(end);
  return BoardClient.open(host, { marginMs: 60, attempts: 2 });
}

function cv(v: number[], t: number[]): number {
  const r = v.map((x, i) => x / t[i]);
  const m = r.reduce((a, b) => a + b, 0) / r.length;
  return Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / (r.length - 1)) / m;
}
function sd(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

/** the hidden realised spread of a board at codes */
function truthSpread(b: FakeAnalogBoard, codes: Uint16Array, use: (g: number) => boolean): Record<string, number> {
  const n = b.neurons;
  const gs = Array.from({ length: n }, (_, g) => g).filter(use);
  return {
    tauM: cv(
      gs.map((g) => b.tauM(g, codes[g])),
      gs.map(() => 10),
    ),
    tauR: cv(
      gs.map((g) => b.tauR(g, codes[n + g])),
      gs.map(() => 10),
    ),
    gain: cv(
      gs.map((g) => b.gain(g, codes[2 * n + g])),
      gs.map(() => 1),
    ),
    offset: sd(gs.map((g) => b.offset(g, codes[3 * n + g]))),
  };
}

describe('fits', () => {
  it('a step response gives tau_m, and the prospective rate gives tau_r (forward Euler, noiseless)', () => {
    for (const [tm, tr] of [
      [10, 10],
      [7.5, 12],
      [20, 4],
    ]) {
      const u = new Float64Array(80),
        pu = new Float64Array(80);
      let x = 0;
      for (let k = 0; k < 80; k++) {
        const d = (0.7 - x) / tm;
        pu[k] = x + tr * d;
        x += d;
        u[k] = x;
      }
      const f = fitStepResponse(u)!;
      expect(f.tau).toBeCloseTo(tm, 4);
      expect(f.a).toBeCloseTo(0.7, 6);
      expect(fitRho(pu, f) * f.tau).toBeCloseTo(tr, 3);
    }
  });
});

describe('CodeSearch', () => {
  it("finds every neuron's code of a decreasing map from the nominal codes, and flags an unreachable target", () => {
    const n = 5;
    const value = (i: number, c: number): number => (i === 4 ? 50 : (1000 / (10 + c)) * (1 + 0.2 * (i - 2)));
    const targets = new Float64Array(n).fill(2);
    const nominal = new Uint16Array(n).fill(490);
    const s = new CodeSearch(
      targets,
      nominal,
      Float64Array.from({ length: n }, (_, i) => value(i, 490)),
      -1,
      { maxCode: 1023, finalRepeats: 1 },
    );
    for (let codes = s.next(); codes !== null; codes = s.next()) s.observe(Float64Array.from(codes, (c, i) => value(i, c)));
    const r = s.results();
    for (let i = 0; i < 4; i++) {
      expect(r[i].reachable).toBe(true);
      const best = [r[i].code - 1, r[i].code, r[i].code + 1].map((c) => Math.abs(value(i, c) - 2));
      expect(best[1]).toBeLessThanOrEqual(Math.min(best[0], best[2]) + 1e-12);
    }
    expect(r[4].reachable).toBe(false);
    expect(s.rounds).toBeLessThan(25);
  });

  it('re-opens a bracket that one misleading measurement closed on the wrong side of the target', () => {
    // v = 0.0045 (c - 430); the first measurement at code 400 reads +0.06 instead of -0.135
    const truth = (c: number): number => 0.0045 * (c - 430);
    const run = (lie: boolean): number => {
      let lied = !lie;
      const s = new CodeSearch(new Float64Array([0]), new Uint16Array([512]), new Float64Array([truth(512)]), 1, { maxCode: 1023, finalRepeats: 3 });
      for (let codes = s.next(); codes !== null; codes = s.next()) {
        const misled = !lied && codes[0] === 400;
        if (misled) lied = true;
        s.observe(new Float64Array([misled ? 0.06 : truth(codes[0])]));
      }
      return s.results()[0].code;
    };
    expect(Math.abs(run(false) - 430)).toBeLessThanOrEqual(1);
    expect(Math.abs(run(true) - 430)).toBeLessThanOrEqual(1);
  });
});

describe('calibrateBoard on a fake analog board', () => {
  it("meets calix's acceptance on the hidden truth, flags the broken neuron, caches, resumes after the board stops answering", async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'glekit-cal-'));
    const broken = 5;
    const board = new FakeAnalogBoard({ layers: LAYERS, seed: 7, broken: [broken], tauCv: 0.25 });
    const before = truthSpread(board, board.nominal, (g) => g !== broken);
    // the board stops answering in the middle of the code search
    board.muteAfterProbes = 40;
    const c1 = await open(board);
    const err = await calibrateBoard(c1, targets(), { cacheDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CalibrationInterrupted);
    expect((err as Error).message).toMatch(
      /^calibration interrupted in stage '[a-zA-Z+]+': port mem-analog: (PROBE|PROBE_READ|TRIM_SET)[^:]*: no response in \d+ ms after 2 attempts; the stages done are kept in .*progress\.json/,
    );
    await c1.close();
    // no cache entry, only the progress file
    const { cachePath } = await import('../src/calibrate/index.js');
    const entry = cachePath('fake-analog-7', 'fake-analog 1', targetsHash(targets()), cacheDir);
    expect(existsSync(entry)).toBe(false);
    expect(existsSync(`${entry}.progress.json`)).toBe(true);

    board.muteAfterProbes = Infinity;
    board.probes = 0;
    const c2 = await open(board);
    const r = await calibrateBoard(c2, targets(), { cacheDir, out: join(cacheDir, 'copy.json') });
    expect(r.reused).toBe(false);
    expect(r.resumedStages.length).toBeGreaterThan(0);
    expect(r.path).toBe(entry);
    expect(existsSync(`${entry}.progress.json`)).toBe(false);
    const cal = r.calibration;
    const codes = Uint16Array.from(['tauM', 'tauR', 'gain', 'offset'].flatMap((p) => cal.layers.flatMap((l) => l.params[p as 'tauM'].codes)));
    // calix's acceptance: over the neurons the success mask passes
    const okFlat = cal.layers.flatMap((l) => l.ok);
    const after = truthSpread(board, codes, (g) => g !== broken && okFlat[g]);
    if (process.env.CAL_DEBUG)
      console.log(JSON.stringify({ before, after, rounds: cal.stats.rounds, stages: cal.stats.stages, spread: cal.stats.spread, noise: cal.stats.readNoise }));
    for (const p of ['tauM', 'tauR', 'gain', 'offset']) expect(after[p], p).toBeLessThanOrEqual(0.3 * before[p]);
    expect(after.tauM).toBeLessThan(0.05);
    // the broken neuron is flagged, all others calibrated
    expect(cal.layers[0].ok[broken]).toBe(false);
    expect(cal.layers[0].params.gain.ok[broken]).toBe(false);
    // a few more may miss by noise; each is flagged, never passed off as calibrated
    expect(cal.stats.okNeurons).toBeGreaterThanOrEqual(board.neurons - 3);
    expect(cal.stats.rounds).toBeGreaterThan(20);
    // the same key is reused; --force measures again
    const again = await calibrateBoard(c2, targets(), { cacheDir });
    expect(again.reused).toBe(true);
    expect(again.calibration.contentHash).toBe(cal.contentHash);
    expect(readCalibration(join(cacheDir, 'copy.json')).contentHash).toBe(cal.contentHash);
    await c2.close();

    // bad files: truncated, edited, another board, other targets
    const text = readFileSync(entry, 'utf8');
    const trunc = join(cacheDir, 'trunc.json');
    writeFileSync(trunc, text.slice(0, text.length >> 1));
    expect(() => readCalibration(trunc)).toThrow(CalibrationFileError);
    expect(() => readCalibration(trunc)).toThrow(/trunc\.json: the calibration file is truncated or not JSON/);
    const edited = join(cacheDir, 'edited.json');
    writeFileSync(edited, text.replace('"codes": [', '"codes": [1,').replace(/"codes": \[1,(\d+)/, '"codes": [$1'));
    const doc = JSON.parse(text);
    doc.layers[0].params.tauM.codes[0] = (doc.layers[0].params.tauM.codes[0] + 1) % 1024;
    writeFileSync(edited, JSON.stringify(doc));
    expect(() => readCalibration(edited)).toThrow(/damaged or was edited/);
    expect(() => checkCalibrationFits(cal, 'x.json', { boardId: 'fake-analog-8', targetsHash: cal.targetsHash, what: 'm' })).toThrow(
      'x.json: this calibration is of board fake-analog-7, not of board fake-analog-8',
    );
    const other = targets();
    other.layers[0].tauM[0] = 12;
    expect(() => checkCalibrationFits(cal, 'x.json', { targetsHash: targetsHash(other), what: 'model m.json' })).toThrow(
      /x\.json: this calibration is for other targets \(targets [0-9a-f]{16}, layers 24-3\) than model m\.json \(targets [0-9a-f]{16}\)/,
    );
  }, 60_000);
});
