import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Action } from '../../protocol/controls.js';
import type { ApprovalPolicy, ModelInfo, ProcessInfo } from '../../protocol/events.js';
import type { CogConfig } from '../config.js';
import { createOfflineEngine } from '../llm/offline.js';
import { getOpenAiClient } from '../llm/openai-client.js';
import type { ModelClient } from '../llm/types.js';
import { createFileStore } from '../store/file-store.js';
import type { EventStore } from '../store/types.js';
import { createProcessManager } from '../tools/process-manager.js';
import type { SandboxSetting } from '../tools/tiers.js';
import type { ApprovalDecision } from '../tools/types.js';
import { RuntimeError } from './errors.js';
import type { TurnResult } from './pipeline.js';
import { lockHome } from './home-lock.js';
import { restoreSession } from './restore.js';
import { createSensor } from './sensor.js';
import { Session, SESSION_ID, type Listener } from './session.js';
import { createTurns, type SendOptions } from './turns.js';

export type { TurnResult } from './pipeline.js';
export type { SendOptions } from './turns.js';

export interface RuntimeDeps {
  /** Replaces the configured model (tests hand in a client for the fixture server). */
  model?: ModelClient;
  store?: EventStore;
  now?: () => number;
  /** Overrides `config.sandbox` (tests pin a tier, or `none`). */
  sandbox?: SandboxSetting;
  /** Secrets besides the configured API key that code output must never show (the token). */
  secrets?: () => readonly string[];
}

export interface SessionSummary {
  id: string;
  owner: string;
  title?: string;
  createdAt: string;
  lastSeq: number;
  turns: number;
  busy: boolean;
}

export interface Runtime {
  readonly config: CogConfig;
  readonly modelInfo: ModelInfo;
  createSession(owner: string, opts?: { id?: string; title?: string }): SessionSummary;
  /** The session, or a `session_not_found` error (also for another principal's session). */
  session(id: string, owner: string): Session;
  /** The session, created for `owner` if it does not exist yet. */
  openSession(id: string, owner: string): Session;
  listSessions(owner: string): SessionSummary[];
  send(id: string, owner: string, text: string, opts?: SendOptions): Promise<TurnResult>;
  action(id: string, owner: string, action: Action, opts?: SendOptions): Promise<TurnResult>;
  /** Cancels the running turn (and those queued behind it). True if there was one. */
  cancelTurn(id: string, owner: string): boolean;
  /** `codeSha256` is required to approve: the hash of the code the human was shown. */
  approve(
    processId: string,
    owner: string,
    decision: ApprovalDecision,
    codeSha256?: string,
  ): ProcessInfo;
  cancelProcess(processId: string, owner: string): ProcessInfo;
  clear(id: string, owner: string): void;
  subscribe(id: string, owner: string, listener: Listener, afterSeq?: number): () => void;
  /** Every event of every session `owner` has, or creates later. */
  subscribeAll(owner: string, listener: Listener): () => void;
  /** Processes of one of `owner`'s sessions, or of all of them, newest last. */
  listProcesses(owner: string, session?: string): ProcessInfo[];
  /** Resolves when the session's pending memorizer updates are done. */
  settled(id: string): Promise<void>;
  setApproval(policy: ApprovalPolicy): void;
  /**
   * Ends every turn, process and memorizer update, flushes the store and releases the
   * home. `drainMs`: first give pending memorizer updates up to that long to finish (a
   * client that hangs up right after a reply still gets its memory stored).
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

function summary(s: Session): SessionSummary {
  return {
    id: s.id,
    owner: s.owner,
    ...(s.title ? { title: s.title } : {}),
    createdAt: s.createdAt,
    lastSeq: s.seq,
    turns: s.userMessages,
    busy: s.queueLength > 0,
  };
}

/** Creates a runtime: sessions restored from the store, one process manager, one sensor. */
export async function createRuntime(config: CogConfig, deps: RuntimeDeps = {}): Promise<Runtime> {
  const now = deps.now ?? Date.now;
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const unlock = lockHome(config.home);
  const store = deps.store ?? createFileStore({ dir: join(config.home, 'sessions') });
  const ownSecrets = secretsOf(config);
  const model =
    deps.model ??
    (config.endpoint
      ? getOpenAiClient({
          baseUrl: config.endpoint.baseUrl,
          apiKey: config.endpoint.apiKey,
          idleTimeoutMs: config.llm.idleTimeoutMs,
          totalTimeoutMs: config.llm.totalTimeoutMs,
        })
      : createOfflineEngine());
  const modelInfo: ModelInfo = {
    offline: model.offline,
    models: model.offline
      ? { input: 'offline', thinker: 'offline', output: 'offline', memorizer: 'offline' }
      : config.models,
    ...(model.baseUrl ? { baseUrl: model.baseUrl } : {}),
  };
  const sessions = new Map<string, Session>();
  const sensor = createSensor({ intervalMs: config.sensorIntervalMs, now });
  const closing = new AbortController();
  let closed = false;

  const processes = createProcessManager({
    policy: config.approval,
    limits: config.limits,
    sandbox: deps.sandbox ?? config.sandbox,
    stateDir: join(config.home, 'run'),
    secrets: () => [...ownSecrets, ...(deps.secrets?.() ?? [])],
    events: {
      onUpdate: (p) =>
        sessions
          .get(p.session)
          ?.record({ type: 'process.updated', node: 'process', turn: p.turn, process: p }),
      onOutput: (id, stream, text) => {
        const p = processes.get(id);
        if (p) {
          sessions.get(p.session)?.record({
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

  function track(s: Session) {
    sessions.set(s.id, s);
    // s.owner is read per event: it is set by the session's first event, which is
    // recorded after tracking so that watchers see sessions being created.
    s.subscribe((e) => {
      for (const w of watchers) if (w.owner === s.owner) w.listener(e);
    });
    sensor.track({
      id: s.id,
      lastActivity: () => s.lastActivity,
      memory: () => s.memory,
      onTick: (readings, deltas) =>
        s.record({ type: 'sensor.tick', node: 'sensor', readings, deltas }),
    });
  }

  for (const id of await store.listSessions()) {
    const s = restoreSession(id, (await store.load(id)).events, store, now);
    if (s) track(s);
  }

  function assertOpen() {
    if (closed) throw new RuntimeError('runtime_closed', 'The runtime is shutting down.');
  }

  function get(id: string, owner: string): Session {
    const s = sessions.get(id);
    // Another principal's session is indistinguishable from a missing one.
    if (!s || s.owner !== owner) throw new RuntimeError('session_not_found', `No session ${id}.`);
    return s;
  }

  function create(owner: string, opts: { id?: string; title?: string } = {}): Session {
    assertOpen();
    const id = opts.id ?? `s-${randomBytes(6).toString('hex')}`;
    if (!SESSION_ID.test(id)) {
      throw new RuntimeError(
        'invalid_session_id',
        `Session id "${id.slice(0, 80)}" is invalid: use 1-64 letters, digits, _ or -.`,
      );
    }
    if (sessions.has(id)) throw new RuntimeError('session_exists', `Session ${id} already exists.`);
    const s = new Session(id, store, now);
    track(s);
    s.record({
      type: 'session.created',
      node: 'runtime',
      owner,
      ...(opts.title ? { title: opts.title } : {}),
    });
    return s;
  }

  /** A process as the owner's session last recorded it; others' are "not found". */
  function ownedProcess(processId: string, owner: string): ProcessInfo {
    for (const s of sessions.values()) {
      const p = s.owner === owner ? s.processes.get(processId) : undefined;
      if (p) return p;
    }
    throw new RuntimeError('process_not_found', `No process ${processId}.`);
  }

  const turns = createTurns({
    config,
    model,
    modelInfo,
    sensor,
    processes,
    closing: closing.signal,
    now,
    workspace: (id) => join(config.home, 'workspaces', id),
    assertOpen,
  });

  const runtime: Runtime = {
    config,
    modelInfo,
    createSession: (owner, opts) => summary(create(owner, opts)),
    session: get,
    openSession(id, owner) {
      return sessions.has(id) ? get(id, owner) : create(owner, { id });
    },
    listSessions: (owner) => [...sessions.values()].filter((s) => s.owner === owner).map(summary),
    send: async (id, owner, text, opts = {}) => turns.submit(get(id, owner), owner, text, opts),
    async action(id, owner, action, opts = {}) {
      const data =
        action.data && Object.keys(action.data).length ? ` ${JSON.stringify(action.data)}` : '';
      return turns.submit(get(id, owner), owner, `[action: ${action.action}]${data}`, opts, action);
    },
    cancelTurn(id, owner) {
      const s = get(id, owner);
      for (const c of s.turns.values()) c.abort();
      return s.turns.size > 0;
    },
    approve(processId, owner, decision, codeSha256) {
      const p = ownedProcess(processId, owner);
      if (p.status !== 'pending-approval') {
        throw new RuntimeError(
          'process_not_pending',
          `Process ${processId} is ${p.status}, not waiting for approval.`,
        );
      }
      return processes.approve(processId, decision, codeSha256);
    },
    cancelProcess(processId, owner) {
      const p = ownedProcess(processId, owner);
      processes.cancel(processId);
      return processes.get(processId) ?? p;
    },
    clear(id, owner) {
      const s = get(id, owner);
      for (const c of s.turns.values()) c.abort();
      s.record({ type: 'session.cleared', node: 'runtime' });
    },
    subscribe(id, owner, listener, afterSeq) {
      const s = get(id, owner);
      if (afterSeq !== undefined) for (const e of s.eventsAfter(afterSeq)) listener(e);
      return s.subscribe(listener);
    },
    subscribeAll(owner, listener) {
      const watcher = { owner, listener };
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
    listProcesses(owner, id) {
      const list = id ? [get(id, owner)] : [...sessions.values()].filter((s) => s.owner === owner);
      return list
        .flatMap((s) => [...s.processes.values()])
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async settled(id) {
      const s = sessions.get(id);
      if (s) {
        await s.queue;
        await s.memorizer;
      }
    },
    setApproval: (policy) => processes.setPolicy(policy),
    async close(opts = {}) {
      if (closed) return;
      closed = true;
      if (opts.drainMs) {
        const memorizers = [...sessions.values()].map((s) => s.memorizer);
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
      await Promise.allSettled([...sessions.values()].flatMap((s) => [s.queue, s.memorizer]));
      await store.close();
      model.close?.();
      unlock();
    },
  };
  return runtime;
}

/**
 * What code output must never show: the configured API key, and the bearer token of
 * `cog serve` on this home (read once: a `cog mcp` may run beside an old token file).
 */
function secretsOf(config: CogConfig): string[] {
  const out: string[] = [];
  if (config.endpoint && config.endpoint.apiKey !== 'not-needed') out.push(config.endpoint.apiKey);
  try {
    const token = readFileSync(join(config.home, 'token'), 'utf8').trim();
    if (token) out.push(token);
  } catch {
    // No token file: nothing to hide.
  }
  return out;
}
