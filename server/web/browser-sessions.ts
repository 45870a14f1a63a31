import { createHash, randomBytes } from 'node:crypto';
import type { Identity } from '../auth/identity.js';

/** The cookie that carries a browser's session id (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'cog_session';

export interface BrowserSessionsOptions {
  /** A session ends this long after sign-in, used or not. Default 12 hours. */
  lifetimeMs?: number;
  /** …and this long after its last request. Default 2 hours. */
  idleMs?: number;
  /** Signed-in browsers kept at once; past it the least recently used is signed out. */
  max?: number;
  now?: () => number;
}

interface Entry {
  identity: Identity;
  ends: number;
  lastUsed: number;
}

/**
 * The signed-in browsers of the chat page: a random id (the cookie's value) per sign-in,
 * mapped to the identity it was signed in as. Only a hash of the id is kept, so the table
 * itself holds nothing a request could present. Nothing survives a restart: the browser
 * signs in again.
 */
export class BrowserSessions {
  private readonly entries = new Map<string, Entry>();
  private readonly lifetimeMs: number;
  private readonly idleMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(opts: BrowserSessionsOptions = {}) {
    this.lifetimeMs = opts.lifetimeMs ?? 12 * 3600_000;
    this.idleMs = opts.idleMs ?? 2 * 3600_000;
    this.max = opts.max ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Signs a browser in as `identity`: the cookie value to set. */
  create(identity: Identity): string {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    this.entries.set(hash(id), { identity, ends: now + this.lifetimeMs, lastUsed: now });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return id;
  }

  /** The identity a cookie value stands for, or undefined (unknown, ended, idle too long). */
  identity(id: string | undefined): Identity | undefined {
    if (!id) return undefined;
    const key = hash(id);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (now >= entry.ends || now - entry.lastUsed >= this.idleMs) {
      this.entries.delete(key);
      return undefined;
    }
    entry.lastUsed = now;
    // Most recently used last, so that the first key is the one to evict.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.identity;
  }

  /** Signs a browser out; true when it was signed in. */
  end(id: string | undefined): boolean {
    return id ? this.entries.delete(hash(id)) : false;
  }

  /** Seconds until a new session ends, for the cookie's Max-Age. */
  get maxAgeSec(): number {
    return Math.floor(this.lifetimeMs / 1000);
  }
}

function hash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
