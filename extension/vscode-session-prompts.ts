import * as vscode from 'vscode';
import { titleProblem, type SessionPrompts } from './session-prompts.js';

/** The session questions in VS Code: an input box for a title, modal warnings to confirm. */
export const vscodeSessionPrompts: SessionPrompts = {
  async askTitle(current, session) {
    const value = await vscode.window.showInputBox({
      title: 'Cog: Rename Session',
      prompt: current ? `A new title for \u201c${current}\u201d` : `A title for session ${session}`,
      value: current,
      validateInput: titleProblem,
      ignoreFocusOut: true,
    });
    return value === undefined ? undefined : value.trim();
  },
  async confirmDelete(label) {
    const pick = await vscode.window.showWarningMessage(
      `Delete the Cog session ${label}?`,
      {
        modal: true,
        detail: 'Its conversation, memory, code runs and workspace are removed for good.',
      },
      'Delete',
    );
    return pick === 'Delete';
  },
  async confirmClear(label) {
    const pick = await vscode.window.showWarningMessage(
      `Clear the conversation of ${label}?`,
      {
        modal: true,
        detail: 'Its messages and memory are cleared for good; the session and its title stay.',
      },
      'Clear',
    );
    return pick === 'Clear';
  },
};
