import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTraceSpec, runTrace, type TraceResult } from '../src/trace/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'conformance');

/** Largest |a - b| over every number of two equally shaped JSON trees. */
function maxDifference(a: unknown, b: unknown, path = ''): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (a === null && b === null) return 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`${path}: length ${a.length} vs ${b.length}`);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, maxDifference(a[i], b[i], `${path}[${i}]`));
    return m;
  }
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const keys = Object.keys(b as object);
    expect(Object.keys(a as object).sort(), path).toEqual(keys.sort());
    let m = 0;
    for (const k of keys) m = Math.max(m, maxDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
    return m;
  }
  throw new Error(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
}

describe('trace conformance against the independent numpy reference', () => {
  const names = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.spec.json'))
    .map((f) => f.replace('.spec.json', ''));
  it('has fixtures', () => expect(names.length).toBeGreaterThanOrEqual(5));
  for (const name of names) {
    it(name, () => {
      const specDoc = JSON.parse(readFileSync(join(FIXTURES, `${name}.spec.json`), 'utf8'));
      const expected = JSON.parse(readFileSync(join(FIXTURES, `${name}.trace.json`), 'utf8')) as TraceResult;
      const actual = runTrace(parseTraceSpec(specDoc, name));
      const tolerance = specDoc.dtype === 'float64' ? 1e-9 : 1e-4;
      expect(maxDifference(actual, expected)).toBeLessThan(tolerance);
    });
  }
});
