import assert from 'node:assert/strict';
import { sendTool as send, type SentTurn } from '../helpers/mcp-send.js';
import { after, before, test, type TestContext } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startCogCluster, type CogCluster } from '../helpers/cog-cluster.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';

// Losing an instance, with three real `cog serve --database` processes: one SIGKILLed in
// the middle of a turn (its lease runs out, another instance closes the turn and serves
// the next message), one SIGSTOPped until its lease has moved on (when it wakes up, what
// it writes is refused). A turn is held open by a code run waiting for approval.

let server: PgServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

interface TraceEvent {
  seq: number;
  type: string;
  turn?: string;
  status?: string;
  error?: string;
  process?: { id: string; status: string };
}

async function trace(client: Client, session: string): Promise<TraceEvent[]> {
  const r = await client.callTool({ name: 'trace', arguments: { session, limit: 1000 } });
  return (r.structuredContent as { events: TraceEvent[] }).events;
}

/** Polls the trace through `client` until `probe` finds what it wants; ms it took. */
async function traceUntil(
  client: Client,
  session: string,
  what: string,
  probe: (events: TraceEvent[]) => boolean,
  ms = 30_000,
): Promise<{ events: TraceEvent[]; waited: number }> {
  const started = Date.now();
  for (;;) {
    const events = await trace(client, session);
    if (probe(events)) return { events, waited: Date.now() - started };
    assert.ok(Date.now() - started < ms, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const contiguous = (events: TraceEvent[]) =>
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
    'every seq once, in order',
  );

async function cluster(t: TestContext, db: string): Promise<CogCluster> {
  const c = await startCogCluster({
    n: 3,
    databaseUrl: await server.createDatabase(db),
    env: { COG_OFFLINE: '1', COG_APPROVAL: 'ask' },
  });
  t.after(() => c.stop());
  return c;
}

/** A turn on `client` left open: its code run waits for an approval nobody gives. */
async function openTurn(client: Client): Promise<SentTurn> {
  const turn = await send(client, { text: 'what is 6*7?' });
  assert.equal(turn.status, 'awaiting_approval', JSON.stringify(turn));
  assert.ok(turn.pending, 'the run waiting for a decision');
  return turn;
}

const interrupted = (turn: string) => (events: TraceEvent[]) =>
  events.some(
    (e) => e.type === 'turn.done' && e.turn === turn && /interrupted/.test(e.error ?? ''),
  );

test('SIGKILL of the instance running a turn: another closes it within seconds and serves the next message', async (t) => {
  const c = await cluster(t, 'failover_kill');
  const zero = await c.client(0);
  const one = await c.client(1);
  const open = await openTurn(zero);
  c.kill(0, 'SIGKILL');
  const { events, waited } = await traceUntil(
    one,
    open.session,
    'the turn closed',
    interrupted(open.turn),
  );
  t.diagnostic(`instance 0 killed → its turn closed on another instance after ${waited} ms`);
  const run = events.filter(
    (e) => e.type === 'process.updated' && e.process?.id === open.pending!.id,
  );
  assert.equal(run.at(-1)?.process?.status, 'interrupted', 'the waiting run is closed too');
  contiguous(events);
  // The next message is served by a live instance.
  const next = await send(one, { session: open.session, text: 'hello again' });
  assert.equal(next.status, 'ok');
  assert.notEqual(next.turn, open.turn);
  contiguous(await trace(c.instances.length > 2 ? await c.client(2) : one, open.session));
});

test('a paused instance whose session was taken over writes nothing when it wakes up', async (t) => {
  const c = await cluster(t, 'failover_pause');
  const zero = await c.client(0);
  const one = await c.client(1);
  const open = await openTurn(zero);
  c.kill(0, 'SIGSTOP');
  try {
    await traceUntil(one, open.session, 'the take-over', interrupted(open.turn));
    const next = await send(one, { session: open.session, text: 'hello while 0 sleeps' });
    assert.equal(next.status, 'ok');
  } finally {
    c.kill(0, 'SIGCONT');
  }
  const before = await trace(one, open.session);
  // Awake again, instance 0 still thinks its run waits: approving it there must not land.
  const approved = await zero
    .callTool({
      name: 'process-approve',
      arguments: {
        process: open.pending!.id,
        decision: 'approve',
        codeSha256: open.pending!.codeSha256,
      },
    })
    .catch((err: unknown) => ({ isError: true, content: String(err) }));
  assert.equal(approved.isError, true, 'the woken instance refuses to run it');
  assert.match(JSON.stringify(approved.content), /another Cog instance took its session over/);
  await new Promise((r) => setTimeout(r, 1500));
  const after = await trace(one, open.session);
  contiguous(after);
  const late = after.slice(before.length).filter((e) => e.turn === open.turn);
  assert.deepEqual(late, [], 'nothing of the taken-over turn landed after the take-over');
  assert.ok(
    !after.some((e) => e.type === 'process.updated' && e.process?.status === 'done'),
    'the run never ran',
  );
});

test('an approval that lands on another instance goes to the one running the turn', async (t) => {
  const c = await cluster(t, 'failover_forward');
  const zero = await c.client(0);
  const one = await c.client(1);
  const two = await c.client(2);
  const open = await openTurn(zero);
  const approved = await one.callTool({
    name: 'process-approve',
    arguments: {
      process: open.pending!.id,
      decision: 'approve',
      codeSha256: open.pending!.codeSha256,
    },
  });
  assert.equal(approved.isError, undefined, JSON.stringify(approved.content));
  const { events } = await traceUntil(two, open.session, 'the turn done', (evs) =>
    evs.some((e) => e.type === 'turn.done' && e.turn === open.turn),
  );
  const run = events.filter(
    (e) => e.type === 'process.updated' && e.process?.id === open.pending!.id,
  );
  assert.equal(run.at(-1)?.process?.status, 'done', 'the run ran, on instance 0');
  const done = events.find((e) => e.type === 'turn.done' && e.turn === open.turn);
  assert.equal(done?.status, 'ok');
  contiguous(events);
});
