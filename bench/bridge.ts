/**
 * `node dist/bench/bridge.js [--json] [--quick]`: the serial bridge against the board
 * firmware's host build (build/firmware/gle_board) over a pseudo-terminal, through the
 * npm `serialport` package.
 *
 *   framing     payload bytes / wire bytes of a bulk upload at the board's default MTU
 *               (target >= 95 %)
 *   goodput     upload bytes/s with the board pacing the line (--pace) at 115200 and
 *               921600 baud, as a fraction of baud/10 (target >= 90 %)
 *   unpaced     upload MB/s over the pty with no pacing
 *   run         RUN steps mode at batch 1 over a paced 921600 line: steps/s and per-step
 *               latency with one frame in flight and with several
 *
 * Images are descriptors of a fixed-point network sized for the line (a few seconds of
 * upload each); the slot is erased before each upload so nothing resumes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoardClient, BoardProcess, boardProgramAvailable, boardProgramPath, openSerial, type NetworkShape, type Transport } from '../src/bridge/index.js';
import { encodeDescriptor } from '../src/descriptor/index.js';
import { machineInfo } from '../src/engine/machine.js';
import { Rng } from '../src/util/rng.js';
import { median } from '../src/util/stats.js';
import { syntheticDescriptor } from './synthetic.js';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const QUICK = args.includes('--quick');

/** A fixed-point network of the given layer sizes (identity rates; the bench needs its size, not its meaning). */
function sizedDescriptor(sizes: number[], seed: number): Uint8Array {
  return encodeDescriptor(
    syntheticDescriptor(sizes, seed, { weightCode: (rng) => rng.int(512) - 256, hidden: 'identity', stepsPerSample: 10, profile: 'bench' }),
  );
}

/** Counts the bytes a transport writes. */
function countWrites(t: Transport): { bytes: number } {
  const counter = { bytes: 0 };
  const write = t.write.bind(t);
  (t as { write: (b: Uint8Array) => boolean }).write = (b: Uint8Array): boolean => {
    counter.bytes += b.length;
    return write(b);
  };
  return counter;
}

interface Session {
  board: BoardProcess;
  client: BoardClient;
  tx: { bytes: number };
}

async function session(dir: string, name: string, baudRate: number, pace: boolean): Promise<Session> {
  const board = await BoardProcess.start({ flash: join(dir, `${name}.flash`), pace });
  const t = await openSerial(board.port, { baudRate });
  const tx = countWrites(t);
  const client = await BoardClient.open(t);
  return { board, client, tx };
}

async function end(s: Session): Promise<void> {
  await s.client.close().catch(() => undefined);
  await s.board.stop();
}

async function timedUpload(s: Session, image: Uint8Array): Promise<{ seconds: number; wire: number; frames: number; window: number; chunk: number }> {
  await s.client.erase(1);
  const before = s.tx.bytes;
  const t0 = performance.now();
  const r = await s.client.upload(1, image);
  const seconds = (performance.now() - t0) / 1000;
  if (r.resumedFrom !== 0) throw new Error('bench: the upload resumed; the slot was not erased');
  return { seconds, wire: s.tx.bytes - before, frames: r.frames, window: r.window, chunk: r.chunkSize };
}

async function main(): Promise<void> {
  if (!boardProgramAvailable()) {
    console.error(`bench/bridge: ${boardProgramPath()} is missing: run make -C firmware-bridge OUT=$PWD/build/firmware`);
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'glekit-bench-bridge-'));
  const results: Record<string, unknown> = { node: process.version, quick: QUICK };
  const paced: Record<string, unknown>[] = [];
  try {
    // --- framing efficiency and unpaced throughput: one big image over the raw pty
    const big = sizedDescriptor(QUICK ? [200, 300, 10] : [784, 300, 100, 10], 1);
    {
      const s = await session(dir, 'unpaced', 921600, false);
      const runs: number[] = [];
      let framing = 0;
      let info = { frames: 0, window: 0, chunk: 0 };
      for (let k = 0; k < (QUICK ? 2 : 5); k++) {
        const u = await timedUpload(s, big);
        runs.push(big.length / u.seconds / 1e6);
        framing = big.length / u.wire;
        info = { frames: u.frames, window: u.window, chunk: u.chunk };
      }
      results.framing = {
        mtu: s.client.boardInfo!.mtu,
        imageBytes: big.length,
        wireBytes: Math.round(big.length / framing),
        efficiency: round(framing, 4),
        chunkBytes: info.chunk,
        frames: info.frames,
        target: 0.95,
      };
      results.unpaced = {
        imageBytes: big.length,
        window: info.window,
        mbPerSecondMedian: round(median(runs), 2),
        mbPerSecondRuns: runs.map((v) => round(v, 2)),
      };
      await end(s);
    }

    // --- paced goodput
    for (const baud of [115200, 921600]) {
      // a few seconds of line: baud/10 bytes/s
      const target = (baud / 10) * (QUICK ? 1.5 : 3.5);
      const image = sizedDescriptor(baud === 115200 ? [100, Math.round(target / 2 / 110), 10] : [400, Math.round(target / 2 / 410), 10], 2);
      const s = await session(dir, `paced-${baud}`, baud, true);
      const u = await timedUpload(s, image);
      const goodput = image.length / u.seconds;
      paced.push({
        baud,
        lineBytesPerSecond: baud / 10,
        imageBytes: image.length,
        seconds: round(u.seconds, 3),
        goodputBytesPerSecond: Math.round(goodput),
        fractionOfLine: round(goodput / (baud / 10), 4),
        window: u.window,
        chunkBytes: u.chunk,
        target: 0.9,
      });
      await end(s);
    }
    results.pacedUpload = paced;

    // --- RUN at batch 1 over a paced 921600 line
    {
      const s = await session(dir, 'run', 921600, true);
      const net = [4, 30, 30, 3];
      const image = sizedDescriptor(net, 3);
      await s.client.upload(0, image);
      await s.client.activate(0, true);
      const shape: NetworkShape = (await s.client.verify(0)).network;
      const rng = new Rng(4);
      const steps = QUICK ? 300 : 2000;
      const x = new Int32Array(steps * shape.inputSize).map(() => rng.int(2000) - 1000);
      // per-step latency: one RUN frame of one step, waited for, one after the other
      await s.client.runSteps(x.subarray(0, shape.inputSize), { shape, reset: true });
      const lat: number[] = [];
      for (let t = 1; t < Math.min(steps, QUICK ? 200 : 1000); t++) {
        const t0 = performance.now();
        await s.client.runSteps(x.subarray(t * shape.inputSize, (t + 1) * shape.inputSize), { shape, batch: 1, window: 1 });
        lat.push(performance.now() - t0);
      }
      lat.sort((a, b) => a - b);
      const windows: Record<string, unknown>[] = [];
      for (const window of [1, 2, 4, 8]) {
        const t0 = performance.now();
        const r = await s.client.runSteps(x, { shape, reset: true, batch: 1, window });
        const sec = (performance.now() - t0) / 1000;
        windows.push({ window, steps, frames: r.frames, stepsPerSecond: Math.round(steps / sec) });
      }
      // for scale: full frames
      const t0 = performance.now();
      await s.client.runSteps(x, { shape, reset: true, window: 4 });
      const fullSec = (performance.now() - t0) / 1000;
      results.run = {
        baud: 921600,
        network: net,
        batch: 1,
        latencyMsMedian: round(median(lat), 3),
        latencyMsP99: round(lat[Math.floor(lat.length * 0.99)], 3),
        windows,
        fullFramesStepsPerSecond: Math.round(steps / fullSec),
        rxBuffer: s.client.boardInfo!.rxBuffer,
      };
      await end(s);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (JSON_OUT) {
    console.log(JSON.stringify({ ...results, machine: machineInfo() }, null, 2));
    return;
  }
  const f = results.framing as Record<string, number>;
  console.log(`framing: ${(100 * f.efficiency).toFixed(2)} % payload of wire bytes (MTU ${f.mtu}, chunks of ${f.chunkBytes}; target 95 %)`);
  const un = results.unpaced as Record<string, number>;
  console.log(`unpaced pty upload: ${un.mbPerSecondMedian} MB/s median`);
  for (const p of paced)
    console.log(`paced ${p.baud} baud: ${(100 * (p.fractionOfLine as number)).toFixed(1)} % of baud/10 (${p.imageBytes} bytes in ${p.seconds} s; target 90 %)`);
  const r = results.run as Record<string, unknown>;
  console.log(`RUN steps batch 1 at 921600: latency median ${r.latencyMsMedian} ms, p99 ${r.latencyMsP99} ms`);
  for (const w of r.windows as Record<string, number>[]) console.log(`  window ${w.window}: ${w.stepsPerSecond} steps/s`);
}

function round(v: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(v * m) / m;
}

await main();
