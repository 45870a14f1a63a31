/**
 * One turn over stdio, as clients see it: `cog mcp` on the fixture model in fast mode,
 * driven by the SDK's Client over a transport that weighs every line (./stdio-wire.ts).
 *
 * - notifications per turn, count and bytes beside the result's bytes, for a default
 *   client (no logging/setLevel, no progress token, no subscription) and for one that
 *   does what the extension does (HUD at debug, subscribed to the session list, no
 *   progress token: its deltas come on the event stream);
 * - end-to-end turn time at model latency L against the time of the last output token
 *   (the last progress notification): what the result waits for once the reply is out.
 *
 * Returns tables; asserts nothing. BENCH_TURN_SENDS (default 8) sets the measured sends
 * per row, after one that warms up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SESSIONS_URI } from '../../protocol/mcp.js';
import { reply } from '../fixtures/openai-steps.js';
import type { FixtureProcess } from '../fixtures/openai-server-process.js';
import { memorizerWatch } from './mcp-stdio.js';
import { p90, median } from './proc-stats.js';
import { allOf, atMost, type BenchTable } from './report.js';
import { startStdioCog, type WireMessage } from './stdio-wire.js';

const SENDS = Number(process.env.BENCH_TURN_SENDS ?? 8);
/** Model latency for the notification count: it changes timing, not what is sent. */
const NOTIFY_LATENCY_MS = 50;
const LATENCIES = [200, 1000];
/** Characters per streamed delta, as the fixture sends them (OpenAI sends ~1 token). */
const CHUNK = 4;
/**
 * Pause between deltas in the notification run: ~250 deltas/s. The turn-time run streams
 * unpaced: the fixture paces its finish and usage chunks like content, so a paced stream
 * would end two pauses after its last token, model time that a real endpoint (which sends
 * those at once) does not add and that would be billed to the runtime.
 */
const CHUNK_DELAY_MS = 4;
/** Quiet time after a turn before the next starts: trailing resource updates come ≤ 100 ms. */
const QUIET_MS = 300;

/** A reply of ordinary length: ~600 characters, ~150 deltas. */
const REPLY =
  'Here is what I found. The build splits the server into chunks so that a start compiles ' +
  'only what it runs; the tokenizer tables and the HTTP server load on first use. The ' +
  'command line imports each subcommand when it is called, so `cog --version` reads a few ' +
  'kilobytes. For the turn itself, the reply streams as it is produced and the result ' +
  'follows the last token once the turn is on disk. Ask me for the numbers in a table if ' +
  'you want to compare the two servers side by side, or for the flame graph of a start.';

async function scriptTurn(fixture: FixtureProcess, chunkDelayMs = CHUNK_DELAY_MS) {
  await fixture.reset();
  const paced = { chunkSize: CHUNK, chunkDelayMs };
  await fixture.script('input', [reply.text('The user asks about the benchmark.')]);
  await fixture.script('thinker', [reply.text(REPLY, paced)]);
  await fixture.script('output', [reply.text(REPLY, paced)]);
  await fixture.script('memorizer', [reply.text('{"topic":"bench"}')]);
}

interface TurnOutcome {
  session: string;
  turn: string;
  status: string;
}

/** `send` through the SDK Client, with a progress token when `onprogress` is given. */
async function send(
  client: Client,
  session: string,
  i: number,
  onprogress?: () => void,
): Promise<TurnOutcome> {
  const result = await client.callTool(
    { name: 'send', arguments: { text: `question ${i}`, session } },
    undefined,
    { timeout: 60_000, ...(onprogress ? { onprogress, resetTimeoutOnProgress: true } : {}) },
  );
  const out = result.structuredContent as TurnOutcome | undefined;
  if (out?.status !== 'ok') throw new Error(`send ${i}: ${JSON.stringify(result)}`);
  return out;
}

async function createSession(client: Client): Promise<string> {
  const created = await client.callTool({ name: 'sessions', arguments: { action: 'create' } });
  return (created.structuredContent as { created: { id: string } }).created.id;
}

/** Resolves once no message has arrived for `ms`. */
async function quiet(last: () => number, ms: number): Promise<void> {
  for (;;) {
    const wait = last() + ms - performance.now();
    if (wait <= 0) return;
    await sleep(wait);
  }
}

/** Resolves once the fixture has been asked for `n` memorizer replies in all. */
async function memorizerCalls(fixture: FixtureProcess, n: number): Promise<void> {
  const deadline = performance.now() + 15_000;
  while ((await fixture.requests()).filter((r) => r.node === 'memorizer').length < n) {
    if (performance.now() > deadline) throw new Error(`the memorizer was not called ${n} times`);
    await sleep(20);
  }
}

// --- notifications per turn ---------------------------------------------------------------

type ClientKind = 'default' | 'extension';

interface TurnTally {
  notifications: number;
  notificationBytes: number;
  resultBytes: number;
  /** Per kind of notification (method, and the event type of HUD messages). */
  byKind: Map<string, { count: number; bytes: number }>;
}

const kindOf = (m: WireMessage): string | undefined => {
  const msg = m.message as { method?: string; id?: unknown; params?: { data?: { type?: string } } };
  if (msg.method === undefined || msg.id !== undefined) return undefined;
  if (msg.method === 'notifications/message') return `message ${msg.params?.data?.type ?? '?'}`;
  return msg.method;
};

/** Warm-up plus SENDS turns on one `cog mcp`, notifications tallied per turn. */
async function notificationsOf(kind: ClientKind): Promise<TurnTally[]> {
  const cog = await startStdioCog({ latencyMs: NOTIFY_LATENCY_MS, name: `cog-bench-${kind}` });
  const { client, fixture, transport } = cog;
  let current: TurnTally | undefined;
  let lastAt = performance.now();
  transport.onwire = (m) => {
    lastAt = m.at;
    if (!current) return;
    const k = kindOf(m);
    if (k === undefined) {
      // The one response in a turn's window is the send's: calls are sequential.
      if ('id' in m.message) current.resultBytes += m.bytes;
      return;
    }
    current.notifications++;
    current.notificationBytes += m.bytes;
    const entry = current.byKind.get(k) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += m.bytes;
    current.byKind.set(k, entry);
  };
  try {
    const session = await createSession(client);
    if (kind === 'extension') {
      // What extension/cog-client.ts and chat-controller.ts watch() do on connect.
      await client.setLoggingLevel('debug');
      await client.subscribeResource({ uri: SESSIONS_URI });
    }
    const tallies: TurnTally[] = [];
    for (let i = 0; i <= SENDS; i++) {
      await scriptTurn(fixture);
      current = { notifications: 0, notificationBytes: 0, resultBytes: 0, byKind: new Map() };
      if (i > 0) tallies.push(current); // the first turn warms up
      await send(client, session, i);
      // The turn's window closes once its tail (perception, memorizer, trailing resource
      // updates) is over: the memorizer has been called and the wire has gone quiet.
      await memorizerCalls(fixture, 1);
      await sleep(NOTIFY_LATENCY_MS);
      await quiet(() => lastAt, QUIET_MS);
    }
    return tallies;
  } finally {
    current = undefined;
    await cog.close();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export async function notificationTables(): Promise<BenchTable[]> {
  const runs = new Map<ClientKind, TurnTally[]>();
  for (const kind of ['default', 'extension'] as const) runs.set(kind, await notificationsOf(kind));
  const rows = [...runs].map(([kind, tallies]) => {
    const count = mean(tallies.map((t) => t.notifications));
    const bytes = mean(tallies.map((t) => t.notificationBytes));
    const result = mean(tallies.map((t) => t.resultBytes));
    const ratio = bytes / result;
    return [
      kind,
      String(tallies.length),
      count.toFixed(1),
      `${bytes.toFixed(0)} (${kb(bytes)})`,
      `${result.toFixed(0)} (${kb(result)})`,
      ratio.toFixed(2),
      kind === 'default' ? '≤ 1.50' : 'none set',
      kind === 'default' ? atMost(ratio, 1.5) : '-',
    ];
  });
  const kinds = [
    ...new Set([...runs.values()].flatMap((ts) => ts.flatMap((t) => [...t.byKind.keys()]))),
  ].sort();
  const perTurn = (kind: ClientKind, k: string, f: 'count' | 'bytes') =>
    mean(runs.get(kind)!.map((t) => t.byKind.get(k)?.[f] ?? 0));
  return [
    {
      title: `Notifications per turn over stdio (cog mcp, fast mode, a ${REPLY.length}-character reply in ${Math.ceil(REPLY.length / CHUNK)} deltas), mean of ${SENDS} turns`,
      head: [
        'client',
        'turns',
        'notifications',
        'notification bytes',
        'result bytes',
        'notifications/result',
        'target',
        'result',
      ],
      rows,
      notes: [
        'default: never calls logging/setLevel, no progress token, no subscription. extension: logging/setLevel debug, subscribed to cog://sessions (as extension/chat-controller.ts watch()), no progress token (the deltas come as HUD events).',
        'Bytes are the JSON-RPC lines as written to stdout, newline included. A turn’s window runs from its send to the end of its tail (memorizer done, 300 ms quiet); the send’s response is its result.',
        'No target in the issue for the extension: it asked for every event and token.',
      ],
    },
    {
      title: 'Notifications per turn by kind (mean count · bytes)',
      head: ['kind', 'default', 'extension', 'target'],
      rows: kinds.map((k) => [
        k,
        `${perTurn('default', k, 'count').toFixed(1)} · ${perTurn('default', k, 'bytes').toFixed(0)}`,
        `${perTurn('extension', k, 'count').toFixed(1)} · ${perTurn('extension', k, 'bytes').toFixed(0)}`,
        '-',
      ]),
      notes: [
        'message <type>: notifications/message on the HUD logger, by the runtime event it carries. A breakdown of the table above, whose totals carry the target.',
      ],
    },
  ];
}

// --- end-to-end turn time vs the last token ---------------------------------------------

interface TurnTimes {
  first: number;
  last: number;
  result: number;
}

async function turnTimesAt(latencyMs: number): Promise<TurnTimes[]> {
  const cog = await startStdioCog({ latencyMs, name: 'cog-bench-turn-time' });
  const { client, fixture, transport } = cog;
  // Arrival times from the wire tap: progress notifications and the send's response.
  let progress: number[] = [];
  let resultAt: number | undefined;
  transport.onwire = (m) => {
    const msg = m.message as { method?: string; id?: unknown };
    if (msg.method === 'notifications/progress') progress.push(m.at);
    else if (msg.method === undefined && msg.id !== undefined) resultAt = m.at;
  };
  try {
    await client.setLoggingLevel('info');
    const memorizerDone = memorizerWatch(client);
    const session = await createSession(client);
    const out: TurnTimes[] = [];
    for (let i = 0; i <= SENDS; i++) {
      await scriptTurn(fixture, 0);
      progress = [];
      resultAt = undefined;
      const sent = performance.now();
      const { turn } = await send(client, session, i, () => undefined);
      if (resultAt === undefined || !progress.length) throw new Error(`send ${i}: no stream`);
      if (i > 0) {
        out.push({
          first: progress[0]! - sent,
          last: progress[progress.length - 1]! - sent,
          result: resultAt - sent,
        });
      }
      await memorizerDone(turn);
    }
    return out;
  } finally {
    await cog.close();
  }
}

export async function turnTimeTable(): Promise<BenchTable> {
  const rows: string[][] = [];
  for (const latency of LATENCIES) {
    const times = await turnTimesAt(latency);
    const tail = times.map((t) => t.result - t.last);
    const [tail50, tail90] = [median(tail), p90(tail)];
    rows.push([
      String(latency),
      String(times.length),
      median(times.map((t) => t.first)).toFixed(1),
      median(times.map((t) => t.last)).toFixed(1),
      median(times.map((t) => t.result)).toFixed(1),
      tail50.toFixed(2),
      tail90.toFixed(2),
      Math.max(...tail).toFixed(2),
      '≤ 10 (p50, p90)',
      allOf([
        ['p50', atMost(tail50, 10)],
        ['p90', atMost(tail90, 10)],
      ]),
    ]);
  }
  return {
    title: `End-to-end turn time vs the last token over stdio (cog mcp, fast mode, ${REPLY.length} characters in ${Math.ceil(REPLY.length / CHUNK)} unpaced deltas), ${SENDS} sends each (median)`,
    head: [
      'L ms',
      'sends',
      'first token ms',
      'last token ms',
      'result ms',
      'result − last token p50',
      'p90',
      'max',
      'target ms',
      'result',
    ],
    rows,
    notes: [
      'L: the fixture model’s wait before each reply’s first byte. Times from callTool(send) to the arrival of the first and last notifications/progress and of the response, read off the wire.',
      'result − last token: what the turn does after its reply is out before it answers (the events’ fsync; the perception and the memorizer run after it).',
    ],
  };
}
