import { FINAL_PROCESS_STATUSES } from '../../protocol/events.js';
import type { EventStore, OpenedSession } from '../store/types.js';
import { Session } from './session.js';

/**
 * Rebuilds a session from the store. Work that was in flight when the process died
 * (running processes, unfinished turns) is closed with events of its own, so readers see
 * why it ended. A store that cannot take them (a full disk) leaves them for the next load.
 * With a shared store `closeOpen` is false: the work may be running on another instance,
 * and only its lease running out says otherwise (cluster-link.ts closes it then).
 */
export function restoreSession(
  opened: OpenedSession,
  store: EventStore,
  now: () => number,
  closeOpen = true,
): Session {
  const s = Session.fromStore(opened, store, now);
  if (closeOpen) closeOpenWork(s, now, 'the runtime restarted');
  return s;
}

/**
 * Ends what the log says is still running, with events of its own: runs as interrupted,
 * turns as failed. For a restart, and for a session whose instance stopped (`reason`).
 */
export function closeOpenWork(s: Session, now: () => number, reason: string): void {
  for (const p of [...s.processes.values()]) {
    if (!FINAL_PROCESS_STATUSES.includes(p.status)) {
      const ended = {
        ...p,
        status: 'interrupted' as const,
        reason,
        endedAt: new Date(now()).toISOString(),
      };
      s.tryRecord({ type: 'process.updated', node: 'process', turn: p.turn, process: ended });
    }
  }
  for (const turn of [...s.openTurns]) {
    s.tryRecord({
      type: 'turn.done',
      node: 'runtime',
      turn,
      status: 'error',
      error: `interrupted: ${reason} during this turn`,
      timing: { firstTokenMs: null, totalMs: 0, callsBeforeFirstToken: 0, modelCalls: 0 },
    });
  }
}
