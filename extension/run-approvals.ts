import type { ProcessInfo } from '../protocol/events.js';
import { isSandboxed, isolationText } from '../protocol/isolation.js';
import { sha256Hex } from '../protocol/sha256.js';
import type { HostToWebview, WebviewToHost } from '../protocol/webview.js';
import type { RuntimeConnection } from './runtime-connection.js';
import { ApproveResultSchema, ProcessListSchema } from '../protocol/results.js';

/** What the panel says while the workspace is not trusted. */
export const RESTRICTED_TEXT =
  'Restricted Mode: code runs are off. Trust this workspace to allow them.';

/**
 * Hex SHA-256 of `code` as UTF-8: `process-approve` names it, so the runtime runs exactly
 * the code the person was shown and refuses anything else.
 */
export function codeSha256(code: string): string {
  return sha256Hex(code);
}

/**
 * The part of a run a person sees before deciding, and the runtime's id for it. Strings,
 * not the protocol's unions: a remote runtime may be older or newer than this build.
 */
export interface ShownRun {
  id: ProcessInfo['id'];
  session: string;
  language: string;
  code: string;
  isolation: string;
}

/** How the runtime marks code it cut short in an approval question. */
const TRUNCATED = '\n… (truncated)';

/**
 * The run an approval question (MCP elicitation from `cog serve`) is about, among the runs
 * waiting for approval. The question names no run, only its language, tier and code (all
 * of it, or its head and a "truncated" mark), so it is matched on the code: the first run
 * whose code is the question's. A question that matches none is not one Cog asked.
 */
export function matchQuestion(message: string, runs: readonly ShownRun[]): ShownRun | undefined {
  const start = message.indexOf('\n\n');
  if (start < 0) return undefined;
  const body = message.slice(start + 2);
  const exact = runs.find((r) => r.code === body);
  if (exact || !body.endsWith(TRUNCATED)) return exact;
  const head = body.slice(0, -TRUNCATED.length);
  return head
    ? runs.find((r) => r.code.length > head.length && r.code.startsWith(head))
    : undefined;
}

/** More than this is not put in a dialog: the person is sent to the card instead. */
export const DIALOG_CODE_CHARS = 4000;
const DIALOG_CODE_LINES = 60;

/**
 * The words of VS Code's approval dialog for a run: the tier first (a warning when it is
 * not sandboxed), then all of the code. `complete` is false when the code is too long for a
 * dialog: then it must not offer to run what it could not show.
 */
export function approvalDialog(run: ShownRun): {
  message: string;
  detail: string;
  complete: boolean;
} {
  const complete =
    run.code.length <= DIALOG_CODE_CHARS && run.code.split('\n').length <= DIALOG_CODE_LINES;
  const tier = isolationText(run.isolation);
  const code = complete
    ? run.code
    : `${run.code.slice(0, 600)}\n…\n\nThis code is too long to show here: review it on its card in the Cog panel.`;
  return {
    message: `Cog wants to run ${run.language} code: ${tier}.`,
    detail: `${isSandboxed(run.isolation) ? '' : 'Warning: '}${tier}.\n\n${code}`,
    complete,
  };
}

/** How many runs waiting for approval the host remembers (oldest forgotten first). */
const KEEP = 200;

type ApproveMessage = Extract<WebviewToHost, { type: 'approve' }>;

/**
 * Decisions on runs waiting for approval, from the card in the panel or VS Code's dialog:
 * one way to the runtime, `process-approve` with the SHA-256 of the code the person saw.
 *
 * The card's decision is checked against the host's own copy, the run as the host posted
 * it to the webview (or, for a webview restored from its saved state, as `process-list`
 * has it): the webview renders model output, so it is not believed about which code it
 * showed. The hash is computed here, never copied from `ProcessInfo.codeSha256`.
 */
export class RunApprovals {
  /** Runs waiting for approval as last posted to the webview, by id. */
  private readonly shown = new Map<string, ShownRun>();

  constructor(
    private readonly opts: {
      connection: RuntimeConnection;
      /** Restricted Mode: nothing may be approved. */
      restricted(): boolean;
    },
  ) {}

  /**
   * Notes a message on its way to the webview. Returns true when it reports a run denied
   * while the workspace is restricted (the panel then says why).
   */
  noteSent(msg: HostToWebview): boolean {
    if (msg.type !== 'snapshot' && msg.type !== 'events') return false;
    let refused = false;
    const note = (p: ProcessInfo) => {
      this.shown.delete(p.id);
      if (p.status === 'pending-approval') this.shown.set(p.id, pick(p));
    };
    // A page's runs come before its events, as the webview applies them.
    if (msg.type === 'snapshot') msg.base?.processes.forEach(note);
    for (const e of msg.events) {
      if (e.type !== 'process.updated') continue;
      note(e.process);
      if (e.process.status === 'denied' && msg.type === 'events') refused = true;
    }
    for (const id of this.shown.keys()) {
      if (this.shown.size <= KEEP) break;
      this.shown.delete(id);
    }
    return refused && this.opts.restricted();
  }

  /** The card's Approve or Deny. Throws with words for the panel when it is refused. */
  async fromCard(msg: ApproveMessage, session: string | undefined): Promise<void> {
    if (msg.decision === 'deny') return this.deny(msg.process);
    if (this.opts.restricted()) throw new Error(RESTRICTED_TEXT);
    const held =
      this.shown.get(msg.process) ??
      (await this.pending(session)).find((p) => p.id === msg.process);
    if (!held) {
      throw new Error('That run is not waiting for approval any more, so nothing was run.');
    }
    if (held.code !== msg.code || held.isolation !== msg.isolation) {
      throw new Error(
        'The card did not show the code Cog holds for this run, so it was not run. Look at the card again.',
      );
    }
    await this.approve(held);
  }

  /** The runs waiting for approval as the runtime holds them now (all sessions when none). */
  async pending(session?: string): Promise<ShownRun[]> {
    const client = await this.opts.connection.whenConnected();
    const list = await client.call('process-list', session ? { session } : {}, ProcessListSchema);
    return list.processes.filter((p) => p.status === 'pending-approval').map(pick);
  }

  /** Runs `run`, naming the SHA-256 of `run.code`: the code the person was shown. */
  async approve(run: Pick<ShownRun, 'id' | 'code'>): Promise<void> {
    if (this.opts.restricted()) throw new Error(RESTRICTED_TEXT);
    const client = await this.opts.connection.whenConnected();
    await client.call(
      'process-approve',
      { process: run.id, decision: 'approve', codeSha256: codeSha256(run.code) },
      ApproveResultSchema,
    );
    this.shown.delete(run.id);
  }

  /** Refuses a run; that needs no code, and works in Restricted Mode too. */
  async deny(process: string): Promise<void> {
    const client = await this.opts.connection.whenConnected();
    await client.call('process-approve', { process, decision: 'deny' }, ApproveResultSchema);
    this.shown.delete(process);
  }
}

function pick(p: ShownRun): ShownRun {
  return {
    id: p.id,
    session: p.session,
    language: p.language,
    code: p.code,
    isolation: p.isolation,
  };
}
