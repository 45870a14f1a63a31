import type { Control } from './controls.js';

/**
 * The runtime's event log. Every session is an append-only sequence of these; history,
 * state, processes and the trace are projections of it. `seq` strictly increases per
 * session, so any reader can resume from the last `seq` it holds.
 */

export const NODE_NAMES = ['input', 'thinker', 'output', 'memorizer'] as const;
export type NodeName = (typeof NODE_NAMES)[number];
/** Who emitted an event: a pipeline node, or one of the runtime's own parts. */
export type EventSource = NodeName | 'sensor' | 'process' | 'runtime' | 'user';

export type PipelineMode = 'fast' | 'faithful';
export type ApprovalPolicy = 'ask' | 'auto' | 'deny';
export type Language = 'python' | 'javascript' | 'sql';
export const LANGUAGES: readonly Language[] = ['python', 'javascript', 'sql'];

export type ProcessStatus =
  | 'pending-approval'
  | 'running'
  | 'done'
  | 'failed'
  | 'cancelled'
  | 'timed-out'
  | 'denied'
  | 'interrupted';

export const FINAL_PROCESS_STATUSES: readonly ProcessStatus[] = [
  'done',
  'failed',
  'cancelled',
  'timed-out',
  'denied',
  'interrupted',
];

/**
 * How a child process is contained, strongest first; shown on every surface.
 * - `bubblewrap`: Linux, bwrap builds the sandbox (only system directories, the workspace,
 *   a private /tmp and /proc; no network; capabilities dropped).
 * - `namespaces`: Linux without bwrap, the same sandbox built from the kernel's user,
 *   mount, pid and network namespaces with util-linux's `unshare`.
 * - `wasm`: any OS, the code runs in a WebAssembly interpreter (Pyodide, QuickJS, sql.js)
 *   in a Node process that may read only its runtime files and the workspace.
 * - `none`: not contained; the code has the user's rights. Never chosen silently.
 */
export type Isolation = 'bubblewrap' | 'namespaces' | 'wasm' | 'none';
export const ISOLATIONS = ['bubblewrap', 'namespaces', 'wasm', 'none'] as const;

/** The tier in words, for approval prompts and status lines on every surface. */
export function describeIsolation(tier: Isolation): string {
  switch (tier) {
    case 'bubblewrap':
      return 'sandboxed (bubblewrap: no network, sees only its workspace)';
    case 'namespaces':
      return 'sandboxed (Linux namespaces: no network, sees only its workspace)';
    case 'wasm':
      return 'sandboxed (WebAssembly: no network, sees only its workspace)';
    case 'none':
      return 'NOT sandboxed: it would run with your full rights';
    default: {
      const never: never = tier;
      return String(never);
    }
  }
}

export interface ProcessInfo {
  id: string;
  session: string;
  turn?: string;
  language: Language;
  code: string;
  /** Hex SHA-256 of `code` (UTF-8): an approval names it, so it approves exactly this code. */
  codeSha256: string;
  status: ProcessStatus;
  isolation: Isolation;
  exitCode: number | null;
  /** Why it ended the way it did, in words ("denied by policy", "exceeded 10 s"). */
  reason?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  /** Bytes of output produced (stdout + stderr), including what the cap dropped. */
  outputBytes: number;
  truncated: boolean;
}

/** Where replies come from: a configured endpoint, or the offline engine. */
export interface ModelInfo {
  offline: boolean;
  /** Per node: the model name (or "offline"). */
  models: Record<NodeName, string>;
  baseUrl?: string;
}

export interface MemoryState {
  user_name: string | null;
  user_mood: string;
  topic: string | null;
  topic_history: string[];
  situation: string;
  language: string;
  style_hint: string;
  facts: string[];
}

export interface TurnTiming {
  /** ms from the user message to the first output delta (null if none streamed). */
  firstTokenMs: number | null;
  totalMs: number;
  /** Model calls made before the first output delta. */
  callsBeforeFirstToken: number;
  modelCalls: number;
}

export type TurnStatus = 'ok' | 'error' | 'cancelled';

interface Base {
  seq: number;
  /** ISO-8601 time the event was recorded. */
  ts: string;
  session: string;
  node: EventSource;
  /** The turn this event belongs to, when it belongs to one. */
  turn?: string;
}

export type RuntimeEventBody =
  | { type: 'session.created'; owner: string; title?: string }
  | { type: 'session.cleared' }
  | { type: 'turn.queued'; position: number }
  | { type: 'turn.started'; mode: PipelineMode }
  | { type: 'turn.done'; status: TurnStatus; timing: TurnTiming; error?: string }
  | { type: 'user.message'; text: string; action?: { action: string; data?: unknown } }
  | {
      type: 'assistant.message';
      text: string;
      controls: Control[];
      processes: string[];
      model: ModelInfo;
    }
  | { type: 'output.delta'; text: string }
  | { type: 'node.thinking'; detail: string }
  | {
      type: 'node.context';
      /** Cog's own count (o200k) of what it sends: messages and tool schemas. */
      tokens: number;
      budget: number;
      fillPct: number;
      messages: number;
      trimmed: number;
      /** Of `tokens`, the tool schemas sent with the call. */
      toolTokens?: number;
      /** After the call: what the provider says it used, when it reports usage. */
      usage?: { promptTokens: number; completionTokens: number; cachedTokens?: number };
    }
  | { type: 'node.perceived'; perception: string }
  | { type: 'node.decided'; decision: 'direct' | 'tool' | 'controls'; summary: string }
  | { type: 'node.streaming' }
  | { type: 'node.done'; ms: number; model: string }
  | { type: 'node.error'; code: string; message: string }
  | { type: 'controls'; controls: Control[] }
  | { type: 'process.updated'; process: ProcessInfo }
  | { type: 'process.output'; process: string; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'memory.updated'; state: MemoryState; version: number; changes: string[] }
  | {
      type: 'sensor.tick';
      readings: Record<string, string>;
      deltas: Record<string, string>;
    };

export type RuntimeEventType = RuntimeEventBody['type'];

/** Distributes the envelope over each member so narrowing on `type` keeps working. */
type WithBase<T> = T extends unknown ? Base & T : never;
export type RuntimeEvent = WithBase<RuntimeEventBody>;
export type EventOf<T extends RuntimeEventType> = Extract<RuntimeEvent, { type: T }>;

/** An event before the log stamps it with `seq`, `ts` and `session`. */
export type EventDraft =
  WithBase<RuntimeEventBody> extends infer E
    ? E extends Base
      ? Omit<E, 'seq' | 'ts' | 'session'>
      : never
    : never;
