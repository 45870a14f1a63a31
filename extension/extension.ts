// First: records when the bundle started loading (see load-clock.ts).
import { loadStarted } from './load-clock.js';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { CogExtensionApi } from './api.js';
import { createApprovalPrompt } from './approvals.js';
import { ChatController } from './chat-controller.js';
import { CodeActions } from './code-actions.js';
import { CHAT_VIEW_ID, ChatViewProvider } from './chat-view.js';
import { registerCommands } from './commands.js';
import { createEditorContext } from './editor-context.js';
import { createLauncher } from './launcher.js';
import { EditorModelBridge, editorModelSource, pickEditorModel } from './lm-models.js';
import { registerMcpProvider } from './mcp-provider.js';
import { firstRunSetup, registerModelCommands } from './model-commands.js';
import { ModelSources } from './model-picker.js';
import { RuntimeConnection } from './runtime-connection.js';
import { underWorkspaceTrust } from './runtime-env.js';
import { affectsRuntime, readSettings, SECRET_API_KEY, SECRET_SERVER_TOKEN } from './settings.js';
import { SignInController } from './sign-in.js';
import { createStatusBar } from './status-bar.js';
import { vscodeSessionPrompts } from './vscode-session-prompts.js';

let shutdown: (() => Promise<void>) | undefined;

/** Wiring only: every part is built by its own module and owned by `context.subscriptions`. */
export function activate(context: vscode.ExtensionContext): CogExtensionApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Cog', { log: true });
  context.subscriptions.push(log);
  const version = String(context.extension.packageJSON.version ?? '0.0.0');

  // The approval questions need the chat and its view, built below; none can come before
  // connection.start() at the end.
  const late: {
    prompt?: ReturnType<typeof createApprovalPrompt>;
    connection?: RuntimeConnection;
    view?: ChatViewProvider;
    chat?: ChatController;
  } = {};
  // Tokens in SecretStorage only; the browser opens only from Cog: Sign In.
  const signIn = new SignInController({
    store: {
      get: (key) => context.secrets.get(key),
      set: (key, value) => context.secrets.store(key, value),
      delete: (key) => context.secrets.delete(key),
    },
    log,
    openBrowser: (url) =>
      Promise.resolve(vscode.env.openExternal(vscode.Uri.parse(url.href, true))),
    settings: () => readSettings(),
    restart: (reason) => late.connection?.restart(reason),
    offerSignIn: (message) => {
      void vscode.window.showInformationMessage(`Cog: ${message}`, 'Sign In').then((pick) => {
        if (pick) void vscode.commands.executeCommand('cog.signIn');
      });
    },
  });
  context.subscriptions.push(signIn);
  // A refusal of VS Code's consent dialog is said in the panel, where the message was sent.
  const editorModels = new EditorModelBridge(log, (message) => late.chat?.notice('error', message));
  context.subscriptions.push(editorModels);
  const connection = new RuntimeConnection({
    launch: createLauncher(context, log, signIn, editorModels),
    log,
    clientVersion: version,
    onElicit: async (q, signal) => late.prompt?.(q, signal) ?? { action: 'decline' },
  });
  late.connection = connection;
  shutdown = () => connection.dispose();
  context.subscriptions.push({ dispose: () => void connection.dispose() });

  const codeActions = new CodeActions();
  context.subscriptions.push(codeActions);
  // The view is built after the chat it shows; the context needs it only to reveal it.
  const editorContext = createEditorContext(
    { reveal: () => late.view?.reveal() ?? Promise.resolve() },
    log,
  );
  context.subscriptions.push(editorContext);
  const chat = new ChatController({
    connection,
    context: editorContext,
    log,
    codeAction: (msg) => codeActions.run(msg),
    approval: () => underWorkspaceTrust(readSettings(), vscode.workspace.isTrusted).approvalPolicy,
    restricted: () => !vscode.workspace.isTrusted,
    prompts: vscodeSessionPrompts,
    memory: {
      get: () => context.workspaceState.get<string>('cog.session'),
      set: (session) => void context.workspaceState.update('cog.session', session),
    },
    setup: firstRunSetup(context),
  });
  late.chat = chat;
  const view = new ChatViewProvider(context.extensionUri, chat, log);
  late.view = view;
  late.prompt = createApprovalPrompt({
    log,
    approvals: chat.approvals,
    panel: view,
    shownSession: () => chat.session,
    reveal: async (session) => {
      await view.reveal();
      if (chat.session !== session) await chat.switchSession(session);
    },
    trusted: () => vscode.workspace.isTrusted,
  });
  const status = createStatusBar(connection, signIn);
  // More entries for Cog: Choose a Model (the editor's own language models) register here.
  const modelSources = new ModelSources();
  const editorSource = editorModelSource();
  if (editorSource) context.subscriptions.push(modelSources.register(editorSource));
  context.subscriptions.push(
    chat,
    view,
    status,
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, view),
    ...registerCommands({ context, connection, chat, view, signIn, log }),
    vscode.commands.registerCommand('cog.useEditorModel', () =>
      pickEditorModel().catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        log.warn(`Use a VS Code Language Model: ${message}`);
        void vscode.window.showErrorMessage(`Cog: ${message}`);
      }),
    ),
    ...registerModelCommands({
      context,
      log,
      sources: modelSources,
      refreshSetup: () => chat.refreshSetup(),
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!affectsRuntime(e)) return;
      chat.refreshOnReconnect();
      connection.restart('settings changed');
    }),
    // Restricted Mode started the runtime with code runs off: now the user's policy holds.
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      chat.refreshOnReconnect();
      connection.restart('workspace trusted');
    }),
    // Also when another window changes them: this runtime must use the new key.
    context.secrets.onDidChange((e) => {
      if (e.key === SECRET_API_KEY || e.key === SECRET_SERVER_TOKEN) {
        connection.restart(e.key === SECRET_API_KEY ? 'API key changed' : 'server token changed');
      }
    }),
  );
  const mcpProvider = registerMcpProvider(
    connection,
    log,
    context.subscriptions,
    context.extension.id,
  );

  connection.start();
  const done = performance.now();
  const activationMs = done - loadStarted;
  log.info(
    `Cog ${version} activated in ${activationMs.toFixed(0)} ms (code loading ${(started - loadStarted).toFixed(0)} ms, activate ${(done - started).toFixed(0)} ms) on VS Code ${vscode.version}`,
  );
  return {
    connection,
    chat,
    mcpProvider,
    activationMs,
    statusBarText: () => status.item.text,
    signIn: {
      get state() {
        return signIn.state;
      },
      stored: () => signIn.stored(),
    },
  };
}

/** Stops the runtime this window started; VS Code waits for the returned promise. */
export function deactivate(): Promise<void> | undefined {
  const stop = shutdown;
  shutdown = undefined;
  return stop?.();
}
