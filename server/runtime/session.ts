import type { EventDraft, MemoryState, ProcessInfo, RuntimeEvent } from '../../protocol/events.js';
import type { EventStore } from '../store/types.js';
import { codeSha256 } from '../tools/code-hash.js';
import { INITIAL_MEMORY } from './nodes/memorizer.js';
import type { Turn } from './nodes/node-env.js';

export type Listener = (event: RuntimeEvent) => void;

/** History kept for prompts; the full conversation stays in the event log. */
const MAX_HISTORY = 40;

export const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * One conversation: its event log and the projections of it (history, memory, processes).
 * The log is the truth; `apply` is the only place projections change, so a session
 * replayed from the store ends up exactly where the live one was.
 */
export class Session {
  readonly events: RuntimeEvent[] = [];
  history: Turn[] = [];
  memory: MemoryState = structuredClone(INITIAL_MEMORY);
  memoryVersion = 0;
  readonly processes = new Map<string, ProcessInfo>();
  owner = '';
  /** User messages ever sent (history keeps only the newest). */
  userMessages = 0;
  title: string | undefined;
  createdAt = '';
  lastActivity: number;
  /** The turn being run and those waiting, in order. */
  queueLength = 0;
  /** Turn id → controller of the running or queued turn, for cancel. */
  readonly turns = new Map<string, AbortController>();
  /** Memorizer updates run one after another, after the replies they distil. */
  memorizer: Promise<void> = Promise.resolve();
  /** Serialises turns: each waits for the one before it. */
  queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<Listener>();
  private turnCounter = 0;

  constructor(
    readonly id: string,
    private readonly store: EventStore,
    private readonly now: () => number,
  ) {
    this.lastActivity = now();
  }

  get seq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  nextTurnId(): string {
    return `t${++this.turnCounter}`;
  }

  /** Stamps, applies, stores and announces one event. */
  record(draft: EventDraft): RuntimeEvent {
    const event = {
      ...draft,
      seq: this.seq + 1,
      ts: new Date(this.now()).toISOString(),
      session: this.id,
    } as RuntimeEvent;
    this.apply(event);
    this.store.append(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        process.stderr.write(`cog: event listener failed: ${(err as Error).message}\n`);
      }
    }
    return event;
  }

  /** Updates the projections for one event (live or replayed). */
  apply(event: RuntimeEvent): void {
    this.events.push(event);
    switch (event.type) {
      case 'session.created':
        this.owner = event.owner;
        this.title = event.title;
        this.createdAt = event.ts;
        break;
      case 'session.cleared':
        this.history = [];
        this.memory = structuredClone(INITIAL_MEMORY);
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
        break;
      case 'turn.started': {
        const n = Number(event.turn?.slice(1));
        if (n > this.turnCounter) this.turnCounter = n;
        break;
      }
      case 'turn.queued':
      case 'turn.done':
      case 'output.delta':
      case 'node.thinking':
      case 'node.context':
      case 'node.perceived':
      case 'node.decided':
      case 'node.streaming':
      case 'node.done':
      case 'node.error':
      case 'controls':
      case 'process.output':
      case 'sensor.tick':
        break;
      default: {
        const unknown: never = event;
        throw new Error(`unhandled event ${(unknown as RuntimeEvent).type}`);
      }
    }
    if (this.history.length > MAX_HISTORY) this.history = this.history.slice(-MAX_HISTORY);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events with seq greater than `after`, at most `limit` of them. */
  eventsAfter(after = 0, limit = Infinity): RuntimeEvent[] {
    // seq is dense from 1, so the index of seq N is N-1 (binary search keeps this honest
    // should the log ever be compacted).
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid].seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo, lo + Math.min(limit, this.events.length));
  }

  flush(): Promise<void> {
    return this.store.flush(this.id);
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
