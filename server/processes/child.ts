import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Command } from './sandbox.js';

/** How a child run ended. */
export type ChildOutcome =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timed-out' }
  | { kind: 'cancelled' }
  | { kind: 'output-limit'; bytes: number }
  | { kind: 'spawn-error'; error: Error };

/** Everything `runChild` needs; the command is already sandboxed and capped. */
export interface ChildOptions {
  command: Command;
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  /** Aborting kills the child's process group; the outcome is then `cancelled`. */
  signal: AbortSignal;
  /** Output (both streams, raw bytes) past which the child is stopped as a runaway. */
  stopAfterBytes?: number;
  /** Called with the pid once spawned (the pid leads its process group). */
  onSpawn(pid: number | undefined): void;
  /** Decoded text per stream (never a split character) and its size before decoding. */
  onOutput(stream: 'stdout' | 'stderr', text: string, rawBytes: number): void;
}

/**
 * After the child exits, how long to wait for its pipes to close. A descendant that left
 * the process group (possible without bubblewrap) can hold them open forever.
 */
const DRAIN_GRACE_MS = 2_000;

/**
 * Kills the child and everything it started. On POSIX that is SIGKILL to its process group
 * (it leads one because it is spawned detached). Windows has no groups to signal:
 * `taskkill /T` ends the process tree instead.
 */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  if (process.platform === 'win32') {
    spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on(
      'error',
      () => {
        // taskkill missing or refused: the run's own exit handling still settles it.
      },
    );
    return;
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone, which is the goal.
  }
}

/**
 * Runs one child process to the end and reports how it ended; never rejects. The child
 * leads a new process group, so a timeout, a cancel, or its own exit kills every process
 * it started, and nothing it spawned outlives the run.
 */
export function runChild(opts: ChildOptions): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    if (opts.signal.aborted) {
      resolve({ kind: 'cancelled' });
      return;
    }
    let stopped: 'timed-out' | 'cancelled' | 'output-limit' | undefined;
    let produced = 0;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const child = spawn(opts.command.file, opts.command.args, {
      cwd: opts.cwd,
      env: opts.env,
      // A group of its own on POSIX; on Windows `detached` would open a console instead.
      detached: process.platform !== 'win32',
      windowsHide: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    const stop = (why: 'timed-out' | 'cancelled' | 'output-limit'): void => {
      stopped ??= why;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop('timed-out'), opts.timeoutMs);
    const onAbort = (): void => stop('cancelled');
    opts.signal.addEventListener('abort', onAbort, { once: true });

    const settle = (outcome: ChildOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      opts.signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };

    const pump = (stream: Readable, name: 'stdout' | 'stderr'): void => {
      const decoder = new StringDecoder('utf8');
      stream.on('data', (chunk: Buffer) => {
        produced += chunk.length;
        if (opts.stopAfterBytes !== undefined && produced > opts.stopAfterBytes) {
          stop('output-limit');
          return;
        }
        const text = decoder.write(chunk);
        opts.onOutput(name, text, chunk.length);
      });
      stream.on('end', () => {
        const rest = decoder.end();
        if (rest) opts.onOutput(name, rest, 0);
      });
    };
    pump(child.stdout, 'stdout');
    pump(child.stderr, 'stderr');

    // The program may exit before reading all of it (EPIPE); that is its business.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin);

    child.on('spawn', () => opts.onSpawn(child.pid));
    child.on('error', (error) => {
      // Only a failed spawn leaves no pid; later errors (a failed kill) change nothing.
      if (child.pid === undefined) settle({ kind: 'spawn-error', error });
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      killGroup(child.pid);
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, DRAIN_GRACE_MS);
    });
    child.on('close', () => finish());

    function finish(): void {
      if (stopped === 'output-limit') settle({ kind: stopped, bytes: produced });
      else if (stopped) settle({ kind: stopped });
      else if (exit) settle({ kind: 'exited', ...exit });
    }
  });
}
