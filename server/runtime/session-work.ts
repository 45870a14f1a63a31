/**
 * What a session is busy with: its turns, one at a time in arrival order, and the work
 * after each turn (perception, memorizer, snapshot), also in order and off the turns'
 * critical path. The only place that counts, chains and cancels them, so `busy`,
 * `queued` and cancellation always agree.
 */
export class SessionWork {
  private waiting = 0;
  private turns: Promise<unknown> = Promise.resolve();
  private readonly running = new Map<string, AbortController>();
  private afterTurns: Promise<void> = Promise.resolve();
  private afterCount = 0;

  /** Turns running or waiting. */
  get queued(): number {
    return this.waiting;
  }

  get busy(): boolean {
    return this.waiting > 0;
  }

  /** After-turn work not yet finished. */
  get following(): boolean {
    return this.afterCount > 0;
  }

  /**
   * Queues a turn behind those before it. `position` is how many are ahead (0: it starts
   * now). Its signal fires on `cancel()` or any of `signals`.
   */
  enqueue<T>(
    turn: string,
    signals: AbortSignal[],
    run: (signal: AbortSignal) => Promise<T>,
  ): { position: number; done: Promise<T> } {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, ...signals]);
    this.running.set(turn, controller);
    const position = this.waiting++;
    const done = this.turns.then(() => run(signal));
    this.turns = done.catch(() => undefined);
    const finished = done.finally(() => {
      this.waiting--;
      this.running.delete(turn);
    });
    finished.catch(() => undefined); // the caller awaits `done`
    return { position, done: finished };
  }

  /** Cancels the running turn and those queued behind it; true if there was one. */
  cancel(): boolean {
    for (const c of this.running.values()) c.abort();
    return this.running.size > 0;
  }

  /** Runs `work` after the earlier after-turn work; it must not reject. */
  after(work: () => Promise<void>): void {
    this.afterCount++;
    this.afterTurns = this.afterTurns
      .then(work)
      .catch(() => undefined)
      .finally(() => {
        this.afterCount--;
      });
  }

  /** Resolves when the queued turns have ended. */
  async turnsDone(): Promise<void> {
    await this.turns;
  }

  /** Resolves when the after-turn work queued so far has ended. */
  async followed(): Promise<void> {
    await this.afterTurns;
  }

  /** Resolves when both have ended. */
  async settled(): Promise<void> {
    await this.turns;
    await this.afterTurns;
  }
}
