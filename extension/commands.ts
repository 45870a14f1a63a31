import * as vscode from 'vscode';
import type { ChatController } from './chat-controller.js';
import type { ChatViewProvider } from './chat-view.js';
import type { Logger } from './emitter.js';
import { errorMessage, type RuntimeConnection } from './runtime-connection.js';
import { SECRET_API_KEY, SECRET_SERVER_TOKEN, readSettings } from './settings.js';
import { mcpClientConfigs } from './mcp-config.js';
import { useKeyAlone } from './model-commands.js';
import { describeAccount, type SignInController } from './sign-in.js';
import { switchSession } from './session-picker.js';

export interface CommandDeps {
  context: vscode.ExtensionContext;
  connection: RuntimeConnection;
  chat: ChatController;
  view: ChatViewProvider;
  signIn: SignInController;
  log: Logger & { show(preserveFocus?: boolean): void };
}

/** Every command in package.json's `contributes.commands`, by id. */
export const COMMANDS = [
  'cog.newSession',
  'cog.switchSession',
  'cog.clear',
  'cog.renameSession',
  'cog.deleteSession',
  'cog.cancelTurn',
  'cog.showTrace',
  'cog.setApiKey',
  'cog.setServerToken',
  'cog.signIn',
  'cog.signOut',
  'cog.copyMcpConfig',
  'cog.showLog',
  'cog.restartRuntime',
] as const;
type CommandId = (typeof COMMANDS)[number];

/** Registers the commands; each failure is shown to the user in words and logged. */
export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { connection, chat, view, log, context, signIn } = deps;
  const handlers: Record<CommandId, (...args: unknown[]) => Promise<unknown>> = {
    'cog.newSession': async () => {
      await view.reveal();
      await chat.newSession();
    },
    'cog.switchSession': () => switchSession(chat, () => view.reveal()),
    'cog.clear': () => chat.askClear(),
    // A session id may come with the command (another extension, a keybinding's args).
    'cog.renameSession': (arg) => chat.askRename(sessionArg(arg) ?? chat.session),
    'cog.deleteSession': (arg) => chat.askDelete(sessionArg(arg) ?? chat.session),
    'cog.cancelTurn': async () => {
      if (!chat.cancelTurn()) {
        void vscode.window.showInformationMessage('No turn started in this window is running.');
      }
    },
    'cog.showTrace': async () => {
      const session = chat.session;
      if (!session) {
        void vscode.window.showInformationMessage('No session yet: send a message first.');
        return;
      }
      const events = await chat.trace(session);
      const doc = await vscode.workspace.openTextDocument({
        language: 'json',
        content: JSON.stringify(events, null, 2),
      });
      await vscode.window.showTextDocument(doc, { preview: true });
    },
    'cog.setApiKey': async () => {
      const key = await askSecret(context, SECRET_API_KEY, {
        title: 'Cog: API key for cog.baseUrl',
        prompt: readSettings().baseUrl
          ? `Key for ${readSettings().baseUrl}. Kept in VS Code's secret storage. Empty removes it.`
          : 'Kept in VS Code\u2019s secret storage. An OpenRouter (sk-or-\u2026) or OpenAI (sk-\u2026) key selects its service by itself; for another, also run Cog: Choose a Model. Empty removes it.',
      });
      // With no base URL, an OpenRouter or OpenAI key selects its service and default model.
      if (key) await useKeyAlone(context, log, key);
    },
    'cog.setServerToken': () =>
      askSecret(context, SECRET_SERVER_TOKEN, {
        title: 'Cog: bearer token for cog.serverUrl',
        prompt:
          'The token `cog serve` printed (or its token file). Kept in VS Code\u2019s secret storage. Empty removes it.',
      }),
    'cog.signIn': async () => {
      const signed = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: 'Cog: signing in in your browser\u2026',
          cancellable: true,
        },
        (_progress, token) => {
          const stop = new AbortController();
          token.onCancellationRequested(() => stop.abort());
          return signIn.signIn(stop.signal);
        },
      );
      void vscode.window.showInformationMessage(
        `Cog: signed in as ${describeAccount(signed.account)}.`,
      );
    },
    'cog.signOut': async () => {
      await signIn.signOut();
      void vscode.window.showInformationMessage('Cog: signed out.');
    },
    'cog.copyMcpConfig': async () => {
      await connection.whenConnected(10_000);
      const ep = connection.endpoint;
      if (!ep) throw new Error('The Cog runtime is not running.');
      const pick = await vscode.window.showQuickPick(
        mcpClientConfigs({ url: ep.url, token: ep.token }),
        { title: 'Cog: Copy MCP Client Config', placeHolder: 'Which MCP client is it for?' },
      );
      if (!pick) return;
      await vscode.env.clipboard.writeText(pick.text);
      void vscode.window.showInformationMessage(
        ep.pid
          ? 'Copied the MCP client configuration for this window\u2019s Cog runtime. It contains the bearer token: keep it private. The port changes when the runtime restarts.'
          : 'Copied an MCP client configuration for the Cog server. It contains the bearer token: keep it private.',
      );
    },
    'cog.showLog': async () => log.show(true),
    'cog.restartRuntime': async () => connection.restart('requested by the user'),
  };

  return COMMANDS.map((id) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await handlers[id](...args);
      } catch (err) {
        const message = errorMessage(err);
        log.warn(`${id}: ${message}`);
        void vscode.window.showErrorMessage(`Cog: ${message}`);
      }
    }),
  );
}

/** A session id passed to a command, if it is one; anything else is ignored. */
function sessionArg(arg: unknown): string | undefined {
  return typeof arg === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(arg) ? arg : undefined;
}

/**
 * Prompts for a secret and stores it; the runtime restarts on the SecretStorage change
 * (extension.ts). Never logs or shows the value. Resolves with what was stored ('' when
 * removed, undefined when the user backed out).
 */
async function askSecret(
  context: vscode.ExtensionContext,
  key: string,
  opts: { title: string; prompt: string },
): Promise<string | undefined> {
  const value = await vscode.window.showInputBox({
    title: opts.title,
    prompt: opts.prompt,
    password: true,
    ignoreFocusOut: true,
  });
  if (value === undefined) return;
  if (value.trim()) await context.secrets.store(key, value.trim());
  else await context.secrets.delete(key);
  void vscode.window.showInformationMessage(
    value.trim()
      ? `${opts.title.replace(/^Cog: /, '')}: saved.`
      : `${opts.title.replace(/^Cog: /, '')}: removed.`,
  );
  return value.trim();
}
