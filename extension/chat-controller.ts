import type { ApprovalPolicy, RuntimeEvent } from '../protocol/events.js';
import type { SessionSummary } from '../protocol/results.js';
import type { HostToWebview, WebviewToHost } from '../protocol/webview.js';
import type { CogClient } from './cog-client.js';
import type { Disposable, Logger } from './emitter.js';
import { errorMessage, type RuntimeConnection } from './runtime-connection.js';
import { RESTRICTED_TEXT, RunApprovals } from './run-approvals.js';
import { SESSIONS_URI, viewUri } from '../protocol/mcp.js';
import { listSessions, readTrace, sessionState } from './runtime-tools.js';
import { readShown } from './session-page.js';
import { ensureSession, startSession, type SessionMemory } from './shown-session.js';
import type { z } from 'zod';
import {
  ClearResultSchema,
  ProcessResultSchema,
  TurnResultSchema,
  type TurnResult,
} from '../protocol/results.js';

export interface ChatControllerOptions {
  connection: RuntimeConnection;
  log: Logger;
  memory: SessionMemory;
  /** The policy the runtime runs with (`deny` in Restricted Mode), shown in the panel. */
  approval(): ApprovalPolicy;
  /** Restricted Mode: no code runs, and the panel says why. Default: trusted. */
  restricted?(): boolean;
}

/** A turn may wait on an approval or a slow model; each progress notification restarts this. */
const TURN_TIMEOUT_MS = 10 * 60_000;

/**
 * The host side of the chat: owns which session is shown, relays the runtime's events to
 * the webview and turns the webview's intents into MCP tool calls.
 *
 * What must hold: the webview gets every event of the shown session exactly in `seq`
 * order with no gaps, because it drops any `seq` at or below the last one it applied.
 * So the host keeps `cursor`, the last `seq` the webview has, and everything it posts
 * goes through one serial queue (`jobs`): a snapshot, or a `trace` read from the cursor.
 * The live MCP notifications only say "there is more" (logging: HUD events; resource
 * updates: the trace changed; progress: our own turn streamed a delta). A HUD event that
 * directly follows the cursor is posted at once; anything else becomes a trace read.
 * After a reconnect or a re-shown view the same read resumes from the cursor (or from the
 * webview's own `lastSeq`), so nothing is missing and nothing is applied twice; a webview
 * further behind than a page's tail gets the newest page instead, so no snapshot costs
 * more than it shows.
 */
export class ChatController implements Disposable {
  private post: ((msg: HostToWebview) => void) | undefined;
  /** The last seq the webview holds for the shown session; undefined before a snapshot. */
  private cursor: number | undefined;
  private jobs: Promise<void> = Promise.resolve();
  private busy = 0;
  private pumpQueued = false;
  /** The turns this window started; cancelling aborts their MCP requests. */
  private readonly inFlight = new Set<AbortController>();
  private readonly subscriptions: Disposable[] = [];
  private subscribedUri: string | undefined;
  /** A `ready` not yet answered with a snapshot (it failed): retried on the next connect. */
  private unanswered: { lastSeq?: number } | undefined;
  private snapshotsRunning = 0;
  /** Every decision on a run (the card's, VS Code's dialog's) goes through this. */
  readonly approvals: RunApprovals;

  constructor(private readonly opts: ChatControllerOptions) {
    const { connection } = opts;
    this.approvals = new RunApprovals({
      connection,
      restricted: () => opts.restricted?.() ?? false,
    });
    this.subscriptions.push(
      connection.onEvent((e) => this.onRuntimeEvent(e)),
      connection.onResourceUpdated((uri) => this.onResourceUpdated(uri)),
      connection.onDidConnect((client) => this.onConnected(client)),
      connection.onDidChangeState((s) =>
        this.send({
          type: 'connection',
          status: s.status,
          ...(s.detail ? { detail: s.detail } : {}),
          ...(s.model ? { model: s.model } : {}),
        }),
      ),
    );
  }

  /** The session shown in the chat (created on first use). */
  get session(): string | undefined {
    return this.opts.memory.get();
  }

  /** The last seq posted to the webview (for tests and the log). */
  get deliveredSeq(): number | undefined {
    return this.cursor;
  }

  /**
   * Connects a webview; until the returned disposable runs, messages go to `post`. The
   * webview is expected to say `ready` next, which brings it a snapshot.
   */
  attach(post: (msg: HostToWebview) => void): Disposable {
    this.post = post;
    this.cursor = undefined;
    this.unanswered = undefined;
    return {
      dispose: () => {
        if (this.post !== post) return;
        this.post = undefined;
        this.cursor = undefined;
      },
    };
  }

  /**
   * The view was hidden: VS Code drops its content, so stop relaying until its `ready`
   * on re-show says where it stands.
   */
  viewHidden(): void {
    this.cursor = undefined;
  }

  /**
   * The runtime is being restarted with new settings (approval policy, models): the view
   * gets a fresh snapshot, continuing from what it holds, once it is back.
   */
  refreshOnReconnect(): void {
    if (this.post) this.unanswered = { lastSeq: this.cursor };
  }

  /** Acts on one validated message from the webview. */
  async handle(msg: WebviewToHost): Promise<void> {
    switch (msg.type) {
      case 'ready': {
        const lastSeq =
          msg.session !== undefined && msg.session === this.session ? msg.lastSeq : undefined;
        this.unanswered = { lastSeq };
        return this.guard(this.snapshot(lastSeq));
      }
      case 'send':
        return this.guard(this.runTurn('send', { text: msg.text }));
      case 'action':
        return this.guard(
          this.runTurn('action', { action: msg.action, ...(msg.data ? { data: msg.data } : {}) }),
        );
      case 'cancelTurn':
        this.cancelTurn();
        return;
      case 'approve':
        return this.guard(this.approvals.fromCard(msg, this.session));
      case 'cancelProcess':
        return this.guard(
          this.call('process-cancel', { process: msg.process }, ProcessResultSchema),
        );
      case 'newSession':
        return this.guard(this.newSession());
      case 'switchSession':
        return this.guard(this.switchSession(msg.session));
      case 'clear':
        return this.guard(this.clear());
      default: {
        const never: never = msg;
        this.opts.log.warn(`unhandled webview message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Sends a message in the shown session and resolves with the finished turn. */
  sendText(text: string): Promise<TurnResult> {
    return this.runTurn('send', { text });
  }

  /** Aborts the turns this window started; the runtime cancels their runs too. */
  cancelTurn(): boolean {
    const any = this.inFlight.size > 0;
    for (const c of this.inFlight) c.abort();
    return any;
  }

  async listSessions(): Promise<SessionSummary[]> {
    return listSessions(await this.opts.connection.whenConnected());
  }

  async newSession(): Promise<string> {
    const client = await this.opts.connection.whenConnected();
    const id = await startSession(client, this.opts);
    await this.snapshot();
    return id;
  }

  async switchSession(session: string): Promise<void> {
    const sessions = await this.listSessions();
    if (!sessions.some((s) => s.id === session)) {
      throw new Error(`There is no session ${session}. Pick one with Cog: Switch Session.`);
    }
    this.opts.memory.set(session);
    await this.snapshot();
  }

  async clear(): Promise<void> {
    const session = this.session;
    if (!session) return;
    await this.call('clear', { session }, ClearResultSchema);
    this.pump();
  }

  /** A session's events after `sinceSeq`, oldest first. */
  async trace(session: string, sinceSeq = 0): Promise<RuntimeEvent[]> {
    return readTrace(await this.opts.connection.whenConnected(), session, sinceSeq);
  }

  /** Resolves once every queued post (snapshot, trace reads) has gone out. */
  async settled(): Promise<void> {
    let last: Promise<void>;
    do {
      last = this.jobs;
      await last;
    } while (last !== this.jobs);
  }

  dispose(): void {
    this.cancelTurn();
    for (const s of this.subscriptions) s.dispose();
    this.post = undefined;
  }

  // --- the serial queue --------------------------------------------------------------

  /** Runs `job` after every earlier one; the only place that posts events. */
  private enqueue(job: () => Promise<void>): Promise<void> {
    this.busy++;
    const run = this.jobs.then(job).finally(() => this.busy--);
    this.jobs = run.catch(() => undefined);
    return run;
  }

  /** Reads the trace from the cursor and posts what is new; at most one waits at a time. */
  private pump(): void {
    if (this.pumpQueued || !this.post || this.cursor === undefined) return;
    this.pumpQueued = true;
    void this.enqueue(async () => {
      this.pumpQueued = false;
      const session = this.session;
      const from = this.cursor;
      if (!session || from === undefined || !this.post || !this.opts.connection.client) return;
      const events = await this.trace(session, from);
      // A snapshot or a switch in between moved the cursor: this read is stale.
      if (this.cursor !== from || session !== this.session) return this.pump();
      this.deliver(session, events);
    }).catch((err: unknown) => this.opts.log.debug(`trace read: ${errorMessage(err)}`));
  }

  private deliver(session: string, events: RuntimeEvent[]): void {
    const last = events.at(-1);
    if (!last || this.cursor === undefined) return;
    this.cursor = last.seq;
    this.send({ type: 'events', session, events });
  }

  /**
   * Posts a snapshot of the shown session (see `readShown`: what follows the webview's
   * `lastSeq`, or the newest page) with the session list, the model and the approval policy.
   */
  private snapshot(sinceSeq?: number): Promise<void> {
    const connection = this.opts.connection;
    if (!connection.client) {
      const s = connection.state;
      this.send({
        type: 'connection',
        status: s.status,
        ...(s.detail ? { detail: s.detail } : {}),
      });
    }
    this.snapshotsRunning++;
    return this.enqueue(async () => {
      const client = await connection.whenConnected(5 * 60_000);
      const session = await ensureSession(client, this.opts);
      const state = await sessionState(client, session);
      const [sessions, shown] = await Promise.all([
        this.listSessions(),
        readShown(client, session, state, sinceSeq),
      ]);
      const model = state.model;
      connection.setModel(model);
      await this.watch(client, session);
      if (!this.post) return;
      this.unanswered = undefined;
      this.cursor = shown.cursor;
      this.send({
        type: 'snapshot',
        session,
        sessions,
        events: shown.events,
        resumed: shown.resumed,
        ...(shown.base ? { base: shown.base } : {}),
        model,
        approval: this.opts.approval(),
      });
      if (this.opts.restricted?.())
        this.send({ type: 'notice', level: 'info', message: RESTRICTED_TEXT });
    }).finally(() => {
      this.snapshotsRunning--;
      this.pump();
    });
  }

  // --- live notifications -------------------------------------------------------------

  private onRuntimeEvent(e: RuntimeEvent): void {
    if (e.session !== this.session || this.cursor === undefined || !this.post) return;
    if (this.busy === 0 && e.seq === this.cursor + 1) {
      this.cursor = e.seq;
      this.send({ type: 'events', session: e.session, events: [e] });
    } else if (e.seq > this.cursor) {
      this.pump();
    }
  }

  private onResourceUpdated(uri: string): void {
    const session = this.session;
    if (session && uri === viewUri(session, 'trace')) this.pump();
    else if (uri === SESSIONS_URI && this.post) {
      this.listSessions().then(
        (sessions) => this.send({ type: 'sessions', sessions }),
        (err: unknown) => this.opts.log.debug(`session list: ${errorMessage(err)}`),
      );
    }
  }

  private onConnected(client: CogClient): void {
    if (this.unanswered && this.post && this.snapshotsRunning === 0) {
      void this.guard(this.snapshot(this.unanswered.lastSeq));
      return;
    }
    const session = this.session;
    if (!session || !this.post) return;
    // A new MCP session has no subscriptions: watch again, then read what was missed.
    this.subscribedUri = undefined;
    this.watch(client, session).then(
      () => this.pump(),
      (err: unknown) => this.opts.log.warn(`after reconnecting: ${errorMessage(err)}`),
    );
  }

  /** Subscribes to the shown session's trace (and the session list) on this connection. */
  private async watch(client: CogClient, session: string): Promise<void> {
    const uri = viewUri(session, 'trace');
    if (this.subscribedUri === uri) return;
    const previous = this.subscribedUri;
    this.subscribedUri = uri;
    if (previous) await client.unsubscribe(previous).catch(() => undefined);
    else await client.subscribe(SESSIONS_URI).catch(() => undefined);
    await client.subscribe(uri);
  }

  // --- intents ------------------------------------------------------------------------

  private send(msg: HostToWebview): void {
    if (!this.post) return;
    this.post(msg);
    // A run just refused because the workspace is restricted: say why, where it happened.
    if (this.approvals.noteSent(msg)) {
      this.post({ type: 'notice', level: 'info', message: RESTRICTED_TEXT });
    }
  }

  /** Runs an intent; a failure becomes a notice in the chat and a log line. */
  private async guard(work: Promise<unknown>): Promise<void> {
    try {
      await work;
    } catch (err) {
      if (isAbort(err)) return;
      const message = errorMessage(err);
      this.opts.log.warn(message);
      this.send({ type: 'notice', level: 'error', message });
    }
  }

  private async call(
    tool: string,
    args: Record<string, unknown>,
    schema: z.ZodType,
  ): Promise<void> {
    const client = await this.opts.connection.whenConnected();
    await client.call(tool, args, schema);
  }

  private async runTurn(
    tool: 'send' | 'action',
    args: Record<string, unknown>,
  ): Promise<TurnResult> {
    const client = await this.opts.connection.whenConnected();
    const session = await ensureSession(client, this.opts);
    const abort = new AbortController();
    this.inFlight.add(abort);
    try {
      const call = { ...args, session, await_approval: true }; // open through the panel's cards
      const result = await client.call(tool, call, TurnResultSchema, {
        signal: abort.signal,
        timeoutMs: TURN_TIMEOUT_MS,
        // A progress notification is one streamed delta: read it (with its seq) now.
        onProgress: () => this.pump(),
      });
      this.opts.connection.setModel(result.model);
      return result;
    } finally {
      this.inFlight.delete(abort);
      this.pump();
    }
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || /\baborted\b/i.test(err.message));
}
