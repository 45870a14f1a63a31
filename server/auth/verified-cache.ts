import { createHash } from 'node:crypto';

/**
 * Claims of access tokens already verified, so that a client sending the same token on
 * every request pays for one signature check, not one per request. Only successes are
 * kept; an entry serves the exact token (by its SHA-256, so the map holds no token) and
 * audience it was verified for, and ends at the token's `exp` (plus the leeway the
 * verification allowed) or after `maxAgeMs`, whichever is first: a key the issuer
 * withdraws stops counting within `maxAgeMs`. At most `maxEntries`, oldest out first.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { claims: Record<string, unknown>; until: number }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 1024,
  ) {}

  get(token: string, audience: string): Record<string, unknown> | undefined {
    if (this.maxAgeMs <= 0) return undefined;
    const key = keyOf(token, audience);
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (this.now() >= hit.until) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.claims;
  }

  /** Keeps verified `claims` until `exp` + `toleranceSec` at the latest. */
  set(token: string, audience: string, claims: Record<string, unknown>, toleranceSec: number) {
    if (this.maxAgeMs <= 0 || typeof claims.exp !== 'number') return;
    const until = Math.min(this.now() + this.maxAgeMs, (claims.exp + toleranceSec) * 1000);
    if (until <= this.now()) return;
    const key = keyOf(token, audience);
    this.entries.delete(key);
    this.entries.set(key, { claims, until });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function keyOf(token: string, audience: string): string {
  return createHash('sha256').update(audience).update('\n').update(token).digest('hex');
}
