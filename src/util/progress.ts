/**
 * Progress for long runs: a bar with ETA on a terminal (cli-progress), plain
 * timestamped lines otherwise (logs, CI, pipes), always on stderr so that stdout
 * stays clean for --json.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, info?: string): void;
  log(line: string): void;
  stop(): void;
}

export function createProgress(label: string, total: number, options: { quiet?: boolean } = {}): Progress {
  if (options.quiet) return { update() {}, log() {}, stop() {} };
  const stream = process.stderr;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {info}`, stream, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    let current = 0;
    let currentInfo = '';
    bar.start(total, 0, { info: '' });
    return {
      update: (done, info = '') => {
        current = done;
        currentInfo = info;
        bar.update(done, { info });
      },
      log: (line) => {
        bar.stop();
        stream.write(line + '\n');
        bar.start(total, current, { info: currentInfo });
      },
      stop: () => bar.stop(),
    };
  }
  const start = Date.now();
  let lastPrint = 0;
  return {
    update(done, info = '') {
      const now = Date.now();
      if (now - lastPrint < 5000 && done < total) return;
      lastPrint = now;
      const elapsed = (now - start) / 1000;
      const eta = done > 0 ? (elapsed * (total - done)) / done : NaN;
      stream.write(
        `${label}: ${done}/${total} (${((100 * done) / total).toFixed(0)}%) elapsed ${elapsed.toFixed(0)}s ETA ${Number.isFinite(eta) ? eta.toFixed(0) + 's' : '?'} ${info}\n`,
      );
    },
    log: (line) => stream.write(line + '\n'),
    stop() {},
  };
}
