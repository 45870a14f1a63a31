import type { SharedMcpSessions } from '../store/types.js';
import type { Action } from '../../protocol/controls.js';
import type { ApprovalPolicy, ModelInfo, ProcessInfo, TitleSource } from '../../protocol/events.js';
import type { CogConfig } from '../config.js';
import type { ModelClient } from '../llm/types.js';
import type { EventStore } from '../store/types.js';
import type { SandboxSetting } from '../processes/tiers.js';
import type { PrincipalLimits } from './principal-limits.js';
import type { ApprovalDecision } from '../processes/types.js';
import type { SessionSummary as SessionListing, TurnResult } from '../../protocol/results.js';
import type { Listener, Session } from './session.js';
import type { SendOptions } from './turns.js';

/** What a runtime offers its surfaces (MCP, CLI): created by `createRuntime`. */

export interface RuntimeDeps {
  /** Replaces the configured model (tests hand in a client for the fixture server). */
  model?: ModelClient;
  store?: EventStore;
  now?: () => number;
  /** Overrides `config.sandbox` (tests pin a tier, or `none`). */
  sandbox?: SandboxSetting;
  /** Secrets besides the configured API key that code output must never show (the token). */
  secrets?: () => readonly string[];
  /** Overrides `config.perPrincipal` (tests set small limits). */
  principalLimits?: PrincipalLimits;
}

/** A session as the wire lists it, and whose it is. */
export type SessionSummary = SessionListing & { owner: string };

export interface Runtime {
  readonly config: CogConfig;
  readonly modelInfo: ModelInfo;
  /** With a store other instances share: MCP sessions over HTTP any of them carries on. */
  readonly sharedMcp?: SharedMcpSessions;
  /** `title` is the user's unless `titleSource` says otherwise (send's first message). */
  createSession(
    owner: string,
    opts?: { id?: string; title?: string; titleSource?: TitleSource },
  ): Promise<SessionSummary>;
  /**
   * The session, loaded from the store if it is not in memory, or a `session_not_found`
   * error (also for another principal's session).
   */
  session(id: string, owner: string): Promise<Session>;
  /** The session, created for `owner` if it does not exist yet. */
  openSession(id: string, owner: string): Promise<Session>;
  listSessions(owner: string): SessionSummary[];
  /** Ends its turns and processes, then removes its log, snapshot and workspace. */
  deleteSession(id: string, owner: string): Promise<void>;
  /**
   * Titles the session as its owner asked (a `session.titled` from `user`, which Cog's own
   * titles never replace); `invalid_input` for an empty or too long title.
   */
  renameSession(id: string, owner: string, title: string): Promise<SessionSummary>;
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
    /** Why it was denied, in words, when not by the person (the run shows it). */
    reason?: string,
  ): ProcessInfo;
  /**
   * `approve` for a run on another instance (with a shared store `approve` says
   * `process_elsewhere`): the decision goes to the instance running it, and this resolves
   * with the run once that instance recorded it.
   */
  forwardApproval(
    processId: string,
    owner: string,
    decision: ApprovalDecision,
    codeSha256?: string,
    reason?: string,
  ): Promise<ProcessInfo>;
  /** What a run of `owner`'s wrote (stdout and stderr, redacted), while Cog holds it. */
  processOutput(processId: string, owner: string): string | undefined;
  cancelProcess(processId: string, owner: string): ProcessInfo;
  /** Ends its turns, resets history and memory, and frees the events before the clear. */
  clear(id: string, owner: string): Promise<number>;
  /** Live events; with `afterSeq`, first every recorded event after it (each once). */
  subscribe(id: string, owner: string, listener: Listener, afterSeq?: number): Promise<() => void>;
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
