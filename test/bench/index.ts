/**
 * `npm run bench`: time to first token against the fixture model with 200 ms before its
 * first byte, for both pipeline modes on a direct reply and on the tool path, and the
 * runtime's own overhead per turn; then what each isolation tier costs (test/bench/sandbox.ts),
 * the MCP surface's tables (test/bench/mcp.ts), the webview's (test/bench/webview.ts) and the
 * event log's (test/bench/event-log.ts). Prints tables; asserts nothing. BENCH_ONLY=event-log
 * runs only the event log's.
 */
import type { PipelineMode } from '../../protocol/events.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import type { ModelClient } from '../../server/llm/types.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { reply } from '../fixtures/openai-steps.js';
import { startFixtureProcess, type FixtureProcess } from '../fixtures/openai-server-process.js';
import { tempHome, testConfig } from '../helpers/runtime.js';
import { benchEventLog } from './event-log.js';
import { benchExtension } from './extension.js';
import { benchMcp, formatTable } from './mcp.js';
import { benchSandbox } from './sandbox.js';
import { benchWebview, formatTable as formatWebviewTable, WEBVIEW_BENCH_HEAD } from './webview.js';

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

async function main() {
  const fixture = await startFixtureProcess({ latencyMs: LATENCY_MS });
  const rows: string[][] = [];
  for (const mode of ['fast', 'faithful'] as const) {
    for (const path of ['direct', 'tool'] as const) {
      const samples = await measure(fixture, mode, path);
      const ttft = median(samples.map((s) => s.ttft));
      const overhead = samples.map((s) => s.ttft - s.modelMs - s.processMs);
      const target = path === 'direct' ? (mode === 'fast' ? '≤ 1.15' : '≤ 3.05') : '';
      rows.push([
        mode,
        path,
        String(samples[0]?.calls ?? '-'),
        ttft.toFixed(1),
        (ttft / LATENCY_MS).toFixed(3),
        target,
        median(samples.map((s) => s.processMs)).toFixed(1),
        median(samples.map((s) => (s.modelMs - s.calls * LATENCY_MS) / s.calls)).toFixed(2),
        median(overhead).toFixed(2),
        p90(overhead).toFixed(2),
      ]);
    }
  }
  await fixture.close();
  const head = [
    'mode',
    'path',
    'calls',
    'TTFT ms',
    'TTFT/latency',
    'target',
    'process ms',
    'HTTP ms/call',
    'overhead ms (p50)',
    'p90',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `\nTime to first token, fixture model with ${LATENCY_MS} ms before first byte, ${TURNS} turns each (median)\n`,
  );
  process.stdout.write(
    `${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}\n`,
  );
  process.stdout.write(
    'HTTP ms/call: what each model call took beyond the server’s 200 ms (HTTP client, loopback, fixture)\n' +
      'overhead: TTFT − those model calls − code run time, i.e. the runtime’s own work; target ≤ 5 ms\n',
  );
}

const only = process.env.BENCH_ONLY;
if (!only) {
  await main();
  for (const table of await benchSandbox()) process.stdout.write(formatTable(table));
  for (const table of await benchMcp()) process.stdout.write(formatTable(table));
  process.stdout.write(`\n${formatWebviewTable(WEBVIEW_BENCH_HEAD, await benchWebview())}\n`);
  process.stdout.write(
    `\n${formatWebviewTable(['extension (VS Code 1.100.3, code-server)', 'value', 'note'], await benchExtension())}\n`,
  );
}
if (!only || only === 'event-log') {
  for (const table of await benchEventLog()) process.stdout.write(formatTable(table));
}
