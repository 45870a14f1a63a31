import { RuntimeError } from './errors.js';

/** What one principal may have at once, across all its sessions. */
export interface PrincipalLimits {
  /** Turns running or queued. A message past it is refused (`rate_limited`). */
  turns: number;
  /** Code runs running or waiting for approval; a run past it waits for a slot. */
  codeRuns: number;
}

export const DEFAULT_PRINCIPAL_LIMITS: PrincipalLimits = { turns: 8, codeRuns: 2 };

/**
 * Per-principal shares of the runtime, so that one principal cannot starve another: its
 * turns are counted (past the limit a message is refused, with a hint to retry) and its
 * code runs take slots (past the limit a run waits for one, or for its turn's cancel).
 */
export class PrincipalGate {
  private readonly turns = new Map<string, number>();
  private readonly runs = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(private readonly limits: PrincipalLimits) {}

  /** Admits a turn of `owner`, or throws `rate_limited`; call the result when it ends. */
  admitTurn(owner: string): () => void {
    const n = this.turns.get(owner) ?? 0;
    if (n >= this.limits.turns) {
      throw new RuntimeError(
        'rate_limited',
        `You have ${n} turns running or queued (the limit is ${this.limits.turns}): wait for one to finish and send again in a few seconds.`,
      );
    }
    this.turns.set(owner, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.turns.get(owner) ?? 1) - 1;
      if (left > 0) this.turns.set(owner, left);
      else this.turns.delete(owner);
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
