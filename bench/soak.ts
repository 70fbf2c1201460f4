/**
 * `node dist/bench/soak.js [--uploads N] [--seed S] [--json]`: the bridge's fault soak.
 *
 * N upload cycles (default 10000) against the board firmware's host build
 * (build/firmware/gle_board, flash in a file) through a FaultyTransport that flips bits,
 * loses, duplicates, reorders and stalls frames and cuts the line, while the board is
 * SIGKILLed right after the host sent a request (UPLOAD at a random point, VERIFY,
 * ACTIVATE, RUN, CONFIRM, RESET) or dies in the middle of a flash write
 * (--crash-at-write), and is restarted on its flash file. A cycle: upload an image to the
 * slot that is not running (resuming after every fault), verify it, activate it (a test
 * or permanently), check what RUN gives, then confirm the test or reset and expect the
 * revert.
 *
 * After every fault, on a clean line: STATE must show the board running an image it may
 * run (the confirmed one, or the one whose activation or confirmation was in flight; a
 * test image that was never confirmed never survives a reboot), and RUN on it must give
 * what the TypeScript emulator gives on the uploaded bytes with that hash. Counted:
 * uploads completed, uploads given up with a named error, and images that ran without
 * being the exact uploaded bytes (`violations`, must be 0).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BoardClient,
  BoardProcess,
  FaultyTransport,
  addFaultCounts,
  emptyFaultCounts,
  openSerial,
  type BoardState,
  type FaultCounts,
  type FaultRates,
  type NetworkShape,
} from '../src/bridge/index.js';
import { encodeDescriptor, storedRange, type Descriptor } from '../src/descriptor/index.js';
import { FixedEngine, randomDescriptor, runPresentation } from '../src/emulator/index.js';
import { GlekitError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

export interface SoakOptions {
  uploads: number;
  seed: number;
  /** per frame, both directions */
  faults?: FaultRates;
  /** per frame written: cut the line */
  cut?: number;
  /** per cycle: SIGKILL the board right after one of its requests */
  killRate?: number;
  /** per cycle: restart the board with --crash-at-write N first */
  crashRate?: number;
  /** give an upload cycle up after this many faults */
  maxFaultsPerCycle?: number;
  marginMs?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  uploads: number;
  seed: number;
  completed: number;
  resumed: number;
  failedNamed: number;
  failedUnnamed: number;
  namedErrors: Record<string, number>;
  violations: number;
  violationDetails: string[];
  kills: Record<string, number>;
  crashesAtWrite: number;
  restarts: number;
  sessions: number;
  checks: number;
  runChecks: number;
  reverts: number;
  faultsSeen: number;
  line: FaultCounts;
  seconds: number;
}

interface Image {
  bytes: Uint8Array;
  hash: string;
  shape: NetworkShape;
  probe: Int32Array;
  want: Float64Array;
}

const hex = (b: Uint8Array | null | undefined): string | null => (b ? Buffer.from(b).toString('hex') : null);

/** A pool of descriptors from 1 to about 60 KB, with a probe input and the TS emulator's read-out on it. */
function imagePool(rng: Rng): Image[] {
  const specs = [
    { maxLayers: 1, maxSize: 8 },
    { maxLayers: 2, maxSize: 20 },
    { maxLayers: 3, maxSize: 40 },
    { maxLayers: 2, maxSize: 90 },
    { maxLayers: 2, maxSize: 150 },
    { maxLayers: 3, maxSize: 12 },
  ];
  return specs.map((o) => {
    const d = randomDescriptor(rng, { ...o, maxSteps: 6 });
    const bytes = encodeDescriptor(d);
    return { bytes, hash: createHash('sha256').update(bytes).digest('hex'), ...reference(d, rng) };
  });
}

function reference(d: Descriptor, rng: Rng): { shape: NetworkShape; probe: Int32Array; want: Float64Array } {
  const n = d.network;
  const p = n.presentation;
  const samples = 3;
  const [lo, hi] = storedRange(n.inputFormat);
  const probe = new Int32Array(samples * n.inputSize).map(() => lo + Math.floor(rng.uniform() * (hi - lo + 1)));
  const steps = new Int32Array(samples * p.stepsPerSample * n.inputSize);
  for (let s = 0; s < samples; s++) {
    for (let t = 0; t < p.stepsPerSample; t++) steps.set(probe.subarray(s * n.inputSize, (s + 1) * n.inputSize), (s * p.stepsPerSample + t) * n.inputSize);
  }
  const want = runPresentation(new FixedEngine(d), steps, samples);
  const shape: NetworkShape = {
    layers: n.layers.length,
    inputSize: n.inputSize,
    outputSize: n.outputSize,
    stepsPerSample: p.stepsPerSample,
    settleSteps: p.settleSteps,
    readout: p.readout,
    mode: p.mode,
    bytes: 0,
  };
  return { shape, probe, want };
}

type Phase = 'upload' | 'verify' | 'activate' | 'run' | 'confirm' | 'reset' | 'done';
const KILL_POINTS: Phase[] = ['upload', 'verify', 'activate', 'run', 'confirm', 'reset'];

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const t0 = performance.now();
  const rng = new Rng(opts.seed);
  const log = opts.log ?? (() => undefined);
  const faults: FaultRates = opts.faults ?? {
    drop: 0.02,
    corrupt: 0.02,
    duplicate: 0.02,
    reorder: 0.02,
    delay: 0.02,
    split: 0.05,
    dropByte: 0.01,
    garbage: 0.02,
  };
  const cut = opts.cut ?? 0.004;
  const killRate = opts.killRate ?? 0.25;
  const crashRate = opts.crashRate ?? 0.08;
  const maxFaults = opts.maxFaultsPerCycle ?? 40;
  const marginMs = opts.marginMs ?? 120;
  const dir = mkdtempSync(join(tmpdir(), 'glekit-soak-'));
  const flash = join(dir, 'board.flash');
  const pool = imagePool(rng);
  const byHash = new Map(pool.map((im) => [im.hash, im]));
  const r: SoakResult = {
    uploads: opts.uploads,
    seed: opts.seed,
    completed: 0,
    resumed: 0,
    failedNamed: 0,
    failedUnnamed: 0,
    namedErrors: {},
    violations: 0,
    violationDetails: [],
    kills: {},
    crashesAtWrite: 0,
    restarts: 0,
    sessions: 0,
    checks: 0,
    runChecks: 0,
    reverts: 0,
    faultsSeen: 0,
    line: emptyFaultCounts(),
    seconds: 0,
  };
  let board: BoardProcess | null = null;
  let client: BoardClient | null = null;
  let faulty: FaultyTransport | null = null;
  let sessionSeed = opts.seed * 7919;
  // what the host knows the board holds: the confirmed image's hash (null: none)
  let confirmed: string | null = null;
  // A test image the host activated, and the boot it runs in: it may run until that boot
  // ends. ACTIVATE answers with the boot it is about to start; until a request in that boot
  // has been answered (`seen`), the board may have died before the boot that consumes the
  // pending flag, and then runs the test image once in the next boot instead.
  let test: { hash: string; bootId: number; seen: boolean } | null = null;

  const violation = (msg: string): void => {
    r.violations++;
    if (r.violationDetails.length < 20) r.violationDetails.push(msg);
    log(`VIOLATION: ${msg}`);
  };

  const closeSession = async (): Promise<void> => {
    if (client !== null) await client.close().catch(() => undefined);
    if (faulty !== null) addFaultCounts(r.line, faulty.counts);
    client = null;
    faulty = null;
  };

  const startBoard = async (crashAt = 0): Promise<void> => {
    await closeSession();
    if (board !== null) {
      await board.kill();
      if (board.exitCode === 99) log(`board: ${board.output.trim().split('\n').pop()}`);
    }
    board = await BoardProcess.start({ flash, args: crashAt > 0 ? ['--crash-at-write', String(crashAt)] : [] });
    r.restarts++;
  };

  /** A session: HELLO on a clean line, then the faults on. Restarts a dead board. */
  const session = async (): Promise<BoardClient> => {
    if (client?.isOpen) return client;
    await closeSession();
    for (let k = 0; ; k++) {
      if (board === null || !board.running) await startBoard();
      try {
        const t = await openSerial(board!.port, { baudRate: 3_000_000 });
        faulty = new FaultyTransport(t, { seed: sessionSeed++, tx: faults, rx: faults, cut, maxDelayMs: 8 });
        faulty.enabled = false;
        client = await BoardClient.open(faulty, { marginMs, attempts: 4 });
        r.sessions++;
        return client;
      } catch (e) {
        await closeSession();
        if (k > 20) throw e;
        if (board?.running && k > 5) await startBoard();
      }
    }
  };

  /**
   * After a fault: a clean line, STATE, the invariants, RUN on the active image. `allowed`:
   * hashes the board may run (besides the confirmed one) because their activation or
   * confirmation was in flight. Returns the state, with faults back on.
   */
  const check = async (allowed: string[]): Promise<BoardState> => {
    const c = await session();
    faulty!.enabled = false;
    r.checks++;
    const s = await c.state();
    const active = s.active >= 0 ? s.slots.find((x) => x.slot === s.active) : undefined;
    const h = hex(active?.hash);
    const ok = new Set<string | null>([confirmed, ...allowed]);
    if (test !== null && (test.bootId === s.bootId || !test.seen)) ok.add(test.hash);
    if (test !== null && h === test.hash) test.bootId = s.bootId;
    if (!ok.has(h)) {
      violation(
        `after a fault the board runs ${h === null ? 'nothing' : `slot ${s.active} (${h.slice(0, 12)})`}; allowed: ${[...ok].map((x) => (x === null ? 'nothing' : x.slice(0, 12))).join(', ')}`,
      );
    }
    // the board's confirmed slot becomes the host's model (an ACTIVATE permanent or CONFIRM in flight went through)
    const conf = s.slots.find((x) => x.confirmed);
    const ch = hex(conf?.hash);
    if (ch !== confirmed) {
      if (ch !== null && allowed.includes(ch)) confirmed = ch;
      else violation(`after a fault the board's confirmed image is ${ch?.slice(0, 12) ?? 'none'}, the host confirmed ${confirmed?.slice(0, 12) ?? 'none'}`);
    }
    if (active !== undefined && h !== null) {
      const im = byHash.get(h);
      if (im === undefined) {
        violation(`slot ${s.active} runs an image that was never uploaded (${h.slice(0, 12)})`);
      } else {
        r.runChecks++;
        const y = await c.runSamples(im.probe, { shape: im.shape });
        if (Array.from(y.y).join() !== Array.from(im.want).join())
          violation(`slot ${s.active} (${h.slice(0, 12)}) runs, but RUN differs from the emulator on the uploaded bytes`);
        if (test !== null && h === test.hash) test.seen = true;
      }
    }
    faulty!.enabled = true;
    return s;
  };

  const killAfter = (what: Phase, plan: Phase | null): void => {
    if (plan !== what || board === null) return;
    r.kills[what] = (r.kills[what] ?? 0) + 1;
    log(`kill after ${what}`);
    const b = board;
    setTimeout(() => void b.kill(), rng.int(3));
  };

  try {
    await startBoard();
    await check([]);
    for (let i = 0; i < opts.uploads; i++) {
      const s0 = await stateOrRecover();
      const target = s0.active === 0 ? 1 : 0;
      const inTarget = hex(s0.slots[target]?.hash);
      const running = hex(s0.slots.find((x) => x.slot === s0.active)?.hash);
      const choices = pool.filter((im) => im.hash !== inTarget && im.hash !== running);
      const img = choices[rng.int(choices.length)];
      const permanent = rng.uniform() < 0.3;
      const confirmTest = rng.uniform() < 0.6;
      let killPlan: Phase | null = rng.uniform() < killRate ? KILL_POINTS[rng.int(KILL_POINTS.length)] : null;
      if (permanent && (killPlan === 'confirm' || killPlan === 'reset')) killPlan = 'activate';
      if (!permanent && killPlan === (confirmTest ? 'reset' : 'confirm')) killPlan = confirmTest ? 'confirm' : 'reset';
      if (rng.uniform() < crashRate) {
        r.crashesAtWrite++;
        const n = 1 + rng.int(60);
        log(`cycle ${i}: board restarted with --crash-at-write ${n}`);
        await startBoard(n);
      }
      let phase: Phase = 'upload';
      let faultsHere = 0;
      let uploaded = false;
      let resumedHere = false;
      while (phase !== 'done') {
        try {
          const c = await session();
          switch (phase) {
            case 'upload': {
              const killAt = killPlan === 'upload' ? 0.1 + 0.8 * rng.uniform() : 2;
              const up = await c.upload(target, img.bytes, {
                onProgress: (p) => {
                  if (killPlan === 'upload' && p.acked > killAt * p.total && board !== null) {
                    // now, with chunks in flight: the power goes in the middle of the upload
                    r.kills.upload = (r.kills.upload ?? 0) + 1;
                    board.child.kill('SIGKILL');
                    killPlan = null;
                  }
                },
              });
              if (up.resumedFrom > 0 && up.resumedFrom < img.bytes.length) resumedHere = true;
              uploaded = true;
              phase = 'verify';
              break;
            }
            case 'verify': {
              const p = c.verify(target);
              killAfter('verify', killPlan);
              const v = await p;
              if (hex(v.hash) !== img.hash) violation(`VERIFY slot ${target}: hash ${hex(v.hash)?.slice(0, 12)} is not the uploaded ${img.hash.slice(0, 12)}`);
              phase = 'activate';
              break;
            }
            case 'activate': {
              const p = c.activate(target, permanent);
              killAfter('activate', killPlan);
              const s = await p;
              if (permanent) confirmed = img.hash;
              else test = { hash: img.hash, bootId: s.bootId, seen: false };
              phase = 'run';
              break;
            }
            case 'run': {
              const p = c.runSamples(img.probe, { shape: img.shape });
              killAfter('run', killPlan);
              const y = await p;
              r.runChecks++;
              if (test !== null && test.hash === img.hash) test.seen = true;
              if (Array.from(y.y).join() !== Array.from(img.want).join()) violation(`cycle ${i}: RUN on the activated image differs from the emulator`);
              phase = permanent ? 'done' : confirmTest ? 'confirm' : 'reset';
              break;
            }
            case 'confirm': {
              const p = c.confirm();
              killAfter('confirm', killPlan);
              const s = await p;
              if (hex(s.slots.find((x) => x.confirmed)?.hash) !== img.hash) violation(`CONFIRM: slot ${target} is not the confirmed one afterwards`);
              confirmed = img.hash;
              test = null;
              phase = 'done';
              break;
            }
            case 'reset': {
              const p = c.reset();
              killAfter('reset', killPlan);
              const s = await p;
              const h = hex(s.slots.find((x) => x.slot === s.active)?.hash);
              if (h !== confirmed)
                violation(
                  `RESET after an unconfirmed test: the board runs ${h?.slice(0, 12) ?? 'nothing'}, not the confirmed ${confirmed?.slice(0, 12) ?? 'nothing'}`,
                );
              else r.reverts++;
              test = null;
              phase = 'done';
              break;
            }
          }
        } catch (e) {
          if (!(e instanceof GlekitError)) {
            r.failedUnnamed++;
            log(`cycle ${i} ${phase}: unnamed error ${(e as Error).stack}`);
            phase = 'done';
            continue;
          }
          r.faultsSeen++;
          faultsHere++;
          log(
            `cycle ${i} ${phase} (slot ${target}, ${permanent ? 'permanent' : confirmTest ? 'test+confirm' : 'test+reset'}, image ${img.hash.slice(0, 12)}): ${(e as Error).message}`,
          );
          killPlan = null;
          const b = board as BoardProcess | null;
          if (b !== null) await Promise.race([b.exited, new Promise((res) => setTimeout(res, 20))]);
          const allowed = phase === 'activate' || phase === 'confirm' ? [img.hash] : [];
          let s: BoardState;
          try {
            s = await check(allowed);
          } catch (e2) {
            faultsHere++;
            if (faultsHere > maxFaults) {
              giveUp(e2 as Error);
              phase = 'done';
            }
            continue;
          }
          if (faultsHere > maxFaults) {
            giveUp(e as Error);
            phase = 'done';
            continue;
          }
          phase = resume(phase, s);
        }
      }
      if (uploaded) r.completed++;
      if (resumedHere) r.resumed++;
      if ((i + 1) % 100 === 0)
        log(`${i + 1} cycles: ${r.completed} uploads completed, ${r.failedNamed} given up, ${r.violations} violations, ${r.restarts} board starts`);

      function giveUp(err: Error): void {
        r.failedNamed++;
        const key = err.message.replace(/\/dev\/pts\/\d+/, 'PORT').replace(/\d+/g, 'N');
        r.namedErrors[key] = (r.namedErrors[key] ?? 0) + 1;
      }

      /** Where the cycle goes on after a fault, from the board's state. */
      function resume(at: Phase, s: BoardState): Phase {
        const t = s.slots.find((x) => x.slot === target);
        const slotHolds = t?.state === 'complete' && hex(t.hash) === img.hash;
        const activeHash = hex(s.slots.find((x) => x.slot === s.active)?.hash);
        if (at === 'upload' || !slotHolds) return 'upload';
        if (at === 'verify') return 'verify';
        if (at === 'activate' || at === 'run') {
          if (activeHash !== img.hash) return 'activate';
          if (permanent && confirmed !== img.hash) return 'activate';
          // the test image runs (in this boot, if the activation was in flight)
          if (!permanent && confirmed !== img.hash) test = { hash: img.hash, bootId: s.bootId, seen: test?.hash === img.hash && test.seen };
          return 'run';
        }
        if (at === 'confirm') {
          if (confirmed === img.hash) {
            test = null;
            return 'done';
          }
          return activeHash === img.hash ? 'confirm' : 'activate';
        }
        // reset: a reboot happened (the kill or the reset itself): the test image must be gone
        if (activeHash === confirmed) {
          r.reverts++;
          test = null;
          return 'done';
        }
        return 'reset';
      }
    }
  } finally {
    await closeSession();
    if (board !== null) await (board as BoardProcess).stop();
    rmSync(dir, { recursive: true, force: true });
    r.seconds = Math.round((performance.now() - t0) / 100) / 10;
  }
  return r;

  /** The state at the start of a cycle; a test image still running (a cycle given up) is reverted first. */
  async function stateOrRecover(): Promise<BoardState> {
    for (let k = 0; ; k++) {
      try {
        const c = await session();
        let s = await c.state();
        if (hex(s.slots.find((x) => x.slot === s.active)?.hash) !== confirmed) s = await c.reset();
        return s;
      } catch (e) {
        if (k > 30) throw e;
        await closeSession();
      }
    }
  }
}

function parseArgs(argv: string[]): { uploads: number; seed: number; json: boolean } {
  const get = (name: string, dflt: number): number => {
    const i = argv.indexOf(name);
    if (i < 0) return dflt;
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 0) throw new GlekitError(`${name} must be a non-negative integer (got ${argv[i + 1]})`);
    return v;
  };
  return { uploads: get('--uploads', 10000), seed: get('--seed', 1), json: argv.includes('--json') };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = parseArgs(process.argv.slice(2));
  // with --json the JSON alone goes to stdout; the running account to stderr
  const result = await runSoak({ uploads: a.uploads, seed: a.seed, log: (l) => (a.json ? console.error(l) : console.log(l)) });
  if (a.json) console.log(JSON.stringify(result, null, 2));
  else console.log(result);
  process.exitCode = result.violations === 0 && result.failedUnnamed === 0 ? 0 : 1;
}
