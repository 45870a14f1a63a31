import { NODE_NAMES, type NodeName } from '../protocol/events.js';
import type { CogSettings } from './runtime-env.js';

/**
 * The `cog.*` settings that decide where the API key goes, whom you sign in with or whether
 * code runs. A folder someone else wrote must not choose them, so they are
 * `"scope": "application"` in package.json and Restricted Mode's `restrictedConfigurations`,
 * and they are read from the user's settings only, even on an editor that did not honour
 * that scope.
 */
export const USER_ONLY_SETTINGS = [
  'baseUrl',
  'serverUrl',
  'model',
  ...NODE_NAMES.map((n) => `models.${n}` as const),
  'approvalPolicy',
  'oauthClientId',
  // Where your messages go: a VS Code language model (lm-models.ts reads it).
  'languageModel',
] as const;
export type UserOnlySetting = (typeof USER_ONLY_SETTINGS)[number];

/** `WorkspaceConfiguration.inspect`'s answer, the parts read here. */
export interface InspectedSetting<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
  workspaceLanguageValue?: T;
  workspaceFolderLanguageValue?: T;
}

/** The subset of `vscode.WorkspaceConfiguration` (of section `cog`) settings are read from. */
export interface SettingsSource {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string): InspectedSetting<T> | undefined;
}

const PIPELINES = ['fast', 'faithful'] as const;
const POLICIES = ['ask', 'auto', 'deny'] as const;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly unknown[]).includes(value) ? (value as T) : fallback;
}

/**
 * The settings from `source`. A user-only key takes the user's value or the default and
 * nothing a workspace or folder says; `onIgnored` hears of each such value it skipped.
 */
export function settingsFrom(
  source: SettingsSource,
  onIgnored: (key: UserOnlySetting) => void = () => undefined,
): CogSettings {
  const user = (key: UserOnlySetting): unknown => {
    const i = source.inspect<unknown>(key);
    if (!i) return undefined;
    const fromWorkspace = [
      i.workspaceValue,
      i.workspaceFolderValue,
      i.workspaceLanguageValue,
      i.workspaceFolderLanguageValue,
    ].some((v) => v !== undefined);
    if (fromWorkspace) onIgnored(key);
    return i.globalValue ?? i.defaultValue;
  };
  const text = (key: UserOnlySetting) => {
    const v = user(key);
    return typeof v === 'string' ? v.trim() : '';
  };
  const models = {} as Record<NodeName, string>;
  for (const node of NODE_NAMES) models[node] = text(`models.${node}`);
  return {
    baseUrl: text('baseUrl'),
    model: text('model'),
    models,
    pipeline: oneOf(source.get('pipeline'), PIPELINES, 'fast'),
    approvalPolicy: oneOf(user('approvalPolicy'), POLICIES, 'ask'),
    serverUrl: text('serverUrl'),
    oauthClientId: text('oauthClientId'),
  };
}
