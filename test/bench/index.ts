/**
 * `npm run bench`: every benchmark's tables, each with a target column and MISSED on a
 * missed target, then one summary of every miss. Asserts nothing. BENCH_ONLY=<name>[,...]
 * runs only those (names in BENCHES below): time to first token against the fixture model
 * with 200 ms before its first byte, for both pipeline modes on a direct reply and on the
 * tool path, and the runtime's own overhead per turn (here); cold start beside the MCP
 * reference server (./cold-start.ts); what each isolation tier costs (./sandbox.ts); the
 * MCP surface's tables (./mcp.ts); what verifying a bearer token costs per request
 * (./auth.ts); the webview's (./webview.ts), the extension's (./extension.ts) and the event
 * log's (./event-log.ts).
 */
import type { PipelineMode } from '../../protocol/events.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import type { ModelClient } from '../../server/llm/types.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { reply } from '../fixtures/openai-steps.js';
import { startFixtureProcess, type FixtureProcess } from '../fixtures/openai-server-process.js';
import { tempHome, testConfig } from '../helpers/runtime.js';
import { benchCluster } from './cluster.js';
import { benchAuth } from './auth.js';
import { benchColdStart } from './cold-start.js';
import { benchEventLog } from './event-log.js';
import { extensionTable } from './extension.js';
import { firstProgressTable, httpTable } from './mcp.js';
import { notificationTables, turnTimeTable } from './mcp-turn.js';
import { allOf, atMost, formatTable, missedSummary, type BenchTable } from './report.js';
import { benchSandbox } from './sandbox.js';
import { webviewTable } from './webview.js';

const LATENCY_MS = 200;
const TURNS = Number(process.env.BENCH_TURNS ?? 8);
const OWNER = 'local:bench';

type Path = 'direct' | 'tool';

interface Sample {
  ttft: number;
  calls: number;
  modelMs: number;
  processMs: number;
}

async function script(fixture: FixtureProcess, path: Path) {
  await fixture.reset();
  await fixture.script('input', [reply.text('The user asks something.')]);
  await fixture.script('output', [reply.text('Here is the answer: 42.')]);
  await fixture.script('memorizer', [reply.text('{"topic":"bench"}')]);
  if (path === 'direct') {
    await fixture.script('thinker', [reply.text('The answer is 42.')]);
  } else {
    await fixture.script('thinker', [
      reply.toolCalls([
        {
          name: 'run_code',
          arguments: JSON.stringify({ language: 'javascript', code: 'console.log(42)' }),
        },
      ]),
      reply.text('The answer is 42.'),
    ]);
  }
}

async function measure(fixture: FixtureProcess, mode: PipelineMode, path: Path): Promise<Sample[]> {
  const home = tempHome('cog-bench-');
  const config = testConfig(home.home, {
    pipeline: mode,
    endpoint: { baseUrl: fixture.url, apiKey: 'bench', source: 'bench' },
    models: { input: 'm', thinker: 'm', output: 'm', memorizer: 'm' },
  });
  // Model latency as the runtime sees it: each call from its start to its first delta (or
  // its end, when it does not stream). What is left of the time to first token is ours.
  const client = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'bench' });
  let modelMs = 0;
  let firstDelta = 0;
  const model: ModelClient = {
    offline: false,
    async chat(req) {
      const start = performance.now();
      let counted = false;
      const count = () => {
        if (!counted && !firstDelta) modelMs += performance.now() - start;
        counted = true;
      };
      const onDelta = req.onDelta;
      const result = await client.chat({
        ...req,
        ...(onDelta
          ? {
              onDelta: (t: string) => {
                count();
                onDelta(t);
              },
            }
          : {}),
      });
      count();
      return result;
    },
  };
  const runtime = await createRuntime(config, { model, sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  const samples: Sample[] = [];
  for (let i = 0; i <= TURNS; i++) {
    await script(fixture, path);
    modelMs = 0;
    firstDelta = 0;
    const stop = await runtime.subscribe(id, OWNER, (e) => {
      if (e.type === 'output.delta' && !firstDelta) firstDelta = performance.now();
    });
    const sent = performance.now();
    const result = await runtime.send(id, OWNER, `question ${i}`);
    stop();
    await runtime.settled(id);
    const first = firstDelta;
    const proc = [...(await runtime.session(id, OWNER)).processes.values()].find((p) =>
      result.processes.some((q) => q.id === p.id),
    );
    const processMs =
      proc?.startedAt && proc.endedAt ? Date.parse(proc.endedAt) - Date.parse(proc.startedAt) : 0;
    if (i > 0)
      samples.push({
        ttft: first - sent,
        calls: result.timing.callsBeforeFirstToken,
        modelMs,
        processMs,
      }); // turn 0 warms up
  }
  await runtime.close();
  home.cleanup();
  return samples;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1]!;

/** The runtime's own work per turn may take this much of the time to first token. */
const OVERHEAD_MS = 5;

async function ttftTable(): Promise<BenchTable> {
  const fixture = await startFixtureProcess({ latencyMs: LATENCY_MS });
  const rows: string[][] = [];
  for (const mode of ['fast', 'faithful'] as const) {
    for (const path of ['direct', 'tool'] as const) {
      const samples = await measure(fixture, mode, path);
      const ttft = median(samples.map((s) => s.ttft));
      const overhead = samples.map((s) => s.ttft - s.modelMs - s.processMs);
      const ratio = ttft / LATENCY_MS;
      const limit = path === 'direct' ? (mode === 'fast' ? 1.15 : 3.05) : undefined;
      rows.push([
        mode,
        path,
        String(samples[0]?.calls ?? '-'),
        ttft.toFixed(1),
        ratio.toFixed(3),
        median(samples.map((s) => s.processMs)).toFixed(1),
        median(samples.map((s) => (s.modelMs - s.calls * LATENCY_MS) / s.calls)).toFixed(2),
        median(overhead).toFixed(2),
        p90(overhead).toFixed(2),
        `${limit === undefined ? '' : `TTFT/latency ≤ ${limit.toFixed(2)}, `}overhead p50 ≤ ${OVERHEAD_MS}`,
        allOf([
          ...(limit === undefined
            ? []
            : [['TTFT/latency', atMost(ratio, limit)] as [string, string]]),
          ['overhead p50', atMost(median(overhead), OVERHEAD_MS)],
        ]),
      ]);
    }
  }
  await fixture.close();
  return {
    title: `Time to first token, fixture model with ${LATENCY_MS} ms before first byte, ${TURNS} turns each (median)`,
    head: [
      'mode',
      'path',
      'calls',
      'TTFT ms',
      'TTFT/latency',
      'process ms',
      'HTTP ms/call',
      'overhead ms (p50)',
      'p90',
      'target',
      'result',
    ],
    rows,
    keyColumns: 2,
    notes: [
      `HTTP ms/call: what each model call took beyond the server’s ${LATENCY_MS} ms (HTTP client, loopback, fixture)`,
      'overhead: TTFT − those model calls − code run time, i.e. the runtime’s own work',
    ],
  };
}

const one = async (t: Promise<BenchTable>) => [await t];

/** Every benchmark by its BENCH_ONLY name, in the order a full run takes them. */
const BENCHES: Record<string, () => Promise<BenchTable[]>> = {
  ttft: () => one(ttftTable()),
  'cold-start': benchColdStart,
  sandbox: benchSandbox,
  'mcp-http': () => one(httpTable()),
  'mcp-first-progress': () => one(firstProgressTable()),
  notifications: notificationTables,
  'turn-time': () => one(turnTimeTable()),
  auth: benchAuth,
  webview: () => one(webviewTable()),
  extension: () => one(extensionTable()),
  'event-log': benchEventLog,
  cluster: benchCluster,
};

const only = process.env.BENCH_ONLY?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only?.filter((name) => !(name in BENCHES)) ?? [];
if (unknown.length) {
  process.stderr.write(
    `BENCH_ONLY: no benchmark ${unknown.join(', ')}; there are ${Object.keys(BENCHES).join(', ')}\n`,
  );
  process.exit(2);
}
for (const [name, bench] of Object.entries(BENCHES)) {
  if (only && !only.includes(name)) continue;
  for (const table of await bench()) process.stdout.write(formatTable(table));
}
process.stdout.write(missedSummary());
