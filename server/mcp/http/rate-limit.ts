/**
 * Requests per minute per principal, as token buckets: each principal may burst up to its
 * minute's worth and then goes at the steady rate, apart from every other principal.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one request of `principal`: 0 when it may go on, else ms until it may. */
  take(principal: string): number {
    const t = this.now();
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(principal) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + (t - b.at) * rate);
    b.at = t;
    this.buckets.set(principal, b);
    if (this.buckets.size > 10_000) this.forgetFull(t);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate);
  }

  /** Drops the buckets that have refilled: they hold nothing a new one would not. */
  private forgetFull(t: number): void {
    const rate = this.perMinute / 60_000;
    for (const [k, b] of this.buckets) {
      if (b.tokens + (t - b.at) * rate >= this.perMinute) this.buckets.delete(k);
    }
  }
}
