/**
 * The MCP surface's benchmarks for `npm run bench`: `state` calls per second at 10
 * concurrent HTTP clients beside the reference server's `echo`, and the time from `send`
 * to the first progress notification over stdio. `benchMcp()` returns the tables; run
 * alone (`node --import tsx test/bench/mcp.ts`, after a build), this file prints them.
 * Asserts nothing.
 *
 * BENCH_MCP_MS sets the measured window per server (default 5000), BENCH_MCP_SENDS the
 * number of measured sends (default 10).
 */
import { pathToFileURL } from 'node:url';
import { ensureBuilt } from '../helpers/cog-process.js';
import { benchHttpThroughput } from './mcp-http.js';
import { benchFirstProgress } from './mcp-stdio.js';

export interface BenchTable {
  title: string;
  head: string[];
  rows: string[][];
  notes: string[];
}

const CLIENTS = 10;
const LATENCY_MS = 200;
const MEASURE_MS = Number(process.env.BENCH_MCP_MS ?? 5000);
const SENDS = Number(process.env.BENCH_MCP_SENDS ?? 10);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function httpTable(): Promise<BenchTable> {
  const [cog, ref] = await benchHttpThroughput({
    clients: CLIENTS,
    warmupMs: 1000,
    measureMs: MEASURE_MS,
    sliceMs: 500,
    maxCallsPerClient: 1_000_000,
  });
  const ratio = cog!.callsPerSecond / ref!.callsPerSecond;
  const row = (r: typeof cog, ratioCell: string, target: string) => [
    r!.server,
    r!.tool,
    String(r!.calls),
    r!.callsPerSecond.toFixed(0),
    r!.p50.toFixed(2),
    r!.p99.toFixed(2),
    r!.serverCpuUsPerCall === undefined ? '-' : r!.serverCpuUsPerCall.toFixed(0),
    ratioCell,
    target,
  ];
  return {
    title: `MCP tool calls over Streamable HTTP, ${CLIENTS} concurrent clients (own session each), ${(MEASURE_MS / 1000).toFixed(0)} s after 1 s warm-up`,
    head: [
      'server',
      'tool',
      'calls',
      'calls/s',
      'p50 ms',
      'p99 ms',
      'server CPU µs/call',
      'cog/ref',
      'target',
    ],
    rows: [row(cog, ratio.toFixed(2), '≥ 1.00'), row(ref, '1.00', '')],
    notes: [
      'Same SDK client code (Client + StreamableHTTPClientTransport, bearer header) for both, loopback only; both servers up, driven in alternating 0.5 s windows.',
      'server CPU: user + system time of the server process over the window, per call (/proc).',
    ],
  };
}

async function stdioTable(): Promise<BenchTable> {
  const { samples, callsBeforeFirstToken } = await benchFirstProgress({
    latencyMs: LATENCY_MS,
    sends: SENDS,
  });
  const p50 = median(samples);
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    title: `send → first progress notification over stdio (cog mcp, fast mode, fixture model ${LATENCY_MS} ms before first byte), ${samples.length} sends`,
    head: ['calls before first token', 'median ms', 'min ms', 'max ms', 'median/latency', 'target'],
    rows: [
      [
        String(callsBeforeFirstToken),
        p50.toFixed(1),
        sorted[0]!.toFixed(1),
        sorted[sorted.length - 1]!.toFixed(1),
        (p50 / LATENCY_MS).toFixed(3),
        '≤ 1.15',
      ],
    ],
    notes: [
      'Timed in the client: from callTool(send) to the first notifications/progress, the process already running and warmed up by one send.',
    ],
  };
}

/** Both MCP tables, HTTP first. Builds `dist` if it is missing. */
export async function benchMcp(): Promise<BenchTable[]> {
  await ensureBuilt();
  return [await httpTable(), await stdioTable()];
}

/** A table in the same Markdown-ish layout as the other benchmarks. */
export function formatTable(t: BenchTable): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    '',
    t.title,
    line(t.head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...t.rows.map(line),
    ...t.notes,
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const t of await benchMcp()) process.stdout.write(formatTable(t));
}
