import { randomBytes } from 'node:crypto';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { StoreChange, StoreCluster, Lease, StoredSession } from '../store/types.js';
import { RuntimeError } from './errors.js';
import type { Session } from './session.js';

/** How long a lease lasts unrenewed: an instance that stops is taken over after this. */
export const LEASE_TTL_MS = 4000;
/** Renewed this often while held; the margin covers a slow database round trip. */
const RENEW_MS = 1000;
/** How often each instance looks for sessions whose holder is gone. */
const REAP_MS = 1000;

export interface ClusterLinkDeps {
  cluster: StoreCluster | undefined;
  /** Sessions in memory here, by store key. */
  sessions: Map<string, Session>;
  /** The session loaded (once) from a listing entry. */
  load(stored: StoredSession): Promise<Session>;
  /** Reads a session's events after `afterSeq` from the store. */
  read(key: string, afterSeq: number, limit: number): Promise<RuntimeEvent[]>;
  /**
   * A session another instance created, or changed while it is not loaded here (a new
   * last seq; once its writer let go, its turns too): keep the catalog in step.
   */
  onCreated(stored: StoredSession): void;
  onListing(key: string, change: { lastSeq?: number; stored?: StoredSession }): void;
  onDeleted(key: string): void;
  /** Closes the work a gone holder left open (its turns, its runs), under our lease. */
  closeOrphans(s: Session): void;
  /** Our lease on `s` was taken over (we were stopped too long): end what runs here. */
  onLost(s: Session): void;
  /**
   * A decision on a run, made through another instance: taken if the run is here, and
   * then answered (the result's JSON) for the asker. Undefined: not ours.
   */
  onApproval(payload: string): string | undefined;
  log(line: string): void;
}

/** A hold on a session: every write to it happens inside one. */
export type Release = () => Promise<void>;

export interface ClusterLink {
  /** True when several instances share the store. */
  readonly shared: boolean;
  /**
   * Holds `s` for writes: with a shared store, takes its lease (waiting while another
   * instance holds it, or refusing with `session_busy` when `wait` is false) and brings
   * `s` up to date first. Holds on one session nest; the lease goes with the last release.
   */
  hold(
    s: Session,
    opts: { wait: boolean; interrupt?: boolean; signal?: AbortSignal },
  ): Release | Promise<Release>;
  /**
   * With a shared store, reads what other instances committed to `s` that it has not
   * heard of yet, so that a read here sees a write made through another instance a
   * moment ago. Alone, or while this instance holds it: nothing to read (undefined).
   */
  fresh(s: Session): Promise<void> | undefined;
  /** Whether this instance holds `key` now (always true alone). */
  holding(key: string): boolean;
  /**
   * Hands a decision to every instance (shared store only); resolves with the answer of
   * the one running it, or undefined after `timeoutMs`.
   */
  forwardApproval(payload: string, timeoutMs: number): Promise<string | undefined>;
  close(): Promise<void>;
}

interface Held {
  count: number;
  lease: Lease;
  renew: NodeJS.Timeout;
}

const nothingToRelease: Release = async () => undefined;

/** Holds that do nothing, at once (no await): one instance owns its store. */
const LOCAL: ClusterLink = {
  shared: false,
  hold: () => nothingToRelease,
  fresh: () => undefined,
  holding: () => true,
  forwardApproval: async () => undefined,
  close: async () => undefined,
};

/**
 * The runtime's side of a shared store: leases around writes, events other instances
 * commit read into the sessions loaded here (so their listeners see them live), the
 * catalog kept in step, and sessions whose holder died taken over and closed.
 */
export function createClusterLink(deps: ClusterLinkDeps): ClusterLink {
  return deps.cluster ? sharedLink(deps, deps.cluster) : LOCAL;
}

function sharedLink(deps: ClusterLinkDeps, cluster: StoreCluster): ClusterLink {
  const { sessions } = deps;
  const held = new Map<string, Held>();
  const acquiring = new Map<string, Promise<Held>>();
  const waiters = new Map<string, Set<() => void>>();
  /** Forwarded decisions waiting for their answer, by nonce. */
  const replies = new Map<string, (answer: string) => void>();
  /** Per session, the catch-up under way: one reader at a time, in order. */
  const catching = new Map<string, Promise<void>>();
  let closed = false;

  function catchUp(s: Session): Promise<void> {
    const prev = catching.get(s.key) ?? Promise.resolve();
    const next = prev.then(async () => {
      for (;;) {
        const page = await deps.read(s.key, s.seq, 500);
        if (!page.length || !s.ingest(page)) break;
      }
      cluster.caughtUp(s.key, s.seq);
    });
    const settled = next.catch((err: unknown) => {
      if (!closed) {
        deps.log(`could not read session ${s.id} from the database: ${(err as Error).message}`);
      }
    });
    catching.set(s.key, settled);
    void settled.finally(() => {
      if (catching.get(s.key) === settled) catching.delete(s.key);
    });
    return next;
  }

  function wake(key: string) {
    const set = waiters.get(key);
    waiters.delete(key);
    for (const w of set ?? []) w();
  }

  /** Until the lease may be free: a release announced, 500 ms, or the signal. */
  function waitForRelease(key: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        waiters.get(key)?.delete(done);
        resolve();
      };
      const aborted = () => {
        done();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(done, 500);
      signal?.addEventListener('abort', aborted, { once: true });
      let set = waiters.get(key);
      if (!set) waiters.set(key, (set = new Set()));
      set.add(done);
    });
  }

  async function acquire(
    s: Session,
    wait: boolean,
    interrupt: boolean,
    signal?: AbortSignal,
  ): Promise<Held> {
    let asked = false;
    for (;;) {
      if (closed) throw new RuntimeError('runtime_closed', 'The runtime is shutting down.');
      signal?.throwIfAborted();
      const lease = await cluster.tryLease(s.key, LEASE_TTL_MS);
      if (lease) {
        await catchUp(s);
        const h: Held = { count: 0, lease, renew: setInterval(() => void renew(s, h), RENEW_MS) };
        h.renew.unref();
        return h;
      }
      if (interrupt && !asked) {
        // Double-texting with "interrupt": the holder cancels its turn, then lets go.
        asked = true;
        await cluster.requestCancel(s.key).catch(() => undefined);
      }
      if (!wait) {
        throw new RuntimeError(
          'session_busy',
          `Session ${s.id} is busy with a turn on another Cog instance.`,
        );
      }
      await waitForRelease(s.key, signal);
    }
  }

  async function renew(s: Session, h: Held) {
    try {
      if (await cluster.renewLease(h.lease, LEASE_TTL_MS)) return;
      if (held.get(s.key) !== h) return;
      deps.log(`session ${s.id}: another instance took it over; what this one writes is refused`);
      held.delete(s.key);
      clearInterval(h.renew);
      deps.onLost(s);
    } catch (err) {
      deps.log(`session ${s.id}: could not renew its lease: ${(err as Error).message}`);
    }
  }

  async function reap() {
    let keys: string[];
    try {
      keys = await cluster.expiredLeases();
    } catch {
      return; // the database is away: the next round tries again
    }
    for (const key of keys) {
      if (held.has(key) || acquiring.has(key) || closed) continue;
      const stored = await cluster.lookup(key).catch(() => undefined);
      if (!stored) continue;
      const s = await deps.load(stored).catch(() => undefined);
      if (!s) continue;
      let release: Release | undefined;
      try {
        release = await link.hold(s, { wait: false });
        deps.closeOrphans(s);
        deps.log(`took over session ${s.id}: its instance stopped renewing`);
      } catch {
        // another instance took it first, or it was just let go: nothing to close
      } finally {
        await release?.();
      }
    }
  }

  const reaper = setInterval(() => void reap(), REAP_MS);
  reaper.unref();

  const unsubscribe = cluster.onChange((change: StoreChange) => {
    switch (change.type) {
      case 'created':
        void cluster
          .lookup(change.key)
          .then((stored) => stored && deps.onCreated(stored))
          .catch(() => undefined);
        break;
      case 'deleted':
        deps.onDeleted(change.key);
        break;
      case 'appended': {
        const s = sessions.get(change.key);
        if (!s) deps.onListing(change.key, { lastSeq: change.lastSeq });
        else if (!held.has(change.key) && s.seq < change.lastSeq) void catchUp(s).catch(() => {});
        break;
      }
      case 'cancel': {
        const s = sessions.get(change.key);
        if (s && held.has(change.key)) s.work.cancel();
        break;
      }
      case 'mcp-subscriptions':
        break; // the HTTP server's, not the runtime's
      case 'approve': {
        const nonce = /"nonce":"([0-9a-f]{16,64})"/.exec(change.payload)?.[1];
        const answer = deps.onApproval(change.payload);
        if (answer !== undefined && nonce) {
          void cluster.announce('approved', nonce, answer).catch(() => undefined);
        }
        break;
      }
      case 'approved':
        replies.get(change.key)?.(change.payload);
        break;
      case 'released':
        wake(change.key);
        // The writer's work is over, its snapshot (and turn count) saved: one read.
        if (!sessions.has(change.key)) {
          void cluster
            .lookup(change.key)
            .then((stored) => stored && deps.onListing(change.key, { stored }))
            .catch(() => undefined);
        }
        break;
      default: {
        const never: never = change;
        deps.log(`unknown change ${JSON.stringify(never)}`);
      }
    }
  });

  const link: ClusterLink = {
    shared: true,

    async hold(s, opts) {
      const { wait, signal } = opts;
      let h = held.get(s.key);
      if (!h) {
        let pending = acquiring.get(s.key);
        if (!pending) {
          pending = acquire(s, wait, opts.interrupt ?? false, signal).finally(() =>
            acquiring.delete(s.key),
          );
          acquiring.set(s.key, pending);
        }
        h = await pending;
        held.set(s.key, h);
      }
      h.count++;
      const theHold = h;
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        if (--theHold.count > 0) return;
        // What was written under the lease commits before the lease goes.
        await s.flush().catch(() => undefined);
        if (theHold.count > 0 || held.get(s.key) !== theHold) return;
        held.delete(s.key);
        clearInterval(theHold.renew);
        await cluster.releaseLease(theHold.lease).catch((err: unknown) => {
          deps.log(`session ${s.id}: could not let its lease go: ${(err as Error).message}`);
        });
      };
    },

    holding(key) {
      return held.has(key);
    },

    async forwardApproval(payload, timeoutMs) {
      const nonce = randomBytes(12).toString('hex');
      const answered = new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => {
          replies.delete(nonce);
          resolve(undefined);
        }, timeoutMs);
        replies.set(nonce, (answer) => {
          clearTimeout(timer);
          replies.delete(nonce);
          resolve(answer);
        });
      });
      await cluster.announce('approve', '*', JSON.stringify({ ...JSON.parse(payload), nonce }));
      return answered;
    },

    fresh(s) {
      return held.has(s.key) ? undefined : catchUp(s);
    },

    async close() {
      closed = true;
      clearInterval(reaper);
      unsubscribe();
      for (const [key, h] of held) {
        clearInterval(h.renew);
        await cluster.releaseLease(h.lease).catch(() => undefined);
        held.delete(key);
      }
      for (const key of [...waiters.keys()]) wake(key);
    },
  };
  return link;
}
