import * as vscode from 'vscode';
import type { Elicitation, ElicitationAnswer } from './cog-client.js';
import type { Logger } from './emitter.js';

/**
 * Puts the runtime's approval questions (MCP form elicitation, sent while a run waits
 * under `cog.approvalPolicy: ask`) to the user as a modal dialog showing the code. Only
 * the one form Cog asks, a single boolean, is answered; anything else is declined, so a
 * server cannot use this to collect arbitrary input. If the run is decided some other way
 * meanwhile (the card's buttons, a cancel), the server withdraws the question and a late
 * answer is ignored.
 */
export function createApprovalPrompt(log: Logger) {
  return async (q: Elicitation, signal: AbortSignal): Promise<ElicitationAnswer> => {
    const names = Object.keys(q.fields);
    const [field] = names;
    if (names.length !== 1 || !field || q.fields[field]?.type !== 'boolean') {
      log.info('declined a question from the runtime that is not a yes/no approval');
      return { action: 'decline' };
    }
    const [first, ...rest] = q.message.split('\n');
    const pick = await vscode.window.showWarningMessage(
      first ?? 'Cog wants to run code.',
      { modal: true, detail: rest.join('\n').trim() },
      'Run',
      'Deny',
    );
    if (signal.aborted) return { action: 'cancel' };
    log.info(`run approval: ${pick === 'Run' ? 'approved' : 'denied'} by the user`);
    return pick === 'Run'
      ? { action: 'accept', content: { [field]: true } }
      : { action: 'decline' };
  };
}
