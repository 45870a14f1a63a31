import type { RuntimeEvent } from '../../protocol/events.js';
import type { Runtime, SessionSummary, TurnResult } from '../runtime/runtime.js';
import type { Session } from '../runtime/session.js';
import type {
  HistoryOutput,
  SessionOutput,
  StateOutput,
  TraceOutput,
  TurnOutput,
} from './schemas.js';

/**
 * Projections of a session's event log as the MCP tools and resources show them. Pure
 * functions of the session, shared by both so a tool and its resource never disagree.
 */

export function sessionView(s: SessionSummary): SessionOutput {
  return {
    id: s.id,
    ...(s.title ? { title: s.title } : {}),
    createdAt: s.createdAt,
    lastSeq: s.lastSeq,
    turns: s.turns,
    busy: s.busy,
  };
}

export function turnView(r: TurnResult, s: Session): TurnOutput {
  return {
    session: r.session,
    turn: r.turn,
    status: r.status,
    text: r.text,
    controls: r.controls,
    processes: r.processes.map((id) => ({
      id,
      status: s.processes.get(id)?.status ?? 'interrupted',
    })),
    model: r.model,
    timing: r.timing,
    ...(r.error ? { error: r.error } : {}),
  };
}

/** Index of the first event after the latest `session.cleared` (0 when never cleared). */
function sinceClear(events: readonly RuntimeEvent[]): number {
  for (let i = events.length - 1; i >= 0; i--)
    if (events[i].type === 'session.cleared') return i + 1;
  return 0;
}

export function stateView(runtime: Runtime, s: Session): StateOutput {
  let sensor: StateOutput['sensor'] = null;
  for (let i = s.events.length - 1; i >= 0; i--) {
    const e = s.events[i];
    if (e.type === 'sensor.tick') {
      sensor = { seq: e.seq, ts: e.ts, readings: e.readings };
      break;
    }
  }
  return {
    session: s.id,
    ...(s.title ? { title: s.title } : {}),
    memory: { ...s.memory },
    memoryVersion: s.memoryVersion,
    sensor,
    busy: s.queueLength > 0,
    queued: s.queueLength,
    lastSeq: s.seq,
    turns: s.userMessages,
    model: runtime.modelInfo,
  };
}

export interface HistoryQuery {
  last: number;
  beforeSeq?: number;
  afterSeq?: number;
}

/** The conversation since the last clear: the newest `last` messages in the seq window. */
export function historyView(s: Session, q: HistoryQuery): HistoryOutput {
  const messages: HistoryOutput['messages'] = [];
  for (const e of s.events.slice(sinceClear(s.events))) {
    if (q.afterSeq !== undefined && e.seq <= q.afterSeq) continue;
    if (q.beforeSeq !== undefined && e.seq >= q.beforeSeq) break;
    const base = { seq: e.seq, ts: e.ts, ...(e.turn ? { turn: e.turn } : {}) };
    if (e.type === 'user.message') {
      messages.push({
        role: 'user',
        text: e.text,
        ...base,
        ...(e.action ? { action: e.action } : {}),
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
  return {
    session: s.id,
    messages: messages.slice(-q.last),
    hasMore: messages.length > q.last,
  };
}

export interface TraceQuery {
  sinceSeq: number;
  limit: number;
  node?: string;
  type?: string;
}

/**
 * Events after `sinceSeq` matching the filters, at most `limit`. `next_seq` is where the
 * next page starts: the last event returned, or (when the page is not full) the last event
 * looked at, so filtered paging never rescans what it has passed.
 */
export function traceView(s: Session, q: TraceQuery): TraceOutput {
  const events: RuntimeEvent[] = [];
  let next = Math.max(q.sinceSeq, 0);
  let hasMore = false;
  for (const e of s.eventsAfter(q.sinceSeq)) {
    if ((q.node && e.node !== q.node) || (q.type && e.type !== q.type)) {
      next = e.seq;
      continue;
    }
    if (events.length === q.limit) {
      hasMore = true;
      break;
    }
    events.push(e);
    next = e.seq;
  }
  return {
    session: s.id,
    events: events.map((e) => ({ ...e })),
    next_seq: next,
    has_more: hasMore,
  };
}
