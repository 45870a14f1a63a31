import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { Logger } from './emitter.js';
import { describeExit, type RuntimeExit } from './runtime-exit.js';

/** The one machine-readable line `cog serve` prints on stdout once it listens. */
export const ServeLineSchema = z.looseObject({
  url: z.url({ protocol: /^https?$/ }),
  tokenFile: z.string().min(1),
});
export type ServeLine = z.infer<typeof ServeLineSchema>;

/** The serve line, or `undefined` for any other stdout line. */
export function parseServeLine(line: string): ServeLine | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const parsed = ServeLineSchema.safeParse(JSON.parse(trimmed));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A runtime log line fit for the log channel: `cog serve` prints a ready-to-paste client
 * configuration with its bearer token to stderr (for a person at a terminal), and no
 * secret may reach the extension's logs. Bearer credentials and every known secret value
 * are masked.
 */
export function redact(line: string, secrets: readonly string[] = []): string {
  let out = line.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1<redacted>');
  for (const secret of secrets) {
    if (secret.length >= 8) out = out.split(secret).join('<redacted>');
  }
  return out;
}

/** A `cog serve` child that is up and listening. */
export interface LocalRuntime {
  readonly url: URL;
  readonly token: string;
  readonly pid: number;
  /** Settles when the process has exited, however that happened. */
  readonly exited: Promise<RuntimeExit>;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. Resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export class RuntimeStartError extends Error {
  override readonly name = 'RuntimeStartError';
  readonly code = 'runtime_start_failed';
  constructor(
    message: string,
    /** The settings are wrong (cog exited with EX_CONFIG): starting again will not help. */
    readonly setup = false,
  ) {
    super(message);
  }
}

/** cog's exit code for a configuration error (server/cli.ts EXIT_CONFIG). */
export const EXIT_CONFIG = 78;

export interface StartOptions {
  /** The JavaScript runtime: the editor's own `process.execPath` with ELECTRON_RUN_AS_NODE. */
  execPath: string;
  /** dist/cog.mjs of the extension's own bundle. */
  bundle: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  log: Logger;
  /** Values masked in logged runtime output (the API key). */
  secrets?: readonly string[];
  /** How long `cog serve` may take to print its line. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const STDERR_KEEP = 4096;

/** `text`'s last non-empty line, for an error message. */
function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim());
  return (lines.at(-1) ?? '').replace(/^cog:\s*/, '').trim();
}

/**
 * Starts `cog serve --port 0` and resolves once it has printed its URL and the token has
 * been read. Rejects with a RuntimeStartError carrying the runtime's own reason (its last
 * stderr line) when it exits first, does not answer in time, or `signal` aborts.
 */
export function startLocalRuntime(opts: StartOptions): Promise<LocalRuntime> {
  const { log } = opts;
  const child = spawn(
    opts.execPath,
    [opts.bundle, 'serve', '--port', '0', '--exit-with-stdin', '--no-web'],
    {
      env: opts.env,
      cwd: opts.cwd,
      // stdin stays an open pipe that is never written: with --exit-with-stdin the runtime
      // treats its EOF as "my parent is gone" and stops even if the extension host dies
      // without cleaning up.
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    },
  );
  let stderrTail = '';
  const secrets = [...(opts.secrets ?? [])];
  const exited = new Promise<RuntimeExit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal, reason: lastLine(stderrTail) });
    });
  });
  child.stderr.setEncoding('utf8');
  createInterface({ input: child.stderr }).on('line', (raw) => {
    const line = redact(raw, secrets);
    stderrTail = (stderrTail + line + '\n').slice(-STDERR_KEEP);
    if (line.trim()) log.info(`[runtime] ${line}`);
  });
  child.stdin.on('error', () => undefined); // EPIPE once the child is gone

  const stop = async (graceMs = 3000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<LocalRuntime>((resolve, reject) => {
    let settled = false;
    const fail = (message: string, setup = false) => {
      if (settled) return;
      settled = true;
      cleanup();
      void stop(500);
      reject(new RuntimeStartError(message, setup));
    };
    const timer = setTimeout(
      () => fail(`the runtime did not start within ${(opts.timeoutMs ?? 20_000) / 1000} s`),
      opts.timeoutMs ?? 20_000,
    );
    const onAbort = () => fail('start cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    const cleanup = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => fail(`cannot start ${opts.execPath}: ${err.message}`));
    void exited.then((exit) => fail(describeExit(exit), exit.code === EXIT_CONFIG));

    child.stdout.setEncoding('utf8');
    createInterface({ input: child.stdout }).on('line', (line) => {
      const serve = settled ? undefined : parseServeLine(line);
      if (!serve) {
        if (line.trim()) log.debug(`[runtime stdout] ${redact(line, secrets)}`);
        return;
      }
      readFile(serve.tokenFile, 'utf8').then(
        (token) => {
          if (settled) return;
          if (!token.trim()) return fail(`the token file ${serve.tokenFile} is empty`);
          secrets.push(token.trim());
          settled = true;
          cleanup();
          resolve({
            url: new URL(serve.url),
            token: token.trim(),
            pid: child.pid ?? -1,
            exited,
            stop,
          });
        },
        (err: Error) => fail(`cannot read the runtime's token: ${err.message}`),
      );
    });
  });
}

export { describeExit, type RuntimeExit };
