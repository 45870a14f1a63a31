import type { RuntimeEvent } from '../../protocol/events.js';
import type { HistoryPage, SessionSummary, StateView, TracePage } from '../../protocol/results.js';
import type { Runtime, SessionSummary as OwnedSession } from '../runtime/runtime.js';
import type { Session } from '../runtime/session.js';

/**
 * Projections of a session's event log as the MCP tools and resources show them. Pure
 * functions of the session, shared by both so a tool and its resource never disagree.
 */

export function sessionView(s: OwnedSession): SessionSummary {
  return {
    id: s.id,
    ...(s.title ? { title: s.title } : {}),
    createdAt: s.createdAt,
    lastSeq: s.lastSeq,
    turns: s.turns,
    busy: s.busy,
  };
}

export function stateView(runtime: Runtime, s: Session): StateView {
  const sensor: StateView['sensor'] = s.lastSensor ? { ...s.lastSensor } : null;
  return {
    session: s.id,
    ...(s.title ? { title: s.title } : {}),
    memory: { ...s.memory },
    memoryVersion: s.memoryVersion,
    sensor,
    busy: s.work.busy,
    queued: s.work.queued,
    lastSeq: s.publishedSeq,
    turns: s.userMessages,
    model: runtime.modelInfo,
    context: structuredClone(s.context),
  };
}

export interface HistoryQuery {
  last: number;
  beforeSeq?: number;
  afterSeq?: number;
}

/**
 * The conversation since the last clear: the newest `last` messages in the seq window,
 * read from the store's index of messages (the cost is the page, not the log).
 */
export async function historyView(s: Session, q: HistoryQuery): Promise<HistoryPage> {
  const page = await s.messages({
    limit: q.last,
    ...(q.beforeSeq !== undefined ? { beforeSeq: q.beforeSeq } : {}),
    ...(q.afterSeq !== undefined ? { afterSeq: q.afterSeq } : {}),
  });
  const messages: HistoryPage['messages'] = [];
  for (const e of page.events) {
    const base = { seq: e.seq, ts: e.ts, ...(e.turn ? { turn: e.turn } : {}) };
    if (e.type === 'user.message') {
      messages.push({
        role: 'user',
        text: e.text,
        ...base,
        ...(e.action ? { action: e.action } : {}),
        ...(e.context?.length ? { context: e.context } : {}),
      });
    } else if (e.type === 'assistant.message') {
      messages.push({
        role: 'assistant',
        text: e.text,
        ...base,
        ...(e.controls.length ? { controls: e.controls } : {}),
      });
    }
  }
  return { session: s.id, messages, hasMore: page.hasMore };
}

export interface TraceQuery {
  sinceSeq: number;
  limit: number;
  node?: string;
  type?: string;
}

/** Events a filtered page looks at, at most: past it the page ends early with `has_more`. */
export const TRACE_SCAN_LIMIT = 5000;
const TRACE_READ_CHUNK = 500;

/**
 * Events after `sinceSeq` matching the filters, at most `limit`. `next_seq` is where the
 * next page starts: the last event returned, or (when the page is not full) the last event
 * looked at, so filtered paging never rescans what it has passed. A page reads what it
 * returns (and, when filtered, at most TRACE_SCAN_LIMIT events more).
 */
export async function traceView(s: Session, q: TraceQuery): Promise<TracePage> {
  const events: RuntimeEvent[] = [];
  let next = Math.max(q.sinceSeq, 0);
  const filtered = Boolean(q.node || q.type);
  let scanned = 0;
  while (next < s.publishedSeq && events.length < q.limit && scanned < TRACE_SCAN_LIMIT) {
    const want = filtered ? TRACE_READ_CHUNK : q.limit - events.length;
    const page = await s.read(next, Math.min(want, s.publishedSeq - next));
    if (page.length === 0) break;
    for (const e of page) {
      scanned++;
      if ((q.node && e.node !== q.node) || (q.type && e.type !== q.type)) {
        next = e.seq;
        continue;
      }
      if (events.length === q.limit) break;
      events.push(e);
      next = e.seq;
    }
  }
  return {
    session: s.id,
    events: events.map((e) => ({ ...e })),
    next_seq: next,
    has_more: next < s.publishedSeq,
  };
}
