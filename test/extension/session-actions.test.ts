import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostToWebview } from '../../protocol/webview.js';
import {
  sessionLabel,
  titleProblem,
  type SessionPrompts,
} from '../../extension/session-prompts.js';
import { acceptWebviewMessage } from '../../extension/webview-messages.js';
import { fakeWebview, localConnection, newChat, recordingLog, useHomes } from './harness.js';

// Rename, delete and clear as the panel and the commands ask for them, through the chat
// controller against a real `cog serve` child. The questions are answered by a script in
// place of VS Code's input box and modal warnings: what was asked is recorded.

const home = useHomes('cog-ext-sessions-');
const { log } = recordingLog();

/** Prompts that answer from `queue` and write down each question in `asked`. */
function scripted() {
  const asked: string[] = [];
  const queue: (string | boolean | undefined)[] = [];
  const next = () => {
    if (!queue.length) throw new Error(`unexpected question after ${asked.join(' | ')}`);
    return queue.shift();
  };
  const prompts: SessionPrompts = {
    askTitle: async (current, session) => {
      asked.push(`title ${current || session}`);
      return next() as string | undefined;
    },
    confirmDelete: async (label) => {
      asked.push(`delete ${label}`);
      return next() === true;
    },
    confirmClear: async (label) => {
      asked.push(`clear ${label}`);
      return next() === true;
    },
  };
  return { prompts, asked, queue };
}

const lastSessions = (messages: HostToWebview[]) => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.type === 'sessions' || m.type === 'snapshot') return m.sessions;
  }
  return [];
};

test('the panel asks for rename, delete and clear; only confirmed answers act', async () => {
  const conn = localConnection(home(), log);
  const script = scripted();
  const { chat, memory } = newChat(conn, log, 'auto', undefined, { prompts: script.prompts });
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const first = memory.session!;
  await chat.sendText('what is 2+2?');
  await chat.settled();
  const titleOf = (id: string) => lastSessions(view.messages).find((s) => s.id === id)?.title;
  assert.equal((await chat.listSessions())[0]?.title, 'what is 2+2?', 'the first message');

  // Rename: cancelled changes nothing; an answer renames, and the panel gets the list.
  await scriptedRun(script, [undefined], () =>
    chat.handle({ type: 'renameSession', session: first }),
  );
  assert.deepEqual(script.asked.splice(0), ['title what is 2+2?']);
  assert.equal((await chat.listSessions())[0]?.title, 'what is 2+2?', 'cancel keeps it');
  await scriptedRun(script, ['  Sums  '], () =>
    chat.handle({ type: 'renameSession', session: first }),
  );
  assert.deepEqual(script.asked.splice(0), ['title what is 2+2?']);
  assert.equal(titleOf(first), 'Sums', 'the panel is told the new title');

  // Clear: declined keeps the history; confirmed clears it. Both name the session.
  await scriptedRun(script, [false], () => chat.handle({ type: 'clear' }));
  assert.deepEqual(script.asked.splice(0), ['clear \u201cSums\u201d']);
  assert.ok(!view.applied.some((e) => e.type === 'session.cleared'), 'declined: kept');
  assert.equal((await chat.trace(first)).filter((e) => e.type === 'user.message').length, 1);
  await scriptedRun(script, [true], () => chat.handle({ type: 'clear' }));
  assert.deepEqual(script.asked.splice(0), ['clear \u201cSums\u201d']);
  assert.ok(
    (await chat.trace(first)).some((e) => e.type === 'session.cleared'),
    'cleared',
  );

  // Delete a session that is not shown: the list loses it, the shown one stays.
  const other = await chat.newSession();
  await chat.sendText('show me a table');
  await chat.switchSession(first);
  await scriptedRun(script, [false], () => chat.handle({ type: 'deleteSession', session: other }));
  assert.deepEqual(script.asked.splice(0), ['delete \u201cshow me a table\u201d']);
  assert.ok(
    (await chat.listSessions()).some((s) => s.id === other),
    'declined: kept',
  );
  await scriptedRun(script, [true], () => chat.handle({ type: 'deleteSession', session: other }));
  script.asked.splice(0);
  assert.deepEqual(
    lastSessions(view.messages).map((s) => s.id),
    [first],
  );
  assert.equal(memory.session, first);

  // Delete the shown session with another left: the newest other is shown.
  const third = await chat.newSession();
  await chat.switchSession(first);
  await scriptedRun(script, [true], () => chat.handle({ type: 'deleteSession', session: first }));
  assert.deepEqual(script.asked.splice(0), ['delete \u201cSums\u201d']);
  assert.equal(memory.session, third);
  const snap = view.messages.at(-1);
  assert.ok(snap?.type === 'snapshot' && snap.session === third, 'a snapshot of it follows');
  assert.ok(!(await chat.listSessions()).some((s) => s.id === first));

  // Delete the last one: a fresh session is shown.
  await scriptedRun(script, [true], () => chat.handle({ type: 'deleteSession', session: third }));
  assert.deepEqual(script.asked.splice(0), [`delete session ${third}`], 'untitled: by id');
  const fresh = memory.session;
  assert.ok(fresh && fresh !== third);
  assert.deepEqual(
    (await chat.listSessions()).map((s) => s.id),
    [fresh],
  );
  const notices = view.messages.filter((m) => m.type === 'notice');
  assert.deepEqual(notices, [], 'nothing failed');

  // A session that is gone: a notice, nothing asked.
  await chat.handle({ type: 'deleteSession', session: third });
  assert.deepEqual(script.asked, []);
  const gone = view.messages.at(-1);
  assert.ok(gone?.type === 'notice' && /no session/i.test(gone.message), JSON.stringify(gone));
  chat.dispose();
  await conn.dispose();
});

test('without prompts the panel cannot rename or delete; Clear asks nothing', async () => {
  const conn = localConnection(home(), log);
  const { chat, memory } = newChat(conn, log, 'auto');
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const id = memory.session!;
  await chat.handle({ type: 'renameSession', session: id });
  await chat.handle({ type: 'deleteSession', session: id });
  const notices = view.messages.filter((m) => m.type === 'notice').map((m) => m.message);
  assert.equal(notices.length, 2);
  assert.ok(
    notices.every((m) => /needs a host that can ask/.test(m)),
    notices.join(' | '),
  );
  assert.ok(
    (await chat.listSessions()).some((s) => s.id === id),
    'still there',
  );
  await chat.sendText('hello');
  await chat.handle({ type: 'clear' });
  assert.ok((await chat.trace(id)).some((e) => e.type === 'session.cleared'));
  chat.dispose();
  await conn.dispose();
});

test('rename and delete messages carry a session id only, strictly', () => {
  assert.equal(acceptWebviewMessage({ type: 'renameSession', session: 's-1' }).ok, true);
  assert.equal(acceptWebviewMessage({ type: 'deleteSession', session: 's_2' }).ok, true);
  for (const bad of [
    { type: 'renameSession', session: 's-1', title: 'from the page' },
    { type: 'deleteSession', session: 's-1', confirmed: true },
    { type: 'deleteSession', session: '../etc' },
    { type: 'renameSession', session: '' },
    { type: 'renameSession' },
    { type: 'deleteSession', session: 'x'.repeat(65) },
  ]) {
    assert.equal(acceptWebviewMessage(bad).ok, false, JSON.stringify(bad));
  }
  assert.equal(titleProblem('  ok  '), undefined);
  assert.match(titleProblem('   ') ?? '', /Type a title/);
  assert.match(titleProblem('a\nb') ?? '', /one line/);
  assert.match(titleProblem('x'.repeat(201)) ?? '', /200/);
  assert.equal(sessionLabel({ id: 's-1', title: 'Plans' }), '\u201cPlans\u201d');
  assert.equal(sessionLabel({ id: 's-1' }), 'session s-1');
});

/** Runs `work` with `answers` queued for the prompts it asks. */
async function scriptedRun(
  script: ReturnType<typeof scripted>,
  answers: (string | boolean | undefined)[],
  work: () => Promise<void>,
): Promise<void> {
  script.queue.push(...answers);
  await work();
  assert.deepEqual(script.queue, [], 'every answer was asked for');
}
