import type { Control } from '../protocol/controls.js';
import type { MemoryState, ModelInfo, ProcessInfo, RuntimeEvent } from '../protocol/events.js';
import type { SnapshotBase } from '../protocol/webview.js';
import type { CogClient } from './cog-client.js';
import { readTrace, readTracePage } from './runtime-tools.js';
import {
  HistoryPageSchema,
  ProcessListSchema,
  type Message,
  type StateView,
} from '../protocol/results.js';

/** The events a page ends with: the session's newest, read from `trace` in one call. */
export const TAIL_EVENTS = 300;
/** The messages a page shows from before its tail. */
export const PAGE_MESSAGES = 50;

/** What a snapshot that does not resume shows of a session. */
export interface SessionPage {
  /** Oldest first, seqs increasing: the messages before the tail, then the tail. */
  events: RuntimeEvent[];
  /** The last seq read from the trace: reading on from here misses nothing. */
  cursor: number;
  /** Absent when the tail is the whole session. */
  base?: SnapshotBase;
}

/**
 * What a snapshot shows: every event after the webview's `sinceSeq` when that is at most a
 * tail behind (`resumed`), else the newest page. A webview ahead of the runtime (its state
 * was reset) starts over.
 */
export async function readShown(
  client: CogClient,
  session: string,
  state: StateView,
  sinceSeq: number | undefined,
): Promise<SessionPage & { resumed: boolean }> {
  const behind = sinceSeq === undefined ? -1 : state.lastSeq - sinceSeq;
  if (sinceSeq !== undefined && behind >= 0 && behind <= TAIL_EVENTS) {
    const events = await readTrace(client, session, sinceSeq);
    return { events, cursor: events.at(-1)?.seq ?? sinceSeq, resumed: true };
  }
  return { ...(await readPage(client, session, state)), resumed: false };
}

/**
 * The newest page of a session, at a cost that does not grow with the session: one `trace`
 * call for the tail, one `history` call for the messages before it, and a `process-list`
 * only when a card on the page shows a run the tail says nothing about.
 *
 * What must hold: the tail is every event after `from` (what arrives after the one read
 * follows from `cursor`), so the webview goes on from it without a gap. Of the events
 * before it, only those that rebuild what is shown are sent, as themselves (seq, ts and
 * turn are the log's; an assistant message gets the runtime's current model and no
 * process list, which the history does not keep): the messages and the last sensor tick.
 */
export async function readPage(
  client: CogClient,
  session: string,
  state: StateView,
): Promise<SessionPage> {
  const from = Math.max(0, state.lastSeq - TAIL_EVENTS);
  const [tail, history] = await Promise.all([
    readTracePage(client, session, from),
    from > 0
      ? client.call(
          'history',
          { session, last: PAGE_MESSAGES, before_seq: from + 1 },
          HistoryPageSchema,
        )
      : undefined,
  ]);
  const cursor = tail.events.at(-1)?.seq ?? from;
  if (!history) return { events: tail.events, cursor };

  const model = state.model;
  const older = new Map<number, RuntimeEvent>();
  for (const m of history.messages) {
    const e = m.seq <= from ? messageEvent(m, session, model) : undefined;
    if (e) older.set(e.seq, e);
  }
  const sensor = state.sensor;
  if (sensor && sensor.seq > 0 && sensor.seq <= from) {
    older.set(sensor.seq, {
      seq: sensor.seq,
      ts: sensor.ts,
      session,
      node: 'sensor',
      type: 'sensor.tick',
      readings: sensor.readings,
      deltas: {},
    });
  }
  const events = [...[...older.values()].sort((a, b) => a.seq - b.seq), ...tail.events];
  const base: SnapshotBase = {
    earlier: history.hasMore,
    processes: await unseenRuns(client, session, events, tail.events),
  };
  if (state.memory && state.memoryVersion) {
    base.memory = { state: state.memory as unknown as MemoryState, version: state.memoryVersion };
  }
  return { events, cursor, base };
}

/** A message of `history` as the event that recorded it. */
function messageEvent(m: Message, session: string, model: ModelInfo): RuntimeEvent | undefined {
  const envelope = { seq: m.seq, ts: m.ts, session, ...(m.turn ? { turn: m.turn } : {}) };
  if (m.role === 'user') {
    return {
      ...envelope,
      node: 'user',
      type: 'user.message',
      text: m.text,
      ...(m.action ? { action: m.action } : {}),
    };
  }
  if (m.role === 'assistant') {
    return {
      ...envelope,
      node: 'output',
      type: 'assistant.message',
      text: m.text,
      // As the runtime stored them (it validated them); the webview checks what it draws.
      controls: (m.controls ?? []) as unknown as Control[],
      processes: [],
      model,
    };
  }
  return undefined;
}

/**
 * The runs whose cards are on the page but whose updates are all older than the tail:
 * without these the cards would wait for the runtime forever.
 */
async function unseenRuns(
  client: CogClient,
  session: string,
  events: readonly RuntimeEvent[],
  tail: readonly RuntimeEvent[],
): Promise<ProcessInfo[]> {
  const seen = new Set<string>();
  for (const e of tail) if (e.type === 'process.updated') seen.add(e.process.id);
  const wanted = new Set<string>();
  for (const e of events) {
    const controls: unknown =
      e.type === 'controls' || e.type === 'assistant.message' ? e.controls : undefined;
    if (!Array.isArray(controls)) continue;
    for (const c of controls as { type?: unknown; processId?: unknown }[]) {
      if (c?.type === 'process' && typeof c.processId === 'string' && !seen.has(c.processId))
        wanted.add(c.processId);
    }
  }
  if (!wanted.size) return [];
  const list = await client.call('process-list', { session }, ProcessListSchema);
  return list.processes.filter((p) => wanted.has(p.id)) as unknown as ProcessInfo[];
}
