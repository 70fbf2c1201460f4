/**
 * A sweep worker thread: builds its JobContext once (model, data, kernels), then runs
 * the jobs the main thread sends, one at a time, and posts each record back. The main
 * thread alone writes the records file, so a record is on disk exactly once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createJobContext, runJob, type JobContext, type JobContextInit } from './job.js';
import type { Job } from './plan.js';

export type ToWorker = { type: 'job'; job: Job } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; record: Awaited<ReturnType<typeof runJob>> }
  | { type: 'failed'; jobId: string; message: string }
  | { type: 'fatal'; message: string };

const port = parentPort;
if (port === null) throw new Error('src/sweep/worker.js runs only as a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);

let ctx: JobContext | null = null;
try {
  ctx = createJobContext(workerData as JobContextInit);
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
}

port.on('message', async (m: ToWorker) => {
  if (m.type === 'stop' || ctx === null) {
    port.close();
    return;
  }
  try {
    post({ type: 'done', record: await runJob(ctx, m.job) });
  } catch (err) {
    post({ type: 'failed', jobId: m.job.id, message: err instanceof Error ? err.message : String(err) });
  }
});
