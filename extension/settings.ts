import * as vscode from 'vscode';
import { NODE_NAMES, type NodeName } from '../protocol/events.js';
import type { CogSettings } from './runtime-env.js';

const PIPELINES = ['fast', 'faithful'] as const;
const POLICIES = ['ask', 'auto', 'deny'] as const;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly unknown[]).includes(value) ? (value as T) : fallback;
}

/** The `cog.*` settings as they are now. */
export function readSettings(): CogSettings {
  const c = vscode.workspace.getConfiguration('cog');
  const text = (key: string) => (c.get<string>(key) ?? '').trim();
  const models = {} as Record<NodeName, string>;
  for (const node of NODE_NAMES) models[node] = text(`models.${node}`);
  return {
    baseUrl: text('baseUrl'),
    model: text('model'),
    models,
    pipeline: oneOf(c.get('pipeline'), PIPELINES, 'fast'),
    approvalPolicy: oneOf(c.get('approvalPolicy'), POLICIES, 'ask'),
    serverUrl: text('serverUrl'),
  };
}

/** Whether a settings change needs the runtime restarted (all of `cog.*` do). */
export function affectsRuntime(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration('cog');
}

/** SecretStorage keys. Secrets never go to settings, logs or webview state. */
export const SECRET_API_KEY = 'cog.apiKey';
export const SECRET_SERVER_TOKEN = 'cog.serverToken';
