/**
 * Seeded homes for the event-log benchmarks, written through the store API the way the
 * runtime writes them (setup, not measured): one fast-pipeline turn is 50 events.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EventDraft, ModelInfo } from '../../protocol/events.js';
import { INITIAL_MEMORY } from '../../server/runtime/nodes/memorizer.js';
import { Session } from '../../server/runtime/session.js';
import { createFileStore } from '../../server/store/file-store.js';
import type { EventStore } from '../../server/store/types.js';
import { tempHome } from '../helpers/runtime.js';

const REPLY =
  'Sure, here is what I found: the build is green, two tests were flaky and have been ' +
  'retried, the deploy is waiting for your approval and nothing else needs you today. Thanks!';
const MODEL: ModelInfo = {
  offline: true,
  models: { input: 'offline', thinker: 'offline', output: 'offline', memorizer: 'offline' },
};

/** One turn as the fast pipeline logs it: 50 events, 30 of them output deltas. */
export function turnDrafts(n: number): EventDraft[] {
  const turn = `t${n}`;
  const ctx = { tokens: 230 + n, budget: 6000, fillPct: 4, messages: 4, trimmed: 0 };
  const done = (node: 'input' | 'thinker' | 'output' | 'memorizer'): EventDraft => ({
    type: 'node.done',
    node,
    turn,
    ms: 9,
    model: 'offline',
  });
  return [
    { type: 'user.message', node: 'user', turn, text: `question ${n}: how is it going?` },
    { type: 'turn.started', node: 'runtime', turn, mode: 'fast' },
    { type: 'node.thinking', node: 'thinker', turn, detail: 'reasoning about the reply' },
    { type: 'node.context', node: 'thinker', turn, ...ctx },
    { type: 'node.streaming', node: 'output', turn },
    { type: 'node.thinking', node: 'input', turn, detail: 'perceiving the message' },
    { type: 'node.context', node: 'input', turn, ...ctx, budget: 2000 },
    { type: 'node.perceived', node: 'input', turn, perception: `The user asks question ${n}.` },
    done('input'),
    ...REPLY.split(' ').map((w): EventDraft => ({
      type: 'output.delta',
      node: 'output',
      turn,
      text: `${w} `,
    })),
    { type: 'node.decided', node: 'thinker', turn, decision: 'direct', summary: 'direct reply' },
    done('thinker'),
    done('output'),
    {
      type: 'assistant.message',
      node: 'output',
      turn,
      text: REPLY,
      controls: [],
      processes: [],
      model: MODEL,
    },
    {
      type: 'turn.done',
      node: 'runtime',
      turn,
      status: 'ok',
      timing: { firstTokenMs: 12, totalMs: 240, callsBeforeFirstToken: 1, modelCalls: 2 },
    },
    { type: 'node.thinking', node: 'memorizer', turn, detail: 'updating shared memory' },
    { type: 'node.context', node: 'memorizer', turn, ...ctx, budget: 3000 },
    done('memorizer'),
    {
      type: 'memory.updated',
      node: 'memorizer',
      turn,
      state: { ...INITIAL_MEMORY, topic: 'status' },
      version: n,
      changes: [],
    },
  ];
}

/**
 * Writes a session of `turns` turns the way the runtime does (a Session recording into the
 * store, `session.created` as seq 1), a snapshot after its last turn, and unloads it. Its
 * clock starts 30 days back and moves 150 ms per event: it is long idle. Returns its events.
 */
export async function seedSession(store: EventStore, id: string, owner: string, turns: number) {
  let t = Date.now() - 30 * 86_400_000;
  const meta = { id, owner, createdAt: new Date(t).toISOString() };
  await store.create(meta);
  const s = new Session(meta, store, () => (t += 150));
  s.record({ type: 'session.created', node: 'runtime', owner });
  for (let n = 1; n <= turns; n++) for (const d of turnDrafts(n)) s.record(d);
  await store.saveSnapshot(id, s.snapshot());
  await store.unload(id);
  return s.seq;
}

/** A COG_HOME with `sessions` sessions of `turns` turns each. */
export async function seedHome(prefix: string, sessions: number, turns: number, owner: string) {
  const home = tempHome(prefix);
  const store = createFileStore({ dir: join(home.home, 'sessions') });
  let events = 0;
  for (let i = 0; i < sessions; i++) {
    events += await seedSession(store, `b-${String(i).padStart(5, '0')}`, owner, turns);
  }
  await store.close();
  return { ...home, events };
}

/** Bytes of every file under `dir`, recursively: what a seeded home takes on disk. */
export function bytesUnder(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? bytesUnder(p) : statSync(p).size;
  }
  return total;
}
