/**
 * The event-log tables measured on a spawned `cog serve` (offline engine): start-up with
 * 0 / 100k / 1M events on disk, and an idle server with 1,000 sessions. The server's RSS
 * and CPU are read from /proc. BENCH_STARTUP_RUNS and BENCH_IDLE_MS are described in
 * ./event-log.ts, which runs these tables.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { localPrincipal } from '../../server/auth/tokens.js';
import type { SessionSummary } from '../../server/runtime/runtime.js';
import { connectHttp, startServe } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';
import { bytesUnder, seedHome } from './event-log-seed.js';
import type { BenchTable } from './report.js';
import { MB, cpuSeconds, median, rssOf, verdict } from './proc-stats.js';

const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 20_000);
/** What `cog serve` keeps loaded at most (MAX_LOADED_SESSIONS in the runtime). */
const IDLE_LOADED = 200;

interface ToolResult {
  structuredContent?: Record<string, unknown>;
}
const callTool = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
  ((await client.callTool({ name, arguments: args })) as ToolResult).structuredContent ?? {};

// --- start-up -----------------------------------------------------------------------------

/** Start-up of `cog serve` by events on disk, homes alternating run by run. */
export async function startupTable(): Promise<BenchTable> {
  const owner = localPrincipal();
  const homes = [
    { label: 'empty', sessions: 0, ...tempHome('cog-bench-start0-'), events: 0 },
    { label: '100k', sessions: 100, ...(await seedHome('cog-bench-start1-', 100, 20, owner)) },
    { label: '1M', sessions: 100, ...(await seedHome('cog-bench-start2-', 100, 200, owner)) },
  ];
  const samples = homes.map(() => ({
    ready: [] as number[],
    list: [] as number[],
    rss: [] as number[],
    cpu: [] as number[],
  }));
  try {
    // Run 0 makes each home's token file and warms the page cache; it is not counted. The
    // order rotates run by run, so no home always follows the same one.
    for (let run = 0; run <= STARTUP_RUNS; run++) {
      for (let k = 0; k < homes.length; k++) {
        const i = (k + run) % homes.length;
        const home = homes[i]!;
        const t0 = performance.now();
        const started = await startServe(home.home, { env: { COG_OFFLINE: '1' } });
        const ready = performance.now() - t0;
        const pid = started.serve.child.pid!;
        const rss = rssOf(pid);
        const cpu = cpuSeconds(pid) * 1000;
        const client = await connectHttp(started, 'cog-bench');
        const listed = await callTool(client, 'sessions');
        const list = performance.now() - t0;
        await client.close();
        await started.serve.stop();
        const count = (listed.sessions as unknown[] | undefined)?.length;
        if (count !== home.sessions) throw new Error(`${home.label}: listed ${count} sessions`);
        if (run > 0) {
          samples[i]!.ready.push(ready);
          samples[i]!.list.push(list);
          samples[i]!.rss.push(rss);
          samples[i]!.cpu.push(cpu);
        }
      }
    }
    const empty = median(samples[0]!.ready);
    return {
      title: `cog serve start-up (offline) by events on disk, median of ${STARTUP_RUNS} runs, homes alternating`,
      head: [
        'home',
        'sessions',
        'events',
        'on disk MB',
        'spawn → ready ms',
        'CPU to ready ms',
        'spawn → sessions listed ms',
        'RSS at ready MB',
        'ready / empty',
        'target',
        'result',
      ],
      rows: homes.map((h, i) => {
        const ready = median(samples[i]!.ready);
        const ratio = ready / empty;
        const disk = h.events ? bytesUnder(join(h.home, 'sessions')) / MB : 0;
        return [
          h.label,
          String(h.sessions),
          String(h.events),
          disk.toFixed(1),
          ready.toFixed(1),
          median(samples[i]!.cpu).toFixed(0),
          median(samples[i]!.list).toFixed(1),
          (median(samples[i]!.rss) / MB).toFixed(1),
          ratio.toFixed(2),
          i === 0 ? '-' : '≤ 1.30',
          i === 0 ? '-' : verdict(ratio, 1.3),
        ];
      }),
      notes: [
        'ready: from spawn of `node dist/cog.mjs serve --port 0` to its JSON line on stdout; sessions listed: to the first MCP `sessions` result over HTTP (SDK client, connect included).',
        'CPU to ready: utime + stime of the server at that moment (/proc, 10 ms steps): the work itself, less sensitive than wall time to a busy machine.',
        'RSS: VmRSS of the server process, read as soon as the ready line arrives. Each seeded session: meta.json, segments, events.idx, snapshot.json; ~50 events a turn.',
      ],
    };
  } finally {
    for (const h of homes) h.cleanup();
  }
}

// --- idle ---------------------------------------------------------------------------------

interface IdleWindow {
  label: string;
  seconds: number;
  cpu: number;
  rss: number;
  /** Events the sessions gained during the window. */
  written: number;
  /** Events they gained from the end of the previous window to the start of this one. */
  before: number;
  /** VmRSS of the server when it printed its ready line. */
  readyRss: number;
}

/**
 * One `cog serve` on `homeDir`, idle for IDLE_MS per phase: first with nothing loaded,
 * then after loading each count of sessions more (an MCP `state` call each) and letting
 * the sensor's first tick pass (every 5 s in `cog serve`), with no client connected. A 0
 * in `loads` is one more window right after the previous one, nothing loaded in between.
 */
async function idleWindows(homeDir: string, label: string, loads: number[]) {
  const started = await startServe(homeDir, { env: { COG_OFFLINE: '1' } });
  const pid = started.serve.child.pid!;
  const readyRss = rssOf(pid);
  const listed = async () => {
    const client = await connectHttp(started, 'cog-bench');
    const sessions = (await callTool(client, 'sessions')).sessions as SessionSummary[];
    await client.close();
    return { ids: sessions.map((s) => s.id), seq: sessions.reduce((n, s) => n + s.lastSeq, 0) };
  };
  const out: IdleWindow[] = [];
  try {
    let last = await listed();
    let loaded = 0;
    for (const load of [0, ...loads]) {
      if (load > 0) {
        const client = await connectHttp(started, 'cog-bench');
        for (let i = loaded; i < loaded + load; i += 10) {
          const ids = last.ids.slice(i, Math.min(i + 10, loaded + load));
          await Promise.all(ids.map((session) => callTool(client, 'state', { session })));
        }
        await client.close();
        loaded += load;
        await sleep(6000);
      }
      const before = await listed();
      await sleep(1000);
      const cpu0 = cpuSeconds(pid);
      const t0 = performance.now();
      await sleep(IDLE_MS);
      const cpu = cpuSeconds(pid) - cpu0;
      const seconds = (performance.now() - t0) / 1000;
      const rss = rssOf(pid);
      const after = await listed();
      const phase = loaded ? `${loaded} loaded (MCP state each)` : 'none loaded';
      out.push({
        label: `${label}, ${phase}${out.length > 0 && load === 0 ? ', next window' : ''}`,
        seconds,
        cpu,
        rss,
        written: after.seq - before.seq,
        before: before.seq - last.seq,
        readyRss,
      });
      last = after;
    }
  } finally {
    await started.serve.stop();
  }
  return out;
}

/** An idle `cog serve`, empty and then with 1,000 long-idle sessions, some loaded. */
export async function idleTable(): Promise<BenchTable> {
  const empty = tempHome('cog-bench-idle0-');
  const home = await seedHome('cog-bench-idle-', 1000, 1, localPrincipal());
  try {
    const windows = [
      ...(await idleWindows(empty.home, 'no sessions (baseline)', [])),
      ...(await idleWindows(home.home, '1,000 sessions', [IDLE_LOADED, 0])),
    ];
    const row = (w: IdleWindow, i: number) => {
      const pct = (w.cpu / w.seconds) * 100;
      const missed = [pct > 0.5 ? 'CPU' : '', w.rss > 150 * MB ? 'RSS' : ''].filter(Boolean);
      return [
        w.label,
        w.seconds.toFixed(1),
        w.cpu.toFixed(2),
        pct.toFixed(3),
        i === 0 ? '-' : '≤ 0.50 %',
        (w.readyRss / MB).toFixed(1),
        (w.rss / MB).toFixed(1),
        i === 0 ? '-' : '≤ 150 MB',
        String(w.before),
        String(w.written),
        i === 0 ? '-' : missed.length ? `MISSED (${missed.join(', ')})` : 'ok',
      ];
    };
    return {
      title: `idle cog serve with 1,000 sessions (${home.events} events, 1 turn each, last used 30 days ago), ${(IDLE_MS / 1000).toFixed(0)} s windows`,
      head: [
        'server, phase',
        'window s',
        'CPU s',
        'CPU %',
        'target',
        'RSS at ready MB',
        'RSS MB',
        'target',
        'events written before',
        'during',
        'result',
      ],
      rows: windows.map(row),
      notes: [
        'CPU: utime + stime of the server from /proc/<pid>/stat over the window (10 ms steps), no client connected; RSS: VmRSS at its end (after the MCP calls that listed and loaded sessions).',
        'events written: the sessions’ lastSeq summed over `sessions`; "before" counts from the previous window (or start-up) to this one, loading and the sensor’s first tick included.',
      ],
    };
  } finally {
    empty.cleanup();
    home.cleanup();
  }
}
