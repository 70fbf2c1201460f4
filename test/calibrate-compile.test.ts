/**
 * compile --board-calibration (src/calibrate/apply.ts) and the descriptor's optional
 * per-layer `trims`: descriptors without trims keep their bytes; with trims they round
 * trip; a calibration for other targets, a truncated file, and deploying a calibrated
 * descriptor to another board are refused naming both sides.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CALIBRATION_FORMAT,
  PARAMS,
  applyBoardCalibration,
  calibrationContentHash,
  targetsFromModel,
  targetsHash,
  writeCalibration,
  type BoardCalibration,
  type CalibrationTargets,
} from '../src/calibrate/index.js';
import { compileModel } from '../src/compile/index.js';
import { decodeDescriptor, encodeDescriptor } from '../src/descriptor/index.js';
import { checkCalibratedFor } from '../src/device/deploy.js';
import type { BoardInfo } from '../src/bridge/index.js';
import { loadProfile } from '../src/hw/index.js';
import { loadModel } from '../src/model/model-file.js';

const model = loadModel(join(import.meta.dirname, 'fixtures', 'yinyang-seed1.model.json'));
const dir = mkdtempSync(join(tmpdir(), 'glekit-calc-'));

function calibrationFor(targets: CalibrationTargets, board = 'gle-board-a'): BoardCalibration {
  const body: Omit<BoardCalibration, 'contentHash'> = {
    format: CALIBRATION_FORMAT,
    tool: 'test',
    createdAt: '2026-01-01T00:00:00.000Z',
    board: { id: board, firmware: 'fw 1' },
    targetsHash: targetsHash(targets),
    targets,
    params: [...PARAMS],
    trimBits: 10,
    adc: { bits: 8, lo: -1 / 6, hi: 1.25, reliableLo: 30, reliableHi: 210 },
    probe: { staticLevels: [[0, 1]], stepLevel: [1], staticSteps: 300, stepSteps: 60 },
    tolerance: { tauM: 0.2, tauR: 0.2, gain: 0.15, offset: 10 },
    layers: targets.layers.map((l, li) => ({
      nOut: l.nOut,
      params: Object.fromEntries(
        PARAMS.map((p, k) => [
          p,
          {
            codes: l[p].map((_, i) => (100 * k + i + li) % 1024),
            target: l[p].slice(),
            before: l[p].map(() => null),
            measured: l[p].slice(),
            ok: l[p].map((_, i) => i !== 3),
          },
        ]),
      ) as BoardCalibration['layers'][number]['params'],
      ok: l.tauM.map((_, i) => i !== 3),
    })),
    stats: {
      rounds: 1,
      probes: 1,
      bytesRead: 1,
      seconds: 1,
      stages: {},
      okNeurons: 0,
      neurons: 0,
      readNoise: 0,
      spread: Object.fromEntries(
        PARAMS.map((p) => [p, { before: { cv: null, meanRatio: null, std: null }, after: { cv: null, meanRatio: null, std: null } }]),
      ) as BoardCalibration['stats']['spread'],
    },
  };
  return { ...body, contentHash: calibrationContentHash(body) };
}

describe('compile --board-calibration', () => {
  const compiled = compileModel({ model, profile: loadProfile('fpga-fixed16') });
  const targets = targetsFromModel(model);

  it('a descriptor without trims keeps its bytes through decode and encode', () => {
    const d = decodeDescriptor(compiled.bytes);
    expect(d.network.layers.every((l) => l.trims === undefined)).toBe(true);
    expect(Buffer.from(encodeDescriptor(d)).equals(Buffer.from(compiled.bytes))).toBe(true);
  });

  it("writes every neuron's codes into the layers; they round trip; flagged neurons are named", () => {
    const path = join(dir, 'cal.json');
    const cal = calibrationFor(targets);
    writeCalibration(path, cal);
    const a = applyBoardCalibration(compiled.descriptor, path, targets, 'model m');
    const back = decodeDescriptor(a.bytes);
    back.network.layers.forEach((l, li) => {
      expect(l.trims).toBeDefined();
      PARAMS.forEach((p, k) => cal.layers[li].params[p].codes.forEach((c, i) => expect(l.trims![k * l.nOut + i]).toBe(c)));
    });
    expect(a.flagged.map((f) => `${f.layer}:${f.neuron}`)).toEqual(['0:3']);
    expect((back.header.info.boardCalibration as { board: string }).board).toBe('gle-board-a');
    expect(Buffer.from(a.bytes).equals(Buffer.from(compiled.bytes))).toBe(false);
  });

  it('refuses a calibration for other targets, a truncated file, and the calibrated image on another board', () => {
    const other = targetsFromModel(model);
    other.layers[0].tauM[0] = 2;
    const path = join(dir, 'other.json');
    writeCalibration(path, calibrationFor(other));
    expect(() => applyBoardCalibration(compiled.descriptor, path, targets, 'model m.json')).toThrow(
      /other\.json: this calibration is for other targets \(targets [0-9a-f]{16}, layers 120-3\) than model m\.json \(targets [0-9a-f]{16}\)/,
    );
    const trunc = join(dir, 'trunc.json');
    writeFileSync(trunc, JSON.stringify(calibrationFor(targets)).slice(0, 500));
    expect(() => applyBoardCalibration(compiled.descriptor, trunc, targets, 'model m.json')).toThrow(
      /trunc\.json: the calibration file is truncated or not JSON/,
    );
    const info = { boardId: 'gle-board-b' } as BoardInfo;
    expect(() => checkCalibratedFor(info, { boardCalibration: { board: 'gle-board-a' } }, 'n.gled', '/dev/pts/9')).toThrow(
      'port /dev/pts/9: deploy n.gled: the descriptor carries the trim codes of board gle-board-a, this board is gle-board-b',
    );
    expect(() => checkCalibratedFor(info, {}, 'n.gled', '/dev/pts/9')).not.toThrow();
  });
});
