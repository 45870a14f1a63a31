import type { RuntimeEvent, TitleSource } from '../../protocol/events.js';

/**
 * Persistence of sessions: their identity, their event logs and snapshots of their
 * projections. The file store is the default; the PostgreSQL store (`COG_DATABASE_URL`)
 * keeps the same contract:
 *
 * - **Seen ⇒ durable.** `append` returns only once the event would survive a crash of
 *   this process, or returns a promise that resolves then; callers publish an event only
 *   after that. A failed append keeps nothing and uses up no seq (for a promise: it and
 *   every append queued behind it in that session reject, and the session must be opened
 *   again). `flush` adds power-loss durability and waits for appends on their way.
 * - **Lazy.** `listSessions` reads identities, not logs; `open` costs the snapshot plus
 *   the events after it; `read` and `messages` cost what they return.
 * - **Owned.** A session's owner lives in its metadata, not in its first event, so a
 *   damaged first line costs that line only.
 * - **Titled.** Appending a `session.titled` event also makes its title and source the
 *   session's metadata, durably with the event, so a listing shows it after a restart.
 */
export interface EventStore {
  /** Every stored session, with what a listing shows. Costs O(sessions), not O(events). */
  listSessions(): Promise<StoredSession[]>;
  /** Makes a session durable before resolving; `store_exists` if the id is taken. */
  create(meta: SessionMeta): Promise<void>;
  /** Opens a session for appends and reads: its snapshot and the events after it. */
  open(session: string): Promise<OpenedSession>;
  /**
   * Appends one event to an open session; returns once a crash cannot lose it. Throws a
   * StoreError (`store_disk_full`, `store_write_failed`, `store_out_of_order`, …) having
   * kept nothing. While the disk is full only `critical` appends are tried. `key` is the
   * session's store key when it is not the event's `session` (see SessionMeta).
   */
  append(event: RuntimeEvent, opts?: { critical?: boolean; key?: string }): void | Promise<void>;
  /** fsyncs what was appended (to one session, or all): power loss keeps it too. */
  flush(session?: string): Promise<void>;
  /** Up to `limit` events with seq greater than `afterSeq`, in order. */
  read(session: string, afterSeq: number, limit: number): Promise<RuntimeEvent[]>;
  /** The newest `limit` messages in the seq window, since the latest clear. */
  messages(
    session: string,
    q: { beforeSeq?: number; afterSeq?: number; limit: number },
  ): Promise<{ events: RuntimeEvent[]; hasMore: boolean }>;
  /** Saves the projections as of `seq` (after `flush`: never ahead of the durable log). */
  saveSnapshot(session: string, snapshot: Snapshot): Promise<void>;
  /**
   * After a `session.cleared` at `snapshot.seq`: saves the snapshot, then frees every
   * event before the clear.
   */
  dropBeforeClear(session: string, snapshot: Snapshot): Promise<void>;
  /** Flushes and closes an open session; it stays stored. */
  unload(session: string): Promise<void>;
  /** Removes the session and everything stored for it. */
  delete(session: string): Promise<void>;
  /** True while the disk is full: only critical appends are tried. */
  readonly full: boolean;
  /**
   * Gives back the space held for reporting a full disk, once one is met (the store does
   * so itself). `recover` re-takes it: true when there is space again.
   */
  recover(): Promise<boolean>;
  /** Flush and release resources. */
  close(): Promise<void>;
  /** Present when other instances share the store (PostgreSQL): see StoreCluster. */
  readonly cluster?: StoreCluster;
  /**
   * Present when the store keeps sessions' workspaces (PostgreSQL: instances share no
   * filesystem): a code run pulls the session's files before it and pushes them after.
   */
  readonly workspaces?: WorkspaceSync;
}

/**
 * A session's workspace directory kept in step with a stored copy (pg-workspaces.ts).
 * The directory is written by model code: only its regular files are stored.
 */
export interface WorkspaceSync {
  /** Makes `dir` hold exactly the stored files (cheap when it already does). */
  pull(key: string, dir: string): Promise<void>;
  /**
   * Stores `dir`'s regular files as the session's new version, in one transaction. Over
   * the caps it stores nothing and says why in `refused`; the previous version stays.
   */
  push(key: string, dir: string): Promise<{ files: number; bytes: number; refused?: string }>;
}

/** What another instance changed, as the store hears it (after its commit). */
export type StoreChange =
  | { type: 'created' | 'deleted' | 'released' | 'cancel' | 'mcp-subscriptions'; key: string }
  | { type: 'appended'; key: string; lastSeq: number }
  /**
   * A decision on a run, for the instance running it (`approve`, key `*`), and that
   * instance's answer (`approved`, key: the asker's nonce); JSON in `payload`.
   */
  | { type: 'approve' | 'approved'; key: string; payload: string };

/** A session's lease, held by this instance: what it writes under. */
export interface Lease {
  key: string;
  /** Grows by one with every take-over; a write under an older one is refused. */
  epoch: number;
  /** The session's last seq when the lease was taken. */
  lastSeq: number;
}

/**
 * A store several instances share. Every write to a session happens under its lease, one
 * holder at a time; a lease not renewed in time is free again, and an append under an
 * epoch that is no longer the session's keeps nothing (fencing).
 */
export interface StoreCluster {
  /** This instance's name in leases. */
  readonly instance: string;
  /** Other instances' changes; the listener must not throw. Returns an unsubscribe. */
  onChange(listener: (change: StoreChange) => void): () => void;
  /** A session by key, as a listing shows it; undefined when there is none. */
  lookup(key: string): Promise<StoredSession | undefined>;
  /**
   * Takes the session's lease for `ttlMs` if nobody holds it (or its holder let it run
   * out); undefined when another instance holds it. An open session's appends go under
   * the new epoch from now on.
   */
  tryLease(key: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a held lease; false when it was lost (taken over). */
  renewLease(lease: Lease, ttlMs: number): Promise<boolean>;
  /** Lets a lease go (after the writes it covered have committed). */
  releaseLease(lease: Lease): Promise<void>;
  /** Keys of sessions whose lease ran out without being let go: their holder is gone. */
  expiredLeases(): Promise<string[]>;
  /** Asks whichever instance holds the session to cancel its turn (a `cancel` change). */
  requestCancel(key: string): Promise<void>;
  /** Says `approve <key> <payload>` (or `approved …`) to every instance. */
  announce(type: 'approve' | 'approved', key: string, payload: string): Promise<void>;
  /**
   * For an open session another instance wrote to: what this instance's appends continue
   * from, once it has read the events up to `lastSeq`.
   */
  caughtUp(key: string, lastSeq: number): void;
  /** MCP sessions over HTTP, for every instance to carry on (see SharedMcpSessions). */
  readonly mcp: SharedMcpSessions;
}

/**
 * MCP sessions over HTTP that any instance can carry on: behind a load balancer without
 * sticky sessions, each request may land on another instance.
 */
export interface SharedMcpSessions {
  /** Keeps the `initialize` params a session began with, for another instance to replay. */
  save(id: string, principal: string, init: unknown): Promise<void>;
  find(id: string): Promise<{ principal: string; init: unknown } | undefined>;
  delete(id: string): Promise<void>;
  /** The SSE messages of one session's streams (the MCP SDK's EventStore shape). */
  events(sessionId: string): SharedSseEvents;
  /**
   * The resources one MCP session subscribed to, through whichever instance: the one
   * holding its GET stream announces their updates.
   */
  subscriptions(sessionId: string): SharedSubscriptions;
}

export interface SharedSubscriptions {
  list(): Promise<string[]>;
  set(uri: string, subscribed: boolean): Promise<void>;
  /** Another instance changed the list; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

/** The MCP SDK's resumability store, as a store provides it (message: a JSON-RPC message). */
export interface SharedSseEvents {
  storeEvent(streamId: string, message: never): Promise<string>;
  getStreamIdForEventId?(eventId: string): Promise<string | undefined>;
  replayEventsAfter(
    lastEventId: string,
    opts: { send: (eventId: string, message: never) => Promise<void> },
  ): Promise<string>;
}

export interface SessionMeta {
  /** The id its owner knows it by; another principal's session may have the same one. */
  id: string;
  owner: string;
  /**
   * The store's name for it (its folder): the id behind a tag of the owner, so ids are per
   * principal. Absent in sessions from before that, whose key is their id.
   */
  key?: string;
  title?: string;
  /** Where `title` came from; absent on sessions from before sources (treated as `user`). */
  titleSource?: TitleSource;
  createdAt: string;
}

export interface StoredSession {
  meta: SessionMeta;
  lastSeq: number;
  /** From the latest snapshot: may trail the log by the turn a crash cut short. */
  turns: number;
}

/** Projections as of `seq`; `state` is the runtime's own JSON. */
export interface Snapshot {
  seq: number;
  turns: number;
  state: unknown;
}

export interface OpenedSession {
  meta: SessionMeta;
  lastSeq: number;
  /** Null when there is none yet, or it was unreadable (then `events` is the whole log). */
  snapshot: Snapshot | null;
  /** Events after the snapshot, in order. */
  events: RuntimeEvent[];
  /** Lines ever set aside because they could not be read. */
  quarantined: number;
}
