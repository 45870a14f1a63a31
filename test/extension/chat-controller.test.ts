import assert from 'node:assert/strict';
import { test } from 'node:test';
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

  const turn = await chat.sendText('hello');
  assert.equal(turn.status, 'ok');
  await chat.settled();
  const types = view.applied.map((e) => e.type);
  for (const t of [
    'user.message',
    'turn.started',
    'output.delta',
    'assistant.message',
    'turn.done',
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
