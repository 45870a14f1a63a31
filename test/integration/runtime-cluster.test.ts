import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { eventsOf, tempHome, testConfig } from '../helpers/runtime.js';

// Three runtimes (as three cog serve instances would hold) on one PostgreSQL database,
// in this process: sessions, live events, one turn at a time per session, sensor ticks.
// The same with real processes, a load balancer and SIGKILL: the cog-cluster tests.

const OWNER = 'local:cluster-test';
let server: PgServer;
let databases = 0;
const cleanups: Array<() => Promise<void> | void> = [];

before(async () => {
  server = await startPostgres();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await server?.stop();
});

async function cluster(n: number, more: Parameters<typeof testConfig>[1] = {}, now?: () => number) {
  const databaseUrl = await server.createDatabase(`cluster_${++databases}`);
  const runtimes: Runtime[] = [];
  for (let i = 0; i < n; i++) {
    const home = tempHome(`cog-cluster-${i}-`);
    const r = await createRuntime(testConfig(home.home, { databaseUrl, ...more }), {
      sandbox: 'none',
      ...(now ? { now } : {}),
    });
    runtimes.push(r);
    cleanups.push(async () => {
      await r.close();
      home.cleanup();
    });
  }
  return { runtimes, databaseUrl };
}

/** Resolves when `probe` holds; polls, failing after `ms`. */
async function until(what: string, probe: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!probe()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a session made on A is sent to on B and followed live on C, every event once, in order', async () => {
  const { runtimes } = await cluster(3);
  const [a, b, c] = runtimes as [Runtime, Runtime, Runtime];
  const made = await a.createSession(OWNER, { id: 'across' });
  // C follows from the start, before B has sent anything.
  const seenOnC: RuntimeEvent[] = [];
  const unsubscribe = await c.subscribe(made.id, OWNER, (e) => seenOnC.push(e), 0);
  const turn = await b.send(made.id, OWNER, 'what is 6*7?');
  assert.equal(turn.status, 'ok');
  assert.match(turn.text, /42/);
  // The memorizer goes on writing after the reply: wait until C and the log agree.
  let stored = await eventsOf(a, made.id, OWNER);
  for (
    let i = 0;
    seenOnC.length !== stored.length || seenOnC.at(-1)?.seq !== stored.at(-1)?.seq;
    i++
  ) {
    assert.ok(i < 200, `C caught up (${seenOnC.length} of ${stored.length})`);
    await new Promise((r) => setTimeout(r, 50));
    stored = await eventsOf(a, made.id, OWNER);
  }
  unsubscribe();
  assert.deepEqual(
    seenOnC.map((e) => e.seq),
    stored.map((e) => e.seq),
    'C saw exactly the stored events, in order',
  );
  assert.deepEqual(
    stored.map((e) => e.seq),
    stored.map((_, i) => i + 1),
  );
  assert.ok(seenOnC.some((e) => e.type === 'turn.done'));
  // A, which made the session but ran nothing, lists it with B's turn counted.
  await until('A to know of the turn', () =>
    a.listSessions(OWNER).some((s) => s.id === made.id && s.lastSeq === stored.length),
  );
});

test('sends into one session through two instances at once: one turn at a time, each done once', async () => {
  const { runtimes, databaseUrl } = await cluster(2);
  const [a, b] = runtimes as [Runtime, Runtime];
  const made = await a.createSession(OWNER, { id: 'contended' });
  await b.session(made.id, OWNER);
  const sends = [
    a.send(made.id, OWNER, 'what is 2+3?'),
    b.send(made.id, OWNER, 'what is 4+5?'),
    a.send(made.id, OWNER, 'show me a table'),
    b.send(made.id, OWNER, 'what is 7+1?'),
  ];
  const results = await Promise.all(sends);
  for (const r of results) assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.equal(new Set(results.map((r) => r.turn)).size, 4, 'four different turns');
  const events = await eventsOf(a, made.id, OWNER);
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    'no seq twice, none missing',
  );
  // No interleaving: each turn's events form one run, from its start to its done.
  const order: string[] = [];
  for (const e of events) {
    // A queue notice comes while the turn before runs; the memorizer follows its turn.
    if (!e.turn || e.type === 'turn.queued' || e.node === 'memorizer') continue;
    if (order.at(-1) !== e.turn) order.push(e.turn);
  }
  const once = order.filter((t, i) => order.indexOf(t) === i);
  assert.deepEqual(order, once, `turns did not interleave: ${order.join(' ')}`);
  assert.equal(events.filter((e) => e.type === 'turn.done').length, 4);
  // And the lease is let go once all of it is over.
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    for (let i = 0; ; i++) {
      const { rows } = await db.query('SELECT lease_holder FROM cog_sessions');
      if (rows.every((r) => r.lease_holder === null)) break;
      assert.ok(i < 200, 'the lease is released after the work');
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await db.end();
  }
});

test('reject across instances: a send while another instance runs the session is refused', async () => {
  const { runtimes } = await cluster(2, { approval: 'ask' });
  const [a, b] = runtimes as [Runtime, Runtime];
  const made = await a.createSession(OWNER, { id: 'busy' });
  // A's turn waits for an approval, holding the session.
  const first = a.send(made.id, OWNER, 'what is 6*7?');
  const s = await a.session(made.id, OWNER);
  await until('A to wait for approval', () =>
    [...s.processes.values()].some((p) => p.status === 'pending-approval'),
  );
  await assert.rejects(b.send(made.id, OWNER, 'hello', { ifBusy: 'reject' }), {
    code: 'session_busy',
  });
  const pending = [...s.processes.values()].find((p) => p.status === 'pending-approval');
  assert.ok(pending);
  a.approve(pending.id, OWNER, 'deny', undefined, 'test');
  await first;
});

test('interrupt across instances: the other instance cancels its turn, and the new one runs', async () => {
  const { runtimes } = await cluster(2, { approval: 'ask' });
  const [a, b] = runtimes as [Runtime, Runtime];
  const made = await a.createSession(OWNER, { id: 'interrupted' });
  const first = a.send(made.id, OWNER, 'what is 6*7?');
  const s = await a.session(made.id, OWNER);
  await until('A to wait for approval', () =>
    [...s.processes.values()].some((p) => p.status === 'pending-approval'),
  );
  const second = await b.send(made.id, OWNER, 'hello there', { ifBusy: 'interrupt' });
  assert.equal(second.status, 'ok');
  const ended = await first;
  assert.equal(ended.status, 'cancelled', JSON.stringify(ended));
  const events = await eventsOf(b, made.id, OWNER);
  const done = events.filter((e) => e.type === 'turn.done').map((e) => e.turn);
  assert.deepEqual(done, [ended.turn, second.turn], 'the first ended before the second ran');
});

test('sensor ticks: once per session across instances, not once per instance', async () => {
  // One clock for both (the sensor's idle bands are 30 s and up): moved by hand.
  let clock = Date.now();
  const { runtimes } = await cluster(2, { sensorIntervalMs: 100 }, () => clock);
  const [a, b] = runtimes as [Runtime, Runtime];
  const made = await a.createSession(OWNER, { id: 'ticking' });
  await a.send(made.id, OWNER, 'hello');
  await b.session(made.id, OWNER);
  const ticks = async () =>
    (await eventsOf(a, made.id, OWNER)).filter((e) => e.type === 'sensor.tick').length;
  await new Promise((r) => setTimeout(r, 500));
  const before = await ticks();
  // Both instances' sensors see the session cross into "idle over 30s"...
  clock += 31_000;
  await new Promise((r) => setTimeout(r, 800));
  const after = await ticks();
  // ...and it is written once, not once per instance.
  assert.equal(after - before, 1, `one tick for the crossing (${before} → ${after})`);
});

test('a decision forwarded to the instance running the run: taken for its owner, not for another principal', async () => {
  const { runtimes } = await cluster(2, { approval: 'ask' });
  const [a, b] = runtimes as [Runtime, Runtime];
  const made = await a.createSession(OWNER, { id: 'forwarded' });
  const first = a.send(made.id, OWNER, 'what is 6*7?');
  const s = await a.session(made.id, OWNER);
  await until('A to wait for approval', () =>
    [...s.processes.values()].some((p) => p.status === 'pending-approval'),
  );
  const pending = [...s.processes.values()].find((p) => p.status === 'pending-approval')!;
  // Another principal, through B: the instance running it does not answer for it.
  await assert.rejects(
    b.forwardApproval(pending.id, 'local:someone-else', 'approve', pending.codeSha256),
    { code: 'process_not_found' },
  );
  assert.equal(s.processes.get(pending.id)?.status, 'pending-approval', 'nothing ran');
  // The owner, through B: A takes it, and the turn finishes there.
  const decided = await b.forwardApproval(pending.id, OWNER, 'approve', pending.codeSha256);
  assert.notEqual(decided.status, 'pending-approval');
  const done = await first;
  assert.equal(done.status, 'ok');
  assert.match(done.text, /42/);
});
