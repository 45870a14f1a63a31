import { FINAL_PROCESS_STATUSES } from '../../protocol/events.js';
import type { Session } from './session.js';

/** Sessions kept in memory at most; the least recently used idle one makes room. */
export const MAX_LOADED_SESSIONS = 200;
/** An idle session (no turn, no listener, no process) leaves memory after this long. */
export const EVICT_AFTER_MS = 5 * 60_000;
const SWEEP_EVERY_MS = 30_000;

export interface EvictionDeps {
  /** The sessions in memory, by store key; an evicted one is deleted from it. */
  loaded: Map<string, Session>;
  now(): number;
  /** Makes the session durable: its log flushed, its snapshot written. */
  persist(s: Session): Promise<void>;
  /** Told as a session leaves memory, before it is persisted. */
  onEvict(s: Session): void;
  /** Lets the store close what it holds open for the session. */
  unload(s: Session): Promise<void>;
}

/** A session nothing is using: no turn, update, listener or unfinished process. */
export function isIdle(s: Session): boolean {
  return (
    !s.work.busy &&
    !s.work.following &&
    !s.listening &&
    [...s.processes.values()].every((p) => FINAL_PROCESS_STATUSES.includes(p.status))
  );
}

/**
 * Every half minute, lets idle sessions go from memory (snapshot written, store handles
 * closed): those unused for EVICT_AFTER_MS, and the least recently used beyond
 * MAX_LOADED_SESSIONS. They stay in the catalog and load again on the next use.
 */
export function startEviction(deps: EvictionDeps): { stop(): void } {
  async function evict(s: Session): Promise<void> {
    deps.loaded.delete(s.key);
    deps.onEvict(s);
    try {
      await deps.persist(s);
    } finally {
      await deps.unload(s);
    }
  }

  async function sweep(): Promise<void> {
    const t = deps.now();
    const candidates = [...deps.loaded.values()]
      .filter(isIdle)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    let excess = deps.loaded.size - MAX_LOADED_SESSIONS;
    for (const s of candidates) {
      if (excess <= 0 && t - s.lastUsed < EVICT_AFTER_MS) break;
      excess--;
      await evict(s).catch((err: unknown) =>
        process.stderr.write(`cog: could not set session ${s.id} aside: ${String(err)}\n`),
      );
    }
  }

  const timer = setInterval(() => void sweep(), SWEEP_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
