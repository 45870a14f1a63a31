/**
 * The crash driver behind test/integration/event-log-crash.test.ts and `npm run soak`.
 *
 * Each round starts a real `cog serve` (or, one round in five, `cog chat --json`) on the
 * same COG_HOME, sends one message to the same session, and SIGKILLs the process at a
 * moment drawn from a seeded PRNG: a time into the turn, or just after the client has seen
 * a given event (the first token, the n-th delta, `turn.done`, the tool result, the
 * memorizer starting, `memory.updated`). The model is the fixture OpenAI server, streaming
 * slowly enough for the kills to land mid-stream.
 *
 * The kill plan is in ./crash-plan.ts; what was seen and how it is held against the log
 * after each restart is in ./crash-ledger.ts.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { HUD_LOGGER } from '../../protocol/mcp.js';
import type { TracePage, TurnResult } from '../../protocol/results.js';
import {
  FIXTURE_MODEL,
  reply,
  startFixtureServer,
  type FixtureServer,
} from '../fixtures/openai-server.js';
import { cogEnv, ensureBuilt, spawnCog, startServe, type ServeHandle } from './cog-process.js';
import {
  Ledger,
  newCrashReport,
  SESSION,
  type CrashReport,
  type Sighting,
  type WireEvent,
} from './crash-ledger.js';
import { armKill, planRound, prng, triggerLabel, type RoundPlan } from './crash-plan.js';

export interface CrashOptions {
  /** SIGKILLs to deliver, over all lanes. */
  kills: number;
  /** COG_HOME (with `lanes` > 1, each lane gets `<home>/lane-<n>`). */
  home: string;
  /** Seeds the kill plan: the same seed picks the same moments (timing still varies). */
  seed?: number;
  /** Independent homes killed in parallel: the rounds are mostly waiting on startup. */
  lanes?: number;
  /** Share of rounds run through `cog chat --json` instead of `cog serve`. Default 0.2. */
  chatShare?: number;
  log?: (line: string) => void;
}

const REQUEST_MS = 20_000;

async function connect(h: ServeHandle, onEvent: (e: unknown) => void): Promise<Client> {
  const client = new Client({ name: 'cog-crash', version: '1.0.0' });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    if (n.params.logger === HUD_LOGGER) onEvent(n.params.data);
  });
  client.onerror = () => undefined; // the server is killed on purpose
  await client.connect(
    new StreamableHTTPClientTransport(new URL(h.url), {
      requestInit: { headers: { Authorization: `Bearer ${h.token}` } },
      // A killed server is not coming back on this port.
      reconnectionOptions: {
        maxRetries: 0,
        initialReconnectionDelay: 1000,
        maxReconnectionDelay: 1000,
        reconnectionDelayGrowFactor: 1,
      },
    }),
  );
  return client;
}

async function tracePage(client: Client, since: number): Promise<TracePage> {
  const r = await client.callTool(
    { name: 'trace', arguments: { session: SESSION, since_seq: since, limit: 1000 } },
    undefined,
    { timeout: REQUEST_MS },
  );
  if (r.isError) throw new Error(`trace failed: ${JSON.stringify(r.content)}`);
  return r.structuredContent as TracePage;
}

/** The log after `since`, page by page to its end. */
async function readLog(client: Client, since: number): Promise<WireEvent[]> {
  const out: WireEvent[] = [];
  for (let next = since; ;) {
    const page = await tracePage(client, next);
    out.push(...(page.events as WireEvent[]));
    if (!page.has_more) return out;
    if (page.next_seq <= next) throw new Error(`trace paging stuck at since_seq ${next}`);
    next = page.next_seq;
  }
}

/** One COG_HOME killed round after round. */
class Lane {
  readonly ledger: Ledger;
  private life = 0;
  private trigger: ReturnType<typeof armKill> | undefined;

  constructor(
    readonly index: number,
    private readonly home: string,
    private readonly fixture: FixtureServer,
    private readonly report: CrashReport,
    private readonly rand: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.ledger = new Ledger(index, report);
  }

  private get env() {
    return {
      COG_LLM_BASE_URL: this.fixture.url,
      COG_LLM_API_KEY: 'crash-test',
      COG_MODEL: FIXTURE_MODEL,
      COG_PIPELINE: 'fast',
      COG_SANDBOX: 'wasm',
    };
  }

  private script(plan: RoundPlan, round: number) {
    const f = this.fixture;
    f.reset();
    f.script('input', [reply.text('The user is testing crashes.', { delayMs: 5 })]);
    f.script('thinker', [
      reply.text(plan.reply, {
        delayMs: plan.firstByteMs,
        chunkSize: plan.chunkSize,
        chunkDelayMs: plan.chunkDelayMs,
      }),
    ]);
    const memory = { topic: `crash round ${round}`, user_mood: 'patient' };
    f.script('memorizer', [reply.text(JSON.stringify(memory), { delayMs: plan.memorizerMs })]);
  }

  /** Starts `cog serve`, reads the whole new part of the log and settles the ledger. */
  private async open(
    label: string,
    watch: boolean,
  ): Promise<{ started: ServeHandle; client: Client; life: number }> {
    const life = ++this.life;
    this.ledger.labels.set(life, label);
    const started = await startServe(this.home, { env: this.env });
    try {
      const client = await connect(started, (e) => watch && this.onEvent(e, 'hud', life));
      await client.setLoggingLevel('debug', { timeout: REQUEST_MS });
      if (this.ledger.checkedSeq === 0 && !(await this.hasSession(client))) {
        await client.callTool(
          { name: 'sessions', arguments: { action: 'create', id: SESSION } },
          undefined,
          { timeout: REQUEST_MS },
        );
      }
      this.ledger.learn(await readLog(client, this.ledger.checkedSeq), life);
      this.ledger.settle(life);
      return { started, client, life };
    } catch (err) {
      started.serve.child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\nstderr:\n${started.serve.stderr()}`);
    }
  }

  private async hasSession(client: Client): Promise<boolean> {
    const list = await client.callTool({ name: 'sessions', arguments: {} }, undefined, {
      timeout: REQUEST_MS,
    });
    return (list.structuredContent as { sessions: { id: string }[] }).sessions.some(
      (s) => s.id === SESSION,
    );
  }

  private onEvent(e: unknown, source: Sighting['source'], life: number) {
    this.ledger.sight(e, source, life);
    this.trigger?.onEvent(e as WireEvent);
  }

  async serveRound(round: number, plan: RoundPlan): Promise<void> {
    const label = `round ${round}, cog serve, kill at ${triggerLabel(plan.trigger)}`;
    const { started, client, life } = await this.open(label, true);
    const { ledger } = this;
    const text = `crash ${this.index}.${round}: ${plan.reply.slice(0, 30)}`;
    this.script(plan, round);
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      started.serve.child.kill('SIGKILL');
    };
    this.trigger = armKill(plan.trigger, ledger.checkedSeq, kill);
    const progress = { life, text, messages: [] as string[] };
    ledger.progress.push(progress);
    ledger.kills.push({ life, text });
    const send = client
      .callTool({ name: 'send', arguments: { text, session: SESSION } }, undefined, {
        timeout: REQUEST_MS,
        onprogress: (p) => {
          if (p.message !== undefined) progress.messages[p.progress - 1] = p.message;
        },
      })
      .then(
        (r) => {
          ledger.results.push({ life, result: r.structuredContent as TurnResult });
          this.report.resultsReceived++;
          this.trigger?.onResult();
        },
        () => undefined, // killed before the result: nothing was acknowledged
      );
    this.trigger.start();
    const poll = (async () => {
      for (let since = ledger.checkedSeq; !killed;) {
        const page = await tracePage(client, since).catch(() => undefined);
        if (!page) return;
        for (const e of page.events) this.onEvent(e, 'trace', life);
        since = page.next_seq;
        await delay(10 + Math.floor(this.rand() * 60));
      }
    })();
    const exit = await started.serve.exited;
    this.trigger.dispose();
    this.trigger = undefined;
    await client.close().catch(() => undefined);
    await Promise.all([send, poll]);
    this.report.progressSeen += progress.messages.filter((m) => m !== undefined).length;
    this.finish(exit, life, 'serve', started.serve.stderr());
  }

  async chatRound(round: number, plan: RoundPlan): Promise<void> {
    const life = ++this.life;
    const text = `crash ${this.index}.${round}: ${plan.reply.slice(0, 30)}`;
    const label = `round ${round}, cog chat --json, kill at ${triggerLabel(plan.trigger)}`;
    this.ledger.labels.set(life, label);
    this.ledger.kills.push({ life, text });
    this.script(plan, round);
    const chat = spawnCog(['chat', '--json', '--session', SESSION], cogEnv(this.home, this.env));
    this.trigger = armKill(plan.trigger, this.ledger.checkedSeq, () => chat.child.kill('SIGKILL'));
    // stdin stays open: with it closed chat would finish the turn and exit by itself.
    chat.child.stdin.on('error', () => undefined); // EPIPE once it is killed
    chat.child.stdin.write(`${text}\n`);
    // Whole lines only: a line the kill cut short was never seen as an event.
    let buffered = '';
    chat.child.stdout.setEncoding('utf8');
    chat.child.stdout.on('data', (d: string) => {
      const lines = (buffered + d).split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) this.chatLine(line, life);
    });
    const startup = setTimeout(() => this.trigger?.start(), 15_000);
    const exit = await chat.exited;
    clearTimeout(startup);
    this.trigger.dispose();
    this.trigger = undefined;
    this.finish(exit, life, 'chat', chat.stderr());
  }

  private chatLine(line: string, life: number) {
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      this.report.anomalies++;
      this.ledger.problem(life, `cog chat --json printed a line that is not JSON: ${line}`);
      return;
    }
    this.onEvent(e, 'chat', life);
    this.trigger?.start(); // the clock starts at the first line: startup takes a while
  }

  private finish(exit: number | string | null, life: number, via: 'serve' | 'chat', err: string) {
    if (exit === 'SIGKILL') {
      this.report.kills++;
      if (via === 'serve') this.report.serveKills++;
      else this.report.chatKills++;
    } else {
      this.report.anomalies++;
      this.ledger.problem(life, `cog ${via} exited (${exit}) before it was killed:\n${err}`);
    }
  }

  /**
   * A last restart that only reads: everything seen is settled, and the whole log is read
   * again and held against what earlier reads showed.
   */
  async close(): Promise<void> {
    const { started, client, life } = await this.open('final check', false);
    try {
      const all = await readLog(client, 0);
      const again = new Map(all.map((e) => [e.seq, e]));
      for (const [seq, e] of this.ledger.known) {
        const now = again.get(seq);
        if (!now) this.ledger.problem(life, `seq ${seq} ${e.type} was in the log and is gone`);
        if (!now) this.ledger.lostSeqs.add(seq);
        else if (!isDeepStrictEqual(now, e)) {
          this.ledger.problem(life, `seq ${seq} changed from ${e.type} to ${now.type}`);
          this.ledger.renumberedSeqs.add(seq);
        }
      }
      for (let i = 1; i < all.length; i++) {
        if (all[i].seq !== all[i - 1].seq + 1) {
          this.report.gaps++;
          this.ledger.problem(life, `the log goes from seq ${all[i - 1].seq} to ${all[i].seq}`);
        }
      }
      this.log(
        `lane ${this.index}: final log ${all.length} events, seq ${all[0]?.seq}-${all.at(-1)?.seq}`,
      );
    } finally {
      await client.close().catch(() => undefined);
      await started.serve.stop();
    }
  }
}

/**
 * Runs `kills` crash rounds (spread over `lanes` homes) and a final check, and reports
 * what was seen, what was checked and what the log lost. Throws only when the harness
 * itself cannot go on (a server that will not start, say); losses are in the report.
 */
export async function runCrashRounds(opts: CrashOptions): Promise<CrashReport> {
  const t0 = Date.now();
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const lanes = Math.max(1, Math.min(opts.lanes ?? 1, opts.kills));
  const log = opts.log ?? (() => undefined);
  const report = newCrashReport(seed);
  await ensureBuilt();
  const plans = prng(seed);
  const fixtures = await Promise.all(
    Array.from({ length: lanes }, () => startFixtureServer({ latencyMs: 0 })),
  );
  try {
    const all = fixtures.map((fixture, i) => {
      const home = lanes === 1 ? opts.home : join(opts.home, `lane-${i}`);
      mkdirSync(home, { recursive: true });
      const rounds = Math.floor(opts.kills / lanes) + (i < opts.kills % lanes ? 1 : 0);
      const lane = new Lane(i, home, fixture, report, prng(seed + 1 + i), log);
      const lanePlans = Array.from({ length: rounds }, (_, r) =>
        // Round 1 creates the session through `cog serve`.
        r === 0
          ? { ...planRound(plans, 0), via: 'serve' as const }
          : planRound(plans, opts.chatShare ?? 0.2),
      );
      return { lane, lanePlans };
    });
    // Settled, not all: a lane that fails must not leave the other running into closed fixtures.
    const ran = await Promise.allSettled(
      all.map(async ({ lane, lanePlans }) => {
        for (const [r, plan] of lanePlans.entries()) {
          if (plan.via === 'serve') await lane.serveRound(r + 1, plan);
          else await lane.chatRound(r + 1, plan);
          const l = lane.ledger;
          log(
            `lane ${lane.index} round ${r + 1}/${lanePlans.length} ${plan.via} kill@${triggerLabel(plan.trigger)}: ` +
              `${l.firstSeen.size} seen, ${l.checked.size} checked, lost ${l.lostSeqs.size + l.lostOther}, ` +
              `renumbered ${l.renumberedSeqs.size}`,
          );
        }
        await lane.close();
      }),
    );
    for (const r of ran) if (r.status === 'rejected') throw r.reason;
    for (const { lane } of all) {
      const l = lane.ledger;
      report.eventsSeen += l.firstSeen.size;
      report.sightings += l.sightings;
      report.eventsChecked += l.checked.size;
      report.lost += l.lostSeqs.size + l.lostOther;
      report.renumbered += l.renumberedSeqs.size;
    }
  } finally {
    await Promise.all(fixtures.map((f) => f.close()));
  }
  report.durationMs = Date.now() - t0;
  return report;
}
