import type { ApprovalPolicy, Language, ProcessInfo } from '../../protocol/events.js';
import type { SandboxSetting } from './tiers.js';

export interface ProcessLimits {
  /** Wall-clock limit in ms (default 10 000). */
  timeoutMs: number;
  /** Bytes of output kept per process (default 1 MiB). */
  maxOutputBytes: number;
  /** Bytes of output shown to the model (default 16 KiB). */
  modelOutputBytes: number;
  /** Address-space cap for the child in bytes (default 1 GiB). */
  memoryBytes: number;
  /** Processes and threads a run may have at once, in the Linux tiers (default 128). */
  processes: number;
  /** Largest file a run may write (RLIMIT_FSIZE, default 64 MiB). */
  fileBytes: number;
  /** Output after which a run is stopped as a runaway (default 16 MiB). */
  stopOutputBytes: number;
}

export const DEFAULT_LIMITS: ProcessLimits = {
  timeoutMs: 10_000,
  maxOutputBytes: 1024 * 1024,
  modelOutputBytes: 16 * 1024,
  memoryBytes: 1024 * 1024 * 1024,
  processes: 128,
  fileBytes: 64 * 1024 * 1024,
  stopOutputBytes: 16 * 1024 * 1024,
};

export interface RunRequest {
  session: string;
  turn?: string;
  language: Language;
  code: string;
  /** The session's own working directory (created if missing). */
  workspace: string;
  /**
   * A directory of files the user shared with the session's runs: seen read-only at
   * shared/ in the working directory, in the contained tiers only (never in `none`).
   */
  shared?: string;
  signal?: AbortSignal;
  /** Told the process as soon as it exists (before approval or spawn), e.g. to show its card. */
  onCreated?(process: ProcessInfo): void;
  /**
   * Told when a run that waited for approval stops waiting (approved, denied, cancelled or
   * expired), so a caller can leave the human's time out of its own latency.
   */
  onDecided?(process: ProcessInfo): void;
}

export interface RunResult {
  process: ProcessInfo;
  /** Output for the model: at most `modelOutputBytes`, with a truncation marker if cut. */
  output: string;
}

export interface ProcessEvents {
  /** Every status or metadata change (created, approved, started, ended). */
  onUpdate(process: ProcessInfo): void;
  onOutput(processId: string, stream: 'stdout' | 'stderr', text: string): void;
}

export type ApprovalDecision = 'approve' | 'deny';

/** Options of `createProcessManager`. */
export interface ProcessManagerOptions {
  policy: ApprovalPolicy;
  limits?: Partial<ProcessLimits>;
  events: ProcessEvents;
  /**
   * `auto` (default): the strongest isolation tier that works here, per language; a tier
   * name: only that one; `none`: no sandbox, and no approval asked for that reason.
   */
  sandbox?: SandboxSetting;
  /** Private directory for sandbox scratch files and the record of running children. */
  stateDir?: string;
  /** Cog's own secrets (token, API keys): removed from output before anyone sees it. */
  secrets?: () => readonly string[];
  /** PATH for children, also where interpreters are looked up (default: the server's). */
  path?: string;
  /** Finished processes remembered, oldest forgotten first (default 200). */
  retain?: number;
  /**
   * A run nobody approves or denies within this long is denied (default 10 min), so a
   * turn never waits forever for a human who is not there.
   */
  approvalTimeoutMs?: number;
}

/** Runs model-written code as observable, cancellable, sandboxed child processes. */
export interface ProcessManager {
  /**
   * Runs code to the end. Resolves with the final ProcessInfo and the model's view of the
   * output for every outcome (failed, denied, timed out...); rejects only with
   * ProcessError `manager_closed` after close().
   */
  run(req: RunRequest): Promise<RunResult>;
  /**
   * Decides a process waiting for approval and returns it in its new state (running or
   * denied). Approving names the SHA-256 of the code the human was shown, so an approval
   * is for exactly that code. Throws ProcessError `process_not_found`,
   * `process_not_pending` when it is not waiting (a late or duplicate click is reported
   * rather than ignored), or `approval_mismatch` when the hash is missing or differs.
   */
  /** `reason`: why it was denied, in words (default "denied by the user"). */
  approve(
    id: string,
    decision: ApprovalDecision,
    codeSha256?: string,
    reason?: string,
  ): ProcessInfo;
  /**
   * Cancels a process in any non-final state; one pending approval never starts. Returns
   * false for unknown or finished processes. A running one turns `cancelled` once its
   * process group is dead.
   */
  cancel(id: string): boolean;
  /** Processes in creation order, optionally of one session. */
  list(session?: string): ProcessInfo[];
  get(id: string): ProcessInfo | undefined;
  /** The kept output (at most `maxOutputBytes`), for a process card. */
  output(id: string): string | undefined;
  /** Processes waiting for approval. */
  pending(session?: string): ProcessInfo[];
  /** Applies to runs started afterwards; ones already waiting keep waiting. */
  setPolicy(policy: ApprovalPolicy): void;
  readonly policy: ApprovalPolicy;
  /** Cancels everything; resolves once every child process is gone. */
  close(): Promise<void>;
}
