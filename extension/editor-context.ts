import * as vscode from 'vscode';
import { Attachments, type Attachment } from './attachments.js';
import type { ChatViewProvider } from './chat-view.js';
import type { Logger } from './emitter.js';
import { errorMessage } from './runtime-connection.js';
import { ShareConsent } from './share-consent.js';

/**
 * Editor context in the chat: Cog: Add Selection to Chat, Cog: Add File to Chat, and the
 * composer's `@`/`#` file pick. What is attached is held here (attachments.ts) and goes
 * with the next message; the webview only shows chips for it.
 */

/** Commands this module registers (package.json `contributes.commands`). */
export const CONTEXT_COMMANDS = ['cog.addSelection', 'cog.addFile'] as const;

/** Files offered by the `@` pick: a workspace can be large, the list stays quick. */
const PICK_LIMIT = 2000;
const PICK_EXCLUDE = '{**/node_modules/**,**/.git/**}';

export interface EditorContext extends vscode.Disposable {
  attachments: Attachments;
  /** The composer asked for a file (`@` or `#` typed): a quick pick of workspace files. */
  pick(): Promise<void>;
  /** Whether `session`'s code runs may read the attached files: a modal, once per session. */
  share(session: string, paths: readonly string[]): Promise<boolean>;
}

/**
 * The current text of a file: an open editor's (unsaved edits included), else the disk's.
 */
async function readCurrent(uri: string): Promise<Uint8Array> {
  const parsed = vscode.Uri.parse(uri, true);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
  if (open) return new TextEncoder().encode(open.getText());
  return vscode.workspace.fs.readFile(parsed);
}

function relative(uri: vscode.Uri): string {
  return uri.scheme === 'untitled' ? uri.path : vscode.workspace.asRelativePath(uri, false);
}

export function createEditorContext(
  view: Pick<ChatViewProvider, 'reveal'>,
  log: Logger,
): EditorContext {
  const attachments = new Attachments(readCurrent);
  const consent = new ShareConsent(async (paths) => {
    const n = paths.length;
    const pick = await vscode.window.showInformationMessage(
      `Let code runs in this session read ${n === 1 ? 'this file' : `these ${n} files`}?`,
      {
        modal: true,
        detail:
          `${paths.join('\n')}\n\nRuns see copies, read-only, at shared/<path>. Your files ` +
          'are never changed. Asked once for this session; other sessions ask again.',
      },
      'Allow',
      'Not Now',
    );
    return pick === 'Allow';
  });

  const addFile = async (uri: vscode.Uri) => {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.type & vscode.FileType.Directory) {
      throw new Error(`${relative(uri)} is a folder: attach files one by one.`);
    }
    attachments.add({ kind: 'file', uri: uri.toString(), path: relative(uri) });
  };

  const handlers: Record<(typeof CONTEXT_COMMANDS)[number], (arg?: unknown) => Promise<void>> = {
    'cog.addSelection': async () => {
      const editor = vscode.window.activeTextEditor;
      const selections = editor?.selections.filter((s) => !s.isEmpty) ?? [];
      if (!editor || !selections.length) {
        void vscode.window.showInformationMessage('Cog: select some text in an editor first.');
        return;
      }
      const path = relative(editor.document.uri);
      for (const s of selections) {
        // A selection that ends at the start of a line does not take that line.
        const last =
          s.end.character === 0 && s.end.line > s.start.line ? s.end.line : s.end.line + 1;
        const selection: Attachment = {
          kind: 'selection',
          path,
          startLine: s.start.line + 1,
          endLine: last,
          text: editor.document.getText(s),
        };
        attachments.add(selection);
      }
      await view.reveal();
    },
    'cog.addFile': async (arg) => {
      // From the explorer or an editor tab: the file clicked; from the palette: the active one.
      const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      if (!uri) {
        void vscode.window.showInformationMessage('Cog: open a file first, or pick one with @.');
        return;
      }
      await addFile(uri);
      await view.reveal();
    },
  };

  const registered = CONTEXT_COMMANDS.map((id) =>
    vscode.commands.registerCommand(id, async (arg?: unknown) => {
      try {
        await handlers[id](arg);
      } catch (err) {
        const message = errorMessage(err);
        log.warn(`${id}: ${message}`);
        void vscode.window.showErrorMessage(`Cog: ${message}`);
      }
    }),
  );

  return {
    attachments,
    // In Restricted Mode no code runs: nothing to share, nothing to ask.
    share: async (session, paths) =>
      vscode.workspace.isTrusted ? consent.allows(session, paths) : false,
    async pick() {
      const files = await vscode.workspace.findFiles('**/*', PICK_EXCLUDE, PICK_LIMIT);
      if (!files.length) {
        void vscode.window.showInformationMessage('Cog: this window has no workspace files.');
        return;
      }
      const items = files
        .map((uri) => {
          const path = relative(uri);
          const slash = path.lastIndexOf('/');
          return {
            label: slash >= 0 ? path.slice(slash + 1) : path,
            description: slash >= 0 ? path.slice(0, slash) : '',
            uri,
          };
        })
        .sort((a, b) => a.label.localeCompare(b.label));
      const picked = await vscode.window.showQuickPick(items, {
        title: 'Cog: Attach Files',
        placeHolder:
          files.length >= PICK_LIMIT
            ? `The first ${PICK_LIMIT} files: type to filter`
            : 'Type to filter',
        canPickMany: true,
        matchOnDescription: true,
      });
      for (const p of picked ?? []) await addFile(p.uri);
    },
    dispose() {
      for (const d of registered) d.dispose();
      attachments.dispose();
    },
  };
}
