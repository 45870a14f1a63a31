import {
  FINAL_PROCESS_STATUSES,
  type EventDraft,
  type MemoryState,
  type ProcessInfo,
  type RuntimeEvent,
  type TitleSource,
} from '../../protocol/events.js';
import type { ContextFill, SensorReading } from '../../protocol/results.js';
import type { EventStore, OpenedSession, SessionMeta, Snapshot } from '../store/types.js';
import { SessionWork } from './session-work.js';
import { codeSha256 } from '../processes/code-hash.js';
import { INITIAL_MEMORY } from './nodes/memorizer.js';
import type { Turn } from './nodes/node-env.js';

export type Listener = (event: RuntimeEvent) => void;

/** History kept for prompts; the full conversation stays in the event log. */
const MAX_HISTORY = 40;
/** Recent events kept in memory, for live readers that resume from just behind. */
const TAIL_EVENTS = 256;
/** Finished processes kept in the projection; older ones are in the log only. */
const MAX_FINISHED_PROCESSES = 100;

/** The projections a snapshot carries: everything `apply` maintains. */
interface ProjectionState {
  history: Turn[];
  memory: MemoryState;
  memoryVersion: number;
  processes: ProcessInfo[];
  userMessages: number;
  turnCounter: number;
  lastActivity: number;
  lastSensor: SensorReading | null;
  openTurns: string[];
  context?: Record<string, ContextFill>;
}

/**
 * One conversation: its identity, the projections of its log (history, memory,
 * processes, the latest sensor reading, turns in flight) and a short tail of recent
 * events. The log itself lives in the store: `read` pages through it.
 *
 * `record` is the only way an event comes to exist, and it writes before it publishes:
 * the store has the event before any listener (live stream, CLI, resource) is told.
 */
export class Session {
  history: Turn[] = [];
  memory: MemoryState = structuredClone(INITIAL_MEMORY);
  memoryVersion = 0;
  readonly processes = new Map<string, ProcessInfo>();
  /** User messages ever sent (history keeps only the newest). */
  userMessages = 0;
  lastActivity: number;
  lastSensor: SensorReading | null = null;
  /** Per node, its latest `node.context`. */
  context: Record<string, ContextFill> = {};
  /** Turns started and not yet done, as the log says. */
  readonly openTurns = new Set<string>();
  /** Its turns (one at a time) and the work after each, queued and cancelled here. */
  readonly work = new SessionWork();
  /** ms timestamp of the last read or write through the runtime: eviction goes by it. */
  lastUsed: number;
  /** Told every event first; the runtime's relay to `subscribeAll` (not a listener). */
  observer: Listener | undefined;
  private seqValue = 0;
  private publishedSeqValue = 0;
  /** Recorded, not yet committed by a store that commits later; in seq order. */
  private readonly unpublished: Array<{ event: RuntimeEvent; durable: boolean }> = [];
  private lost: Error | undefined;
  private drained: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly tail: RuntimeEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private turnCounter = 0;

  constructor(
    readonly meta: SessionMeta,
    private readonly store: EventStore,
    private readonly now: () => number,
  ) {
    this.lastActivity = now();
    this.lastUsed = now();
  }

  /** Rebuilds a session from the store: its snapshot, then the events after it. */
  static fromStore(opened: OpenedSession, store: EventStore, now: () => number): Session {
    const s = new Session(opened.meta, store, now);
    if (opened.snapshot) s.restore(opened.snapshot);
    for (const e of opened.events) s.apply(e);
    s.seqValue = opened.lastSeq;
    s.publishedSeqValue = opened.lastSeq;
    return s;
  }

  get id(): string {
    return this.meta.id;
  }
  /** The store's name for it: ids are per owner, keys are unique. */
  get key(): string {
    return this.meta.key ?? this.meta.id;
  }
  get owner(): string {
    return this.meta.owner;
  }
  get title(): string | undefined {
    return this.meta.title;
  }
  get titleSource(): TitleSource | undefined {
    return this.meta.titleSource;
  }
  get createdAt(): string {
    return this.meta.createdAt;
  }
  /** The last recorded seq. */
  get seq(): number {
    return this.seqValue;
  }
  get listening(): boolean {
    return this.listeners.size > 0;
  }

  nextTurnId(): string {
    return `t${++this.turnCounter}`;
  }

  /**
   * Stamps, stores, applies and announces one event, in that order. Throws the store's
   * error (disk full, say) having changed nothing: no seq used, nobody told.
   * `critical`: the event that reports such a failure, written from the disk's reserve.
   */
  record(draft: EventDraft, opts: { critical?: boolean } = {}): RuntimeEvent {
    if (this.lost) throw this.lost;
    // Object.assign, not a spread: on Node 20 it is ~30× cheaper, and this runs per token.
    const event = Object.assign({}, draft, {
      seq: this.seqValue + 1,
      ts: new Date(this.now()).toISOString(),
      session: this.id,
    }) as RuntimeEvent;
    const written = this.store.append(event, { ...opts, key: this.key });
    this.seqValue = event.seq;
    this.apply(event);
    if (!written && !this.unpublished.length) {
      this.publish(event);
      return event;
    }
    // A store that commits later (PostgreSQL): shown once committed, in seq order.
    const entry = { event, durable: false };
    this.unpublished.push(entry);
    (written ?? Promise.resolve()).then(
      () => {
        entry.durable = true;
        for (let next = this.unpublished[0]; next?.durable; next = this.unpublished[0]) {
          this.unpublished.shift();
          this.publish(next.event);
        }
        if (!this.unpublished.length) this.settleDrained();
      },
      (err: unknown) => this.loseUnpublished(err),
    );
    return event;
  }

  /** The last seq anyone may see: recorded and durable. */
  get publishedSeq(): number {
    return this.publishedSeqValue;
  }

  /**
   * Set when an append the store took later failed: the projections hold events nobody
   * saw and the store does not have, so nothing more is recorded until `reload`.
   */
  get broken(): Error | undefined {
    return this.lost;
  }

  /** Waits until every event recorded so far is shown (or lost). */
  published(): Promise<void> {
    if (!this.unpublished.length) return Promise.resolve();
    if (!this.drained) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.drained = { promise, resolve };
    }
    return this.drained.promise;
  }

  /**
   * Events another instance recorded (read from the shared store), in order from the
   * next seq: applied and shown as if recorded here. Ones already held are skipped; a
   * gap stops it (the caller reads again). Returns how many were taken.
   */
  ingest(events: RuntimeEvent[]): number {
    let taken = 0;
    for (const e of events) {
      if (e.seq <= this.seqValue) continue;
      if (e.seq !== this.seqValue + 1 || this.unpublished.length) break;
      this.seqValue = e.seq;
      this.apply(e);
      this.publish(e);
      taken++;
    }
    return taken;
  }

  /** Rebuilds the projections from the store after a lost write; listeners stay. */
  reload(opened: OpenedSession): void {
    this.history = [];
    this.memory = structuredClone(INITIAL_MEMORY);
    this.memoryVersion = 0;
    this.processes.clear();
    this.userMessages = 0;
    this.lastSensor = null;
    this.context = {};
    this.openTurns.clear();
    this.tail.length = 0;
    if (opened.snapshot) this.restore(opened.snapshot);
    for (const e of opened.events) this.apply(e);
    this.seqValue = opened.lastSeq;
    this.publishedSeqValue = opened.lastSeq;
    this.unpublished.length = 0;
    this.lost = undefined;
  }

  private publish(event: RuntimeEvent): void {
    this.publishedSeqValue = event.seq;
    this.tail.push(event);
    if (this.tail.length > TAIL_EVENTS) this.tail.splice(0, this.tail.length - TAIL_EVENTS);
    for (const listener of this.observer ? [this.observer, ...this.listeners] : this.listeners) {
      try {
        listener(event);
      } catch (err) {
        process.stderr.write(`cog: event listener failed: ${(err as Error).message}\n`);
      }
    }
  }

  private settleDrained(): void {
    const d = this.drained;
    this.drained = undefined;
    d?.resolve();
  }

  private loseUnpublished(err: unknown): void {
    if (this.lost) return;
    this.lost = err instanceof Error ? err : new Error(String(err));
    const first = this.unpublished[0]?.event.seq;
    this.unpublished.length = 0;
    this.settleDrained();
    process.stderr.write(
      `cog: session ${this.id}: events from #${first} were not saved and not shown: ${this.lost.message}\n`,
    );
  }

  /**
   * `record` for reporters off the turn's path (process output, sensor) and for the
   * events that report a failed write: a failure is logged, not thrown, and the event is
   * not shown.
   */
  tryRecord(draft: EventDraft, critical = false): RuntimeEvent | undefined {
    try {
      return this.record(draft, { critical });
    } catch (err) {
      process.stderr.write(`cog: session ${this.id}: ${(err as Error).message}\n`);
      return undefined;
    }
  }

  /** Updates the projections for one event (live or replayed). */
  apply(event: RuntimeEvent): void {
    // Turn ids are never reused, whichever of a turn's events survived.
    const n = event.turn?.startsWith('t') ? Number(event.turn.slice(1)) : 0;
    if (n > this.turnCounter) this.turnCounter = n;
    switch (event.type) {
      case 'session.cleared':
        this.history = [];
        this.memory = structuredClone(INITIAL_MEMORY);
        this.tail.length = 0;
        break;
      case 'session.titled':
        // The store keeps the same in its metadata (types.ts: Titled).
        this.meta.title = event.title;
        this.meta.titleSource = event.source;
        break;
      case 'user.message':
        this.history.push({ role: 'user', content: event.text });
        this.userMessages++;
        this.lastActivity = Date.parse(event.ts);
        break;
      case 'assistant.message':
        this.history.push({ role: 'assistant', content: event.text });
        break;
      case 'memory.updated':
        this.memory = event.state;
        this.memoryVersion = event.version;
        break;
      case 'process.updated':
        this.processes.set(event.process.id, upgradeProcess(event.process));
        if (this.processes.size > MAX_FINISHED_PROCESSES) this.forgetOldProcesses();
        break;
      case 'turn.started':
        if (event.turn) this.openTurns.add(event.turn);
        break;
      case 'turn.done':
        if (event.turn) this.openTurns.delete(event.turn);
        break;
      case 'sensor.tick':
        this.lastSensor = { seq: event.seq, ts: event.ts, readings: event.readings };
        break;
      case 'node.context':
        this.context[event.node] = {
          seq: event.seq,
          tokens: event.tokens,
          budget: event.budget,
          fillPct: event.fillPct,
          ...(event.toolTokens ? { toolTokens: event.toolTokens } : {}),
          ...(event.attachedTokens ? { attachedTokens: event.attachedTokens } : {}),
          ...(event.usage ? { usage: event.usage } : {}),
        };
        break;
      default:
        // The other event types change no projection (the event table says who shows them).
        break;
    }
    if (this.history.length > MAX_HISTORY) this.history = this.history.slice(-MAX_HISTORY);
  }

  /** The projections as of the last recorded seq, for the store. */
  snapshot(): Snapshot {
    const state: ProjectionState = {
      history: this.history,
      memory: this.memory,
      memoryVersion: this.memoryVersion,
      processes: [...this.processes.values()],
      userMessages: this.userMessages,
      turnCounter: this.turnCounter,
      lastActivity: this.lastActivity,
      lastSensor: this.lastSensor,
      openTurns: [...this.openTurns],
      context: this.context,
    };
    return { seq: this.seqValue, turns: this.userMessages, state };
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Listens from just after `afterSeq`: the events already recorded (from the tail or
   * the store), then live ones, each exactly once and in order.
   */
  async subscribeFrom(afterSeq: number, listener: Listener): Promise<() => void> {
    const held: RuntimeEvent[] = [];
    let live = false;
    let delivered = afterSeq;
    const deliver = (e: RuntimeEvent) => {
      if (e.seq <= delivered) return;
      delivered = e.seq;
      listener(e);
    };
    const unsubscribe = this.subscribe((e) => (live ? deliver(e) : held.push(e)));
    try {
      // Only what is durable: a store that commits later publishes the rest in order.
      const until = this.publishedSeqValue;
      while (delivered < until) {
        const page = await this.read(delivered, Math.min(1000, until - delivered));
        if (page.length === 0) break;
        for (const e of page) deliver(e);
      }
      for (const e of held) deliver(e);
      live = true;
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  /** Up to `limit` events with seq greater than `after`: from memory when recent. */
  async read(after: number, limit: number): Promise<RuntimeEvent[]> {
    const first = this.tail[0];
    if (first && first.seq <= after + 1) {
      const from = after + 1 - first.seq;
      return this.tail.slice(from, from + limit);
    }
    this.lastUsed = this.now();
    // The log may hold events of an older Cog: readers get today's shape.
    return (await this.store.read(this.key, after, limit)).map((e) =>
      e.type === 'process.updated' ? { ...e, process: upgradeProcess(e.process) } : e,
    );
  }

  /** The newest `limit` messages in the window since the latest clear, from the store. */
  messages(q: { beforeSeq?: number; afterSeq?: number; limit: number }) {
    this.lastUsed = this.now();
    return this.store.messages(this.key, q);
  }

  /** Durable and shown: what a turn awaits before it answers. */
  async flush(): Promise<void> {
    await this.store.flush(this.key);
    await this.published();
    if (this.lost) throw this.lost;
  }

  private restore(snapshot: Snapshot): void {
    const s = snapshot.state as Partial<ProjectionState>;
    this.history = Array.isArray(s.history) ? s.history : [];
    this.memory = s.memory ?? structuredClone(INITIAL_MEMORY);
    this.memoryVersion = s.memoryVersion ?? 0;
    for (const p of s.processes ?? []) this.processes.set(p.id, upgradeProcess(p));
    this.userMessages = s.userMessages ?? snapshot.turns;
    this.turnCounter = s.turnCounter ?? 0;
    this.lastActivity = s.lastActivity ?? this.lastActivity;
    this.lastSensor = s.lastSensor ?? null;
    for (const t of s.openTurns ?? []) this.openTurns.add(t);
    this.context = s.context ?? {};
  }

  /** Drops the oldest finished processes; the unfinished ones always stay. */
  private forgetOldProcesses(): void {
    let excess = this.processes.size - MAX_FINISHED_PROCESSES;
    for (const [id, p] of this.processes) {
      if (excess <= 0) break;
      if (FINAL_PROCESS_STATUSES.includes(p.status)) {
        this.processes.delete(id);
        excess--;
      }
    }
  }
}

/**
 * A process as logged by an older Cog: before isolation tiers its unsandboxed tier was
 * called `process-group`, and it carried no code hash. Both are derived, never guessed.
 */
function upgradeProcess(p: ProcessInfo): ProcessInfo {
  const isolation = (p.isolation as string) === 'process-group' ? 'none' : p.isolation;
  if (isolation === p.isolation && p.codeSha256) return p;
  return { ...p, isolation, codeSha256: p.codeSha256 || codeSha256(p.code) };
}
