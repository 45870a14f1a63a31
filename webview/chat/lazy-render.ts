/** How far outside the visible part of the chat a deferred message is rendered anyway. */
const MARGIN = '1500px 0px';

/**
 * Defers work for messages that arrive in bulk (a snapshot of a long history) until they
 * come near the viewport, and otherwise does it newest-first in idle time. A deferred
 * message shows its plain text meanwhile, so heights and search are roughly right.
 */
export class LazyRenderer {
  private readonly pending = new Map<Element, () => void>();
  private readonly order: Element[] = [];
  private readonly observer: IntersectionObserver;
  private idle: number | undefined;

  constructor(root: HTMLElement) {
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) if (e.isIntersecting) this.run(e.target);
      },
      { root, rootMargin: MARGIN },
    );
  }

  /** `target` is what must near the viewport; `render` replaces the placeholder. */
  defer(target: Element, render: () => void): void {
    this.pending.set(target, render);
    this.order.push(target);
    this.observer.observe(target);
    this.scheduleIdle();
  }

  /** Renders the `n` most recently deferred now (what the first frame will show). */
  renderNewest(n: number): void {
    for (let i = this.order.length - 1; i >= 0 && n > 0; i--) {
      if (this.pending.has(this.order[i])) {
        this.run(this.order[i]);
        n--;
      }
    }
  }

  reset(): void {
    this.observer.disconnect();
    this.pending.clear();
    this.order.length = 0;
    if (this.idle !== undefined) cancelIdleCallback(this.idle);
    this.idle = undefined;
  }

  private run(target: Element): void {
    const render = this.pending.get(target);
    if (!render) return;
    this.pending.delete(target);
    this.observer.unobserve(target);
    render();
  }

  private scheduleIdle(): void {
    if (this.idle !== undefined) return;
    this.idle = requestIdleCallback((deadline) => {
      this.idle = undefined;
      while (this.order.length && deadline.timeRemaining() > 3) {
        const target = this.order.pop();
        if (target) this.run(target);
      }
      if (this.pending.size) this.scheduleIdle();
      else this.order.length = 0;
    });
  }
}
