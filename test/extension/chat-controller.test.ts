import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { HostToWebview } from '../../protocol/webview.js';
import type { CogClient } from '../../extension/cog-client.js';
import { PAGE_MESSAGES, TAIL_EVENTS } from '../../extension/session-page.js';
import { fakeWebview, localConnection, newChat, recordingLog, until, useHomes } from './harness.js';

// The chat relay (ChatController) against a real `cog serve` child: every event of the
// shown session reaches the webview once, in seq order, across crashes and reconnects.

const home = useHomes('cog-ext-chat-');
const { log } = recordingLog();

test('ChatController: snapshot, a streamed turn in seq order, resume after a runtime crash', async () => {
  const conn = localConnection(home(), log);
  const { chat, memory } = newChat(conn, log, 'auto');
  conn.start();
  const view = fakeWebview();
  const attached = chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const snap = view.messages.find((m) => m.type === 'snapshot');
  assert.ok(snap && snap.type === 'snapshot');
  assert.equal(snap.resumed, false);
  assert.equal(snap.model.offline, true);
  assert.equal(snap.session, memory.session);

  // One ordered live stream: the turn's events come as notifications, none is read back.
  const counted = recordCalls(await conn.whenConnected());
  const turn = await chat.sendText('hello');
  assert.equal(turn.status, 'ok');
  await chat.settled();
  for (let i = 0; i < 100 && !view.applied.some((e) => e.type === 'memory.updated'); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  // Besides the send, only the session list's refreshes (its turn count changed).
  const turnCalls = counted.calls.filter((c) => c.tool !== 'sessions').map((c) => c.tool);
  assert.deepEqual(turnCalls, ['send'], `no trace read, no state check: ${counted.names()}`);
  counted.stop();
  const types = view.applied.map((e) => e.type);
  for (const t of [
    'user.message',
    'turn.started',
    'output.delta',
    'assistant.message',
    'turn.done',
    'memory.updated',
  ]) {
    assert.ok(types.includes(t as never), `the webview got ${t}: ${types.join(' ')}`);
  }
  assert.deepEqual(view.problems, [], 'every seq arrived, in order');

  // Crash: the runtime restarts, the session (same COG_HOME) continues from the cursor.
  const before = view.lastSeq;
  process.kill(conn.endpoint!.pid!, 'SIGKILL');
  await until(conn.onDidChangeState, (s) => s.status === 'connected', 20_000);
  const math = await chat.sendText('what is 17*23?');
  assert.match(math.text, /391/);
  await chat.settled();
  assert.deepEqual(view.problems, []);
  assert.ok(view.lastSeq > before);
  const proc = view.applied.find(
    (e) => e.type === 'process.updated' && e.process.status === 'done',
  );
  assert.ok(proc, 'the process finished and the webview saw it');

  // A re-shown view: `ready` with its lastSeq gets only what follows.
  attached.dispose();
  const again = fakeWebview();
  chat.attach(again.post);
  await chat.handle({ type: 'ready', session: memory.session, lastSeq: before });
  const resumed = again.messages.find((m) => m.type === 'snapshot');
  assert.ok(resumed && resumed.type === 'snapshot' && resumed.resumed);
  assert.ok(resumed.events.every((e) => e.seq > before));
  assert.equal(resumed.events[0]?.seq, before + 1);

  chat.dispose();
  await conn.dispose();
});

test('ChatController: Cancel Turn stops a turn whose run waits for approval', async () => {
  const asked: string[] = [];
  // The user has not answered yet: the question stays open until the server withdraws it.
  const conn = localConnection(
    home(),
    log,
    { COG_APPROVAL: 'ask' },
    {
      onElicit: (q, signal) => {
        asked.push(q.message);
        return new Promise((resolve) =>
          signal.addEventListener('abort', () => resolve({ action: 'cancel' })),
        );
      },
    },
  );
  const { chat, memory } = newChat(conn, log, 'ask');
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const turn = chat.sendText('what is 17*23?');
  turn.catch(() => undefined);
  const deadline = Date.now() + 15_000;
  while (!asked.length) {
    assert.ok(Date.now() < deadline, 'the approval question arrives');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(asked[0]!, /Cog wants to run javascript code[\s\S]*17\s*\*\s*23/);
  assert.equal(chat.cancelTurn(), true);
  await assert.rejects(turn, /abort/i);
  const events = await chat.trace(memory.session!);
  const done = events.filter((e) => e.type === 'turn.done').at(-1);
  assert.equal(done?.type === 'turn.done' && done.status, 'cancelled');
  const last = events.filter((e) => e.type === 'process.updated').at(-1);
  assert.ok(last?.type === 'process.updated' && last.process.status !== 'pending-approval');
  await chat.settled();
  assert.deepEqual(view.problems, []);
  chat.dispose();
  await conn.dispose();
});

test('ChatController: a remembered session the runtime does not have is replaced, a bad switch is a notice', async () => {
  const conn = localConnection(home(), log);
  const { chat, memory } = newChat(conn, log, 'auto', 'gone-1');
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready', session: 'gone-1', lastSeq: 40 });
  const snap = view.messages.find((m) => m.type === 'snapshot');
  assert.ok(snap?.type === 'snapshot');
  assert.notEqual(snap.session, 'gone-1');
  assert.equal(snap.resumed, false, 'a new session starts from scratch');
  assert.equal(memory.session, snap.session);

  await chat.handle({ type: 'switchSession', session: 'nope' });
  const notice = view.messages.find((m) => m.type === 'notice');
  assert.ok(notice?.type === 'notice' && /no session nope/i.test(notice.message));
  assert.equal(memory.session, snap.session, 'the shown session stays');
  chat.dispose();
  await conn.dispose();
});

/** Records the tools called on `client`, with their arguments, until `stop()`. */
function recordCalls(client: CogClient) {
  const calls: { tool: string; args: Record<string, unknown> }[] = [];
  const call = client.call.bind(client);
  client.call = ((...args: Parameters<CogClient['call']>) => {
    calls.push({ tool: args[0], args: args[1] });
    return call(...args);
  }) as CogClient['call'];
  return {
    calls,
    of: (tool: string) => calls.filter((c) => c.tool === tool),
    names: () => calls.map((c) => c.tool).join(' '),
    stop: () => void (client.call = call),
  };
}

type Snapshot = Extract<HostToWebview, { type: 'snapshot' }>;

function snapshotOf(view: ReturnType<typeof fakeWebview>): Snapshot {
  const snap = view.messages.find((m) => m.type === 'snapshot');
  assert.ok(snap?.type === 'snapshot', 'a snapshot was posted');
  return snap;
}

const isMessage = (e: RuntimeEvent) => e.type === 'user.message' || e.type === 'assistant.message';
const said = (e: RuntimeEvent) => [e.seq, e.type, 'text' in e ? e.text : undefined];
const sinceSeq = (c: { args: Record<string, unknown> }) => Number(c.args.since_seq);

test('ChatController: a snapshot of a long session reads its newest page, not the whole trace (regression: every snapshot read the trace from seq 0)', async (t) => {
  const conn = localConnection(home(), log);
  const { chat } = newChat(conn, log, 'auto');
  t.after(async () => {
    chat.dispose();
    await conn.dispose();
  });
  conn.start();
  const session = await chat.newSession();
  // The runtime's own events after `seq` while a view is read: each may cost a trace read.
  const late = (seq: number) => {
    const seqs = new Set<number>();
    const sub = conn.onEvent((e) => e.session === session && e.seq > seq && seqs.add(e.seq));
    return { count: () => seqs.size, stop: () => sub.dispose() };
  };
  /** A turn, and its memorizer (which runs after it, after every earlier one) done too. */
  const quietTurn = async (text: string) => {
    const ended = new Set<string>();
    const isEnd = (e: RuntimeEvent) =>
      e.node === 'memorizer' && (e.type === 'memory.updated' || e.type === 'node.error');
    const sub = conn.onEvent((e) => isEnd(e) && e.turn && ended.add(e.turn));
    try {
      const turn = await chat.sendText(text);
      if (!ended.has(turn.turn)) await until(conn.onEvent, (e) => isEnd(e) && e.turn === turn.turn);
      return turn;
    } finally {
      sub.dispose();
    }
  };
  // ~58 events a turn with the offline engine: this makes well over 3,000. A run's card
  // sits in a message older than the tail, whose events are long gone from it by then.
  const turns = (n: number, from: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => chat.sendText(`note ${from + i}`)));
  await turns(45, 0);
  const run = await chat.sendText('what is 17*23?');
  assert.match(run.text, /391/);
  await turns(12, 45);
  await quietTurn('that is all');

  const client = await conn.whenConnected();
  const everything = recordCalls(client);
  const all = await chat.trace(session);
  everything.stop();
  const lastSeq = all.at(-1)!.seq;
  assert.ok(lastSeq >= 3000, `a long session: ${lastSeq} events`);
  assert.ok(everything.of('trace').length >= 4, 'reading it all takes a call per 1,000 events');

  const view = fakeWebview();
  chat.attach(view.post);
  const newer = late(lastSeq);
  const counted = recordCalls(client);
  await chat.handle({ type: 'ready' });
  await chat.settled();
  counted.stop();
  newer.stop();
  // One read of the tail; past that only what is new (none, unless the runtime's sensor or
  // memorizer spoke meanwhile) is read.
  const traces = counted.of('trace');
  const tailReads = traces.filter((c) => sinceSeq(c) < lastSeq);
  assert.equal(tailReads.length, 1, `calls: ${counted.names()}`);
  const from = sinceSeq(tailReads[0]!);
  assert.ok(from >= lastSeq - TAIL_EVENTS && from <= lastSeq - TAIL_EVENTS + newer.count());
  assert.ok(traces.length <= 2 + newer.count(), `calls: ${counted.names()}`);
  assert.equal(counted.of('history').length, 1);
  assert.ok(counted.calls.length <= 8 + newer.count(), `calls: ${counted.names()}`);

  const snap = snapshotOf(view);
  assert.equal(snap.resumed, false);
  assert.equal(snap.base?.earlier, true, 'the view is told that older messages exist');
  // The tail is every event after `from`; before it, the latest PAGE_MESSAGES messages, as
  // the events that recorded them.
  const now = await chat.trace(session);
  const tail = snap.events.filter((e) => e.seq > from);
  assert.deepEqual(
    tail,
    now.filter((e) => e.seq > from && e.seq <= tail.at(-1)!.seq),
  );
  assert.ok(tail.at(-1)!.seq >= lastSeq);
  const older = snap.events.filter((e) => e.seq <= from && e.type !== 'sensor.tick');
  assert.deepEqual(
    older.map(said),
    all
      .filter((e) => e.seq <= from && isMessage(e))
      .slice(-PAGE_MESSAGES)
      .map(said),
  );
  assert.ok(snap.events.length <= TAIL_EVENTS + PAGE_MESSAGES + 1 + newer.count());
  // The latest messages are there: the last reply is the session's.
  assert.deepEqual(
    snap.events.filter((e) => e.type === 'assistant.message').at(-1),
    all.filter((e) => e.type === 'assistant.message').at(-1),
  );
  // The card of the run, in a message before the tail, comes with the run as it ended.
  const card = older.find(
    (e) => e.type === 'assistant.message' && e.controls.some((c) => c.type === 'process'),
  );
  assert.ok(card?.type === 'assistant.message', 'the run’s message is on the page');
  const shownRun = card.controls.find((c) => c.type === 'process');
  assert.ok(shownRun?.type === 'process');
  const base = snap.base.processes.find((p) => p.id === shownRun.processId);
  assert.equal(base?.status, 'done', 'its card does not wait for the runtime');
  assert.equal(view.lastSeq, now.at(-1)!.seq);
  assert.deepEqual(view.problems, []);

  // What happens next follows the page without a gap.
  await quietTurn('and one more');
  await chat.settled();
  assert.deepEqual(view.problems, []);
  // Resource updates trail their events by up to 100 ms (coalesced): let those of the turn
  // above arrive first, or one lands in the count below as a trace read of nothing new.
  await new Promise((r) => setTimeout(r, 400));
  const newerNear = late(view.lastSeq);
  const latest = (await chat.trace(session, lastSeq)).at(-1)!.seq;
  assert.equal(view.lastSeq, latest);

  // A view a little behind resumes: exactly the events it is missing, read from its seq.
  const near = fakeWebview();
  chat.attach(near.post);
  const since = latest - 120;
  const resuming = recordCalls(client);
  await chat.handle({ type: 'ready', session, lastSeq: since });
  await chat.settled();
  resuming.stop();
  newerNear.stop();
  const resumed = snapshotOf(near);
  assert.equal(resumed.resumed, true);
  assert.equal(resumed.base, undefined);
  const missing = await chat.trace(session, since);
  assert.deepEqual(
    resumed.events,
    missing.filter((e) => e.seq <= resumed.events.at(-1)!.seq),
  );
  assert.equal(resumed.events[0]?.seq, since + 1);
  assert.ok(resumed.events.at(-1)!.seq >= latest);
  assert.deepEqual(
    resuming
      .of('trace')
      .filter((c) => sinceSeq(c) < latest)
      .map(sinceSeq),
    [since],
  );
  assert.ok(resuming.of('trace').length <= 2 + newerNear.count(), resuming.names());
  assert.equal(resuming.of('history').length, 0);
  assert.equal(near.lastSeq, missing.at(-1)!.seq);
  assert.deepEqual(near.problems, []);

  // A view far behind gets the newest page instead of everything it missed.
  const far = fakeWebview();
  chat.attach(far.post);
  const catching = recordCalls(client);
  await chat.handle({ type: 'ready', session, lastSeq: 40 });
  await chat.settled();
  catching.stop();
  const paged = snapshotOf(far);
  assert.equal(paged.resumed, false);
  assert.equal(paged.base?.earlier, true);
  assert.ok(paged.events.at(-1)!.seq >= latest);
  assert.ok(catching.of('trace').every((c) => sinceSeq(c) >= latest - TAIL_EVENTS));
  assert.deepEqual(far.problems, []);
});
