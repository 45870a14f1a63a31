import type { ApprovalPolicy, RuntimeEvent } from '../protocol/events.js';
import type { SessionSummary } from '../protocol/results.js';
import type { HostToWebview, WebviewToHost } from '../protocol/webview.js';
import type { Attachments } from './attachments.js';
import type { CogClient } from './cog-client.js';
import type { Disposable, Logger } from './emitter.js';
import { errorMessage, type RuntimeConnection } from './runtime-connection.js';
import { RESTRICTED_TEXT, RunApprovals } from './run-approvals.js';
import { SESSIONS_URI } from '../protocol/mcp.js';
import { EventRelay } from './event-relay.js';
import { listSessions, readTrace, sessionState } from './runtime-tools.js';
import { readShown } from './session-page.js';
import { ensureSession, startSession, type SessionMemory } from './shown-session.js';
import type { z } from 'zod';
import { sessionLabel, type SessionPrompts } from './session-prompts.js';
import {
  ClearResultSchema,
  ProcessResultSchema,
  SessionsResultSchema,
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
  /**
   * Copy, Insert at Cursor, New File on a reply's code block (extension/code-actions.ts);
   * words it resolves with are shown in the panel as a notice.
   */
  codeAction?(msg: Extract<WebviewToHost, { type: 'codeAction' }>): Promise<string | undefined>;
  /**
   * Asks before renaming, deleting or clearing. Without it (a test driving the controller)
   * Clear asks nothing, and Rename and Delete from the panel are refused.
   */
  prompts?: SessionPrompts;
  /** Editor context for the next message (editor-context.ts): chips, and the `@` pick. */
  context?: {
    attachments: Attachments;
    pick(): Promise<void>;
    /** Whether `session`'s code runs may read these attached files (asked once per session). */
    share?(session: string, paths: readonly string[]): Promise<boolean>;
  };
  /** The first-run offer to choose a model (model-commands.ts); absent: never offered. */
  setup?: { offered(): boolean; choose(): void; dismiss(): Promise<void> };
}

/**
 * A turn may wait on an approval (denied after 10 min by default) and on slow models. The
 * call asks for no progress: the deltas come on the event stream, and twice would double
 * the bytes of every turn.
 */
const TURN_TIMEOUT_MS = 60 * 60_000;

/**
 * The host side of the chat: owns which session is shown, relays the runtime's events to
 * the webview and turns the webview's intents into MCP tool calls.
 *
 * What reaches the webview, and in which order, is the relay's (`EventRelay`); snapshots
 * go through its serial queue so that nothing is posted twice or out of order.
 */
export class ChatController implements Disposable {
  private post: ((msg: HostToWebview) => void) | undefined;
  private readonly relay: EventRelay;
  /** The turns this window started; cancelling aborts their MCP requests. */
  private readonly inFlight = new Set<AbortController>();
  private readonly subscriptions: Disposable[] = [];
  private subscribed = false;
  /** A `ready` not yet answered with a snapshot (it failed): retried on the next connect. */
  private unanswered: { lastSeq?: number } | undefined;
  private snapshotsRunning = 0;
  /** The shown session being made sure of: a send typed before the first snapshot waits on it. */
  private ensuring: Promise<string> | undefined;
  /** Every decision on a run (the card's, VS Code's dialog's) goes through this. */
  readonly approvals: RunApprovals;

  constructor(private readonly opts: ChatControllerOptions) {
    const { connection } = opts;
    this.relay = new EventRelay({
      shown: () => this.session,
      attached: () => this.post !== undefined,
      post: (session, events) => this.send({ type: 'events', session, events }),
      read: (session, since) =>
        connection.client ? readTrace(connection.client, session, since) : undefined,
      log: opts.log,
    });
    this.approvals = new RunApprovals({
      connection,
      restricted: () => opts.restricted?.() ?? false,
    });
    this.subscriptions.push(
      connection.onEvent((e) => this.relay.onEvent(e)),
      connection.onResourceUpdated((uri) => this.onResourceUpdated(uri)),
      connection.onDidConnect((client) => this.onConnected(client)),
      ...(opts.context ? [opts.context.attachments.onDidChange(() => this.postAttachments())] : []),
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
    return this.relay.cursor;
  }

  /**
   * Connects a webview; until the returned disposable runs, messages go to `post`. The
   * webview is expected to say `ready` next, which brings it a snapshot.
   */
  attach(post: (msg: HostToWebview) => void): Disposable {
    this.post = post;
    this.relay.cursor = undefined;
    this.unanswered = undefined;
    return {
      dispose: () => {
        if (this.post !== post) return;
        this.post = undefined;
        this.relay.cursor = undefined;
      },
    };
  }

  /**
   * The view was hidden: VS Code drops its content, so stop relaying until its `ready`
   * on re-show says where it stands.
   */
  viewHidden(): void {
    this.relay.cursor = undefined;
  }

  /**
   * The runtime is being restarted with new settings (approval policy, models): the view
   * gets a fresh snapshot, continuing from what it holds, once it is back.
   */
  refreshOnReconnect(): void {
    if (this.post) this.unanswered = { lastSeq: this.relay.cursor };
  }

  /** Acts on one validated message from the webview. */
  async handle(msg: WebviewToHost): Promise<void> {
    switch (msg.type) {
      case 'ready': {
        const lastSeq =
          msg.session !== undefined && msg.session === this.session ? msg.lastSeq : undefined;
        this.unanswered = { lastSeq };
        this.refreshSetup();
        return this.guard(this.snapshot(lastSeq));
      }
      case 'send':
        return this.guard(this.sendText(msg.text));
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
        return this.guard(this.askClear());
      case 'codeAction': {
        const said = this.opts.codeAction
          ? this.opts.codeAction(msg)
          : 'Code actions work in VS Code.';
        return this.guard(
          Promise.resolve(said).then((message) => {
            if (message) this.send({ type: 'notice', level: 'info', message });
          }),
        );
      }
      case 'renameSession':
        return this.guard(this.askRename(msg.session));
      case 'deleteSession':
        return this.guard(this.askDelete(msg.session));
      case 'attachPick':
        return this.guard(this.opts.context?.pick() ?? Promise.resolve());
      case 'attachRemove':
        this.opts.context?.attachments.remove(msg.id);
        return;
      case 'chooseModel':
        this.opts.setup?.choose();
        return;
      case 'dismissChooseModel':
        return this.guard(
          this.opts.setup?.dismiss().then(() => this.refreshSetup()) ?? Promise.resolve(),
        );
      default: {
        const never: never = msg;
        this.opts.log.warn(`unhandled webview message ${JSON.stringify(never)}`);
      }
    }
  }

  /** Tells the panel whether to offer Choose a Model (after `ready`, a settings change, a dismissal). */
  refreshSetup(): void {
    this.send({ type: 'setup', chooseModel: this.opts.setup?.offered() ?? false });
  }

  /**
   * Sends a message in the shown session, with what is attached (read now; a file that
   * cannot go refuses the send and keeps its chip), and resolves with the finished turn.
   * The chips go when the message does, and come back if the send fails.
   */
  async sendText(text: string): Promise<TurnResult> {
    const held = this.opts.context?.attachments;
    const attached = held?.size ? await held.resolve() : undefined;
    let items = attached?.items ?? [];
    const files = items.filter((i) => i.kind === 'file').map((i) => i.label);
    const share = this.opts.context?.share;
    if (share && files.length) {
      const session = await this.shownSession(await this.opts.connection.whenConnected());
      if (await share(session, files))
        items = items.map((i) => (i.kind === 'file' ? { ...i, share: true } : i));
    }
    const taken = attached ? (held?.take(attached.ids) ?? []) : [];
    try {
      return await this.runTurn('send', {
        text,
        ...(items.length ? { context: items } : {}),
      });
    } catch (err) {
      // Refused or lost before the runtime had it: the chips come back with the text.
      held?.putBack(taken);
      throw err;
    }
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
    this.relay.reset();
    await this.snapshot();
  }

  async clear(): Promise<void> {
    const session = this.session;
    if (!session) return;
    await this.call('clear', { session }, ClearResultSchema);
  }

  /** Clears the shown session once the user confirmed it. True if it was cleared. */
  async askClear(): Promise<boolean> {
    const session = this.session;
    if (!session) return false;
    if (this.opts.prompts) {
      const shown = (await this.listSessions()).find((s) => s.id === session);
      const label = sessionLabel(shown ?? { id: session });
      if (!(await this.opts.prompts.confirmClear(label))) return false;
    }
    await this.clear();
    return true;
  }

  /** Asks for a new title of `session` (default: the shown one), then renames it. */
  async askRename(session = this.session): Promise<boolean> {
    const { prompts, target } = await this.promptsFor(session);
    const title = await prompts.askTitle(target.title ?? '', target.id);
    if (title === undefined) return false;
    await this.renameSession(target.id, title);
    return true;
  }

  /** Deletes `session` (default: the shown one) once the user confirmed it by its title. */
  async askDelete(session = this.session): Promise<boolean> {
    const { prompts, target } = await this.promptsFor(session);
    if (!(await prompts.confirmDelete(sessionLabel(target)))) return false;
    await this.deleteSession(target.id);
    return true;
  }

  async renameSession(session: string, title: string): Promise<void> {
    const client = await this.opts.connection.whenConnected();
    const result = await client.call(
      'sessions',
      { action: 'rename', id: session, title },
      SessionsResultSchema,
    );
    this.send({ type: 'sessions', sessions: result.sessions });
  }

  /** Deletes a session; when it was the shown one, the newest other (or a new one) is shown. */
  async deleteSession(session: string): Promise<void> {
    const client = await this.opts.connection.whenConnected();
    const result = await client.call(
      'sessions',
      { action: 'delete', id: session },
      SessionsResultSchema,
    );
    this.opts.log.info(`deleted session ${session}`);
    if (session !== this.session) {
      this.send({ type: 'sessions', sessions: result.sessions });
      return;
    }
    this.opts.memory.set(result.sessions.at(-1)?.id);
    this.relay.reset();
    await this.snapshot();
  }

  private async promptsFor(session: string | undefined) {
    const prompts = this.opts.prompts;
    if (!prompts) throw new Error('Renaming and deleting sessions needs a host that can ask.');
    if (!session) throw new Error('No session yet: send a message first.');
    const target = (await this.listSessions()).find((s) => s.id === session);
    if (!target)
      throw new Error(`There is no session ${session}. Pick one with Cog: Switch Session.`);
    return { prompts, target };
  }

  /** A session's events after `sinceSeq`, oldest first. */
  async trace(session: string, sinceSeq = 0): Promise<RuntimeEvent[]> {
    return readTrace(await this.opts.connection.whenConnected(), session, sinceSeq);
  }

  /** Resolves once every queued post (snapshot, trace reads) has gone out. */
  async settled(): Promise<void> {
    await this.relay.settled();
  }

  dispose(): void {
    this.cancelTurn();
    for (const s of this.subscriptions) s.dispose();
    this.post = undefined;
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
    return this.relay
      .enqueue(async () => {
        const client = await connection.whenConnected(5 * 60_000);
        const session = await this.ensureShown(client);
        const state = await sessionState(client, session);
        const [sessions, shown] = await Promise.all([
          this.listSessions(),
          readShown(client, session, state, sinceSeq),
        ]);
        const model = state.model;
        connection.setModel(model);
        await this.watch(client);
        if (!this.post) return;
        this.unanswered = undefined;
        this.relay.cursor = shown.cursor;
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
        this.postAttachments();
      })
      .finally(() => {
        this.snapshotsRunning--;
      });
  }

  // --- live notifications -------------------------------------------------------------

  private onResourceUpdated(uri: string): void {
    if (uri === SESSIONS_URI && this.post) {
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
    // A new MCP session: its stream starts now, so read what was missed, and watch the
    // session list again (subscriptions are per MCP session).
    this.subscribed = false;
    this.relay.readGap();
    this.watch(client).catch((err: unknown) =>
      this.opts.log.warn(`after reconnecting: ${errorMessage(err)}`),
    );
  }

  /** Subscribes to the session list on this connection (the events need no subscription). */
  private async watch(client: CogClient): Promise<void> {
    if (this.subscribed) return;
    this.subscribed = true;
    await client.subscribe(SESSIONS_URI).catch(() => undefined);
  }

  /** A notice in the panel (when it is open) about something the host learned of itself. */
  notice(level: 'info' | 'error', message: string): void {
    this.send({ type: 'notice', level, message });
  }

  // --- intents ------------------------------------------------------------------------

  private postAttachments(): void {
    const held = this.opts.context?.attachments;
    if (held) this.send({ type: 'attachments', items: held.views() });
  }

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

  /** The shown session (created once, however many intents ask for it at the same time). */
  private ensureShown(client: CogClient): Promise<string> {
    this.ensuring ??= ensureSession(client, this.opts).finally(() => (this.ensuring = undefined));
    return this.ensuring;
  }

  /** The session a turn goes to: the one the webview was shown, or one made sure of. */
  private async shownSession(client: CogClient): Promise<string> {
    const shown = this.relay.cursor !== undefined ? this.session : undefined;
    return shown ?? (await this.ensureShown(client));
  }

  private async runTurn(
    tool: 'send' | 'action',
    args: Record<string, unknown>,
  ): Promise<TurnResult> {
    const client = await this.opts.connection.whenConnected();
    const session = await this.shownSession(client);
    const abort = new AbortController();
    this.inFlight.add(abort);
    try {
      const call = { ...args, session, await_approval: true }; // open through the panel's cards
      const result = await client.call(tool, call, TurnResultSchema, {
        signal: abort.signal,
        timeoutMs: TURN_TIMEOUT_MS,
      });
      this.opts.connection.setModel(result.model);
      this.relay.expectDone(session, result.turn);
      return result;
    } finally {
      this.inFlight.delete(abort);
    }
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || /\baborted\b/i.test(err.message));
}
