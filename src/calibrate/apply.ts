/**
 * `glekit compile --board-calibration FILE`: each neuron's trim codes into the descriptor
 * (the per-layer `trims` of DESCRIPTOR.md, which an analog board takes at boot in place of
 * its nominal codes), after checking that the calibration is for the model's targets.
 * Neurons the calibration flags are named in the descriptor's header info and in the
 * result, never passed off as calibrated.
 */
import { encodeDescriptor, type Descriptor } from '../descriptor/index.js';
import { CalibrationFileError, checkCalibrationFits, layerTrims, readCalibration, type BoardCalibration } from './file.js';
import { targetsHash, type CalibrationTargets } from './targets.js';

export interface AppliedCalibration {
  descriptor: Descriptor;
  bytes: Uint8Array;
  calibration: BoardCalibration;
  /** neurons the calibration did not calibrate: their codes are the best it found */
  flagged: { layer: number; neuron: number; params: string[] }[];
}

export function applyBoardCalibration(d: Descriptor, path: string, targets: CalibrationTargets, what: string): AppliedCalibration {
  const cal = readCalibration(path);
  checkCalibrationFits(cal, path, { targetsHash: targetsHash(targets), what });
  if (cal.layers.length !== d.network.layers.length || cal.layers.some((l, i) => l.nOut !== d.network.layers[i].nOut)) {
    throw new CalibrationFileError(
      `${path}: the calibration's layers (${cal.layers.map((l) => l.nOut).join('-')}) are not the descriptor's (${d.network.layers.map((l) => l.nOut).join('-')})`,
    );
  }
  const trims = layerTrims(cal);
  const flagged = cal.layers.flatMap((l, layer) =>
    l.ok.flatMap((ok, neuron) =>
      ok
        ? []
        : [
            {
              layer,
              neuron,
              params: (['tauM', 'tauR', 'gain', 'offset'] as const).filter((p) => !l.params[p].ok[neuron]),
            },
          ],
    ),
  );
  const descriptor: Descriptor = {
    ...d,
    header: {
      ...d.header,
      info: {
        ...d.header.info,
        boardCalibration: { board: cal.board.id, firmware: cal.board.firmware, contentHash: cal.contentHash, targetsHash: cal.targetsHash, flagged },
      },
    },
    network: { ...d.network, layers: d.network.layers.map((l, i) => ({ ...l, trims: trims[i] })) },
  };
  return { descriptor, bytes: encodeDescriptor(descriptor), calibration: cal, flagged };
}
