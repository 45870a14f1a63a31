import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { StoreError } from '../../server/store/errors.js';
import { createFileStore, type FileStoreOptions } from '../../server/store/file-store.js';
import type { EventStore } from '../../server/store/types.js';

function event(session: string, seq: number, text = `message ${seq}`): RuntimeEvent {
  return {
    seq,
    ts: new Date(1_700_000_000_000 + seq).toISOString(),
    session,
    node: 'user',
    type: 'user.message',
    text,
  };
}

/** A fresh directory and a store on it, both cleaned up after the test. */
async function setup(t: TestContext, opts: Partial<FileStoreOptions> = {}) {
  const root = await mkdtemp(join(tmpdir(), 'cog-store-'));
  const dir = join(root, 'sessions');
  const errors: StoreError[] = [];
  const open = (more: Partial<FileStoreOptions> = {}): EventStore => {
    const store = createFileStore({
      dir,
      flushIntervalMs: 60_000,
      onError: (err) => errors.push(err),
      ...opts,
      ...more,
    });
    t.after(() => store.close().catch(() => undefined));
    return store;
  };
  t.after(() => rm(root, { recursive: true, force: true }));
  return { root, dir, errors, store: open(), open };
}

const segments = (dir: string, session: string) =>
  readdirSync(join(dir, session))
    .filter((n) => /^\d{6}\.jsonl$/.test(n))
    .sort();
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const seqs = (events: RuntimeEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('append, flush and load round-trip the events', async (t) => {
  const { store, dir, errors } = await setup(t);
  const sent = [event('s1', 1), event('s1', 2, 'héllo "quoted"\nline ☃'), event('s1', 3)];
  for (const e of sent) store.append(e);
  await store.flush();
  assert.deepEqual(segments(dir, 's1'), ['000001.jsonl']);
  assert.deepEqual(await store.load('s1'), { events: sent, quarantined: 0 });
  assert.deepEqual(await store.listSessions(), ['s1']);
  assert.deepEqual(errors, []);
});

test('order is preserved per session across many appends and several flushes', async (t) => {
  const { store, dir } = await setup(t, { flushIntervalMs: 1 });
  let a = 0;
  let b = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 300; i++) {
      store.append(event('a', ++a));
      if (i % 3 === 0) store.append(event('b', ++b));
    }
    if (round % 2 === 0) await store.flush('a');
    else await Promise.all([store.flush(), store.flush('b')]);
  }
  await store.flush();
  for (const [session, n] of [['a', a] as const, ['b', b] as const]) {
    // On disk, not only after load's sort: the lines themselves are in append order.
    const onDisk = segments(dir, session).flatMap((name) =>
      readFileSync(join(dir, session, name), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as RuntimeEvent).seq),
    );
    assert.deepEqual(onDisk, range(1, n));
    assert.deepEqual(seqs((await store.load(session)).events), range(1, n));
  }
});

test('flush resolves only once the events are on disk', async (t) => {
  const { store, dir } = await setup(t);
  store.append(event('s1', 1));
  assert.equal(existsSync(join(dir, 's1')), false, 'append only buffers');
  await store.flush('s1');
  const text = readFileSync(join(dir, 's1', '000001.jsonl'), 'utf8');
  assert.equal(text, JSON.stringify(event('s1', 1)) + '\n');
});

test('the timer writes buffered events without a flush call', async (t) => {
  const { store, dir } = await setup(t, { flushIntervalMs: 10 });
  store.append(event('s1', 1));
  const file = join(dir, 's1', '000001.jsonl');
  const deadline = Date.now() + 3000;
  while (!(existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'))) {
    assert.ok(Date.now() < deadline, 'timer flush did not happen');
    await new Promise((r) => setTimeout(r, 5));
  }
});

test('rotation starts new segments and never changes the old ones', async (t) => {
  const { store, dir } = await setup(t, { segmentBytes: 1000 });
  const text = 'x'.repeat(150);
  for (let seq = 1; seq <= 30; seq++) store.append(event('s1', seq, text));
  await store.flush('s1');
  const before = segments(dir, 's1');
  assert.ok(before.length >= 5, `expected several segments, got ${before.length}`);
  const hashes = new Map(before.map((n) => [n, sha(join(dir, 's1', n))]));
  const lastName = before.at(-1) ?? '';
  const lastBefore = readFileSync(join(dir, 's1', lastName));

  for (let seq = 31; seq <= 60; seq++) store.append(event('s1', seq, text));
  await store.flush('s1');
  const after = segments(dir, 's1');
  assert.ok(after.length > before.length);
  for (const name of before.slice(0, -1)) {
    assert.equal(sha(join(dir, 's1', name)), hashes.get(name), `${name} was rewritten`);
  }
  // The segment that was current may only have grown at its end.
  const lastAfter = readFileSync(join(dir, 's1', lastName));
  assert.deepEqual(lastAfter.subarray(0, lastBefore.length), lastBefore);
  for (const name of after) {
    const size = readFileSync(join(dir, 's1', name)).length;
    assert.ok(size <= 1000, `${name} is ${size} bytes`);
  }
  assert.deepEqual(seqs((await store.load('s1')).events), range(1, 60));
});

test('a torn tail is quarantined and the next append is not glued onto it', async (t) => {
  const { store: first, dir, open } = await setup(t);
  for (let seq = 1; seq <= 5; seq++) first.append(event('s1', seq));
  await first.close();
  const segment = join(dir, 's1', '000001.jsonl');
  const torn = '{"seq":6,"ts":"2024-01-01T00:00:00.000Z","session":"s1","node":"us';
  appendFileSync(segment, torn);
  const tornHash = sha(segment);

  const second = open(); // a restart after the crash that tore the line
  const loaded = await second.load('s1');
  assert.deepEqual(seqs(loaded.events), range(1, 5));
  assert.equal(loaded.quarantined, 1);
  const quarantineFiles = () =>
    readdirSync(join(dir, 's1')).filter((n) => /^quarantine-.+\.jsonl$/.test(n));
  assert.equal(quarantineFiles().length, 1);
  const [qFile = ''] = quarantineFiles();
  assert.equal(readFileSync(join(dir, 's1', qFile), 'utf8'), torn + '\n');

  second.append(event('s1', 6, 'after the crash'));
  second.append(event('s1', 7));
  await second.flush('s1');
  const again = await second.load('s1');
  assert.deepEqual(seqs(again.events), range(1, 7));
  assert.equal(again.events[5]?.type === 'user.message' && again.events[5].text, 'after the crash');
  assert.equal(again.quarantined, 1, 'the count is the same on every load');
  assert.equal(quarantineFiles().length, 1, 'a known bad line is not copied again');
  assert.equal(sha(segment), tornHash, 'the torn segment is never rewritten');
  assert.deepEqual(segments(dir, 's1'), ['000001.jsonl', '000002.jsonl']);

  // And once more from a third instance, as after another restart.
  const third = open();
  assert.deepEqual(await third.load('s1'), again);
});

test('an external torn write under a live store does not get glued to', async (t) => {
  const { store, dir } = await setup(t);
  store.append(event('s1', 1));
  await store.flush('s1');
  appendFileSync(join(dir, 's1', '000001.jsonl'), '{"seq":2,"ts":');
  store.append(event('s1', 2));
  await store.flush('s1');
  const loaded = await store.load('s1');
  assert.deepEqual(seqs(loaded.events), [1, 2]);
  assert.equal(loaded.quarantined, 1);
});

test('a corrupt line in the middle is skipped and counted', async (t) => {
  const { store, dir } = await setup(t);
  for (let seq = 1; seq <= 3; seq++) store.append(event('s1', seq));
  await store.flush('s1');
  appendFileSync(join(dir, 's1', '000001.jsonl'), 'not json at all\n[1,2,3]\n');
  for (let seq = 4; seq <= 5; seq++) store.append(event('s1', seq));
  await store.flush('s1');
  const loaded = await store.load('s1');
  assert.deepEqual(seqs(loaded.events), range(1, 5));
  assert.equal(loaded.quarantined, 2);
  assert.deepEqual(segments(dir, 's1'), ['000001.jsonl'], 'a clean line end needs no new segment');
});

test('a last line that lost only its newline is kept, and the writer moves on', async (t) => {
  const { dir, open } = await setup(t);
  await mkdir(join(dir, 's1'), { recursive: true });
  writeFileSync(
    join(dir, 's1', '000001.jsonl'),
    JSON.stringify(event('s1', 1)) + '\n' + JSON.stringify(event('s1', 2)),
  );
  const store = open();
  assert.deepEqual(await store.load('s1'), {
    events: [event('s1', 1), event('s1', 2)],
    quarantined: 0,
  });
  store.append(event('s1', 3));
  await store.flush('s1');
  assert.deepEqual(seqs((await store.load('s1')).events), [1, 2, 3]);
  assert.deepEqual(segments(dir, 's1'), ['000001.jsonl', '000002.jsonl']);
});

test('events come back in seq order, and a repeated seq keeps the first', async (t) => {
  const { dir, store } = await setup(t);
  await mkdir(join(dir, 's1'), { recursive: true });
  const lines = (...es: RuntimeEvent[]) => es.map((e) => JSON.stringify(e) + '\n').join('');
  writeFileSync(join(dir, 's1', '000001.jsonl'), lines(event('s1', 1, 'first'), event('s1', 3)));
  writeFileSync(join(dir, 's1', '000002.jsonl'), lines(event('s1', 1, 'retried'), event('s1', 2)));
  const { events, quarantined } = await store.load('s1');
  assert.deepEqual(seqs(events), [1, 2, 3]);
  assert.equal(events[0]?.type === 'user.message' && events[0].text, 'first');
  assert.equal(quarantined, 0);
});

test('bad session ids are rejected and never reach the file system', async (t) => {
  const { store, root, errors } = await setup(t);
  for (const id of ['../x', '', 'a/b', '..', 'a\\b', 'x'.repeat(65), 'é']) {
    await assert.rejects(store.load(id), { name: 'StoreError', code: 'store_invalid_session' });
    await assert.rejects(store.flush(id), { code: 'store_invalid_session' });
    assert.doesNotThrow(() => store.append(event(id, 1)));
  }
  await store.flush();
  assert.equal(errors.length, 7);
  assert.ok(errors.every((e) => e.code === 'store_invalid_session'));
  assert.deepEqual(readdirSync(root), [], 'nothing was written anywhere');
  assert.deepEqual(await store.listSessions(), []);
});

test('a failed write keeps the events, reports, and the next flush retries', async (t) => {
  const { store, dir, errors } = await setup(t);
  await mkdir(dir, { recursive: true });
  writeFileSync(join(dir, 's1'), 'a file where the session directory should be');
  store.append(event('s1', 1));
  store.append(event('s1', 2));
  await assert.rejects(store.flush('s1'), { code: 'store_write_failed' });
  assert.equal(errors.length, 1);
  assert.equal(errors[0]?.code, 'store_write_failed');

  await rm(join(dir, 's1'));
  store.append(event('s1', 3));
  await store.flush('s1');
  assert.deepEqual(seqs((await store.load('s1')).events), [1, 2, 3]);
});

test('load sees events appended but not yet flushed', async (t) => {
  const { store } = await setup(t);
  store.append(event('s1', 1));
  store.append(event('s1', 2));
  assert.deepEqual(seqs((await store.load('s1')).events), [1, 2]);
  assert.deepEqual(await store.load('nobody'), { events: [], quarantined: 0 });
});

test('a second store on the same dir loads what the first wrote', async (t) => {
  const { dir, store: first, open } = await setup(t);
  for (const s of ['s1', 's2']) for (let seq = 1; seq <= 3; seq++) first.append(event(s, seq));
  await first.close();
  const second = open();
  assert.deepEqual(await second.listSessions(), ['s1', 's2']);
  assert.deepEqual(seqs((await second.load('s1')).events), [1, 2, 3]);
  second.append(event('s1', 4));
  await second.close();
  assert.deepEqual(segments(dir, 's1'), ['000001.jsonl'], 'a clean segment is continued');
  assert.deepEqual(seqs((await open().load('s1')).events), [1, 2, 3, 4]);
});

test('append after close reports store_closed and never throws', async (t) => {
  const { store, errors } = await setup(t);
  await store.close();
  await store.close();
  store.append(event('s1', 1));
  assert.deepEqual(
    errors.map((e) => e.code),
    ['store_closed'],
  );
});
