import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { MIGRATIONS } from '../../server/store/pg-migrations.js';
import { createPgStore } from '../../server/store/pg-store.js';
import type { EventStore } from '../../server/store/types.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { delta, fill, keyOf, meta, range, seqs, user } from '../helpers/store-events.js';

// What only the PostgreSQL store has: commits behind a promise, batches, fencing between
// instances, migrations from several instances at once. The contract it shares with the
// file store is store-contract-pg.test.ts.

let server: PgServer;
let databases = 0;
const stores: EventStore[] = [];

before(async () => {
  server = await startPostgres();
});
after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  await server?.stop();
});

async function freshDb(): Promise<string> {
  return server.createDatabase(`pgstore_${++databases}`);
}

async function open(url: string): Promise<EventStore> {
  const store = await createPgStore({ url });
  stores.push(store);
  return store;
}

async function rows(url: string, sql: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

test('an append resolves once committed: another connection already reads it', async () => {
  const url = await freshDb();
  const store = await open(url);
  const m = meta('s1');
  await fill(store, m, 1);
  const written = store.append(user('s1', 2), { key: keyOf(m) });
  assert.ok(written instanceof Promise, 'the PostgreSQL store commits later');
  await written;
  const seen = await rows(url, 'SELECT seq FROM cog_events WHERE session_key = $1 ORDER BY seq', [
    keyOf(m),
  ]);
  assert.deepEqual(
    seen.map((r) => Number(r.seq)),
    [1, 2],
  );
});

test('a burst of 2000 appends not awaited one by one: all kept, resolved in seq order', async () => {
  const url = await freshDb();
  const store = await open(url);
  const m = meta('burst');
  await fill(store, m, 1);
  const resolved: number[] = [];
  const all = range(2, 2001).map((seq) =>
    Promise.resolve(store.append(delta('burst', seq), { key: keyOf(m) })).then(() =>
      resolved.push(seq),
    ),
  );
  await Promise.all(all);
  assert.deepEqual(resolved, range(2, 2001), 'resolved in seq order');
  assert.deepEqual(seqs(await store.read(keyOf(m), 0, 5000)), range(1, 2001));
});

test('two instances cannot both write a session: the second writer is refused, keeping nothing', async () => {
  const url = await freshDb();
  const a = await open(url);
  const b = await open(url);
  const m = meta('shared');
  await fill(a, m, 2);
  await b.open(keyOf(m));
  await a.append(user('shared', 3, 'from A'), { key: keyOf(m) });
  // B still thinks seq 3 is free: its write must not land.
  await assert.rejects(async () => b.append(user('shared', 3, 'from B'), { key: keyOf(m) }), {
    code: 'store_out_of_order',
  });
  // What B queued behind the refused write is refused too, until B opens the session again.
  await assert.rejects(async () => b.append(user('shared', 4, 'from B'), { key: keyOf(m) }), {
    code: 'store_out_of_order',
  });
  const texts = (await a.read(keyOf(m), 0, 10)).map((e) => ('text' in e ? e.text : e.type));
  assert.deepEqual(texts, ['session.created', 'message 2', 'from A']);
  const again = await b.open(keyOf(m));
  assert.equal(again.lastSeq, 3);
  await b.append(user('shared', 4, 'from B, after catching up'), { key: keyOf(m) });
  assert.equal((await a.read(keyOf(m), 3, 10))[0]?.seq, 4);
});

test('a session taken over under a newer lease epoch fences the old writer', async () => {
  const url = await freshDb();
  const a = await open(url);
  const m = meta('leased');
  await fill(a, m, 2);
  // Another instance takes the session over (the lease's epoch moves) without writing yet.
  await rows(url, 'UPDATE cog_sessions SET lease_epoch = lease_epoch + 1 WHERE key = $1', [
    keyOf(m),
  ]);
  await assert.rejects(async () => a.append(user('leased', 3), { key: keyOf(m) }), {
    code: 'store_out_of_order',
  });
  assert.equal((await a.read(keyOf(m), 2, 10)).length, 0, 'nothing landed');
});

test('three instances migrating one new database at once: each step applied once', async () => {
  const url = await freshDb();
  const three = await Promise.all([open(url), open(url), open(url)]);
  assert.equal(three.length, 3);
  const applied = await rows(url, 'SELECT version FROM cog_migrations ORDER BY version');
  assert.deepEqual(
    applied.map((r) => Number(r.version)),
    MIGRATIONS.map((s) => s.version),
  );
  // Each works on the one schema.
  await fill(three[0]!, meta('m1'), 2);
  assert.equal((await three[2]!.listSessions()).length, 1);
});

test('a database Cog cannot use is a clear error, without the password', async () => {
  const url = new URL(server.url);
  url.password = 'not-the-password';
  await assert.rejects(createPgStore({ url: url.href }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'store_write_failed');
    assert.match(err.message, /Cannot use the database postgres:\/\/cog:\*\*\*@127\.0\.0\.1/);
    assert.ok(!err.message.includes('not-the-password'));
    return true;
  });
  const newer = await freshDb();
  await open(newer);
  await rows(newer, "INSERT INTO cog_migrations (version, name) VALUES (9999, 'from the future')");
  await assert.rejects(createPgStore({ url: newer }), /schema version 9999, newer than this Cog/);
});
