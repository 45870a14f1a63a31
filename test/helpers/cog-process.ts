import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The built `cog` command. */
export const cogBin = `${root}dist/cog.mjs`;

let building: Promise<void> | undefined;

/** `npm test` builds first; a lone run of a test file builds here (once per process). */
export function ensureBuilt(): Promise<void> {
  if (existsSync(cogBin)) return Promise.resolve();
  building ??= new Promise((resolve, reject) => {
    const b = spawn(process.execPath, [`${root}esbuild.mjs`], { cwd: root, stdio: 'inherit' });
    b.on('error', reject);
    b.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`build exited ${code}`))));
  });
  return building;
}

/** The environment of a spawned `cog`: a private home, nothing inherited but PATH. */
export function cogEnv(home: string, extra: NodeJS.ProcessEnv = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    COG_HOME: home,
    COG_APPROVAL: 'auto',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface CogProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<number | string | null>;
}

/** Spawns `node dist/cog.mjs ...args` with stdio piped and stderr collected. */
export function spawnCog(args: string[], env: Record<string, string>): CogProcess {
  const child = spawn(process.execPath, [cogBin, ...args], { cwd: root, env, stdio: 'pipe' });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? signal)),
  );
  return {
    child,
    stderr: () => err,
    exited,
    async stop(graceMs = 3000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}

/** Resolves with the first line `cog serve` prints to stdout, parsed. */
export function firstJsonLine<T>(p: CogProcess, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`no stdout line within ${timeoutMs} ms; stderr:\n${p.stderr()}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      p.child.stdout.off('data', onData);
      try {
        resolve(JSON.parse(out.slice(0, nl)) as T);
      } catch (e) {
        reject(e as Error);
      }
    };
    p.child.stdout.on('data', onData);
    void p.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`cog exited (${code}) before printing; stderr:\n${p.stderr()}`));
    });
  });
}

/** A running `cog serve --port 0` with its URL and bearer token. */
export interface ServeHandle {
  serve: CogProcess;
  url: string;
  token: string;
  tokenFile: string;
}

/**
 * Builds if needed, starts `cog serve --port 0` on `home`, and reads its URL and token.
 * `env` adds to its environment (see cogEnv), `args` to its command line.
 */
export async function startServe(
  home: string,
  opts: { env?: NodeJS.ProcessEnv; args?: string[] } = {},
): Promise<ServeHandle> {
  await ensureBuilt();
  const serve = spawnCog(['serve', '--port', '0', ...(opts.args ?? [])], cogEnv(home, opts.env));
  const line = await firstJsonLine<{ url: string; tokenFile: string }>(serve);
  const token = readFileSync(line.tokenFile, 'utf8').trim();
  return { serve, url: line.url, token, tokenFile: line.tokenFile };
}

/** The MCP SDK's own client on a started `cog serve`, with its bearer token. */
export async function connectHttp(started: ServeHandle, name = 'cog-test'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(started.url), {
      requestInit: { headers: { Authorization: `Bearer ${started.token}` } },
    }),
  );
  return client;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` in the repository to its end with `input` on stdin; its exit code and output. */
export function runToEnd(
  cmd: string,
  args: string[],
  opts: { env: Record<string, string | undefined>; input?: string },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
