/**
 * The device target: a board (or the emulated board) over the serial bridge, running the
 * image it booted. Real inputs become codes on the host (quantise(x, inputFormat)); the
 * board runs the C presentation loop (RUN in samples mode) and returns read-out codes.
 */
import { createHash } from 'node:crypto';
import { quantiseInputs, type Descriptor } from '../descriptor/index.js';
import type { BoardClient } from '../bridge/index.js';
import { codesTarget, type Target } from '../target/index.js';
import { GlekitError } from '../util/errors.js';

/** The input codes RUN samples takes: one row per held sample, the whole sequence otherwise. */
export function sampleCodes(d: Descriptor, inputs: Float32Array, count: number, sampleSize: number): Int32Array {
  const n = d.network;
  const perSample = n.presentation.mode === 'static' ? n.inputSize : n.presentation.stepsPerSample * n.inputSize;
  const out = new Int32Array(count * perSample);
  const values = new Float64Array(perSample);
  for (let s = 0; s < count; s++) {
    for (let i = 0; i < perSample; i++) values[i] = inputs[s * sampleSize + i];
    out.set(quantiseInputs(values, n.inputFormat), s * perSample);
  }
  return out;
}

/**
 * The SHA-256 of a whole image file, as the board keeps it per slot (UPLOAD's `sha`). Not
 * the descriptor's own content hash (its trailer), which leaves the trailer out.
 */
export function imageSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Refuses when the board does not run exactly this descriptor (compared by SHA-256 of the image). */
export async function checkBoardRuns(client: BoardClient, bytes: Uint8Array, what: string): Promise<void> {
  const state = await client.state();
  const want = imageSha256(bytes);
  const slot = state.slots.find((s) => s.slot === state.active);
  if (slot === undefined) throw new GlekitError(`port ${client.port}: the board runs no image; deploy ${what} first`);
  const have = slot.hash === null ? 'none' : Buffer.from(slot.hash).toString('hex');
  if (have !== want)
    throw new GlekitError(
      `port ${client.port}: the board runs image sha256:${have.slice(0, 16)}... in slot ${slot.slot}, not ${what} (sha256:${want.slice(0, 16)}...); deploy it first`,
    );
}

export function deviceTarget(client: BoardClient, d: Descriptor, label = `device (${client.port})`): Target {
  return codesTarget(
    d,
    'device',
    label,
    async (stimulus, record) => {
      const x = sampleCodes(d, stimulus.inputs, stimulus.count, stimulus.inputSize);
      const result = await client.runSamples(x, { record });
      return { codes: result.y, states: result.states === undefined ? null : Float64Array.from(result.states) };
    },
    async () => client.close(),
  );
}
