/**
 * Tool calls per second over Streamable HTTP at a fixed number of concurrent connections:
 * `cog serve`'s `state` beside the reference server's `echo`
 * (`@modelcontextprotocol/server-everything`), loopback only, with each server's CPU time
 * beside its rate. The load comes from light clients (./mcp-light-client.ts: JSON-RPC over
 * one keep-alive socket each), not the SDK's Client, so that on a small machine the
 * numbers are the servers' and not the load generator's; this process's own CPU per call
 * is reported too, to show it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cogEnv, firstJsonLine, spawnCog } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';
import { LightClient } from './mcp-light-client.js';
import { cpuSeconds } from './proc-stats.js';

export interface ThroughputOptions {
  clients: number;
  warmupMs: number;
  measureMs: number;
  /** Measured windows alternate between the servers, this long each. */
  sliceMs: number;
  /** Upper bound on calls per client in one window, so a loop ends even if the clock stalls. */
  maxCallsPerClient: number;
}

export interface Throughput {
  server: string;
  tool: string;
  calls: number;
  seconds: number;
  callsPerSecond: number;
  p50: number;
  p99: number;
  /** CPU time the server process spent per call in its windows (user + system), in µs. */
  serverCpuUsPerCall: number;
  /** The server's CPU time over its windows' wall time: 1.00 is one core busy. */
  serverCores: number;
  /** CPU time this process (the clients) spent per call in those windows, in µs. */
  clientCpuUsPerCall: number;
}

/** A running server under test and how to call its tool. */
interface Target {
  server: string;
  tool: string;
  url: string;
  headers: Record<string, string>;
  pid: number;
  /** Arguments for one call by this client (after it set up whatever it needs). */
  prepare(client: LightClient): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function startCog(): Promise<Target> {
  const home = tempHome('cog-bench-http-');
  const serve = spawnCog(['serve', '--port', '0'], cogEnv(home.home));
  const { url, tokenFile } = await firstJsonLine<{ url: string; tokenFile: string }>(serve);
  const token = readFileSync(tokenFile, 'utf8').trim();
  return {
    server: 'cog serve',
    tool: 'state',
    url,
    headers: { Authorization: `Bearer ${token}` },
    pid: serve.child.pid!,
    async prepare(client) {
      const created = await client.callTool('sessions', { action: 'create' });
      const session = (created.structuredContent as { created: { id: string } }).created.id;
      return { session };
    },
    async stop() {
      await serve.stop();
      home.cleanup();
    },
  };
}

async function startReference(): Promise<Target> {
  const pkg = require.resolve('@modelcontextprotocol/server-everything/package.json');
  const bin = join(pkg, '..', 'dist', 'index.js');
  // It takes its port from PORT and prints the variable, not the bound port: pick one.
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'streamableHttp'], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    // It logs every request to stdout; that cost is the reference server's own.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reference server not up:\n${err}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on port')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`reference server exited ${code}:\n${err}`));
    });
  });
  return {
    server: 'server-everything',
    tool: 'echo',
    url: `http://127.0.0.1:${port}/mcp`,
    headers: {},
    pid: child.pid!,
    prepare: async () => ({ message: 'bench' }),
    stop: () => stopChild(child),
  };
}

interface Worker {
  client: LightClient;
  args: Record<string, unknown>;
}

async function connectWorkers(target: Target, n: number): Promise<Worker[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const client = new LightClient(target.url, target.headers, `cog-bench-${i}`);
      await client.initialize();
      return { client, args: await target.prepare(client) };
    }),
  );
}

/** Every worker calls the tool back to back until `ms` is over; returns each latency in ms. */
async function drive(
  target: Target,
  workers: Worker[],
  ms: number,
  maxCalls: number,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    workers.map(async ({ client, args }) => {
      for (let i = 0; i < maxCalls && performance.now() < end; i++) {
        const t = performance.now();
        const result = await client.callTool(target.tool, args);
        latencies.push(performance.now() - t);
        if (result.isError) throw new Error(`${target.tool} failed: ${JSON.stringify(result)}`);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - start) / 1000 };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? NaN;

interface Tally {
  target: Target;
  workers: Worker[];
  latencies: number[];
  seconds: number;
  serverCpu: number;
  clientCpu: number;
}

/**
 * Both servers run side by side, but only one is driven at a time: measured windows of
 * `sliceMs` alternate between them until each has had `measureMs`, so that load from
 * elsewhere on the machine falls on both alike. Only the driven server's CPU is counted.
 */
export async function benchHttpThroughput(opts: ThroughputOptions): Promise<Throughput[]> {
  const targets: Target[] = [];
  try {
    targets.push(await startCog(), await startReference());
    const tallies: Tally[] = [];
    for (const target of targets) {
      const workers = await connectWorkers(target, opts.clients);
      await drive(target, workers, opts.warmupMs, opts.maxCallsPerClient);
      tallies.push({ target, workers, latencies: [], seconds: 0, serverCpu: 0, clientCpu: 0 });
    }
    for (let done = 0; done < opts.measureMs; done += opts.sliceMs) {
      const ms = Math.min(opts.sliceMs, opts.measureMs - done);
      for (const t of tallies) {
        const server0 = cpuSeconds(t.target.pid);
        const client0 = process.cpuUsage();
        const window = await drive(t.target, t.workers, ms, opts.maxCallsPerClient);
        const client = process.cpuUsage(client0);
        t.serverCpu += cpuSeconds(t.target.pid) - server0;
        t.clientCpu += (client.user + client.system) / 1e6;
        t.latencies.push(...window.latencies);
        t.seconds += window.seconds;
      }
    }
    await Promise.all(tallies.flatMap((t) => t.workers.map((w) => w.client.close())));
    return tallies.map(({ target, latencies, seconds, serverCpu, clientCpu }) => {
      const sorted = latencies.sort((a, b) => a - b);
      return {
        server: target.server,
        tool: target.tool,
        calls: sorted.length,
        seconds,
        callsPerSecond: sorted.length / seconds,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        serverCpuUsPerCall: (serverCpu * 1e6) / sorted.length,
        serverCores: serverCpu / seconds,
        clientCpuUsPerCall: (clientCpu * 1e6) / sorted.length,
      };
    });
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
}
