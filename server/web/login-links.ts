import { createHash, randomBytes } from 'node:crypto';

/**
 * One-time sign-in codes for the chat page when no issuer is configured: `cog serve`
 * prints a link with one; opening it signs that browser in as the local user and uses the
 * code up. The code is not the bearer token (which never goes into a URL or a page), lives
 * a few minutes, and only its hash is kept.
 */
export class LoginLinks {
  private readonly codes = new Map<string, number>();

  constructor(
    private readonly ttlMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh code, valid once within `ttlMs`. */
  issue(): string {
    const code = randomBytes(24).toString('base64url');
    this.codes.set(hash(code), this.now() + this.ttlMs);
    for (const [key, ends] of this.codes) if (ends <= this.now()) this.codes.delete(key);
    return code;
  }

  /** Uses `code` up: true when it was issued, unused and in time. */
  redeem(code: string | null | undefined): boolean {
    if (!code || code.length > 128) return false;
    const key = hash(code);
    const ends = this.codes.get(key);
    this.codes.delete(key);
    return ends !== undefined && this.now() < ends;
  }
}

function hash(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}
