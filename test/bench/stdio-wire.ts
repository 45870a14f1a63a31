/**
 * `cog mcp` spawned for a benchmark, with the SDK's own Client on a stdio transport that
 * also reports every message it receives with its exact size on the wire (the bytes of
 * its line, newline included) and its arrival time. The SDK's StdioClientTransport hides
 * the stream; this is the same framing (one JSON-RPC message per line) with a tap.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { deserializeMessage, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { startFixtureProcess, type FixtureProcess } from '../fixtures/openai-server-process.js';
import { cogBin, cogEnv, ensureBuilt, root } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

/** One message as it arrived: when (performance.now()), how many bytes, what. */
export interface WireMessage {
  at: number;
  bytes: number;
  message: JSONRPCMessage;
}

/** A child process speaking JSON-RPC lines on stdin/stdout, every received line tapped. */
export class WireStdioTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** Called before `onmessage` with each message, its size and arrival time. */
  onwire?: (m: WireMessage) => void;
  stderr = '';
  private child: ChildProcessWithoutNullStreams | undefined;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {}

  start(): Promise<void> {
    const child = spawn(process.execPath, this.args, { cwd: root, env: this.env, stdio: 'pipe' });
    this.child = child;
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    // A write after the server died (EPIPE) is an error for the client, not a crash here.
    child.stdin.on('error', (err) => this.onerror?.(err));
    child.stdout.on('data', (chunk: Buffer) => this.read(chunk));
    child.on('close', () => this.onclose?.());
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
  }

  private read(chunk: Buffer) {
    const at = performance.now();
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (let nl = this.pending.indexOf(0x0a); nl !== -1; nl = this.pending.indexOf(0x0a)) {
      const line = this.pending.subarray(0, nl);
      this.pending = this.pending.subarray(nl + 1);
      try {
        const message = deserializeMessage(line.toString('utf8'));
        this.onwire?.({ at, bytes: nl + 1, message });
        this.onmessage?.(message);
      } catch (err) {
        this.onerror?.(err as Error);
      }
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const child = this.child;
    if (!child) return Promise.reject(new Error('not started'));
    return new Promise((resolve) => {
      if (child.stdin.write(serializeMessage(message))) resolve();
      else child.stdin.once('drain', () => resolve());
    });
  }

  /** Closes stdin (cog mcp then exits) and waits; SIGKILL after 15 s. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdin.end();
    await gone;
    clearTimeout(timer);
  }
}

/** A running `cog mcp` on the fixture model with an SDK Client connected to it. */
export interface StdioCog {
  client: Client;
  transport: WireStdioTransport;
  fixture: FixtureProcess;
  close(): Promise<void>;
}

/**
 * Builds if needed, starts the fixture model (`latencyMs` before each reply's first byte,
 * in its own process) and `cog mcp` on it in `mode`, and connects an SDK Client.
 */
export async function startStdioCog(opts: {
  latencyMs: number;
  mode?: 'fast' | 'faithful';
  name: string;
  /** Node options before the script (`--cpu-prof`, say, to profile the server). */
  nodeArgs?: string[];
}): Promise<StdioCog> {
  await ensureBuilt();
  const fixture = await startFixtureProcess({ latencyMs: opts.latencyMs });
  const home = tempHome('cog-bench-stdio-');
  const transport = new WireStdioTransport(
    [...(opts.nodeArgs ?? []), cogBin, 'mcp'],
    cogEnv(home.home, {
      COG_LLM_BASE_URL: fixture.url,
      COG_LLM_API_KEY: 'bench',
      COG_MODEL: 'm',
      COG_PIPELINE: opts.mode ?? 'fast',
    }),
  );
  const client = new Client({ name: opts.name, version: '0.0.0' });
  const close = async () => {
    await client.close().catch(() => undefined);
    await transport.close();
    await fixture.close();
    home.cleanup();
  };
  try {
    await client.connect(transport);
  } catch (err) {
    await close();
    throw new Error(`cog mcp did not start: ${(err as Error).message}\n${transport.stderr}`);
  }
  return { client, transport, fixture, close };
}
