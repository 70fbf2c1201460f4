/**
 * The host build of the board firmware (build/firmware/gle_board) as a child process:
 * it creates a pseudo-terminal, prints `port <path>` as its first line of output, and
 * keeps its flash in a file, so a board killed at any point can be started again on the
 * same flash. Used by the integration tests, the bench and the fault soak.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GlekitError } from '../util/errors.js';
import { PACKAGE_ROOT } from '../version.js';

export function boardProgramPath(): string {
  return process.env.GLEKIT_GLE_BOARD ?? join(PACKAGE_ROOT, 'build', 'firmware', 'gle_board');
}

export function boardProgramAvailable(): boolean {
  return existsSync(boardProgramPath());
}

export interface BoardProcessOptions {
  /** the flash file (created when missing) */
  flash: string;
  /** pace the line at the baud rate the host sets */
  pace?: boolean;
  /** further command-line arguments */
  args?: string[];
  /** how long to wait for the `port` line, ms (default 5000) */
  startTimeoutMs?: number;
}

/** A running gle_board. */
export class BoardProcess {
  /** stderr and stdout after the port line, for diagnostics */
  output = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => resolve());
    });
    child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the board and waits for its `port <path>` line. */
  static start(opts: BoardProcessOptions): Promise<BoardProcess> {
    const program = boardProgramPath();
    if (!existsSync(program)) {
      return Promise.reject(new GlekitError(`the board firmware's host build is missing (${program}): run make -C firmware-bridge`));
    }
    const args = ['--flash', opts.flash, ...(opts.pace ? ['--pace'] : []), ...(opts.args ?? [])];
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise<BoardProcess>((resolve, reject) => {
      let text = '';
      let done = false;
      let bp: BoardProcess | null = null;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        child.kill('SIGKILL');
        reject(new GlekitError(`gle_board did not print its port within ${opts.startTimeoutMs ?? 5000} ms: ${text.trim()}`));
      }, opts.startTimeoutMs ?? 5000);
      const onData = (chunk: Buffer): void => {
        if (bp !== null) {
          bp.output += chunk.toString();
          return;
        }
        text += chunk.toString();
        const m = /^port (\S+)\s*$/m.exec(text);
        if (m === null || done) return;
        done = true;
        clearTimeout(timer);
        bp = new BoardProcess(child, m[1]);
        bp.output = text.slice(m.index + m[0].length);
        resolve(bp);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => {
        if (bp !== null) bp.output += c.toString();
        else text += c.toString();
      });
      child.once('error', (e) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(new GlekitError(`cannot start gle_board: ${e.message}`));
      });
      child.once('exit', (code, signal) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(new GlekitError(`gle_board exited (${signal ?? `code ${code}`}) before printing its port: ${text.trim()}`));
      });
    });
  }

  /** SIGKILL: the board loses power, its flash file stays as it was. Resolves when it is gone. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `ms`. */
  async stop(ms = 2000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, ms);
    await this.exited;
    clearTimeout(t);
  }
}
