import * as vscode from 'vscode';
import type { WebviewToHost } from '../protocol/webview.js';
import { languageIdOf } from './language-ids.js';

export type CodeActionMessage = Extract<WebviewToHost, { type: 'codeAction' }>;

/**
 * The host side of the code-block buttons in the chat (webview/chat/code-actions.ts): Copy
 * to the clipboard, Insert at Cursor into the editor the user was last in (every selection
 * replaced), New File as an untitled document in the fence's language. The message has
 * been validated (`WebviewToHostSchema`); the code is only ever text put where the user
 * asked, never run.
 *
 * Clicking in the panel moves focus out of the editor, so the editor to insert into is the
 * last one that was active, while it is still open.
 */
export class CodeActions implements vscode.Disposable {
  private last: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly watch = vscode.window.onDidChangeActiveTextEditor((editor) => {
    if (editor) this.last = editor;
  });

  dispose(): void {
    this.watch.dispose();
  }

  /** Resolves with nothing to say in the panel: VS Code's own messages say it. */
  async run(msg: CodeActionMessage): Promise<undefined> {
    switch (msg.action) {
      case 'copy':
        await vscode.env.clipboard.writeText(msg.code);
        vscode.window.setStatusBarMessage('Cog: code copied', 3000);
        return;
      case 'insert':
        await this.insert(msg.code);
        return;
      case 'newFile': {
        const language = languageIdOf(msg.language, await vscode.languages.getLanguages());
        const doc = await vscode.workspace.openTextDocument({ language, content: msg.code });
        await vscode.window.showTextDocument(doc);
        return;
      }
      default: {
        const never: never = msg.action;
        throw new Error(`unknown code action ${String(never)}`);
      }
    }
  }

  private async insert(code: string): Promise<void> {
    const editor = this.target();
    if (!editor) {
      void vscode.window.showWarningMessage(
        'Cog: no editor to insert into. Open a file, put the cursor where the code goes, then choose Insert again.',
      );
      return;
    }
    const done = await editor.edit((edit) => {
      for (const selection of editor.selections) edit.replace(selection, code);
    });
    if (!done) {
      void vscode.window.showWarningMessage(
        `Cog: could not insert into ${editor.document.fileName || 'the editor'} (it may be read-only).`,
      );
      return;
    }
    await vscode.window.showTextDocument(editor.document, {
      viewColumn: editor.viewColumn,
      preserveFocus: false,
    });
  }

  private target(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active) return active;
    const last = this.last;
    if (!last || last.document.isClosed) return undefined;
    return vscode.window.visibleTextEditors.includes(last) ? last : undefined;
  }
}
