import { RuntimeError } from './errors.js';

/** What one principal may have at once, across all its sessions. */
export interface PrincipalLimits {
  /**
   * Sessions with a turn running or queued. A message into another session past it is
   * refused (`rate_limited`); one into a busy session only queues, so it always may.
   */
  turns: number;
  /** Code runs running or waiting for approval; a run past it waits for a slot. */
  codeRuns: number;
}

/**
 * Per-principal shares of the runtime, so that one principal cannot starve another: the
 * sessions it keeps busy at once are counted (past the limit a message is refused, with a
 * hint to retry) and its code runs take slots (past the limit a run waits for one, or for
 * its turn's cancel).
 */
export class PrincipalGate {
  /** Per owner: session key → its turns running or queued. */
  private readonly busy = new Map<string, Map<string, number>>();
  private readonly runs = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(private readonly limits: PrincipalLimits) {}

  /** Admits a turn of `owner` in `session`, or throws `rate_limited`; call the result at its end. */
  admitTurn(owner: string, session: string): () => void {
    let sessions = this.busy.get(owner);
    const n = sessions?.get(session) ?? 0;
    if (n === 0 && (sessions?.size ?? 0) >= this.limits.turns) {
      throw new RuntimeError(
        'rate_limited',
        `You have turns running in ${sessions?.size} sessions (the limit is ${this.limits.turns}): wait for one to finish and send again in a few seconds.`,
      );
    }
    if (!sessions) this.busy.set(owner, (sessions = new Map()));
    sessions.set(session, n + 1);
    const mine = sessions;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (mine.get(session) ?? 1) - 1;
      if (left > 0) mine.set(session, left);
      else mine.delete(session);
      if (mine.size === 0 && this.busy.get(owner) === mine) this.busy.delete(owner);
    };
  }

  /** Waits for a code-run slot of `owner` (or the signal); call the result when it ends. */
  async runSlot(owner: string, signal: AbortSignal): Promise<() => void> {
    let slots = this.runs.get(owner);
    if (!slots) this.runs.set(owner, (slots = { active: 0, waiting: [] }));
    const entry = slots;
    while (entry.active >= this.limits.codeRuns) {
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          entry.waiting = entry.waiting.filter((w) => w !== wake);
          resolve();
        };
        entry.waiting.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    signal.throwIfAborted();
    entry.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.active--;
      entry.waiting[0]?.();
      if (entry.active === 0 && entry.waiting.length === 0) this.runs.delete(owner);
    };
  }
}
