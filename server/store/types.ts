import type { RuntimeEvent } from '../../protocol/events.js';

/**
 * Persistence of session event logs. The file store is the default; a PostgreSQL store
 * is a later module behind this same interface.
 */
export interface EventStore {
  /** Queue an event for durable append. Order per session is preserved. Never throws. */
  append(event: RuntimeEvent): void;
  /** Resolve when every event appended so far (for one session, or all) is on disk. */
  flush(session?: string): Promise<void>;
  /** Ids of every stored session. */
  listSessions(): Promise<string[]>;
  /** The session's events in order. A torn last line is quarantined, not returned. */
  load(session: string): Promise<LoadResult>;
  /** Flush and release resources. */
  close(): Promise<void>;
}

export interface LoadResult {
  events: RuntimeEvent[];
  /** Lines that could not be parsed and were moved aside (count). */
  quarantined: number;
}
