import type { RuntimeEvent } from '../../protocol/events.js';
import type { EventStore, SessionMeta } from '../../server/store/types.js';

/** Events and sessions for the store contract (test/helpers/store-contract.ts). */

export const OWNER = 'local:contract';

const ts = (seq: number) => new Date(1_700_000_000_000 + seq).toISOString();

/** A session identity; `key` absent is a session from before keys (its key is its id). */
export function meta(id: string, more: Partial<SessionMeta> = {}): SessionMeta {
  return { id, owner: OWNER, createdAt: '2026-01-01T00:00:00.000Z', ...more };
}

export const created = (session: string, owner = OWNER): RuntimeEvent => ({
  seq: 1,
  ts: ts(1),
  session,
  node: 'runtime',
  type: 'session.created',
  owner,
});

export const user = (session: string, seq: number, text = `message ${seq}`): RuntimeEvent => ({
  seq,
  ts: ts(seq),
  session,
  node: 'user',
  type: 'user.message',
  text,
});

export const assistant = (session: string, seq: number): RuntimeEvent => ({
  seq,
  ts: ts(seq),
  session,
  node: 'output',
  turn: `t${seq}`,
  type: 'assistant.message',
  text: `reply ${seq}`,
  controls: [],
  processes: [],
  model: {
    offline: true,
    models: { input: 'offline', thinker: 'offline', output: 'offline', memorizer: 'offline' },
  },
});

/** Not a message: `messages` must skip it. */
export const delta = (session: string, seq: number): RuntimeEvent => ({
  seq,
  ts: ts(seq),
  session,
  node: 'output',
  type: 'output.delta',
  text: `d${seq}`,
});

export const cleared = (session: string, seq: number): RuntimeEvent => ({
  seq,
  ts: ts(seq),
  session,
  node: 'runtime',
  type: 'session.cleared',
});

/** The session's store key, as the runtime names it (SessionMeta.key, else the id). */
export const keyOf = (m: SessionMeta) => m.key ?? m.id;

/**
 * Creates `m` and appends its `session.created` and user messages up to seq `n`; returns
 * what was appended. Awaits every append: another store's may be asynchronous.
 */
export async function fill(store: EventStore, m: SessionMeta, n: number) {
  await store.create(m);
  const sent = [created(m.id, m.owner)];
  for (let seq = 2; seq <= n; seq++) sent.push(user(m.id, seq));
  for (const e of sent.slice(0, n)) await store.append(e, { key: keyOf(m) });
  return sent.slice(0, n);
}

export const seqs = (events: RuntimeEvent[]) => events.map((e) => e.seq);
export const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
