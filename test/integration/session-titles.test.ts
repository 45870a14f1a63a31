import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { eventsOf, sessionDir, tempHome, testConfig } from '../helpers/runtime.js';
import { cleanupHomes, connect, data, offlineRuntime, textOf } from './mcp-core-harness.js';

// Session titles: the first message's, then the Memorizer's settled topic, and the user's
// own (the sessions tool's "rename"), which nothing of Cog's replaces; kept across restarts.

const OWNER = 'local:titles';
const homes: { cleanup(): void }[] = [];
after(() => {
  homes.forEach((h) => h.cleanup());
  cleanupHomes();
});

function home(): string {
  const h = tempHome('cog-titles-');
  homes.push(h);
  return h.home;
}

interface Listed {
  id: string;
  title?: string;
  turns: number;
}

const titled = (events: RuntimeEvent[]) =>
  events.flatMap((e) => (e.type === 'session.titled' ? [`${e.source}: ${e.title}`] : []));

test('an untitled session takes its first message as title, then its settled topic once', async () => {
  const dir = home();
  const runtime = await createRuntime(testConfig(dir), { sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  assert.equal(runtime.listSessions(OWNER)[0]?.title, undefined, 'created without a title');

  await runtime.send(id, OWNER, 'what is 2+2?\nand more on a second line');
  await runtime.settled(id);
  assert.equal(runtime.listSessions(OWNER)[0]?.title, 'what is 2+2?', 'its first line');
  assert.equal((await runtime.session(id, OWNER)).memory.topic, 'arithmetic');
  assert.deepEqual(
    titled(await eventsOf(runtime, id, OWNER)),
    ['first-message: what is 2+2?'],
    'one topic alone has not settled: no retitle yet',
  );

  await runtime.send(id, OWNER, 'and 3*4?');
  await runtime.settled(id);
  assert.equal(runtime.listSessions(OWNER)[0]?.title, 'Arithmetic', 'the settled topic');

  // A new topic that settles does not retitle again: the topic title was taken once.
  for (const text of ['show me a table', 'another table please']) {
    await runtime.send(id, OWNER, text);
    await runtime.settled(id);
  }
  assert.equal((await runtime.session(id, OWNER)).memory.topic, 'tables');
  const events = await eventsOf(runtime, id, OWNER);
  assert.deepEqual(titled(events), ['first-message: what is 2+2?', 'topic: Arithmetic']);
  const first = events.find((e) => e.type === 'session.titled');
  assert.equal(first?.turn, undefined, "the title is the session's, not a turn's");
  await runtime.close();

  const again = await createRuntime(testConfig(dir), { sandbox: 'none' });
  assert.equal(again.listSessions(OWNER)[0]?.title, 'Arithmetic', 'kept across a restart');
  assert.equal((await again.session(id, OWNER)).titleSource, 'topic');
  await again.close();
});

test("a user's title is never replaced by the topic, and survives a restart", async () => {
  const dir = home();
  const runtime = await createRuntime(testConfig(dir), { sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  await runtime.send(id, OWNER, 'what is 1+1?');
  await runtime.settled(id);
  const renamed = await runtime.renameSession(id, OWNER, '  Budget sums  ');
  assert.equal(renamed.title, 'Budget sums', 'trimmed');
  for (const text of ['what is 2*3?', 'what is 5-1?']) {
    await runtime.send(id, OWNER, text);
    await runtime.settled(id);
  }
  assert.equal((await runtime.session(id, OWNER)).memory.topic, 'arithmetic');
  assert.equal(runtime.listSessions(OWNER)[0]?.title, 'Budget sums');
  await runtime.close();

  const meta = JSON.parse(readFileSync(join(sessionDir(dir, OWNER, id), 'meta.json'), 'utf8'));
  assert.equal(meta.title, 'Budget sums', 'meta.json holds the title');
  assert.equal(meta.titleSource, 'user');

  const again = await createRuntime(testConfig(dir), { sandbox: 'none' });
  assert.equal(again.listSessions(OWNER)[0]?.title, 'Budget sums', 'listed before loading');
  await again.send(id, OWNER, 'what is 9+9?');
  await again.settled(id);
  assert.equal(again.listSessions(OWNER)[0]?.title, 'Budget sums', 'and after more turns');
  await again.close();
});

test('a session created with a title (sessions create) keeps it as the user’s', async () => {
  const runtime = await createRuntime(testConfig(home()), { sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER, { title: 'Planning' });
  for (const text of ['what is 2+2?', 'what is 3+3?']) {
    await runtime.send(id, OWNER, text);
    await runtime.settled(id);
  }
  assert.equal(runtime.listSessions(OWNER)[0]?.title, 'Planning');
  assert.deepEqual(titled(await eventsOf(runtime, id, OWNER)), []);
  await runtime.close();
});

test('sessions rename over MCP: validated, owner-only, listed by title', async () => {
  const { runtime } = await offlineRuntime();
  const alice = await connect(runtime, 'local:alice');
  const mallory = await connect(runtime, 'local:mallory');

  // send without a session titles the new one from its first message.
  const sent = data<{ session: string }>(await alice.call('send', { text: 'what is 6*7?' }));
  const id = sent.session;
  await runtime.settled(id);
  const listed = data<{ sessions: Listed[] }>(await alice.call('sessions'));
  assert.deepEqual(
    listed.sessions.map((s) => [s.id, s.title]),
    [[id, 'what is 6*7?']],
  );
  assert.equal((await runtime.session(id, 'local:alice')).titleSource, 'first-message');

  const refused = async (args: Record<string, unknown>, pattern: RegExp) => {
    const r = await alice.call('sessions', { action: 'rename', ...args });
    assert.equal(r.isError, true, JSON.stringify(args));
    assert.match(textOf(r), pattern, JSON.stringify(args));
  };
  await refused({ id, title: '   ' }, /title/i);
  await refused({ id, title: 'two\nlines' }, /title/i);
  await refused({ id, title: 'x'.repeat(201) }, /title/i);
  await refused({ title: 'no id' }, /needs `id`/);
  await refused({ id }, /needs `title`/);
  await refused({ id: 'no-such-session', title: 'Whatever' }, /No session no-such-session/);
  assert.equal(runtime.listSessions('local:alice')[0]?.title, 'what is 6*7?', 'unchanged');

  // Another principal: the same "not found" as delete gives, and nothing changes.
  const notMine = await mallory.call('sessions', { action: 'rename', id, title: 'Mine now' });
  const notMineDelete = await mallory.call('sessions', { action: 'delete', id });
  assert.equal(notMine.isError, true);
  assert.equal(notMineDelete.isError, true);
  assert.equal(textOf(notMine), textOf(notMineDelete), 'indistinguishable from delete');
  assert.match(textOf(notMine), new RegExp(`No session ${id}`));
  assert.equal(runtime.listSessions('local:alice')[0]?.title, 'what is 6*7?');

  const before = alice.listChanged();
  const renamed = data<{ renamed: Listed; sessions: Listed[] }>(
    await alice.call('sessions', { action: 'rename', id, title: 'The answer' }),
  );
  assert.equal(renamed.renamed.title, 'The answer');
  assert.equal(renamed.renamed.turns, 1);
  assert.deepEqual(
    renamed.sessions.map((s) => s.title),
    ['The answer'],
  );
  const text = textOf(await alice.call('sessions'));
  assert.match(text, new RegExp(`${id} "The answer": 1 turn`), 'the listing text names it');
  await alice.until(() => alice.listChanged() > before, 'resource list changed (names)');
  const { resources } = await alice.client.listResources();
  assert.ok(
    resources.some((r) => r.name.startsWith('The answer ')),
    'resources by title',
  );

  // Delete: the session is gone from the listing and its id is "not found" afterwards.
  const deleted = data<{ deleted: string; sessions: Listed[] }>(
    await alice.call('sessions', { action: 'delete', id }),
  );
  assert.equal(deleted.deleted, id);
  assert.deepEqual(deleted.sessions, []);
  const gone = await alice.call('sessions', { action: 'rename', id, title: 'Too late' });
  assert.equal(gone.isError, true);
  assert.match(textOf(gone), new RegExp(`No session ${id}`));

  await alice.close();
  await mallory.close();
  await runtime.close();
});
