import { FINAL_PROCESS_STATUSES, type RuntimeEvent } from '../../protocol/events.js';
import type { EventStore } from '../store/types.js';
import { Session } from './session.js';

/**
 * Rebuilds a session from its stored log. Work that was in flight when the process died
 * (running processes, unfinished turns) is closed with events of its own, so readers see
 * why it ended. Returns undefined for a log that does not start with its creation.
 */
export function restoreSession(
  id: string,
  events: RuntimeEvent[],
  store: EventStore,
  now: () => number,
): Session | undefined {
  if (events[0]?.type !== 'session.created') return undefined;
  const s = new Session(id, store, now);
  for (const e of events) s.apply(e);
  for (const p of s.processes.values()) {
    if (!FINAL_PROCESS_STATUSES.includes(p.status)) {
      const ended = {
        ...p,
        status: 'interrupted' as const,
        reason: 'the runtime restarted',
        endedAt: new Date(now()).toISOString(),
      };
      s.record({ type: 'process.updated', node: 'process', turn: p.turn, process: ended });
    }
  }
  for (const turn of openTurns(events)) {
    s.record({
      type: 'turn.done',
      node: 'runtime',
      turn,
      status: 'error',
      error: 'interrupted: the runtime restarted during this turn',
      timing: { firstTokenMs: null, totalMs: 0, callsBeforeFirstToken: 0, modelCalls: 0 },
    });
  }
  return s;
}

/** Turns that started but never finished (the process died mid-turn). */
function openTurns(events: RuntimeEvent[]): string[] {
  const open = new Set<string>();
  for (const e of events) {
    if (e.type === 'turn.started' && e.turn) open.add(e.turn);
    if (e.type === 'turn.done' && e.turn) open.delete(e.turn);
  }
  return [...open];
}
