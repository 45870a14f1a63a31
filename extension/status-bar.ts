import * as vscode from 'vscode';
import type { ModelInfo } from '../protocol/events.js';
import type { ConnectionState, RuntimeConnection } from './runtime-connection.js';
import { describeAccount, type SignInController, type SignInState } from './sign-in.js';

/**
 * The status bar's words for a connection state and, with a server that signs people in,
 * who is signed in: what a glance should tell. Signed out, it says what to do.
 */
export function statusText(state: ConnectionState, auth: SignInState = { status: 'none' }): string {
  switch (auth.status) {
    case 'none':
      return connectionText(state);
    case 'signed-out':
      return '$(sign-in) Cog: sign in';
    case 'signing-in':
      return '$(loading~spin) Cog: signing in';
    case 'signed-in':
      return `${connectionText(state)} $(account) ${accountLabel(auth.account)}`;
    default: {
      const never: never = auth;
      return `Cog: ${String(never)}`;
    }
  }
}

/** The shortest name of an account: its name, else its email, else "signed in". */
export function accountLabel(account: { name?: string; email?: string }): string {
  return account.name ?? account.email ?? 'signed in';
}

function connectionText(state: ConnectionState): string {
  switch (state.status) {
    case 'starting':
      return '$(loading~spin) Cog: starting';
    case 'reconnecting':
      return '$(sync~spin) Cog: reconnecting';
    case 'connected':
      return `$(hubot) Cog: ${modelLabel(state.model)}`;
    case 'error':
      return state.needsSetup ? '$(gear) Cog: needs setup' : '$(error) Cog: error';
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

function tooltip(state: ConnectionState, auth: SignInState): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**Cog** · ${state.status}\n\n`);
  if (auth.status === 'signed-in') {
    md.appendText(`Signed in to ${auth.origin} as ${describeAccount(auth.account)}.\n\n`);
  } else if (auth.status === 'signed-out') {
    md.appendText(`Signed out of ${auth.origin}.\n\n`);
    md.appendMarkdown('Click to sign in.');
    return md;
  }
  if (state.detail) md.appendText(`${state.detail}\n\n`);
  if (state.needsSetup) {
    md.appendMarkdown('Click to open Cog’s settings; Cog starts again when they change.');
    return md;
  }
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

/**
 * Shows the runtime connection (and the sign-in, with a server that asks for one) in the
 * status bar; a click opens the chat, or signs in when signed out. Disposing removes it.
 */
export function createStatusBar(
  connection: RuntimeConnection,
  signIn: SignInController,
): {
  item: vscode.StatusBarItem;
  dispose(): void;
} {
  const item = vscode.window.createStatusBarItem(
    'cog.status',
    vscode.StatusBarAlignment.Right,
    100,
  );
  item.name = 'Cog';
  const render = () => {
    const state = connection.state;
    const auth = signIn.state;
    const signedOut = auth.status === 'signed-out';
    item.text = statusText(state, auth);
    item.tooltip = tooltip(state, auth);
    item.command = signedOut
      ? 'cog.signIn'
      : state.needsSetup
        ? { title: 'Open Settings', command: 'workbench.action.openSettings', arguments: ['cog.'] }
        : 'cog.chat.focus';
    item.backgroundColor = signedOut
      ? new vscode.ThemeColor('statusBarItem.warningBackground')
      : state.status === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : undefined;
  };
  render();
  item.show();
  const subs = [connection.onDidChangeState(render), signIn.onDidChangeState(render)];
  return {
    item,
    dispose: () => {
      subs.forEach((s) => s.dispose());
      item.dispose();
    },
  };
}
