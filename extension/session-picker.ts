import * as vscode from 'vscode';
import type { SessionSummary } from '../protocol/results.js';
import type { ChatController } from './chat-controller.js';

type Choice =
  { kind: 'show'; id: string } | { kind: 'rename'; id: string } | { kind: 'delete'; id: string };

interface SessionItem extends vscode.QuickPickItem {
  id: string;
}

const RENAME: vscode.QuickInputButton = {
  iconPath: new vscode.ThemeIcon('edit'),
  tooltip: 'Rename',
};
const DELETE: vscode.QuickInputButton = {
  iconPath: new vscode.ThemeIcon('trash'),
  tooltip: 'Delete',
};

/** A session as Switch Session lists it: its title, then its id and turns. */
export function sessionItem(s: SessionSummary, shown: string | undefined): SessionItem {
  const turns = `${s.turns} turn${s.turns === 1 ? '' : 's'}`;
  return {
    label: s.title ?? `Session ${s.id}`,
    ...(s.id === shown ? { description: 'shown' } : {}),
    detail: `${s.id} · ${turns} · started ${new Date(s.createdAt).toLocaleString()}`,
    id: s.id,
    buttons: [RENAME, DELETE],
  };
}

/**
 * Cog: Switch Session: the sessions newest first, by title; each item's buttons rename or
 * delete it (the controller asks first). Resolves with what was chosen, or undefined.
 */
function pickSession(sessions: SessionSummary[], shown: string | undefined) {
  return new Promise<Choice | undefined>((resolve) => {
    const pick = vscode.window.createQuickPick<SessionItem>();
    pick.title = 'Cog: Switch Session';
    pick.placeholder = 'Pick a session to show; the buttons rename or delete one';
    pick.matchOnDetail = true;
    pick.items = sessions
      .slice()
      .reverse()
      .map((s) => sessionItem(s, shown));
    let choice: Choice | undefined;
    const done = (c: Choice | undefined) => {
      choice = c;
      pick.hide();
    };
    pick.onDidAccept(() => {
      const item = pick.selectedItems[0];
      done(item ? { kind: 'show', id: item.id } : undefined);
    });
    pick.onDidTriggerItemButton((e) =>
      done({ kind: e.button === DELETE ? 'delete' : 'rename', id: e.item.id }),
    );
    pick.onDidHide(() => {
      pick.dispose();
      resolve(choice);
    });
    pick.show();
  });
}

/** Runs Switch Session: shows, renames or deletes the session picked. */
export async function switchSession(
  chat: ChatController,
  reveal: () => Promise<void>,
): Promise<void> {
  const sessions = await chat.listSessions();
  if (!sessions.length) {
    void vscode.window.showInformationMessage('Cog has no sessions yet: send a message first.');
    return;
  }
  const choice = await pickSession(sessions, chat.session);
  if (!choice) return;
  switch (choice.kind) {
    case 'show':
      await reveal();
      await chat.switchSession(choice.id);
      return;
    case 'rename':
      await chat.askRename(choice.id);
      return;
    case 'delete':
      await chat.askDelete(choice.id);
      return;
    default: {
      const never: never = choice;
      throw new Error(`unknown choice ${JSON.stringify(never)}`);
    }
  }
}
