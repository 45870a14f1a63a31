import * as vscode from 'vscode';
import type { ModelInfo } from '../protocol/events.js';
import type { ConnectionState, RuntimeConnection } from './runtime-connection.js';

/** The status bar's words for a connection state: what a glance should tell. */
export function statusText(state: ConnectionState): string {
  switch (state.status) {
    case 'starting':
      return '$(loading~spin) Cog: starting';
    case 'reconnecting':
      return '$(sync~spin) Cog: reconnecting';
    case 'connected':
      return `$(hubot) Cog: ${modelLabel(state.model)}`;
    case 'error':
      return '$(error) Cog: error';
    case 'stopped':
      return '$(circle-slash) Cog: stopped';
    default: {
      const never: never = state.status;
      return `Cog: ${String(never)}`;
    }
  }
}

/** "offline engine", the model every node uses, or the Thinker's model and "+n". */
export function modelLabel(model: ModelInfo | undefined): string {
  if (!model) return 'connected';
  if (model.offline) return 'offline engine';
  const names = new Set(Object.values(model.models));
  const thinker = model.models.thinker;
  return names.size <= 1 ? thinker : `${thinker} +${names.size - 1}`;
}

function tooltip(state: ConnectionState): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**Cog** · ${state.status}\n\n`);
  if (state.detail) md.appendText(`${state.detail}\n\n`);
  if (state.model) {
    if (state.model.offline) md.appendMarkdown('Offline engine: no model configured.\n\n');
    else {
      for (const [node, name] of Object.entries(state.model.models)) {
        md.appendText(`${node}: ${name}\n`);
      }
      if (state.model.baseUrl) md.appendText(`\n${state.model.baseUrl}\n`);
    }
  }
  md.appendMarkdown('\nClick to open the chat.');
  return md;
}

/** Shows the runtime connection in the status bar; disposing removes it. */
export function createStatusBar(connection: RuntimeConnection): {
  item: vscode.StatusBarItem;
  dispose(): void;
} {
  const item = vscode.window.createStatusBarItem(
    'cog.status',
    vscode.StatusBarAlignment.Right,
    100,
  );
  item.name = 'Cog';
  item.command = 'cog.chat.focus';
  const render = (state: ConnectionState) => {
    item.text = statusText(state);
    item.tooltip = tooltip(state);
    item.backgroundColor =
      state.status === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  };
  render(connection.state);
  item.show();
  const sub = connection.onDidChangeState(render);
  return {
    item,
    dispose: () => {
      sub.dispose();
      item.dispose();
    },
  };
}
