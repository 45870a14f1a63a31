import * as vscode from 'vscode';
import type { Logger } from './emitter.js';
import type { CogSettings } from './runtime-env.js';
import { settingsFrom, type UserOnlySetting } from './user-settings.js';

/** Keys whose ignored workspace value has been logged (once per window). */
const reported = new Set<UserOnlySetting>();

/**
 * The `cog.*` settings as they are now. Where the key goes and whether code runs come from
 * the user's settings only (see USER_ONLY_SETTINGS); a workspace value for them is ignored,
 * and said so in `log` once.
 */
export function readSettings(log?: Logger): CogSettings {
  return settingsFrom(vscode.workspace.getConfiguration('cog'), (key) => {
    if (!log || reported.has(key)) return;
    reported.add(key);
    log.warn(
      `ignored cog.${key} from this workspace's settings: it decides where your API key goes or whether code runs, so Cog takes it from your user settings only`,
    );
  });
}

/** Whether a settings change needs the runtime restarted (all of `cog.*` do). */
export function affectsRuntime(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration('cog');
}

/** SecretStorage keys. Secrets never go to settings, logs or webview state. */
export const SECRET_API_KEY = 'cog.apiKey';
export const SECRET_SERVER_TOKEN = 'cog.serverToken';
