/**
 * Cog past one machine, for `npm run bench` (`BENCH_ONLY=cluster` alone): what an event
 * costs to append in the file store and in PostgreSQL, how long an event recorded on one
 * instance takes to reach a listener on another (fan-out through LISTEN/NOTIFY and a
 * catch-up read), and send throughput and latency through the round-robin proxy with 1
 * and with 3 `cog serve` instances on one database (offline engine: the same fixed work
 * per turn, no model). A throw-away PostgreSQL (test/helpers/postgres.ts) serves it all.
 * Asserts nothing. BENCH_CLUSTER_EVENTS (default 3000) sets the appended events per mode,
 * BENCH_CLUSTER_CLIENTS (6) and BENCH_CLUSTER_SENDS (5) the load of the throughput table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { createFileStore } from '../../server/store/file-store.js';
import { createPgStore } from '../../server/store/pg-store.js';
import type { EventStore } from '../../server/store/types.js';
import { startCogCluster } from '../helpers/cog-cluster.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { tempHome, testConfig } from '../helpers/runtime.js';
import { atLeast, atMost, formatTable, type BenchTable } from './report.js';

const EVENTS = Number(process.env.BENCH_CLUSTER_EVENTS ?? 3000);
const CLIENTS = Number(process.env.BENCH_CLUSTER_CLIENTS ?? 6);
const SENDS = Number(process.env.BENCH_CLUSTER_SENDS ?? 5);
const OWNER = 'local:bench';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? NaN;
const sortedOf = (xs: number[]) => [...xs].sort((a, b) => a - b);

function delta(session: string, seq: number): RuntimeEvent {
  return {
    seq,
    ts: new Date().toISOString(),
    session,
    node: 'output',
    type: 'output.delta',
    text: `token ${seq} `,
  };
}

/** µs per event: one by one (each awaited: what a turn's first token pays) and as a burst. */
async function appendCost(store: EventStore, id: string) {
  await store.create({ id, owner: OWNER, createdAt: new Date().toISOString() });
  const each: number[] = [];
  let seq = 0;
  for (let i = 0; i < EVENTS; i++) {
    const t0 = performance.now();
    await store.append(delta(id, ++seq));
    each.push((performance.now() - t0) * 1000);
  }
  const t0 = performance.now();
  const pending: unknown[] = [];
  for (let i = 0; i < EVENTS; i++) pending.push(store.append(delta(id, ++seq)));
  await Promise.all(pending);
  await store.flush(id);
  const burstUs = ((performance.now() - t0) * 1000) / EVENTS;
  return { sorted: sortedOf(each), burstUs };
}

async function appendTable(server: PgServer): Promise<BenchTable> {
  const dir = mkdtempSync(join(tmpdir(), 'cog-bench-append-'));
  const file = createFileStore({ dir });
  const pg = await createPgStore({ url: await server.createDatabase('bench_append') });
  try {
    const f = await appendCost(file, 'file');
    const p = await appendCost(pg, 'pg');
    const row = (name: string, r: typeof f, target: number, burstTarget: number) => [
      name,
      String(EVENTS),
      percentile(r.sorted, 0.5).toFixed(1),
      percentile(r.sorted, 0.99).toFixed(1),
      r.burstUs.toFixed(1),
      `p50 ≤ ${target}, burst ≤ ${burstTarget}`,
      atMost(percentile(r.sorted, 0.5), target) === 'ok'
        ? atMost(r.burstUs, burstTarget)
        : atMost(percentile(r.sorted, 0.5), target),
    ];
    return {
      title: `Appending an event, until it is durable (${EVENTS} one by one, then ${EVENTS} in a burst)`,
      head: ['store', 'events', 'each p50 µs', 'each p99 µs', 'burst µs/event', 'target', 'result'],
      rows: [
        row('file (write before publish)', f, 50, 20),
        row('PostgreSQL (commit)', p, 2000, 100),
      ],
      notes: [
        'each: `await append(event)` timed alone: the file store writes to the page cache (fsync comes with flush, at the end of a turn); PostgreSQL resolves once the INSERT committed (synchronous_commit on, fsync on, loopback).',
        'burst: appends not awaited one by one, as a streaming turn makes them: the PostgreSQL store sends what queued as one multi-row INSERT at a time per session.',
      ],
    };
  } finally {
    await file.close();
    await pg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fanOutTable(server: PgServer): Promise<BenchTable> {
  const databaseUrl = await server.createDatabase('bench_fanout');
  const homes = [tempHome('cog-bench-a-'), tempHome('cog-bench-c-')];
  const [a, c] = (await Promise.all(
    homes.map((h) => createRuntime(testConfig(h.home, { databaseUrl }), { sandbox: 'none' })),
  )) as [Runtime, Runtime];
  try {
    const made = await a.createSession(OWNER, { id: 'fanout' });
    const shownOnA = new Map<number, number>();
    const delays: number[] = [];
    await a.subscribe(made.id, OWNER, (e) => shownOnA.set(e.seq, performance.now()));
    await c.subscribe(made.id, OWNER, (e) => {
      const at = shownOnA.get(e.seq);
      if (at !== undefined) delays.push(performance.now() - at);
    });
    for (let i = 0; i < 10; i++) await a.send(made.id, OWNER, `what is ${i}+${i}?`);
    const until = Date.now() + 5000;
    while (delays.length < shownOnA.size - 1 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const sorted = sortedOf(delays);
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    return {
      title: 'Fan-out: an event shown on instance A, then on instance C (10 turns, one database)',
      head: ['events', 'p50 ms', 'p99 ms', 'max ms', 'target', 'result'],
      rows: [
        [
          String(sorted.length),
          p50.toFixed(1),
          p99.toFixed(1),
          (sorted.at(-1) ?? NaN).toFixed(1),
          'p50 ≤ 20, p99 ≤ 100',
          atMost(p50, 20) === 'ok' ? atMost(p99, 100) : atMost(p50, 20),
        ],
      ],
      notes: [
        'A and C are two runtimes in this process on one PostgreSQL database (one clock): A records and shows an event once committed; C hears the commit through LISTEN/NOTIFY and reads what it has not seen in order, then shows it. Delay: C showing it − A showing it.',
      ],
    };
  } finally {
    await a.close();
    await c.close();
    for (const h of homes) h.cleanup();
  }
}

async function throughput(server: PgServer, n: number) {
  const c = await startCogCluster({
    n,
    databaseUrl: await server.createDatabase(`bench_tp_${n}`),
    env: { COG_OFFLINE: '1' },
  });
  try {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => c.client('proxy', `bench-${i}`)),
    );
    const latencies: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        let session: string | undefined;
        for (let i = 0; i < SENDS; i++) {
          const s = performance.now();
          const r = await client.callTool({
            name: 'send',
            arguments: { text: `what is ${i}*3?`, ...(session ? { session } : {}) },
          });
          latencies.push(performance.now() - s);
          session = (r.structuredContent as { session: string }).session;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return { perSecond: (CLIENTS * SENDS) / seconds, sorted: sortedOf(latencies) };
  } finally {
    await c.stop();
  }
}

async function throughputTable(server: PgServer): Promise<BenchTable> {
  const one = await throughput(server, 1);
  const three = await throughput(server, 3);
  const row = (name: string, r: typeof one, verdict: string) => [
    name,
    String(CLIENTS * SENDS),
    r.perSecond.toFixed(1),
    percentile(r.sorted, 0.5).toFixed(0),
    percentile(r.sorted, 0.99).toFixed(0),
    verdict,
  ];
  return {
    title: `send through the round-robin proxy: ${CLIENTS} clients × ${SENDS} sends, own session each, offline engine`,
    head: ['instances', 'sends', 'sends/s', 'p50 ms', 'p99 ms', 'result'],
    rows: [
      row('1', one, '-'),
      row('3', three, `${atLeast(three.perSecond, one.perSecond * 0.7)} (≥ 0.7 × one)`),
    ],
    notes: [
      'Each send runs a turn with a code run (sandboxed, this machine’s strongest tier) and its memorizer, and comes back through the proxy, which sends each HTTP request to the next instance (no sticky sessions).',
      'This machine has 2 cores: three instances share them with PostgreSQL and the clients, so more instances cannot be faster here; the target only says that spreading a session’s requests over instances costs little. What scales, and how, is in the README (Running Cog for a team).',
    ],
  };
}

/** The cluster benchmarks; PostgreSQL is started and stopped here. */
export async function benchCluster(): Promise<BenchTable[]> {
  const server = await startPostgres();
  try {
    return [await appendTable(server), await fanOutTable(server), await throughputTable(server)];
  } finally {
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const t of await benchCluster()) process.stdout.write(formatTable(t));
}
