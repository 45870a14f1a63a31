import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from './emitter.js';
import type { EditorModelBridge } from './lm-models.js';
import type { Launched } from './runtime-connection.js';
import { describeSettings, runtimeEnv, underWorkspaceTrust } from './runtime-env.js';
import { checkLease, dropLease, whenGone, writeLease } from './runtime-lease.js';
import { startLocalRuntime } from './runtime-process.js';
import { readSettings, SECRET_API_KEY, SECRET_SERVER_TOKEN } from './settings.js';
import type { SignInController } from './sign-in.js';

/**
 * Where the extension's runtime keeps its sessions: the workspace's storage (one chat
 * history per project), or the global storage in a window without a folder. One runtime
 * per directory is enforced by the runtime's own lock.
 */
export function runtimeHome(context: vscode.ExtensionContext): string {
  return (context.storageUri ?? context.globalStorageUri).fsPath;
}

/**
 * One connection attempt's target, from the settings as they are now: the configured
 * server (`cog.serverUrl`, with the token set with Cog: Set Server Token, else the tokens of
 * Cog: Sign In when the server asks for OAuth), or `cog serve` started from this
 * extension's own bundle on the editor's own Node (`process.execPath` with
 * ELECTRON_RUN_AS_NODE), so users need no separate Node install.
 *
 * In Restricted Mode (an untrusted workspace) the runtime starts with approval policy
 * `deny`: chat works, no code runs. Granting trust restarts it (extension.ts).
 */
export function createLauncher(
  context: vscode.ExtensionContext,
  log: Logger,
  signIn: SignInController,
  /** Points the runtime at a VS Code language model when cog.languageModel names one. */
  editorModels?: EditorModelBridge,
) {
  return async (signal: AbortSignal): Promise<Launched> => {
    const trusted = vscode.workspace.isTrusted;
    const settings = underWorkspaceTrust(readSettings(log), trusted);
    if (settings.serverUrl) {
      return configuredServer(context, log, signIn, settings.serverUrl, trusted, signal);
    }
    signIn.noSignIn();
    const home = runtimeHome(context);
    await mkdir(home, { recursive: true });
    const existing = await checkLease(home, log);
    if (existing.kind === 'shared') {
      // Another window's runtime on this home: use it rather than fight over the lock.
      const { lease } = existing;
      if (!trusted && lease.approval !== 'deny') {
        throw new Error(
          `Another window's Cog runtime for this folder may run code, and this window is in Restricted Mode. Trust this workspace, or close the other window.`,
        );
      }
      const token = (await readFile(path.join(home, 'token'), 'utf8')).trim();
      const gone = new AbortController();
      signal.addEventListener('abort', () => gone.abort(), { once: true });
      return {
        url: new URL(lease.url),
        token,
        label: `the runtime of another window (pid ${lease.pid})`,
        exited: whenGone(lease.pid, gone.signal).then(() => ({
          code: null,
          signal: null,
          reason: 'the other window\u2019s runtime stopped',
        })),
        stop: async () => gone.abort(),
      };
    }
    const apiKey = await context.secrets.get(SECRET_API_KEY);
    const env = runtimeEnv(process.env, settings, home, apiKey);
    const bridgeToken = await editorModels?.configure(env, log);
    log.info(
      `starting the runtime: ${bridgeToken ? `VS Code language model ${env.COG_MODEL}, pipeline ${settings.pipeline}, approval ${settings.approvalPolicy}` : describeSettings(settings, Boolean(apiKey))}${trusted ? '' : ' (Restricted Mode: code runs are off)'}`,
    );
    const runtime = await startLocalRuntime({
      execPath: process.execPath,
      bundle: path.join(context.extensionPath, 'dist', 'cog.mjs'),
      env,
      cwd: home,
      log,
      secrets: [apiKey, bridgeToken].filter((s): s is string => Boolean(s)),
      signal,
    });
    await writeLease(home, {
      pid: runtime.pid,
      host: process.pid,
      url: runtime.url.href,
      approval: settings.approvalPolicy,
    });
    return {
      url: runtime.url,
      token: runtime.token,
      pid: runtime.pid,
      label: `local runtime (pid ${runtime.pid})`,
      exited: runtime.exited,
      stop: async () => {
        await runtime.stop();
        await dropLease(home, runtime.pid);
      },
    };
  };
}

/**
 * The target `cog.serverUrl` names. A token set with Cog: Set Server Token wins; without
 * one, a server that asks for OAuth gets the stored sign-in's tokens (or the launch fails
 * with "Sign in to …").
 */
async function configuredServer(
  context: vscode.ExtensionContext,
  log: Logger,
  signIn: SignInController,
  serverUrl: string,
  trusted: boolean,
  signal: AbortSignal,
): Promise<Launched> {
  if (!URL.canParse(serverUrl)) {
    throw new Error(`cog.serverUrl "${serverUrl}" is not a URL: fix it in Settings.`);
  }
  const url = new URL(serverUrl);
  const token = await context.secrets.get(SECRET_SERVER_TOKEN);
  if (token) signIn.noSignIn();
  const oauth = token ? undefined : await signIn.launch(url, signal);
  if (!token && !oauth) {
    throw new Error(
      'No token for cog.serverUrl: run "Cog: Set Server Token" (it is kept in SecretStorage).',
    );
  }
  if (!trusted) {
    log.warn(
      `Restricted Mode: this window approves no code runs, but ${url.origin} runs code without asking if it was started with approval "auto"`,
    );
  }
  const label = `server ${url.origin}`;
  if (oauth) return { url, label, ...oauth };
  return { url, token, label, authHint: 'Check the token with "Cog: Set Server Token".' };
}
