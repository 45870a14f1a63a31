/**
 * One shared clock for everything that shows a running time, started only while
 * something is subscribed. A subscriber returns false to unsubscribe.
 */
export class Ticker {
  private subscribers = new Set<() => boolean>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly periodMs = 250) {}

  add(tick: () => boolean): void {
    this.subscribers.add(tick);
    this.timer ??= setInterval(() => this.tick(), this.periodMs);
  }

  private tick(): void {
    for (const tick of [...this.subscribers]) {
      if (!tick()) this.subscribers.delete(tick);
    }
    if (!this.subscribers.size && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
