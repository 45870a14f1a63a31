/**
 * The event log's benchmarks for `npm run bench` (`BENCH_ONLY=event-log` runs them alone):
 * start-up of `cog serve` with 0 / 100k / 1M events on disk, RSS after 1k / 5k / 10k
 * turns, `trace` and `history` pages on a 200k-event session beside a 2k one, an idle
 * `cog serve` with 1,000 sessions, and what an append and a turn's fsync cost. Homes are
 * seeded through the store API (./event-log-seed.ts; setup, not measured); the start-up and
 * idle tables run a spawned `cog serve` (./event-log-serve.ts). `benchEventLog()` returns
 * the tables, each row with its target and MISSED when it is missed; it asserts nothing.
 *
 * BENCH_TURNS_MAX (default 10000) sets the last RSS checkpoint (the others are a tenth and
 * a half of it), BENCH_STARTUP_RUNS (5) the start-ups per home, BENCH_PAGE_RUNS (200) the
 * samples per page, BENCH_IDLE_MS (20000) the idle window.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { historyView, traceView } from '../../server/mcp/views.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { Session } from '../../server/runtime/session.js';
import { createFileStore } from '../../server/store/file-store.js';
import { ensureBuilt, root } from '../helpers/cog-process.js';
import { tempHome, testConfig } from '../helpers/runtime.js';
import { seedSession, turnDrafts } from './event-log-seed.js';
import { idleTable, startupTable } from './event-log-serve.js';
import type { BenchTable } from './report.js';
import { MB, median, p90, verdict } from './proc-stats.js';

const TURNS_MAX = Number(process.env.BENCH_TURNS_MAX ?? 10_000);
const PAGE_RUNS = Number(process.env.BENCH_PAGE_RUNS ?? 200);
/** Sessions the RSS run sends to, one turn each at a time. */
const TURN_SESSIONS = 4;
const OWNER = 'local:bench';

// --- RSS over turns -----------------------------------------------------------------------

interface TurnsSample {
  turns: number;
  events: number;
  rss: number;
  heapUsed: number;
  seconds: number;
}

/** Runs in a child started with --expose-gc: turns in rounds over a few sessions. */
async function turnsChild(): Promise<TurnsSample[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const checkpoints = [
    ...new Set([0.1, 0.5, 1].map((f) => Math.max(1, Math.round(TURNS_MAX * f)))),
  ];
  const home = tempHome('cog-bench-turns-');
  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  const ids: string[] = [];
  for (let i = 0; i < TURN_SESSIONS; i++) ids.push((await runtime.createSession(OWNER)).id);
  const out: TurnsSample[] = [];
  const t0 = performance.now();
  let done = 0;
  try {
    for (const checkpoint of checkpoints) {
      while (done < checkpoint) {
        const batch = ids.slice(0, Math.min(ids.length, checkpoint - done));
        await Promise.all(
          batch.map(async (id) => {
            await runtime.send(id, OWNER, 'hello');
            await runtime.settled(id);
          }),
        );
        done += batch.length;
      }
      for (let i = 0; i < 3; i++) {
        gc();
        await sleep(20);
      }
      const m = process.memoryUsage();
      const events = runtime.listSessions(OWNER).reduce((n, s) => n + s.lastSeq, 0);
      const seconds = (performance.now() - t0) / 1000;
      out.push({ turns: done, events, rss: m.rss, heapUsed: m.heapUsed, seconds });
    }
  } finally {
    await runtime.close();
    home.cleanup();
  }
  return out;
}

async function turnsTable(): Promise<BenchTable> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--turns-child'],
    { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the turns run exited ${code}`);
  const samples = JSON.parse(out.trim().split('\n').at(-1)!) as TurnsSample[];
  const first = samples[0]!;
  return {
    title: `RSS after turns: in-process runtime, offline engine, ${TURN_SESSIONS} sessions in parallel, "hello" (no code), after gc`,
    head: [
      'turns',
      'events',
      'elapsed s',
      'RSS MB',
      'heap used MB',
      `heap drift vs ${first.turns}`,
      `RSS drift vs ${first.turns}`,
      'target',
      'result',
    ],
    rows: samples.map((s, i) => {
      const drift = (s.rss / first.rss - 1) * 100;
      const heapDrift = (s.heapUsed / first.heapUsed - 1) * 100;
      const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`;
      return [
        String(s.turns),
        String(s.events),
        s.seconds.toFixed(1),
        (s.rss / MB).toFixed(1),
        (s.heapUsed / MB).toFixed(1),
        i === 0 ? '-' : signed(heapDrift),
        i === 0 ? '-' : signed(drift),
        i === 0 ? '-' : '≤ 10 %',
        i === 0 ? '-' : verdict(Math.max(drift, 0), 10),
      ];
    }),
    notes: [
      'A child `node --expose-gc --import tsx` (the tsx loader is in every reading alike); process.memoryUsage() after three gc() calls at each checkpoint.',
      'RSS rarely shrinks: the first checkpoint still holds the pages of start-up (tokenizer tables, module compile), so a drift below zero means steady, and heap drift is the growth.',
    ],
  };
}

// --- page latency -------------------------------------------------------------------------

async function pageTable(): Promise<BenchTable> {
  const home = tempHome('cog-bench-pages-');
  const store = createFileStore({ dir: join(home.home, 'sessions') });
  const sizes = {
    small: await seedSession(store, 'small', OWNER, 40),
    big: await seedSession(store, 'big', OWNER, 4000),
  };
  await store.close();
  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  try {
    const loadMs: Record<string, number> = {};
    const sessions: Record<string, Session> = {};
    for (const id of ['small', 'big']) {
      const t0 = performance.now();
      sessions[id] = await runtime.session(id, OWNER);
      loadMs[id] = performance.now() - t0;
    }
    const views: [string, (s: Session) => Promise<unknown>][] = [
      ['trace, first 100', (s) => traceView(s, { sinceSeq: 0, limit: 100 })],
      [
        'trace, 100 from the middle',
        (s) => traceView(s, { sinceSeq: Math.floor(s.seq / 2), limit: 100 }),
      ],
      ['trace, last 100', (s) => traceView(s, { sinceSeq: s.seq - 100, limit: 100 })],
      [
        'trace, 10 assistant.message from the middle (filtered)',
        (s) =>
          traceView(s, { sinceSeq: Math.floor(s.seq / 2), limit: 10, type: 'assistant.message' }),
      ],
      ['history, last 20', (s) => historyView(s, { last: 20 })],
      [
        'history, 20 before the middle',
        (s) => historyView(s, { last: 20, beforeSeq: Math.floor(s.seq / 2) }),
      ],
    ];
    const times = views.map(() => ({ small: [] as number[], big: [] as number[] }));
    for (let run = 0; run <= PAGE_RUNS; run++) {
      for (const [i, [, view]] of views.entries()) {
        for (const id of ['small', 'big'] as const) {
          const t0 = performance.now();
          await view(sessions[id]!);
          if (run > 0) times[i]![id].push(performance.now() - t0); // run 0 warms up
        }
      }
    }
    const rows = views.map(([label], i) => {
      const { small, big } = times[i]!;
      const ratio = median(big) / median(small);
      return [
        label,
        median(small).toFixed(3),
        median(big).toFixed(3),
        p90(small).toFixed(3),
        p90(big).toFixed(3),
        ratio.toFixed(2),
        '≤ 1.50',
        verdict(ratio, 1.5),
      ];
    });
    rows.push([
      'first load (runtime.session: snapshot + events after it)',
      loadMs.small!.toFixed(2),
      loadMs.big!.toFixed(2),
      '-',
      '-',
      (loadMs.big! / loadMs.small!).toFixed(2),
      '-',
      '-',
    ]);
    return {
      title: `trace and history pages through the MCP views, ${sizes.big}-event session vs ${sizes.small}-event one, ${PAGE_RUNS} runs each, alternating`,
      head: [
        'page',
        '2k p50 ms',
        '200k p50 ms',
        '2k p90 ms',
        '200k p90 ms',
        'ratio (p50)',
        'target',
        'result',
      ],
      rows,
      notes: [
        'In-process runtime on a seeded home; traceView / historyView from server/mcp/views.ts on the loaded Session (reads go to the store: a loaded session has no tail yet). Page cache warm.',
        'The filtered row reads events in chunks of 500 until it has 10 matches (1 per 50 events): ~500 events in either session.',
      ],
    };
  } finally {
    await runtime.close();
    home.cleanup();
  }
}

// --- append and fsync ---------------------------------------------------------------------

async function appendTable(): Promise<BenchTable> {
  const home = tempHome('cog-bench-append-');
  const store = createFileStore({ dir: join(home.home, 'sessions') });
  const turns = 400;
  const appendMs: number[] = [];
  const flushMs: number[] = [];
  let events = 0;
  try {
    const meta = { id: 'append', owner: OWNER, createdAt: new Date().toISOString() };
    await store.create(meta);
    const s = new Session(meta, store, Date.now);
    s.record({ type: 'session.created', node: 'runtime', owner: OWNER });
    await store.flush('append');
    for (let n = 1; n <= turns; n++) {
      const drafts = turnDrafts(n);
      const t0 = performance.now();
      for (const d of drafts) s.record(d);
      const t1 = performance.now();
      await store.flush('append');
      appendMs.push(t1 - t0);
      flushMs.push(performance.now() - t1);
      events += drafts.length;
    }
  } finally {
    await store.close();
    home.cleanup();
  }
  const perTurn = events / turns;
  const totalAppend = appendMs.reduce((a, b) => a + b, 0);
  return {
    title: `append and fsync, file store, ${turns} turns of ${perTurn} events`,
    head: ['measure', 'p50', 'p90', 'unit', 'target'],
    rows: [
      [
        'append throughput (record → store.append)',
        ((events / totalAppend) * 1000).toFixed(0),
        '-',
        'events/s',
        'none set',
      ],
      [
        'append, one event',
        ((median(appendMs) / perTurn) * 1000).toFixed(1),
        ((p90(appendMs) / perTurn) * 1000).toFixed(1),
        'µs',
        'none set',
      ],
      [
        `append, one turn (${perTurn} events)`,
        median(appendMs).toFixed(2),
        p90(appendMs).toFixed(2),
        'ms',
        'none set',
      ],
      [
        'fsync at the end of a turn (store.flush)',
        median(flushMs).toFixed(2),
        p90(flushMs).toFixed(2),
        'ms',
        'none set',
      ],
    ],
    notes: [
      'No targets in the issue: these say what "seen ⇒ durable" costs (two positional writes per event; two fsyncs per turn, segment and index, in parallel).',
      `Disk under ${home.home.replace(/[^/]+$/, '')}; fsync times depend on it.`,
    ],
  };
}

/** Every event-log table. Builds `dist` if it is missing. */
export async function benchEventLog(): Promise<BenchTable[]> {
  await ensureBuilt();
  return [
    await startupTable(),
    await turnsTable(),
    await pageTable(),
    await idleTable(),
    await appendTable(),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] === '--turns-child') {
    process.stdout.write(`${JSON.stringify(await turnsChild())}\n`);
  } else {
    const { formatTable } = await import('./report.js');
    for (const t of await benchEventLog()) process.stdout.write(formatTable(t));
  }
}
