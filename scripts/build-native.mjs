#!/usr/bin/env node
// Compiles src/engine/native/kernels.c into build/native/glekit_kernels.node with the C
// compiler directly. node-gyp is avoided because it downloads Node headers, and installs
// here must work offline; the headers that ship with Node are enough for Node-API.
//
// Missing headers or compiler are not an error: the TypeScript kernels are the
// fallback, so the script warns and exits 0. A compile failure of present tools is a
// bug in kernels.c and fails the build. GLEKIT_SKIP_NATIVE=1 skips the build entirely.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = path.join(root, 'src', 'engine', 'native');
const source = path.join(sourceDir, 'kernels.c');
const outDir = path.join(root, 'build', 'native');
const rel = (p) => path.relative(root, p) || '.';

function warn(message) {
  console.warn(`build-native: WARNING: ${message}; the TypeScript kernels will be used instead.`);
  process.exit(0);
}

if (process.env.GLEKIT_SKIP_NATIVE === '1') {
  console.log('build-native: skipped (GLEKIT_SKIP_NATIVE=1); the TypeScript kernels will be used.');
  process.exit(0);
}
if (!existsSync(source)) warn(`${rel(source)} is missing`);

function findHeaders() {
  const candidates = [];
  if (process.env.GLEKIT_NODE_HEADERS) candidates.push(process.env.GLEKIT_NODE_HEADERS);
  if (process.env.npm_config_nodedir) candidates.push(path.join(process.env.npm_config_nodedir, 'include', 'node'));
  candidates.push(path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/local/include/node', '/usr/include/node');
  return candidates.find((dir) => existsSync(path.join(dir, 'node_api.h'))) ?? null;
}

const headers = findHeaders();
if (headers === null) {
  warn('Node-API headers (node_api.h) not found; set GLEKIT_NODE_HEADERS to the include/node directory');
}

const cc = process.env.CC || 'gcc';
const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) warn(`C compiler '${cc}' not found (set CC to use another)`);
const ccVersion = probe.stdout.split('\n')[0].trim();

// Each translation unit with its own flags. The fast units may reassociate sums into
// vector lanes and contract multiply-adds (their contract: agreement to rounding, bits
// follow the CPU). The portable unit may do neither: its results must be the same bits on
// every x86-64 machine and equal the TypeScript portable kernels (docs in portable.c).
const commonFlags = ['-std=gnu11', '-O3', '-fPIC', '-fvisibility=hidden', '-pthread', '-Wall', '-Wextra', '-Werror', `-I${headers}`];
const fastFlags = ['-fno-math-errno', '-fno-trapping-math', '-fassociative-math', '-fno-signed-zeros'];
const portableFlags = ['-ffp-contract=off', '-fno-fast-math'];
const units = [
  { file: 'kernels.c', flags: fastFlags },
  { file: 'args.c', flags: fastFlags },
  { file: 'pool.c', flags: fastFlags },
  { file: 'dynamics.c', flags: fastFlags },
  { file: 'portable.c', flags: portableFlags },
].filter((unit) => existsSync(path.join(sourceDir, unit.file)));

// GLEKIT_NATIVE_ARCH picks the instruction set (default: this CPU); GLEKIT_NATIVE_OUT
// another output file, so that tests can build and load every variant a machine runs.
const requestedArch = process.env.GLEKIT_NATIVE_ARCH || 'native';
const output = process.env.GLEKIT_NATIVE_OUT ? path.resolve(process.env.GLEKIT_NATIVE_OUT) : path.join(outDir, 'glekit_kernels.node');
mkdirSync(path.dirname(output), { recursive: true });
// Compile beside the target and rename, so a failed build never leaves a half-written addon.
const temp = `${output}.${process.pid}.tmp`;
const objects = units.map((unit) => `${temp}.${unit.file}.o`);

function run(args) {
  const result = spawnSync(cc, args, { encoding: 'utf8' });
  return { ok: !result.error && result.status === 0, log: `${result.stderr ?? ''}${result.stdout ?? ''}${result.error ?? ''}` };
}

function compile(extra) {
  for (const [k, unit] of units.entries()) {
    const attempt = run([...commonFlags, ...unit.flags, ...extra, '-c', path.join(sourceDir, unit.file), '-o', objects[k]]);
    if (!attempt.ok) return attempt;
  }
  const link = ['-shared', '-pthread', ...objects, '-o', temp];
  if (process.platform === 'darwin') link.push('-undefined', 'dynamic_lookup');
  return run(link);
}

let arch = `-march=${requestedArch}`;
let attempt = compile([arch]);
if (!attempt.ok && requestedArch === 'native') {
  // Some compilers (clang on some ARM targets, old gcc) refuse -march=native; try the
  // plain baseline before concluding the source itself is broken.
  const nativeLog = attempt.log;
  arch = 'baseline ISA';
  attempt = compile([]);
  if (attempt.ok) {
    console.warn(`build-native: -march=native was refused, built for the baseline ISA instead:\n${nativeLog.trim()}`);
  }
}
for (const object of objects) rmSync(object, { force: true });
if (!attempt.ok) {
  // A stale addon left in place would keep running code that no longer matches the source.
  rmSync(temp, { force: true });
  rmSync(output, { force: true });
  console.error(`build-native: compiling ${rel(sourceDir)} failed:\n${attempt.log.trim()}`);
  process.exit(1);
}
renameSync(temp, output);

// Loading it here proves the addon links against this Node before anyone relies on it.
let addon;
try {
  addon = createRequire(import.meta.url)(output);
} catch (err) {
  console.error(`build-native: built ${rel(output)} but it does not load: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
const kib = Math.round(statSync(output).size / 1024);
console.log(`build-native: built ${rel(output)} (${kib} KiB) with ${ccVersion}, ${arch}, SIMD ${addon.simd} ${addon.vectorBytes * 8}-bit vectors`);
