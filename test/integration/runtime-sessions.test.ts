import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createRuntime } from '../../server/runtime/runtime.js';
import { createFileStore } from '../../server/store/file-store.js';
import type { EventStore } from '../../server/store/types.js';
import { eventsOf, sessionDir, tempHome, testConfig, workspaceDir } from '../helpers/runtime.js';
import { connect, data } from './mcp-core-harness.js';

const OWNER = 'local:test';
const homes: { cleanup(): void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));

function home() {
  const h = tempHome();
  homes.push(h);
  return h.home;
}

/** The real file store, with the sessions it was asked to open written down. */
function countingStore(dir: string): { store: EventStore; opened: string[] } {
  const store = createFileStore({ dir });
  const opened: string[] = [];
  return {
    opened,
    store: {
      ...store,
      get full() {
        return store.full;
      },
      // The store is asked by key; the test counts the session ids they stand for.
      open: async (key) => {
        const session = await store.open(key);
        opened.push(session.meta.id);
        return session;
      },
    },
  };
}

test('start-up reads no log: a session is loaded when it is first used', async () => {
  const dir = home();
  const first = await createRuntime(testConfig(dir), { sandbox: 'none' });
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const { id } = await first.createSession(OWNER, { title: `t${i}` });
    await first.send(id, OWNER, 'hello');
    await first.settled(id);
    ids.push(id);
  }
  const listedBefore = first.listSessions(OWNER);
  await first.close();

  const { store, opened } = countingStore(join(dir, 'sessions'));
  const second = await createRuntime(testConfig(dir), { sandbox: 'none', store });
  assert.deepEqual(second.listSessions(OWNER), listedBefore, 'the listing is the same');
  assert.deepEqual(opened, [], 'and came from the catalog, not the logs');
  const s = await second.session(ids[2]!, OWNER);
  assert.deepEqual(opened, [ids[2]]);
  assert.equal(s.history.length, 2, 'its projections came back from the snapshot');
  await Promise.all([second.session(ids[3]!, OWNER), second.session(ids[3]!, OWNER)]);
  assert.deepEqual(opened, [ids[2], ids[3]], 'loaded once however many ask at once');
  await second.close();
});

test('delete removes the log, the snapshot and the workspace; another principal cannot', async () => {
  const dir = home();
  const runtime = await createRuntime(testConfig(dir), { sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  await runtime.send(id, OWNER, 'what is 6*7?'); // a code run: makes the workspace
  assert.ok(existsSync(workspaceDir(dir, OWNER, id)));
  const c = await connect(runtime, 'local:mallory');
  const refused = await c.call('sessions', { action: 'delete', id });
  assert.equal(refused.isError, true);
  await c.close();
  const mine = await connect(runtime, OWNER);
  const missingId = await mine.call('sessions', { action: 'delete' });
  assert.equal(missingId.isError, true);
  const deleted = data<{ deleted: string; sessions: unknown[] }>(
    await mine.call('sessions', { action: 'delete', id }),
  );
  assert.equal(deleted.deleted, id);
  assert.deepEqual(deleted.sessions, []);
  assert.equal(existsSync(sessionDir(dir, OWNER, id)), false);
  assert.equal(existsSync(workspaceDir(dir, OWNER, id)), false);
  const after = await mine.call('state', { session: id });
  assert.equal(after.isError, true, 'gone: not found');
  await mine.close();
  await runtime.close();
  const again = await createRuntime(testConfig(dir), { sandbox: 'none' });
  assert.deepEqual(again.listSessions(OWNER), []);
  await again.close();
});

test('clear frees what it clears: the log before it is deleted, the trace starts at it', async () => {
  const dir = home();
  const runtime = await createRuntime(testConfig(dir), { sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  for (let i = 0; i < 5; i++) await runtime.send(id, OWNER, `hello ${i}`);
  await runtime.settled(id);
  const sdir = sessionDir(dir, OWNER, id);
  const bytes = () =>
    readdirSync(sdir)
      .filter((n) => n.endsWith('.jsonl'))
      .reduce((sum, n) => sum + statSync(join(sdir, n)).size, 0);
  const before = bytes();
  const seq = await runtime.clear(id, OWNER);
  assert.ok(bytes() < before / 10, `${bytes()} bytes left of ${before}`);
  const events = await eventsOf(runtime, id, OWNER);
  assert.equal(events[0]?.seq, seq);
  assert.equal(events[0]?.type, 'session.cleared');
  await runtime.send(id, OWNER, "I'm Ada");
  await runtime.settled(id);
  await runtime.close();
  const again = await createRuntime(testConfig(dir), { sandbox: 'none' });
  const s = await again.session(id, OWNER);
  assert.equal(s.memory.user_name, 'Ada');
  assert.equal(s.history.length, 2, 'only what came after the clear');
  assert.ok(s.seq > seq, 'seqs go on from where they were: never renumbered');
  await again.close();
});

test('idle is idle: sensor ticks with nothing changed write nothing', async () => {
  const dir = home();
  const runtime = await createRuntime(testConfig(dir, { sensorIntervalMs: 10 }), {
    sandbox: 'none',
  });
  const { id } = await runtime.createSession(OWNER);
  await runtime.send(id, OWNER, 'hello');
  await runtime.settled(id);
  const s = await runtime.session(id, OWNER);
  const seq = s.seq;
  const log = join(sessionDir(dir, OWNER, id), '000001.jsonl');
  const size = statSync(log).size;
  await new Promise((r) => setTimeout(r, 300)); // ~30 ticks, the clock may even turn a minute
  assert.equal(s.seq, seq, 'no event recorded');
  assert.equal(statSync(log).size, size, 'nothing written');
  await runtime.close();
});

test('a session whose first line is torn is kept, with its owner and the rest of its log', async () => {
  const dir = home();
  const first = await createRuntime(testConfig(dir), { sandbox: 'none' });
  const { id } = await first.createSession(OWNER);
  await first.send(id, OWNER, 'hello');
  await first.close();
  const log = join(sessionDir(dir, OWNER, id), '000001.jsonl');
  const text = readFileSync(log, 'utf8');
  writeFileSync(log, '{"seq":1,"ts":"2026-' + text.slice(text.indexOf('\n')));
  writeFileSync(join(sessionDir(dir, OWNER, id), 'snapshot.json'), 'torn');
  const second = await createRuntime(testConfig(dir), { sandbox: 'none' });
  assert.deepEqual(
    second.listSessions(OWNER).map((s) => s.id),
    [id],
  );
  const events = await eventsOf(second, id, OWNER);
  assert.equal(events[0]?.seq, 2, 'the first line is set aside; the rest is there');
  const s = await second.session(id, OWNER);
  assert.equal(s.history.length, 2, 'replayed from the log when the snapshot is unreadable');
  assert.ok(readdirSync(sessionDir(dir, OWNER, id)).some((n) => n.startsWith('quarantine-')));
  assert.equal((await second.send(id, OWNER, 'still here?')).status, 'ok');
  await second.close();
});

test('a log from an older Cog (no meta.json, no index) is taken over with its owner', async () => {
  const dir = home();
  const sdir = join(dir, 'sessions', 'legacy');
  mkdirSync(sdir, { recursive: true });
  const ts = new Date().toISOString();
  const lines = [
    { seq: 1, ts, session: 'legacy', node: 'runtime', type: 'session.created', owner: OWNER },
    { seq: 2, ts, session: 'legacy', node: 'user', type: 'user.message', text: 'old', turn: 't1' },
  ];
  writeFileSync(join(sdir, '000001.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const runtime = await createRuntime(testConfig(dir), { sandbox: 'none' });
  assert.equal(runtime.listSessions(OWNER)[0]?.id, 'legacy');
  const r = await runtime.send('legacy', OWNER, 'new');
  assert.equal(r.turn, 't2', 'turn ids go on from the log');
  await runtime.close();
});
