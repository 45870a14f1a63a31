import type { RuntimeEvent } from '../protocol/events.js';
import type { SnapshotBase } from '../protocol/webview.js';
import type { ScrollPosition } from './chat/chat-view.js';
import type { Host } from './host.js';

/**
 * What survives a reload of the webview (VS Code drops a hidden view's page and keeps
 * only `setState`). The events and `lastSeq` are saved together, so the `lastSeq` a
 * reloaded view reports in `ready` is always that of the last event it can replay.
 */
export interface Persisted {
  v: 1;
  session?: string;
  lastSeq: number;
  events: RuntimeEvent[];
  /** What the snapshot these events began with sent besides them, applied before them. */
  base?: SnapshotBase;
  draft: string;
  scroll: ScrollPosition;
}

export const EMPTY: Persisted = {
  v: 1,
  lastSeq: 0,
  events: [],
  draft: '',
  scroll: { top: 0, atBottom: true },
};

/** As protocol/webview.ts accepts it in `ready`. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

function readScroll(raw: unknown): ScrollPosition {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<ScrollPosition>;
  return {
    top: typeof s.top === 'number' ? s.top : 0,
    atBottom: s.atBottom !== false,
    ...(typeof s.turn === 'string' ? { turn: s.turn } : {}),
    ...(typeof s.offset === 'number' ? { offset: s.offset } : {}),
  };
}

function readBase(raw: unknown): SnapshotBase | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const b = raw as Partial<SnapshotBase>;
  const processes = Array.isArray(b.processes)
    ? b.processes.filter(
        (p): p is SnapshotBase['processes'][number] =>
          typeof p === 'object' && p !== null && typeof p.id === 'string',
      )
    : [];
  const m = b.memory;
  const memory =
    typeof m === 'object' && m !== null && typeof m.state === 'object' && m.state !== null
      ? { state: m.state, version: typeof m.version === 'number' ? m.version : 0 }
      : undefined;
  return { earlier: b.earlier === true, processes, ...(memory ? { memory } : {}) };
}

/** Reads a saved state defensively: anything unexpected starts afresh. */
export function readPersisted(raw: unknown): Persisted {
  if (typeof raw !== 'object' || raw === null) return { ...EMPTY };
  const s = raw as Partial<Persisted>;
  if (s.v !== 1) return { ...EMPTY };
  const events = Array.isArray(s.events)
    ? s.events.filter(
        (e): e is RuntimeEvent =>
          typeof e === 'object' && e !== null && typeof e.seq === 'number' && 'type' in e,
      )
    : [];
  const session =
    typeof s.session === 'string' && SESSION_ID.test(s.session) ? s.session : undefined;
  const lastSeq = typeof s.lastSeq === 'number' && s.lastSeq >= 0 ? Math.floor(s.lastSeq) : 0;
  const base = session ? readBase(s.base) : undefined;
  return {
    v: 1,
    ...(session ? { session } : {}),
    lastSeq: session ? lastSeq : 0,
    events: session ? events : [],
    ...(base ? { base } : {}),
    draft: typeof s.draft === 'string' ? s.draft : '',
    scroll: readScroll(s.scroll),
  };
}

/**
 * Saves `delayMs` after a change, then at most once per `minGapMs` (serialising the state
 * is not free, and a streaming reply changes it hundreds of times a second), and at once
 * when the page is hidden or unloaded, which is when VS Code may drop it.
 */
export function createSaver(host: Host, collect: () => Persisted, delayMs = 250, minGapMs = 1000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = -Infinity;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    last = performance.now();
    host.setState(collect());
  };
  addEventListener('pagehide', flush);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flush();
  });
  return {
    schedule() {
      timer ??= setTimeout(flush, Math.max(delayMs, last + minGapMs - performance.now()));
    },
    flush,
  };
}
