/**
 * The overflow run: the compiled descriptor runs bit-accurately (the TypeScript integer
 * engine) over the range data, and the report learns how often each datapath stage left
 * its format's range.
 */
import type { Descriptor } from '../descriptor/index.js';
import { FixedEngine, runPresentation } from '../emulator/engine.js';
import { presentationInputs } from '../descriptor/index.js';
import type { RangeData } from './ranges.js';
import type { TensorReport } from './report.js';

/** Adds each layer's overflow counts to its drive, membrane, prospective and rate rows. */
export function countOverflows(descriptor: Descriptor, data: RangeData, report: TensorReport[]): void {
  const engine = new FixedEngine(descriptor);
  const stepInputs = presentationInputs(descriptor, data.inputs, data.count, data.sampleSize);
  runPresentation(engine, stepInputs, data.count);
  engine.overflowCounts().forEach((c, l) => {
    for (const row of report) {
      if (row.layer !== l) continue;
      if (row.tensor === 'drive') row.saturated = c.drive;
      else if (row.tensor === 'membrane') row.saturated = c.membrane;
      else if (row.tensor === 'prospective') row.saturated = c.prospective;
      else if (row.tensor === 'rate') row.saturated += c.rate;
    }
  });
}
