import { FINAL_PROCESS_STATUSES, type ProcessInfo } from '../../protocol/events.js';
import type { ProcessManager } from '../processes/types.js';
import type { EventStore, StoredSession } from '../store/types.js';
import type { SessionCatalog } from './catalog.js';
import { createClusterLink, type ClusterLink } from './cluster-link.js';
import { RuntimeError, type RuntimeErrorCode } from './errors.js';
import { closeOpenWork } from './restore.js';
import type { Runtime } from './runtime-api.js';
import type { Sensor } from './sensor.js';
import type { Session } from './session.js';

export interface ClusterWiringDeps {
  store: EventStore;
  sessions: Map<string, Session>;
  catalog: SessionCatalog;
  load(stored: StoredSession): Promise<Session>;
  processes: ProcessManager;
  sensor: Sensor;
  now: () => number;
  /** The runtime's own approve, for decisions forwarded from another instance. */
  approve: Runtime['approve'];
}

/**
 * The runtime's side of a shared store, wired to its parts: the catalog kept in step
 * with other instances, sessions they delete dropped here, a dead holder's work closed,
 * work here ended when our lease was taken over, and decisions on our runs taken when
 * they come through another instance. With the file store: a link that does nothing.
 */
export function wireCluster(deps: ClusterWiringDeps): ClusterLink {
  const { store, sessions, catalog, processes, sensor, now } = deps;
  const link: ClusterLink = createClusterLink({
    cluster: store.cluster,
    sessions,
    load: deps.load,
    read: (key, afterSeq, limit) => store.read(key, afterSeq, limit),
    onCreated(stored) {
      if (!catalog.has(stored.meta.owner, stored.meta.id)) catalog.add(stored);
    },
    onListing(key, { lastSeq, stored }) {
      const entry = catalog.byKey(key);
      if (!entry) return;
      if (lastSeq !== undefined) entry.lastSeq = Math.max(entry.lastSeq, lastSeq);
      if (stored) {
        Object.assign(entry, { lastSeq: stored.lastSeq, turns: stored.turns });
        // Renamed on another instance: the listing here shows the new title too.
        const { title, titleSource } = stored.meta;
        if (title) Object.assign(entry.meta, { title, titleSource });
      }
    },
    onDeleted(key) {
      const s = sessions.get(key);
      const meta = s?.meta ?? catalog.byKey(key)?.meta;
      if (meta) catalog.delete(meta);
      if (s) {
        s.work.cancel();
        sessions.delete(key);
        sensor.untrack(key);
        void store.unload(key);
      }
    },
    closeOrphans: (s) => closeOpenWork(s, now, 'its Cog instance stopped'),
    onApproval: (payload) => decideForwarded(payload),
    onLost(s) {
      // Nothing more of it may run here: another instance has the session now.
      s.work.cancel();
      for (const p of s.processes.values()) {
        if (!FINAL_PROCESS_STATUSES.includes(p.status)) processes.cancel(p.id);
      }
    },
    log: (line) => process.stderr.write(`cog: ${line}\n`),
  });

  /** A decision forwarded by another instance: ours to take only if the run is here. */
  function decideForwarded(payload: string): string | undefined {
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const { processId, owner, decision, codeSha256, reason } = d;
    if (typeof processId !== 'string' || typeof owner !== 'string') return undefined;
    if (decision !== 'approve' && decision !== 'deny') return undefined;
    const running = processes.get(processId);
    const s = running ? sessions.get(running.session) : undefined;
    // Only the instance running it answers; another principal's run is not found there.
    if (!s || !link.holding(s.key) || s.owner !== owner) return undefined;
    try {
      const p = deps.approve(
        processId,
        owner,
        decision,
        typeof codeSha256 === 'string' ? codeSha256 : undefined,
        typeof reason === 'string' ? reason : undefined,
      );
      return JSON.stringify({ process: p });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const message = (err as Error).message;
      return JSON.stringify({
        error: { code: typeof code === 'string' ? code : 'process_not_found', message },
      });
    }
  }

  return link;
}

/** What forwardApproval sends: the decision as `approve` takes it. */
export interface ForwardedDecision {
  processId: string;
  owner: string;
  decision: 'approve' | 'deny';
  codeSha256?: string | undefined;
  reason?: string | undefined;
}

/**
 * Sends a decision to the instance running the run and resolves with the run as that
 * instance recorded it; `process_not_found` when no instance answers for it in 10 s.
 */
export async function forwardDecision(
  link: ClusterLink,
  d: ForwardedDecision,
): Promise<ProcessInfo> {
  const answer = await link.forwardApproval(JSON.stringify(d), 10_000);
  if (answer === undefined) {
    throw new RuntimeError('process_not_found', `No process ${d.processId}.`);
  }
  const parsed = JSON.parse(answer) as {
    process?: ProcessInfo;
    error?: { code: RuntimeErrorCode; message: string };
  };
  if (parsed.error) throw new RuntimeError(parsed.error.code, parsed.error.message);
  if (!parsed.process) throw new RuntimeError('process_not_found', `No process ${d.processId}.`);
  return parsed.process;
}

/**
 * A sensor tick with a shared store: once per session across instances. Taken under
 * the lease, and skipped when the session is busy elsewhere or another instance ticked
 * it within half an interval (seen once caught up).
 */
export async function tickShared(
  link: ClusterLink,
  s: Session,
  tick: {
    readings: Record<string, string>;
    deltas: Record<string, string>;
    now: () => number;
    intervalMs: number;
  },
): Promise<void> {
  let release: (() => Promise<void>) | undefined;
  try {
    const hold = link.hold(s, { wait: false });
    release = hold instanceof Promise ? await hold : hold;
    const last = s.lastSensor ? Date.parse(s.lastSensor.ts) : 0;
    if (tick.now() - last < tick.intervalMs / 2) return;
    s.tryRecord({
      type: 'sensor.tick',
      node: 'sensor',
      readings: tick.readings,
      deltas: tick.deltas,
    });
  } catch {
    // busy on another instance: its holder ticks it
  } finally {
    await release?.();
  }
}
