import type { ApprovalPolicy, Isolation, Language, ProcessInfo } from '../../protocol/events.js';

export interface ProcessLimits {
  /** Wall-clock limit in ms (default 10 000). */
  timeoutMs: number;
  /** Bytes of output kept per process (default 1 MiB). */
  maxOutputBytes: number;
  /** Bytes of output shown to the model (default 16 KiB). */
  modelOutputBytes: number;
  /** Address-space cap for the child in bytes (default 1 GiB). */
  memoryBytes: number;
}

export const DEFAULT_LIMITS: ProcessLimits = {
  timeoutMs: 10_000,
  maxOutputBytes: 1024 * 1024,
  modelOutputBytes: 16 * 1024,
  memoryBytes: 1024 * 1024 * 1024,
};

export interface RunRequest {
  session: string;
  turn?: string;
  language: Language;
  code: string;
  /** The session's own working directory (created if missing). */
  workspace: string;
  signal?: AbortSignal;
  /** Told the process as soon as it exists (before approval or spawn), e.g. to show its card. */
  onCreated?(process: ProcessInfo): void;
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
  /** 'auto' (default) uses bubblewrap when a probe run succeeds; 'none' never does. */
  isolation?: 'auto' | 'none';
  /** PATH for children, also where interpreters are looked up (default: the server's). */
  path?: string;
  /** Finished processes remembered, oldest forgotten first (default 200). */
  retain?: number;
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
   * denied). Throws ProcessError `process_not_found`, or `process_not_pending` when it is
   * not waiting, so a late or duplicate click is reported rather than ignored.
   */
  approve(id: string, decision: ApprovalDecision): ProcessInfo;
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
  /** How new runs are contained: bubblewrap if the probe run succeeded. */
  isolation(): Promise<Isolation>;
  /** Cancels everything; resolves once every child process is gone. */
  close(): Promise<void>;
}
