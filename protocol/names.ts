/**
 * The closed vocabularies of Cog's wire: node names, statuses, tiers, policies. Plain
 * constants, no validator, so the webview (whose CSP refuses zod's eval probe) can use
 * them; `events.ts` and `results.ts` build their schemas from these lists.
 */

export const NODE_NAMES = ['input', 'thinker', 'output', 'memorizer'] as const;
export type NodeName = (typeof NODE_NAMES)[number];

/** Who emitted an event: a pipeline node, or one of the runtime's own parts. */
export const EVENT_SOURCES = [...NODE_NAMES, 'sensor', 'process', 'runtime', 'user'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const PIPELINE_MODES = ['fast', 'faithful'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

export const APPROVAL_POLICIES = ['ask', 'auto', 'deny'] as const;
export type ApprovalPolicy = (typeof APPROVAL_POLICIES)[number];

/** What a message does when its session is busy: wait, cancel the running turn, or refuse. */
export const BUSY_POLICIES = ['queue', 'interrupt', 'reject'] as const;
export type BusyPolicy = (typeof BUSY_POLICIES)[number];

export const LANGUAGES = ['python', 'javascript', 'sql'] as const;
export type Language = (typeof LANGUAGES)[number];

export const PROCESS_STATUSES = [
  'pending-approval',
  'running',
  'done',
  'failed',
  'cancelled',
  'timed-out',
  'denied',
  'interrupted',
] as const;
export type ProcessStatus = (typeof PROCESS_STATUSES)[number];

/** The statuses a run ends in: all but waiting for approval and running. */
export const FINAL_PROCESS_STATUSES: readonly ProcessStatus[] = PROCESS_STATUSES.filter(
  (s) => s !== 'pending-approval' && s !== 'running',
);

export const TURN_STATUSES = ['ok', 'error', 'cancelled'] as const;
export type TurnStatus = (typeof TURN_STATUSES)[number];

/**
 * Where a session's title came from. `user`: set by its owner, never replaced by Cog;
 * `first-message`: the automatic one, which the Memorizer's settled topic replaces once;
 * `topic`: that replacement.
 */
export const TITLE_SOURCES = ['user', 'topic', 'first-message'] as const;
export type TitleSource = (typeof TITLE_SOURCES)[number];

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
export const ISOLATIONS = ['bubblewrap', 'namespaces', 'wasm', 'none'] as const;
export type Isolation = (typeof ISOLATIONS)[number];

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
