import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { EventStore } from '../../server/store/types.js';
import type { MakeStore } from './store-contract.js';
import { assistant, cleared, delta, fill, meta, range, seqs, user } from './store-events.js';

/**
 * The reading half of the EventStore contract: paging, messages, snapshots and the drop
 * before a clear. Registered by `storeContract` (test/helpers/store-contract.ts).
 */
export function readsContract(label: string, make: MakeStore): void {
  test(`${label}: read pages by afterSeq and limit, in order`, async (t) => {
    const { store, reopen } = await make(t);
    const sent = await fill(store, meta('s1'), 25);
    const check = async (s: EventStore) => {
      assert.deepEqual(await s.read('s1', 0, 10), sent.slice(0, 10));
      assert.deepEqual(await s.read('s1', 10, 10), sent.slice(10, 20));
      assert.deepEqual(await s.read('s1', 20, 10), sent.slice(20), 'a short last page');
      assert.deepEqual(await s.read('s1', 25, 10), [], 'nothing after the last');
      assert.deepEqual(await s.read('s1', 99, 10), []);
      assert.deepEqual(await s.read('s1', 3, 1), [sent[3]]);
      assert.deepEqual(await s.read('s1', 0, 0), []);
      const walked: RuntimeEvent[] = [];
      for (let after = 0, page; (page = await s.read('s1', after, 7)).length > 0;) {
        walked.push(...page);
        after = page.at(-1)!.seq;
      }
      assert.deepEqual(walked, sent);
    };
    await check(store);
    await check(await reopen());
  });

  test(`${label}: messages page backwards over user and assistant messages`, async (t) => {
    const { store, reopen } = await make(t);
    await fill(store, meta('s1'), 1);
    const messages: RuntimeEvent[] = [];
    for (let seq = 2; seq <= 40; seq++) {
      const e =
        seq % 4 === 0 ? assistant('s1', seq) : seq % 4 === 1 ? user('s1', seq) : delta('s1', seq);
      await store.append(e);
      if (e.type !== 'output.delta') messages.push(e);
    }
    assert.equal(messages.length, 19);
    const check = async (s: EventStore) => {
      const newest = await s.messages('s1', { limit: 3 });
      assert.deepEqual(newest, { events: messages.slice(-3), hasMore: true });
      // Walking back page by page gives every message once, oldest first.
      const walked: RuntimeEvent[] = [];
      let q: { beforeSeq?: number; limit: number } = { limit: 5 };
      for (;;) {
        const page = await s.messages('s1', q);
        walked.unshift(...page.events);
        if (!page.hasMore) break;
        assert.equal(page.events.length, 5, 'a page with more behind it is full');
        q = { beforeSeq: page.events[0]!.seq, limit: 5 };
      }
      assert.deepEqual(walked, messages);
      assert.deepEqual(await s.messages('s1', { limit: 19 }), { events: messages, hasMore: false });
      assert.deepEqual(await s.messages('s1', { limit: 100 }), {
        events: messages,
        hasMore: false,
      });
    };
    await check(store);
    await check(await reopen());
  });

  test(`${label}: messages take afterSeq and beforeSeq as exclusive bounds`, async (t) => {
    const { store } = await make(t);
    await fill(store, meta('s1'), 1);
    for (let seq = 2; seq <= 21; seq++) await store.append(user('s1', seq));
    const window = await store.messages('s1', { afterSeq: 5, beforeSeq: 10, limit: 10 });
    assert.deepEqual(window, { events: range(6, 9).map((n) => user('s1', n)), hasMore: false });
    assert.deepEqual(await store.messages('s1', { afterSeq: 5, beforeSeq: 10, limit: 2 }), {
      events: [user('s1', 8), user('s1', 9)],
      hasMore: true,
    });
    assert.deepEqual(
      seqs((await store.messages('s1', { afterSeq: 18, limit: 10 })).events),
      [19, 20, 21],
    );
    assert.deepEqual(
      seqs((await store.messages('s1', { beforeSeq: 4, limit: 10 })).events),
      [2, 3],
    );
    assert.deepEqual(await store.messages('s1', { afterSeq: 21, limit: 10 }), {
      events: [],
      hasMore: false,
    });
    assert.deepEqual(await store.messages('s1', { afterSeq: 9, beforeSeq: 10, limit: 5 }), {
      events: [],
      hasMore: false,
    });
  });

  test(`${label}: messages stop at the latest session.cleared`, async (t) => {
    const { store, reopen } = await make(t);
    await fill(store, meta('s1'), 5);
    await store.append(cleared('s1', 6));
    await store.append(user('s1', 7));
    await store.append(cleared('s1', 8));
    await store.append(user('s1', 9));
    await store.append(delta('s1', 10));
    await store.append(assistant('s1', 11));
    const check = async (s: EventStore) => {
      assert.deepEqual(await s.messages('s1', { limit: 10 }), {
        events: [user('s1', 9), assistant('s1', 11)],
        hasMore: false,
      });
      assert.deepEqual(await s.messages('s1', { limit: 1 }), {
        events: [assistant('s1', 11)],
        hasMore: true,
      });
      assert.deepEqual(await s.messages('s1', { beforeSeq: 9, limit: 10 }), {
        events: [],
        hasMore: false,
      });
      // A clear hides messages from `messages` only: `read` still has the whole log.
      assert.deepEqual(seqs(await s.read('s1', 0, 100)), range(1, 11));
    };
    await check(store);
    await check(await reopen());
  });

  test(`${label}: open gives the latest snapshot and replays only the events after it`, async (t) => {
    const { store, reopen } = await make(t);
    const sent = await fill(store, meta('s1'), 10);
    await store.saveSnapshot('s1', { seq: 5, turns: 3, state: { mark: 'five' } });
    await store.saveSnapshot('s1', { seq: 8, turns: 7, state: { mark: 'eight', n: [1, null] } });
    const snapshot = { seq: 8, turns: 7, state: { mark: 'eight', n: [1, null] } };
    const expected = {
      meta: meta('s1'),
      lastSeq: 10,
      snapshot,
      events: sent.slice(8),
      quarantined: 0,
    };
    assert.deepEqual(await store.open('s1'), expected);
    let fresh = await reopen();
    assert.equal((await fresh.listSessions())[0]?.turns, 7);
    assert.deepEqual(await fresh.open('s1'), expected);
    assert.deepEqual(await fresh.read('s1', 0, 100), sent, 'a snapshot frees nothing');
    // A snapshot as of the last event leaves nothing to replay.
    await fresh.saveSnapshot('s1', { seq: 10, turns: 9, state: 'all' });
    fresh = await reopen();
    const opened = await fresh.open('s1');
    assert.deepEqual(opened.snapshot, { seq: 10, turns: 9, state: 'all' });
    assert.deepEqual(opened.events, []);
    await fresh.append(user('s1', 11));
    assert.deepEqual(seqs((await (await reopen()).open('s1')).events), [11]);
  });

  test(`${label}: a snapshot ahead of the log is ignored`, async (t) => {
    const { store, reopen } = await make(t);
    const sent = await fill(store, meta('s1'), 10);
    await store.saveSnapshot('s1', { seq: 99, turns: 1, state: { ahead: true } });
    const fresh = await reopen();
    const opened = await fresh.open('s1');
    assert.equal(opened.snapshot, null, 'a snapshot past the end of the log is not trusted');
    assert.deepEqual(opened.events, sent);
    assert.equal(opened.lastSeq, 10);
  });

  test(`${label}: dropBeforeClear keeps the clear, what follows it and the snapshot`, async (t) => {
    const { store, reopen } = await make(t);
    await fill(store, meta('s1'), 20);
    await store.saveSnapshot('s1', { seq: 15, turns: 10, state: { before: true } });
    await store.append(cleared('s1', 21));
    await store.append(user('s1', 22));
    const snapshot = { seq: 21, turns: 11, state: { cleared: true } };
    await store.dropBeforeClear('s1', snapshot);
    assert.deepEqual(await store.read('s1', 0, 100), [cleared('s1', 21), user('s1', 22)]);
    await store.append(user('s1', 23));
    const check = async (s: EventStore) => {
      const opened = await s.open('s1');
      assert.deepEqual(opened.snapshot, snapshot);
      assert.deepEqual(opened.events, [user('s1', 22), user('s1', 23)]);
      assert.equal(opened.lastSeq, 23);
      assert.deepEqual(seqs(await s.read('s1', 0, 100)), [21, 22, 23]);
      assert.deepEqual(seqs((await s.messages('s1', { limit: 10 })).events), [22, 23]);
      const [listed] = await s.listSessions();
      assert.deepEqual([listed?.lastSeq, listed?.turns], [23, 11]);
    };
    await check(store);
    const fresh = await reopen();
    await check(fresh);
    await fresh.append(user('s1', 24));
    assert.deepEqual(seqs(await fresh.read('s1', 20, 100)), [21, 22, 23, 24]);
  });
}
