import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from './emitter.js';
import type { Launched } from './runtime-connection.js';
import { describeSettings, runtimeEnv, underWorkspaceTrust } from './runtime-env.js';
import { checkLease, dropLease, whenGone, writeLease } from './runtime-lease.js';
import { startLocalRuntime } from './runtime-process.js';
import { readSettings, SECRET_API_KEY, SECRET_SERVER_TOKEN } from './settings.js';

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
 * server (`cog.serverUrl`, token from SecretStorage), or `cog serve` started from this
 * extension's own bundle on the editor's own Node (`process.execPath` with
 * ELECTRON_RUN_AS_NODE), so users need no separate Node install.
 *
 * In Restricted Mode (an untrusted workspace) the runtime starts with approval policy
 * `deny`: chat works, no code runs. Granting trust restarts it (extension.ts).
 */
export function createLauncher(context: vscode.ExtensionContext, log: Logger) {
  return async (signal: AbortSignal): Promise<Launched> => {
    const trusted = vscode.workspace.isTrusted;
    const settings = underWorkspaceTrust(readSettings(log), trusted);
    if (settings.serverUrl) {
      let url: URL;
      try {
        url = new URL(settings.serverUrl);
      } catch {
        throw new Error(`cog.serverUrl "${settings.serverUrl}" is not a URL: fix it in Settings.`);
      }
      const token = await context.secrets.get(SECRET_SERVER_TOKEN);
      if (!token) {
        throw new Error(
          'No token for cog.serverUrl: run "Cog: Set Server Token" (it is kept in SecretStorage).',
        );
      }
      if (!trusted) {
        log.warn(
          `Restricted Mode: this window approves no code runs, but ${url.origin} runs code without asking if it was started with approval "auto"`,
        );
      }
      return {
        url,
        token,
        label: `server ${url.origin}`,
        authHint: 'Check the token with "Cog: Set Server Token".',
      };
    }
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
    log.info(
      `starting the runtime: ${describeSettings(settings, Boolean(apiKey))}${trusted ? '' : ' (Restricted Mode: code runs are off)'}`,
    );
    const runtime = await startLocalRuntime({
      execPath: process.execPath,
      bundle: path.join(context.extensionPath, 'dist', 'cog.mjs'),
      env: runtimeEnv(process.env, settings, home, apiKey),
      cwd: home,
      log,
      secrets: apiKey ? [apiKey] : [],
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
