#!/usr/bin/env node
// Builds the C engine's host program and the board firmware's host build (firmware-bridge/
// -> build/firmware/gle_host, build/firmware/gle_board) with make and the C compiler, so
// `glekit emulate --engine c`, the differential tests, the benchmark and the serial bridge
// (a board on a pseudo-terminal) have them after `npm ci` or `npm run build`.
//
// Missing make or compiler is not an error: the TypeScript emulator works without the
// C engine, so the script warns and exits 0 (the C paths then say how to build it). A
// compile failure with the tools present is a bug in firmware-bridge/ and fails the
// build. GLEKIT_SKIP_FIRMWARE=1 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'firmware-bridge');

if (process.env.GLEKIT_SKIP_FIRMWARE === '1') {
  console.log('build-firmware: skipped (GLEKIT_SKIP_FIRMWARE=1)');
  process.exit(0);
}
if (!existsSync(path.join(dir, 'Makefile'))) {
  console.warn('build-firmware: WARNING: firmware-bridge/Makefile is missing; the C engine is not built');
  process.exit(0);
}
const cc = process.env.CC || 'gcc';
for (const [tool, args] of [
  ['make', ['--version']],
  [cc, ['--version']],
]) {
  const probe = spawnSync(tool, args, { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    console.warn(`build-firmware: WARNING: '${tool}' not found; the C engine is not built (glekit emulate --engine ts still works)`);
    process.exit(0);
  }
}
const make = (extra) => spawnSync('make', ['-C', dir, `CC=${cc}`, `OUT=${path.join(root, 'build', 'firmware')}`, ...extra], { encoding: 'utf8' });
let result = make([]);
if (result.status !== 0) {
  // a compiler without -march=native still builds the portable way
  result = make(['OPT=-O2']);
}
if (result.status !== 0) {
  process.stderr.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  console.error('build-firmware: the C engine failed to compile (see above)');
  process.exit(1);
}
const built = ['gle_host', 'gle_board'].map((name) => path.relative(root, path.join(root, 'build', 'firmware', name)));
console.log(`build-firmware: built ${built.join(' and ')}`);
