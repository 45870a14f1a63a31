/**
 * The MCP surface's benchmarks for `npm run bench`: `state` calls per second at 10
 * concurrent HTTP connections beside the reference server's `echo`, with each server's
 * CPU; the time from `send` to the first progress notification over stdio; notifications
 * per turn against the result; and the end-to-end turn time against the last token
 * (./mcp-turn.ts). Each function returns tables; run alone
 * (`node --import tsx test/bench/mcp.ts`, after a build), this file prints them all.
 * Asserts nothing.
 *
 * BENCH_MCP_MS sets the measured window per server (default 5000), BENCH_MCP_SENDS the
 * number of measured sends to the first progress (default 10).
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ensureBuilt } from '../helpers/cog-process.js';
import { benchHttpThroughput } from './mcp-http.js';
import { benchFirstProgress } from './mcp-stdio.js';
import { notificationTables, turnTimeTable } from './mcp-turn.js';
import { atLeast, atMost, formatTable, type BenchTable } from './report.js';

const CLIENTS = 10;
const LATENCY_MS = 200;
const MEASURE_MS = Number(process.env.BENCH_MCP_MS ?? 5000);
const SENDS = Number(process.env.BENCH_MCP_SENDS ?? 10);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Tool calls per second over Streamable HTTP, cog beside the reference server. */
export async function httpTable(): Promise<BenchTable> {
  await ensureBuilt();
  const [cog, ref] = await benchHttpThroughput({
    clients: CLIENTS,
    warmupMs: 1000,
    measureMs: MEASURE_MS,
    sliceMs: 500,
    maxCallsPerClient: 1_000_000,
  });
  const ratio = cog!.callsPerSecond / ref!.callsPerSecond;
  const row = (r: typeof cog, ratioCell: string, target: string, result: string) => [
    r!.server,
    r!.tool,
    String(r!.calls),
    r!.callsPerSecond.toFixed(0),
    r!.p50.toFixed(2),
    r!.p99.toFixed(2),
    r!.serverCpuUsPerCall.toFixed(0),
    r!.serverCores.toFixed(2),
    r!.clientCpuUsPerCall.toFixed(0),
    ratioCell,
    target,
    result,
  ];
  return {
    title: `MCP tool calls over Streamable HTTP, ${CLIENTS} concurrent connections (own MCP session each), ${(MEASURE_MS / 1000).toFixed(0)} s after 1 s warm-up`,
    head: [
      'server',
      'tool',
      'calls',
      'calls/s',
      'p50 ms',
      'p99 ms',
      'server CPU µs/call',
      'server cores busy',
      'client CPU µs/call',
      'cog/ref calls/s',
      'target',
      'result',
    ],
    rows: [row(cog, ratio.toFixed(2), '≥ 1.00', atLeast(ratio, 1)), row(ref, '1.00', '-', '-')],
    notes: [
      'Light clients (test/bench/mcp-light-client.ts): JSON-RPC POSTs on one keep-alive socket per connection, the same for both servers; loopback only; both servers up, driven in alternating 0.5 s windows.',
      `server CPU: user + system time of the server process over its windows (/proc), per call; cores busy: that time over the windows' wall time. client CPU: this process's, per call. ${availableParallelism()} CPUs here: clients and server share them.`,
    ],
  };
}

/** send → first progress notification over stdio, fast mode. */
export async function firstProgressTable(): Promise<BenchTable> {
  await ensureBuilt();
  const { samples, callsBeforeFirstToken } = await benchFirstProgress({
    latencyMs: LATENCY_MS,
    sends: SENDS,
  });
  const p50 = median(samples);
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    title: `send → first progress notification over stdio (cog mcp, fast mode, fixture model ${LATENCY_MS} ms before first byte), ${samples.length} sends`,
    head: [
      'calls before first token',
      'median ms',
      'min ms',
      'max ms',
      'median/latency',
      'target',
      'result',
    ],
    rows: [
      [
        String(callsBeforeFirstToken),
        p50.toFixed(1),
        sorted[0]!.toFixed(1),
        sorted[sorted.length - 1]!.toFixed(1),
        (p50 / LATENCY_MS).toFixed(3),
        '≤ 1.15',
        atMost(p50 / LATENCY_MS, 1.15),
      ],
    ],
    notes: [
      'Timed in the client: from callTool(send) to the first notifications/progress, the process already running and warmed up by one send.',
    ],
  };
}

/** Every MCP table, HTTP first. Builds `dist` if it is missing. */
export async function benchMcp(): Promise<BenchTable[]> {
  return [
    await httpTable(),
    await firstProgressTable(),
    ...(await notificationTables()),
    await turnTimeTable(),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const t of await benchMcp()) process.stdout.write(formatTable(t));
}
