import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RuntimeEvent, TitleSource } from '../../protocol/events.js';
import type { MakeStore } from './store-contract.js';
import { created, meta, user } from './store-events.js';

const titled = (session: string, seq: number, title: string, source: TitleSource) =>
  ({
    seq,
    ts: new Date(1_700_000_000_000 + seq).toISOString(),
    session,
    node: 'runtime',
    type: 'session.titled',
    title,
    source,
  }) satisfies RuntimeEvent;

/** The contract's "Titled" clause (server/store/types.ts), for every store alike. */
export function titlesContract(label: string, make: MakeStore): void {
  test(`${label}: a session.titled append becomes the listing's title, also after a restart`, async (t) => {
    const { store, reopen } = await make(t);
    const m = meta('s1', { title: 'hello there', titleSource: 'first-message' });
    await store.create(m);
    await store.append(created('s1'));
    await store.append(user('s1', 2));
    assert.deepEqual((await store.listSessions())[0]?.meta, m, 'the source is kept at create');

    await store.append(titled('s1', 3, 'Greetings', 'topic'));
    await store.append(user('s1', 4));
    await store.append(titled('s1', 5, 'My own', 'user'));
    await store.flush('s1');
    const renamed = { ...m, title: 'My own', titleSource: 'user' };
    assert.deepEqual((await store.listSessions())[0]?.meta, renamed);

    const fresh = await reopen();
    assert.deepEqual((await fresh.listSessions())[0]?.meta, renamed, 'listed after a restart');
    const opened = await fresh.open('s1');
    assert.deepEqual(opened.meta, renamed);
    assert.deepEqual(
      opened.events.map((e) => e.type),
      ['session.created', 'user.message', 'session.titled', 'user.message', 'session.titled'],
      'the log keeps every title it had',
    );
  });
}
