import { createHash } from 'node:crypto';
import type { SessionMeta, StoredSession } from '../store/types.js';

/**
 * Every stored session, by owner and id. Ids are per principal: two principals may both
 * have a session "demo", and neither can learn that the other's exists. The store names a
 * session by a key that puts a tag of its owner before the id.
 */
export class SessionCatalog {
  private readonly entries = new Map<string, StoredSession>();

  /** The store key of a new session `id` of `owner`. */
  static keyFor(owner: string, id: string): string {
    return `${createHash('sha256').update(owner).digest('hex').slice(0, 16)}-${id}`;
  }

  add(stored: StoredSession): void {
    this.entries.set(slot(stored.meta.owner, stored.meta.id), stored);
  }

  get(owner: string, id: string): StoredSession | undefined {
    return this.entries.get(slot(owner, id));
  }

  has(owner: string, id: string): boolean {
    return this.entries.has(slot(owner, id));
  }

  /** The entry whose store key is `key`. */
  byKey(key: string): StoredSession | undefined {
    for (const c of this.entries.values()) if ((c.meta.key ?? c.meta.id) === key) return c;
    return undefined;
  }

  delete(meta: SessionMeta): void {
    this.entries.delete(slot(meta.owner, meta.id));
  }

  /** The sessions of `owner`, in the order they were added. */
  of(owner: string): StoredSession[] {
    return [...this.entries.values()].filter((c) => c.meta.owner === owner);
  }
}

const slot = (owner: string, id: string) => `${owner}\u0000${id}`;
