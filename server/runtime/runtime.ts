import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FINAL_PROCESS_STATUSES,
  type ProcessInfo,
  type TitleSource,
} from '../../protocol/events.js';
import { localPrincipal } from '../auth/tokens.js';
import type { CogConfig } from '../config.js';
import { storeKeyOf } from '../store/layout.js';
import type { EventStore, SessionMeta, StoredSession } from '../store/types.js';
import { createProcessManager } from '../processes/process-manager.js';
import { RuntimeError, isCoded } from './errors.js';
import { lockHome } from './home-lock.js';
import { SessionCatalog } from './catalog.js';
import { startEviction } from './eviction.js';
import { PrincipalGate } from './principal-limits.js';
import { forwardDecision, tickShared, wireCluster } from './cluster-wiring.js';
import { modelFor, modelInfoOf, openStore, secretsOf } from './runtime-parts.js';
import { restoreSession } from './restore.js';
import { createSensor } from './sensor.js';
import type { Runtime, RuntimeDeps, SessionSummary } from './runtime-api.js';
import { ID_PATTERN } from '../../protocol/mcp.js';
import { Session, type Listener } from './session.js';
import { createTurns } from './turns.js';
import { MAX_TITLE_CHARS } from './titles.js';

export type { TurnResult } from '../../protocol/results.js';
export type { SendOptions } from './turns.js';

export type { Runtime, RuntimeDeps, SessionSummary } from './runtime-api.js';

/** Creates a runtime: the session catalog from the store, one process manager, one sensor. */
export async function createRuntime(config: CogConfig, deps: RuntimeDeps = {}): Promise<Runtime> {
  const now = deps.now ?? Date.now;
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const unlock = lockHome(config.home);
  let store: EventStore;
  try {
    store = deps.store ?? (await openStore(config));
  } catch (err) {
    unlock();
    throw err;
  }
  const ownSecrets = secretsOf(config);
  const model = deps.model ?? modelFor(config);
  const modelInfo = modelInfoOf(model, config);
  /** Every stored session: identity and listing counters. Cheap; all of them. */
  const catalog = new SessionCatalog();
  /** Sessions in memory, by store key: projections, tail, listeners. */
  const sessions = new Map<string, Session>();
  const loading = new Map<string, Promise<Session>>();
  const sensor = createSensor({ intervalMs: config.sensorIntervalMs, now });
  const closing = new AbortController();
  let closed = false;

  const processes = createProcessManager({
    policy: config.approval,
    approvalTimeoutMs: config.approvalTimeoutMs,
    limits: config.limits,
    sandbox: deps.sandbox ?? config.sandbox,
    stateDir: join(config.home, 'run'),
    secrets: () => [...ownSecrets, ...(deps.secrets?.() ?? [])],
    events: {
      // A run's `session` is its session's store key here; the log says the session's id.
      onUpdate: (p) => {
        const s = sessions.get(p.session);
        const process = s ? { ...p, session: s.id } : p;
        s?.tryRecord({ type: 'process.updated', node: 'process', turn: p.turn, process });
      },
      onOutput: (id, stream, text) => {
        const p = processes.get(id);
        if (p) {
          sessions.get(p.session)?.tryRecord({
            type: 'process.output',
            node: 'process',
            turn: p.turn,
            process: id,
            stream,
            text,
          });
        }
      },
    },
  });

  const watchers = new Set<{ owner: string; listener: Listener }>();
  const localOwner = localPrincipal();

  for (const stored of await store.listSessions()) {
    // A log from before meta.json whose first line is lost: the home's own user has it.
    if (!stored.meta.owner) stored.meta.owner = localOwner;
    catalog.add(stored);
  }

  function track(s: Session) {
    sessions.set(s.key, s);
    s.observer = (e) => {
      // The listing's copy of the identity (another object once the session was loaded).
      const listed = e.type === 'session.titled' ? catalog.get(s.owner, s.id) : undefined;
      if (listed && e.type === 'session.titled') {
        Object.assign(listed.meta, { title: e.title, titleSource: e.source });
      }
      for (const w of watchers) if (w.owner === s.owner) w.listener(e);
    };
    sensor.track({
      id: s.key,
      lastActivity: () => s.lastActivity,
      memory: () => s.memory,
      memoryVersion: () => s.memoryVersion,
      onTick: (readings, deltas) => {
        if (!store.cluster) {
          s.tryRecord({ type: 'sensor.tick', node: 'sensor', readings, deltas });
          return;
        }
        void tickShared(link, s, { readings, deltas, now, intervalMs: config.sensorIntervalMs });
      },
    });
  }

  function assertOpen() {
    if (closed) throw new RuntimeError('runtime_closed', 'The runtime is shutting down.');
  }

  function notFound(id: string): RuntimeError {
    return new RuntimeError('session_not_found', `No session ${id}.`);
  }

  /** Loads a catalogued session once, however many callers ask at the same time. */
  function load(stored: StoredSession): Promise<Session> {
    const key = storeKeyOf(stored.meta);
    const loaded = sessions.get(key);
    if (loaded) return Promise.resolve(loaded);
    let pending = loading.get(key);
    if (!pending) {
      pending = (async () => {
        const opened = await store.open(key);
        opened.meta.owner = stored.meta.owner;
        // Shared: open work may be running elsewhere; the cluster link closes it if not.
        const s = restoreSession(opened, store, now, !store.cluster);
        track(s);
        return s;
      })().finally(() => loading.delete(key));
      loading.set(key, pending);
    }
    return pending;
  }

  async function get(id: string, owner: string): Promise<Session> {
    // Ids are per owner: another principal's session is not there to be found.
    let stored = typeof id === 'string' ? catalog.get(owner, id) : undefined;
    if (!stored && store.cluster && typeof id === 'string' && ID_PATTERN.test(id)) {
      // Created on another instance a moment ago: its announcement may still be on its way.
      stored = await store.cluster.lookup(SessionCatalog.keyFor(owner, id));
      if (stored?.meta.owner === owner && !catalog.has(owner, id)) catalog.add(stored);
      else stored = catalog.get(owner, id);
    }
    if (!stored) throw notFound(id);
    const s = await load(stored);
    // A write the store took later failed: start again from what it has.
    if (s.broken) s.reload(await store.open(storeKeyOf(stored.meta)));
    await link.fresh(s);
    s.lastUsed = now();
    return s;
  }

  async function create(
    owner: string,
    opts: { id?: string; title?: string; titleSource?: TitleSource } = {},
  ) {
    assertOpen();
    const id = opts.id ?? `s-${randomBytes(6).toString('hex')}`;
    if (!ID_PATTERN.test(id)) {
      throw new RuntimeError(
        'invalid_session_id',
        `Session id "${id.slice(0, 80)}" is invalid: use 1-64 letters, digits, _ or -.`,
      );
    }
    if (catalog.has(owner, id)) {
      throw new RuntimeError('session_exists', `Session ${id} already exists.`);
    }
    const title = opts.title?.trim().slice(0, MAX_TITLE_CHARS);
    const titled = title ? { title, titleSource: opts.titleSource ?? 'user' } : {};
    const meta: SessionMeta = {
      id,
      key: SessionCatalog.keyFor(owner, id),
      owner,
      ...titled,
      createdAt: new Date(now()).toISOString(),
    };
    try {
      await store.create(meta);
    } catch (err) {
      if (isCoded(err, 'store_exists')) {
        throw new RuntimeError('session_exists', `Session ${id} already exists.`);
      }
      throw err;
    }
    catalog.add({ meta, lastSeq: 0, turns: 0 });
    const s = new Session(meta, store, now);
    track(s);
    s.record({
      type: 'session.created',
      node: 'runtime',
      owner,
      ...titled,
    });
    return s;
  }

  function summary(stored: StoredSession): SessionSummary {
    const { id } = stored.meta;
    const s = sessions.get(storeKeyOf(stored.meta));
    return {
      id,
      owner: stored.meta.owner,
      ...((s?.title ?? stored.meta.title) ? { title: s?.title ?? stored.meta.title } : {}),
      createdAt: stored.meta.createdAt,
      lastSeq: s?.seq ?? stored.lastSeq,
      turns: s?.userMessages ?? stored.turns,
      busy: s?.work.busy ?? false,
    };
  }

  async function persist(s: Session): Promise<void> {
    await s.flush();
    await store.saveSnapshot(s.key, s.snapshot());
  }

  const sweeper = startEviction({
    loaded: sessions,
    now,
    persist,
    // Written back so the session list stays right while the session is out of memory.
    onEvict(s) {
      sensor.untrack(s.key);
      const stored = catalog.get(s.owner, s.id);
      if (stored) Object.assign(stored, { lastSeq: s.publishedSeq, turns: s.userMessages });
    },
    unload: (s) => store.unload(s.key),
  });

  /** A process as the owner's session last recorded it; others' are "not found". */
  function ownedProcess(processId: string, owner: string): ProcessInfo {
    for (const s of sessions.values()) {
      const p = s.owner === owner ? s.processes.get(processId) : undefined;
      if (p) return p;
    }
    throw new RuntimeError('process_not_found', `No process ${processId}.`);
  }

  const link = wireCluster({
    store,
    sessions,
    catalog,
    load,
    processes,
    sensor,
    now,
    approve: (...args) => runtime.approve(...args),
  });

  const turns = createTurns({
    config,
    model,
    modelInfo,
    sensor,
    processes,
    gate: new PrincipalGate(deps.principalLimits ?? config.perPrincipal),
    store,
    closing: closing.signal,
    now,
    workspace: (key) => join(config.home, 'workspaces', key),
    shared: (key) => join(config.home, 'shared', key),
    assertOpen,
    persist,
    hold: (s, opts) => link.hold(s, opts),
  });

  const runtime: Runtime = {
    config,
    modelInfo,
    ...(store.cluster ? { sharedMcp: store.cluster.mcp } : {}),
    createSession: async (owner, opts) => {
      const s = await create(owner, opts);
      return summary({ meta: s.meta, lastSeq: s.publishedSeq, turns: 0 });
    },
    session: get,
    async openSession(id, owner) {
      return catalog.has(owner, id) ? get(id, owner) : create(owner, { id });
    },
    listSessions: (owner) => catalog.of(owner).map(summary),
    async deleteSession(id, owner) {
      assertOpen();
      const s = await get(id, owner);
      s.work.cancel();
      for (const p of s.processes.values()) {
        if (!FINAL_PROCESS_STATUSES.includes(p.status)) processes.cancel(p.id);
      }
      catalog.delete(s.meta);
      await s.work.settled();
      sessions.delete(s.key);
      sensor.untrack(s.key);
      await store.delete(s.key);
      await rm(join(config.home, 'workspaces', s.key), { recursive: true, force: true });
      await rm(join(config.home, 'shared', s.key), { recursive: true, force: true });
    },
    async renameSession(id, owner, title) {
      assertOpen();
      const clean = typeof title === 'string' ? title.trim() : '';
      if (!clean || clean.length > MAX_TITLE_CHARS || clean.includes('\n')) {
        throw new RuntimeError(
          'invalid_input',
          `A title is one line of 1-${MAX_TITLE_CHARS} characters.`,
        );
      }
      const s = await get(id, owner);
      // Written under the session's lease, as every write is when the store is shared.
      const hold = link.hold(s, { wait: true });
      const release = hold instanceof Promise ? await hold : hold;
      try {
        s.record({ type: 'session.titled', node: 'runtime', title: clean, source: 'user' });
        await s.flush();
      } finally {
        await release();
      }
      const stored = catalog.get(owner, id);
      if (!stored) throw notFound(id);
      return summary(stored);
    },
    send: async (id, owner, text, opts = {}) =>
      turns.submit(await get(id, owner), owner, text, opts),
    async action(id, owner, action, opts = {}) {
      const data =
        action.data && Object.keys(action.data).length ? ` ${JSON.stringify(action.data)}` : '';
      const s = await get(id, owner);
      return turns.submit(s, owner, `[action: ${action.action}]${data}`, opts, action);
    },
    cancelTurn(id, owner) {
      const stored = catalog.get(owner, id);
      if (!stored) throw notFound(id);
      return sessions.get(storeKeyOf(stored.meta))?.work.cancel() ?? false;
    },
    approve(processId, owner, decision, codeSha256, reason) {
      const p = ownedProcess(processId, owner);
      const key = [...sessions.values()].find((x) => x.processes.get(processId) === p)?.key;
      if (key && !link.holding(key)) {
        // A run of ours whose session another instance took over while this one was
        // stopped; else a run on the instance holding it now: forwardApproval's.
        if (!processes.get(processId)) {
          throw new RuntimeError(
            'process_elsewhere',
            `Process ${processId} runs on another Cog instance.`,
          );
        }
        throw new RuntimeError(
          'session_moved',
          `Process ${processId} will not run here: another Cog instance took its session over while this one was stopped. Send the message again.`,
        );
      }
      if (p.status !== 'pending-approval') {
        throw new RuntimeError(
          'process_not_pending',
          `Process ${processId} is ${p.status}, not waiting for approval.`,
        );
      }
      return { ...processes.approve(processId, decision, codeSha256, reason), session: p.session };
    },
    forwardApproval: (processId, owner, decision, codeSha256, reason) =>
      forwardDecision(link, { processId, owner, decision, codeSha256, reason }),
    processOutput(processId, owner) {
      ownedProcess(processId, owner);
      return processes.output(processId);
    },
    cancelProcess(processId, owner) {
      const p = ownedProcess(processId, owner);
      processes.cancel(processId);
      const now = processes.get(processId);
      return now ? { ...now, session: p.session } : p;
    },
    async clear(id, owner) {
      const s = await get(id, owner);
      s.work.cancel();
      const hold = link.hold(s, { wait: true });
      const release = hold instanceof Promise ? await hold : hold;
      try {
        const cleared = s.record({ type: 'session.cleared', node: 'runtime' });
        await s.flush();
        // The snapshot is taken at the clear itself: it replaces everything before it.
        await store.dropBeforeClear(s.key, s.snapshot());
        return cleared.seq;
      } finally {
        await release();
      }
    },
    async subscribe(id, owner, listener, afterSeq) {
      const s = await get(id, owner);
      return afterSeq === undefined ? s.subscribe(listener) : s.subscribeFrom(afterSeq, listener);
    },
    subscribeAll(owner, listener) {
      const watcher = { owner, listener };
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
    listProcesses(owner, id) {
      if (id && !catalog.has(owner, id)) throw notFound(id);
      const list = [...sessions.values()].filter(
        (s) => s.owner === owner && (id === undefined || s.id === id),
      );
      return list
        .flatMap((s) => [...s.processes.values()])
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async settled(id) {
      await Promise.all(
        [...sessions.values()].filter((s) => s.id === id).map((s) => s.work.settled()),
      );
    },
    setApproval: (policy) => processes.setPolicy(policy),
    async close(opts = {}) {
      if (closed) return;
      closed = true;
      sweeper.stop();
      if (opts.drainMs) {
        const memorizers = [...sessions.values()].map((s) => s.work.followed());
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled(memorizers),
          new Promise((resolve) => (timer = setTimeout(resolve, opts.drainMs))),
        ]);
        clearTimeout(timer);
      }
      closing.abort();
      sensor.close();
      await processes.close();
      await Promise.allSettled([...sessions.values()].map((s) => s.work.settled()));
      await Promise.allSettled([...sessions.values()].map(persist));
      await link.close();
      await store.close();
      model.close?.();
      unlock();
    },
  };
  return runtime;
}
