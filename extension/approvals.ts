import * as vscode from 'vscode';
import type { Elicitation, ElicitationAnswer } from './cog-client.js';
import type { Disposable, Logger } from './emitter.js';
import { errorMessage } from './runtime-connection.js';
import {
  approvalDialog,
  matchQuestion,
  type RunApprovals,
  type ShownRun,
} from './run-approvals.js';

export interface ApprovalPromptDeps {
  log: Logger;
  approvals: Pick<RunApprovals, 'pending' | 'approve'>;
  /** The chat panel, where a run's card is the approval. */
  panel: {
    readonly visible: boolean;
    onDidChangeVisibility(listener: (visible: boolean) => void): Disposable;
  };
  /** The session the panel shows. */
  shownSession(): string | undefined;
  /** Shows the panel on `session`, for code too long for a dialog. */
  reveal(session: string): Promise<void>;
  /** False in Restricted Mode: nothing is approved. */
  trusted(): boolean;
}

/**
 * Answers the runtime's approval questions (MCP form elicitation, sent while a run of this
 * window's turn waits under `cog.approvalPolicy: ask`). The run's card in the chat panel
 * is the approval; VS Code's modal dialog is used only while the panel is not on screen.
 *
 * While the panel shows the run's session the question is left open: `cog serve` treats
 * every answer, decline and cancel included, as a decision (it denies), so answering would
 * take the decision away from the card. The runtime withdraws the question once the card
 * decided (or the turn ended), and a panel hidden meanwhile brings up the dialog instead.
 *
 * The dialog decides the same way the card does: `process-approve` with the SHA-256 of the
 * code it showed, never by accepting the question (that would approve without naming the
 * code). Deny is its first button, so Enter does not run anything. Only the one form Cog
 * asks, a single boolean about a run waiting for approval, is considered; anything else is
 * declined.
 */
export function createApprovalPrompt(deps: ApprovalPromptDeps) {
  const { log } = deps;
  /** Runs an open question is about, so two questions about the same code find two runs. */
  const asked = new Set<string>();
  return async (q: Elicitation, signal: AbortSignal): Promise<ElicitationAnswer> => {
    const names = Object.keys(q.fields);
    const [field] = names;
    if (names.length !== 1 || !field || q.fields[field]?.type !== 'boolean') {
      log.info('declined a question from the runtime that is not a yes/no approval');
      return { action: 'decline' };
    }
    if (!deps.trusted()) {
      log.info('declined a run approval: Restricted Mode');
      return { action: 'decline' };
    }
    const waiting = (await deps.approvals.pending()).filter((r) => !asked.has(r.id));
    const target = matchQuestion(q.message, waiting);
    if (!target) {
      log.info('declined an approval question about no run that waits for approval');
      return { action: 'decline' };
    }
    asked.add(target.id);
    try {
      return await settle(target, signal);
    } finally {
      asked.delete(target.id);
    }
  };

  async function settle(target: ShownRun, signal: AbortSignal): Promise<ElicitationAnswer> {
    for (;;) {
      if (signal.aborted) return { action: 'cancel' };
      if (deps.panel.visible && deps.shownSession() === target.session) {
        if (!(await panelHidden(deps.panel, signal))) return { action: 'cancel' };
        continue;
      }
      // As the runtime holds it now: the dialog shows, and approves, exactly that.
      const run = (await deps.approvals.pending(target.session)).find((r) => r.id === target.id);
      if (signal.aborted || !run) return { action: 'cancel' };
      const pick = await askInDialog(run);
      if (signal.aborted) return { action: 'cancel' };
      if (pick === 'review') {
        await deps.reveal(target.session);
        continue;
      }
      if (pick !== 'run') {
        log.info('run approval: denied by the user in the dialog');
        return { action: 'decline' };
      }
      try {
        await deps.approvals.approve(run);
        log.info('run approval: approved by the user in the dialog');
        // Decided through process-approve; this answer only closes the question.
        return { action: 'cancel' };
      } catch (err) {
        const message = errorMessage(err);
        log.warn(`run approval: ${message}`);
        void vscode.window.showErrorMessage(`Cog did not run the code: ${message}`);
        return { action: 'decline' };
      }
    }
  }
}

/** Resolves true when the panel is hidden, false when `signal` aborts first. */
function panelHidden(panel: ApprovalPromptDeps['panel'], signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (hidden: boolean) => {
      sub.dispose();
      signal.removeEventListener('abort', onAbort);
      resolve(hidden);
    };
    const onAbort = () => done(false);
    const sub = panel.onDidChangeVisibility((visible) => {
      if (!visible) done(true);
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) done(false);
    else if (!panel.visible) done(true);
  });
}

/**
 * The modal: tier and code shown, Deny first (VS Code's first button is the default, so
 * Enter denies), Run only if all of the code fitted, else a way to its card.
 */
async function askInDialog(run: ShownRun): Promise<'run' | 'review' | 'deny'> {
  const text = approvalDialog(run);
  const deny: vscode.MessageItem = { title: 'Deny' };
  const go: vscode.MessageItem = { title: text.complete ? 'Run' : 'Review in Cog Panel' };
  const pick = await vscode.window.showWarningMessage(
    text.message,
    { modal: true, detail: text.detail },
    deny,
    go,
  );
  if (pick !== go) return 'deny';
  return text.complete ? 'run' : 'review';
}
