/**
 * The bridge's fault soak (bench/soak.ts), small and seeded: 30 upload cycles against the
 * real gle_board through a faulty line, with the board SIGKILLed after random requests
 * and dying mid flash write. No image may ever run that is not the exact uploaded bytes,
 * and every failure must be a named error. The full soak: node dist/bench/soak.js.
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from '../bench/soak.js';
import { boardProgramAvailable, boardProgramPath } from '../src/bridge/index.js';

describe.skipIf(!boardProgramAvailable())(`fault soak against ${boardProgramPath()}`, () => {
  it('30 seeded cycles: uploads complete after faults, nothing runs that was not uploaded', async () => {
    const r = await runSoak({ uploads: 30, seed: 12345 });
    expect(r.violationDetails).toEqual([]);
    expect(r.violations).toBe(0);
    expect(r.failedUnnamed).toBe(0);
    expect(r.completed + r.failedNamed).toBeGreaterThanOrEqual(30);
    expect(r.completed).toBeGreaterThanOrEqual(27);
    expect(r.faultsSeen).toBeGreaterThan(5);
    expect(r.restarts).toBeGreaterThan(2);
    expect(r.seconds).toBeLessThan(60);
  });
});
