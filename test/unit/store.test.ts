import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createFileStore, type FileStoreOptions } from '../../server/store/file-store.js';
import type { EventStore } from '../../server/store/types.js';

const OWNER = 'local:test';

function event(session: string, seq: number, text = `message ${seq}`): RuntimeEvent {
  const ts = new Date(1_700_000_000_000 + seq).toISOString();
  if (seq === 1)
    return { seq, ts, session, node: 'runtime', type: 'session.created', owner: OWNER };
  return { seq, ts, session, node: 'user', type: 'user.message', text };
}

const delta = (session: string, seq: number): RuntimeEvent => ({
  seq,
  ts: new Date(1_700_000_000_000 + seq).toISOString(),
  session,
  node: 'output',
  type: 'output.delta',
  text: `d${seq}`,
});

/** A fresh directory and a store on it, both cleaned up after the test. */
async function setup(t: TestContext, opts: Partial<FileStoreOptions> = {}) {
  const root = await mkdtemp(join(tmpdir(), 'cog-store-'));
  const dir = join(root, 'sessions');
  const warnings: string[] = [];
  const open = (more: Partial<FileStoreOptions> = {}): EventStore => {
    const store = createFileStore({ dir, onWarning: (m) => warnings.push(m), ...opts, ...more });
    t.after(() => store.close().catch(() => undefined));
    return store;
  };
  t.after(() => rm(root, { recursive: true, force: true }));
  return { root, dir, warnings, store: open(), open };
}

async function withEvents(store: EventStore, session: string, n: number, text?: string) {
  await store.create({ id: session, owner: OWNER, createdAt: new Date(0).toISOString() });
  for (let seq = 1; seq <= n; seq++) store.append(event(session, seq, text));
  await store.flush(session);
}

const segments = (dir: string, session: string) =>
  readdirSync(join(dir, session))
    .filter((n) => /^\d{6}\.jsonl$/.test(n))
    .sort();
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const seqs = (events: RuntimeEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('append is in the segment before it returns; a refused one leaves the files as they were', async (t) => {
  const { store, dir } = await setup(t);
  await store.create({ id: 's1', owner: OWNER, createdAt: '' });
  store.append(event('s1', 1));
  // No flush: the line is in the file (the page cache) the moment append returns.
  const line = JSON.stringify(event('s1', 1)) + '\n';
  assert.equal(readFileSync(join(dir, 's1', '000001.jsonl'), 'utf8'), line);
  const index = sha(join(dir, 's1', 'events.idx'));
  assert.throws(() => store.append(event('s1', 3)), { code: 'store_out_of_order' });
  assert.equal(readFileSync(join(dir, 's1', '000001.jsonl'), 'utf8'), line);
  assert.equal(sha(join(dir, 's1', 'events.idx')), index, 'no index record either');
  assert.deepEqual(segments(dir, 's1'), ['000001.jsonl']);
});

test('rotation starts new segments and never changes the old ones', async (t) => {
  const { store, dir, open } = await setup(t, { segmentBytes: 1000 });
  await withEvents(store, 's1', 30, 'x'.repeat(150));
  const before = segments(dir, 's1');
  assert.ok(before.length >= 5, `expected several segments, got ${before.length}`);
  const hashes = new Map(before.map((n) => [n, sha(join(dir, 's1', n))]));
  for (let seq = 31; seq <= 60; seq++) store.append(event('s1', seq, 'x'.repeat(150)));
  await store.close();
  for (const name of before.slice(0, -1)) {
    assert.equal(sha(join(dir, 's1', name)), hashes.get(name), `${name} was rewritten`);
  }
  for (const name of segments(dir, 's1')) {
    const size = readFileSync(join(dir, 's1', name)).length;
    assert.ok(size <= 1000, `${name} is ${size} bytes`);
  }
  const again = open();
  assert.deepEqual(seqs((await again.open('s1')).events), range(1, 60));
  assert.deepEqual(seqs(await again.read('s1', 40, 5)), range(41, 45), 'a page across segments');
});

test('a torn tail is quarantined, and the next append is not glued onto it', async (t) => {
  const { store, dir, open } = await setup(t);
  await withEvents(store, 's1', 5);
  await store.close();
  appendFileSync(join(dir, 's1', '000001.jsonl'), '{"seq":6,"ts":"2026');
  const again = open();
  const opened = await again.open('s1');
  assert.deepEqual(seqs(opened.events), range(1, 5));
  assert.equal(opened.quarantined, 1);
  again.append(event('s1', 6));
  await again.close();
  assert.deepEqual(segments(dir, 's1'), ['000001.jsonl', '000002.jsonl']);
  const third = open();
  const reopened = await third.open('s1');
  assert.deepEqual(seqs(reopened.events), range(1, 6));
  assert.equal(reopened.quarantined, 1, 'set aside once, not again on every open');
  const quarantine = readdirSync(join(dir, 's1')).filter((n) => /^quarantine-.*\.jsonl$/.test(n));
  assert.equal(readFileSync(join(dir, 's1', quarantine[0]!), 'utf8'), '{"seq":6,"ts":"2026\n');
});

test('a torn or corrupt first line costs that line, not the session', async (t) => {
  const { store, dir, open } = await setup(t);
  await withEvents(store, 's1', 4);
  await store.close();
  const file = join(dir, 's1', '000001.jsonl');
  const lines = readFileSync(file, 'utf8').split('\n');
  lines[0] = lines[0]!.slice(0, 20).replace(/.$/, '\u0000');
  writeFileSync(file, lines.join('\n'));
  // Without the index too, as after a crash of a version that had none.
  truncateSync(join(dir, 's1', 'events.idx'), 0);
  const again = open();
  const [listed] = await again.listSessions();
  assert.equal(listed?.meta.owner, OWNER, 'the owner is in meta.json, not the first event');
  const opened = await again.open('s1');
  assert.deepEqual(seqs(opened.events), [2, 3, 4]);
  assert.equal(opened.quarantined, 1);
  again.append(event('s1', 5));
  assert.deepEqual(seqs(await again.read('s1', 0, 10)), [2, 3, 4, 5]);
});

test('the index is repaired from the log: short, torn, or past the end', async (t) => {
  const { store, dir, open } = await setup(t);
  await withEvents(store, 's1', 20);
  await store.close();
  const idx = join(dir, 's1', 'events.idx');
  // Short by three records and a half: a crash between lines and their records.
  truncateSync(idx, 16 + 16 * 17 - 8);
  let s = open();
  assert.deepEqual(seqs((await s.open('s1')).events), range(1, 20));
  s.append(event('s1', 21));
  await s.close();
  // The log lost its last three lines (power loss) while the index kept their records.
  const file = join(dir, 's1', '000001.jsonl');
  const kept = readFileSync(file, 'utf8').split('\n').slice(0, 18).join('\n') + '\n';
  writeFileSync(file, kept);
  s = open();
  const opened = await s.open('s1');
  assert.deepEqual(seqs(opened.events), range(1, 18));
  assert.equal(opened.lastSeq, 18);
  s.append(event('s1', 19, 'a different 19'));
  const [nineteen] = await s.read('s1', 18, 1);
  assert.equal(nineteen?.type === 'user.message' && nineteen.text, 'a different 19');
});

test('messages page backwards across many index chunks of non-messages', async (t) => {
  const { store } = await setup(t);
  await store.create({ id: 's1', owner: OWNER, createdAt: '' });
  store.append(event('s1', 1));
  let seq = 1;
  const user = () => store.append(event('s1', ++seq));
  // More than one backward step (1024 index records) between two messages.
  const noise = (n: number) => {
    for (let i = 0; i < n; i++) store.append(delta('s1', ++seq));
  };
  for (let i = 0; i < 5; i++) {
    user();
    noise(3000);
  }
  const page = await store.messages('s1', { limit: 3 });
  assert.deepEqual(seqs(page.events), [6004, 9005, 12006]);
  assert.ok(page.hasMore);
  const older = await store.messages('s1', { limit: 3, beforeSeq: page.events[0]!.seq });
  assert.deepEqual(seqs(older.events), [2, 3003]);
  assert.equal(older.hasMore, false);
  store.append({ seq: ++seq, ts: '', session: 's1', node: 'runtime', type: 'session.cleared' });
  noise(3000);
  user();
  const after = await store.messages('s1', { limit: 10 });
  assert.deepEqual(seqs(after.events), [seq]);
  assert.equal(after.hasMore, false);
});

test('dropping before a clear frees the old segments; reads start at the clear', async (t) => {
  const { store, dir, open } = await setup(t, { segmentBytes: 2000 });
  await withEvents(store, 's1', 50, 'y'.repeat(100));
  const segmentsBefore = segments(dir, 's1').length;
  const clear: RuntimeEvent = {
    seq: 51,
    ts: '',
    session: 's1',
    node: 'runtime',
    type: 'session.cleared',
  };
  store.append(clear);
  store.append(event('s1', 52));
  await store.dropBeforeClear('s1', { seq: 51, turns: 49, state: { cleared: true } });
  assert.ok(segmentsBefore > 2);
  assert.equal(segments(dir, 's1').length, 1, 'only the segment the clear began is left');
  assert.deepEqual(seqs(await store.read('s1', 0, 100)), [51, 52]);
  await store.close();
  const again = open();
  assert.deepEqual(seqs((await again.open('s1')).events), [52], 'the index starts at the clear');
  assert.deepEqual(segments(dir, 's1').length, 1);
});

test('delete removes the directory; a delete cut short by a crash is finished on start', async (t) => {
  const { store, dir, open } = await setup(t);
  await withEvents(store, 's1', 3);
  await withEvents(store, 's2', 3);
  await store.delete('s1');
  assert.equal(existsSync(join(dir, 's1')), false);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n !== '.reserve'),
    ['s2'],
    'no trash left behind',
  );
  await store.close();
  mkdirSync(join(dir, '.trash-s9-0000'));
  writeFileSync(join(dir, '.trash-s9-0000', '000001.jsonl'), 'x');
  open();
  assert.equal(existsSync(join(dir, '.trash-s9-0000')), false);
});

test('a log from before meta.json and the index is taken over as it is', async (t) => {
  const { dir, open } = await setup(t);
  mkdirSync(join(dir, 'old'), { recursive: true });
  const lines = [1, 2, 3, 2].map((n) => JSON.stringify(event('old', n))).join('\n') + '\n';
  writeFileSync(join(dir, 'old', '000001.jsonl'), lines);
  const s = open();
  const [listed] = await s.listSessions();
  assert.equal(listed?.meta.owner, OWNER, 'the owner comes from its session.created');
  assert.equal(listed?.lastSeq, 3, 'a repeated seq (a retried write) keeps the first');
  assert.ok(existsSync(join(dir, 'old', 'meta.json')));
  const opened = await s.open('old');
  assert.deepEqual(seqs(opened.events), [1, 2, 3]);
  s.append(event('old', 4));
});

test('bad session ids are rejected and never reach the file system', async (t) => {
  const { store, root } = await setup(t);
  for (const id of ['..', '../x', 'a/b', '', 'x'.repeat(97), 'a.b']) {
    await assert.rejects(store.create({ id, owner: OWNER, createdAt: '' }), {
      code: 'store_invalid_session',
    });
    await assert.rejects(store.read(id, 0, 1), { code: 'store_invalid_session' });
  }
  assert.deepEqual(readdirSync(root), ['sessions']);
});
