import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { SessionCatalog } from '../../server/runtime/catalog.js';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { EventStore, StoredSession } from '../../server/store/types.js';
import { readsContract } from './store-contract-reads.js';
import { titlesContract } from './store-contract-titles.js';
import {
  OWNER,
  assistant,
  created,
  delta,
  fill,
  keyOf,
  meta,
  range,
  seqs,
  user,
} from './store-events.js';

/** A store for one contract test, on backing data of its own. */
export interface StoreUnderTest {
  store: EventStore;
  /**
   * Closes the store last returned (or `store`) and opens a new one on the same backing
   * data: what a restart of the process sees.
   */
  reopen(): Promise<EventStore>;
}

/** Makes a fresh StoreUnderTest; registers its own cleanup with `t.after`. */
export type MakeStore = (t: TestContext) => Promise<StoreUnderTest>;

/**
 * Registers the EventStore contract (server/store/types.ts) as node:test cases named
 * `${label}: …`, for every store to pass alike. Only what the contract promises is
 * asserted: no paths, no full-disk behaviour, and every append is awaited, since another
 * store's append may return a Promise.
 */
export function storeContract(label: string, make: MakeStore): void {
  lifecycleContract(label, make);
  readsContract(label, make);
  titlesContract(label, make);
}

/** Listings compared by key: the contract does not say in which order they come. */
const byKey = (list: StoredSession[]) =>
  [...list].sort((a, b) => keyOf(a.meta).localeCompare(keyOf(b.meta)));

function lifecycleContract(label: string, make: MakeStore): void {
  test(`${label}: create, append and read round-trip every event exactly`, async (t) => {
    const { store, reopen } = await make(t);
    const m = meta('s1', { title: 'T' });
    await store.create(m);
    // Appends need no open after create: the runtime records session.created at once.
    const sent = [
      created('s1'),
      user('s1', 2, 'héllo "quoted"\nline ☃ \u0000 \u2028'),
      delta('s1', 3),
      assistant('s1', 4),
    ];
    for (const e of sent) await store.append(e);
    await store.flush('s1');
    await store.flush();
    assert.deepEqual(await store.read('s1', 0, 10), sent);
    const opened = await store.open('s1');
    assert.deepEqual(opened.meta, m);
    assert.equal(opened.lastSeq, 4);
    assert.equal(opened.snapshot, null);
    assert.deepEqual(opened.events, sent);
    assert.equal(opened.quarantined, 0);

    const again = await (await reopen()).open('s1');
    assert.deepEqual(again, { meta: m, lastSeq: 4, snapshot: null, events: sent, quarantined: 0 });
  });

  test(`${label}: listSessions shows meta, lastSeq and turns, and opens nothing`, async (t) => {
    const { store, reopen } = await make(t);
    assert.deepEqual(await store.listSessions(), []);
    const a = meta('a', { title: 'Alpha', createdAt: '2026-02-01T00:00:00.000Z' });
    const b = meta('b', { key: SessionCatalog.keyFor(OWNER, 'b') });
    await fill(store, a, 5);
    await fill(store, b, 3);
    await store.saveSnapshot('a', { seq: 4, turns: 2, state: { x: 1 } });
    const expected = byKey([
      { meta: a, lastSeq: 5, turns: 2 },
      { meta: b, lastSeq: 3, turns: 0 },
    ]);
    assert.deepEqual(byKey(await store.listSessions()), expected);

    const fresh = await reopen();
    assert.deepEqual(byKey(await fresh.listSessions()), expected);
    // A listing reads identities only: a listed session is still not open for appends.
    await assert.rejects(async () => fresh.append(user('a', 6)), { code: 'store_not_found' });
    await fresh.open('a');
    await fresh.append(user('a', 6));
    const listed = (await fresh.listSessions()).find((s) => s.meta.id === 'a');
    assert.equal(listed?.lastSeq, 6, 'the listing follows appends to an open session');
  });

  test(`${label}: create of a key already taken fails with store_exists, changing nothing`, async (t) => {
    const { store, reopen } = await make(t);
    const m = meta('s1', { title: 'first' });
    const sent = await fill(store, m, 3);
    await assert.rejects(store.create(meta('s1', { owner: 'other', title: 'second' })), {
      code: 'store_exists',
    });
    assert.deepEqual(await store.read('s1', 0, 10), sent);
    await store.append(user('s1', 4));
    const fresh = await reopen();
    await assert.rejects(fresh.create(meta('s1')), { code: 'store_exists' });
    assert.deepEqual(await fresh.listSessions(), [{ meta: m, lastSeq: 4, turns: 0 }]);
    assert.deepEqual(seqs((await fresh.open('s1')).events), range(1, 4));
  });

  test(`${label}: an append out of order fails with store_out_of_order and keeps nothing`, async (t) => {
    const { store, reopen } = await make(t);
    await store.create(meta('s1'));
    await assert.rejects(async () => store.append(user('s1', 2)), { code: 'store_out_of_order' });
    await store.append(created('s1'));
    for (const seq of [1, 3, 0, -1, 100]) {
      await assert.rejects(async () => store.append(user('s1', seq, 'bad')), {
        code: 'store_out_of_order',
      });
    }
    // The failed appends used up no seq: 2 is still the next one.
    await store.append(user('s1', 2));
    await store.append(user('s1', 3));
    const good = [created('s1'), user('s1', 2), user('s1', 3)];
    assert.deepEqual(await store.read('s1', 0, 10), good);
    assert.equal((await store.listSessions())[0]?.lastSeq, 3);

    const fresh = await reopen();
    assert.equal((await fresh.listSessions())[0]?.lastSeq, 3);
    const opened = await fresh.open('s1');
    assert.deepEqual(opened.events, good, 'no trace of the refused events');
    assert.equal(opened.lastSeq, 3);
    await fresh.append(user('s1', 4));
    assert.deepEqual(seqs(await fresh.read('s1', 0, 10)), range(1, 4));
  });

  test(`${label}: an event JSON cannot encode fails with store_unserializable, using no seq`, async (t) => {
    const { store, reopen } = await make(t);
    await fill(store, meta('s1'), 2);
    const cyclic: Record<string, unknown> = { ...user('s1', 3) };
    cyclic['self'] = cyclic;
    const big = { ...user('s1', 3), n: 1n };
    for (const bad of [cyclic, big]) {
      await assert.rejects(async () => store.append(bad as unknown as RuntimeEvent), {
        code: 'store_unserializable',
      });
    }
    await store.append(user('s1', 3));
    assert.deepEqual(seqs((await (await reopen()).open('s1')).events), [1, 2, 3]);
  });

  test(`${label}: a session never created is store_not_found`, async (t) => {
    const { store } = await make(t);
    await fill(store, meta('s1'), 2);
    await assert.rejects(store.open('nope'), { code: 'store_not_found' });
    await assert.rejects(store.read('nope', 0, 10), { code: 'store_not_found' });
    await assert.rejects(store.messages('nope', { limit: 10 }), { code: 'store_not_found' });
    await assert.rejects(store.delete('nope'), { code: 'store_not_found' });
    await assert.rejects(async () => store.append(user('nope', 1)), { code: 'store_not_found' });
    assert.deepEqual(
      (await store.listSessions()).map((s) => s.meta.id),
      ['s1'],
    );
  });

  test(`${label}: unload keeps the session; reads go on, appends need open again`, async (t) => {
    const { store, reopen } = await make(t);
    const sent = await fill(store, meta('s1'), 4);
    await store.unload('s1');
    await store.unload('s1'); // not open: nothing to do
    await store.unload('never-created');
    assert.deepEqual((await store.listSessions())[0]?.lastSeq, 4);
    await assert.rejects(async () => store.append(user('s1', 5)), { code: 'store_not_found' });
    // A reader may still hold a session the runtime has just set aside.
    assert.deepEqual(await store.read('s1', 0, 10), sent);
    assert.deepEqual(seqs((await store.messages('s1', { limit: 10 })).events), range(2, 4));
    const opened = await store.open('s1');
    assert.deepEqual(opened.events, sent);
    await store.append(user('s1', 5));
    const fresh = await reopen();
    assert.deepEqual(seqs((await fresh.open('s1')).events), range(1, 5));
  });

  test(`${label}: delete removes the session and everything stored for it`, async (t) => {
    const { store, reopen } = await make(t);
    await fill(store, meta('s1'), 6);
    await store.saveSnapshot('s1', { seq: 5, turns: 3, state: { old: true } });
    const kept = await fill(store, meta('s2'), 3);
    await store.delete('s1');
    assert.deepEqual(
      (await store.listSessions()).map((s) => s.meta.id),
      ['s2'],
    );
    await assert.rejects(store.open('s1'), { code: 'store_not_found' });
    await assert.rejects(store.read('s1', 0, 10), { code: 'store_not_found' });
    await assert.rejects(async () => store.append(user('s1', 7)), { code: 'store_not_found' });
    await assert.rejects(store.delete('s1'), { code: 'store_not_found' });

    const fresh = await reopen();
    assert.deepEqual(
      (await fresh.listSessions()).map((s) => s.meta.id),
      ['s2'],
    );
    await assert.rejects(fresh.open('s1'), { code: 'store_not_found' });
    assert.deepEqual(await fresh.read('s2', 0, 10), kept);
    // The key is free again, and nothing of the deleted session comes back with it.
    await fresh.create(meta('s1', { title: 'new' }));
    const reborn = await fresh.open('s1');
    assert.deepEqual(reborn, {
      meta: meta('s1', { title: 'new' }),
      lastSeq: 0,
      snapshot: null,
      events: [],
      quarantined: 0,
    });
    assert.deepEqual((await fresh.listSessions()).find((s) => s.meta.id === 's1')?.turns, 0);
  });

  test(`${label}: ids are per principal: one id under two owners' keys is two sessions`, async (t) => {
    const { store, reopen } = await make(t);
    const ada = meta('demo', { owner: 'oidc:ada', key: SessionCatalog.keyFor('oidc:ada', 'demo') });
    const bob = meta('demo', { owner: 'oidc:bob', key: SessionCatalog.keyFor('oidc:bob', 'demo') });
    // A session from before keys: its key is its id.
    const legacy = meta('demo');
    await store.create(ada);
    await store.create(bob);
    await store.create(legacy);
    // Events carry the id; `key` says which session they go to.
    await store.append(created('demo', 'oidc:ada'), { key: keyOf(ada) });
    await store.append(created('demo', 'oidc:bob'), { key: keyOf(bob) });
    await store.append(user('demo', 2, 'from bob'), { key: keyOf(bob) });
    await store.append(created('demo'), { key: 'demo' });
    await store.append(user('demo', 2, 'legacy'));
    await assert.rejects(store.create({ ...bob, owner: 'oidc:ada' }), { code: 'store_exists' });

    const check = async (s: EventStore) => {
      assert.deepEqual(await s.read(keyOf(ada), 0, 10), [created('demo', 'oidc:ada')]);
      assert.deepEqual(await s.read(keyOf(bob), 0, 10), [
        created('demo', 'oidc:bob'),
        user('demo', 2, 'from bob'),
      ]);
      assert.deepEqual(await s.read('demo', 0, 10), [created('demo'), user('demo', 2, 'legacy')]);
      assert.deepEqual(
        byKey(await s.listSessions()),
        byKey([
          { meta: ada, lastSeq: 1, turns: 0 },
          { meta: bob, lastSeq: 2, turns: 0 },
          { meta: legacy, lastSeq: 2, turns: 0 },
        ]),
      );
    };
    await check(store);
    const fresh = await reopen();
    await check(fresh);
    assert.deepEqual((await fresh.open(keyOf(bob))).meta, bob);
    await fresh.delete(keyOf(bob));
    assert.deepEqual((await fresh.open(keyOf(ada))).events, [created('demo', 'oidc:ada')]);
    assert.equal((await fresh.listSessions()).length, 2);
  });

  test(`${label}: several sessions interleaved keep their own events, across a reopen`, async (t) => {
    const { store, reopen } = await make(t);
    const ids = ['i1', 'i2', 'i3'];
    const counts = [7, 12, 3];
    for (const id of ids) await store.create(meta(id));
    const sent = new Map(ids.map((id) => [id, [created(id)]]));
    for (const id of ids) await store.append(created(id));
    for (let seq = 2; seq <= Math.max(...counts); seq++) {
      for (const [i, id] of ids.entries()) {
        if (seq > counts[i]!) continue;
        const e = seq % 3 === 0 ? delta(id, seq) : user(id, seq);
        await store.append(e);
        sent.get(id)!.push(e);
      }
    }
    const check = async (s: EventStore) => {
      for (const id of ids) {
        assert.deepEqual(await s.read(id, 0, 100), sent.get(id), id);
        assert.deepEqual(await s.read(id, 1, 2), sent.get(id)!.slice(1, 3), id);
      }
      const lastSeqs = Object.fromEntries(
        (await s.listSessions()).map((l) => [l.meta.id, l.lastSeq]),
      );
      assert.deepEqual(lastSeqs, { i1: 7, i2: 12, i3: 3 });
    };
    await check(store);
    const fresh = await reopen();
    await check(fresh);
    for (const [i, id] of ids.entries()) {
      assert.deepEqual((await fresh.open(id)).events, sent.get(id), id);
      await fresh.append(user(id, counts[i]! + 1));
    }
    assert.deepEqual(seqs(await fresh.read('i2', 10, 10)), [11, 12, 13]);
  });

  test(`${label}: a closed store refuses use with store_closed`, async (t) => {
    const { store } = await make(t);
    await fill(store, meta('s1'), 2);
    await store.close();
    await store.close(); // closing twice is harmless
    await assert.rejects(store.listSessions(), { code: 'store_closed' });
    await assert.rejects(store.create(meta('s2')), { code: 'store_closed' });
    await assert.rejects(store.open('s1'), { code: 'store_closed' });
    await assert.rejects(store.read('s1', 0, 10), { code: 'store_closed' });
    await assert.rejects(store.messages('s1', { limit: 1 }), { code: 'store_closed' });
    await assert.rejects(store.delete('s1'), { code: 'store_closed' });
    await assert.rejects(async () => store.append(user('s1', 3)), { code: 'store_closed' });
  });
}
