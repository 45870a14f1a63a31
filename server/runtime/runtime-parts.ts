import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelInfo } from '../../protocol/events.js';
import type { CogConfig } from '../config.js';
import { createOfflineEngine } from '../llm/offline.js';
import { createOpenAiClient } from '../llm/openai-client.js';
import type { ModelClient } from '../llm/types.js';
import { createFileStore } from '../store/file-store.js';
import type { EventStore } from '../store/types.js';

/** The store the configuration names: PostgreSQL with a database URL, else the files. */
export async function openStore(config: CogConfig): Promise<EventStore> {
  if (!config.databaseUrl) return createFileStore({ dir: join(config.home, 'sessions') });
  const { createPgStore } = await import('../store/pg-store.js');
  return createPgStore({ url: config.databaseUrl });
}

/** The configured endpoint's client, or the offline engine when there is none. */
export function modelFor(config: CogConfig): ModelClient {
  if (!config.endpoint) {
    return createOfflineEngine({
      home: config.home,
      // The VS Code extension sets it for the runtime it starts (extension/runtime-env.ts).
      surface: process.env.COG_SURFACE === 'vscode' ? 'vscode' : 'terminal',
    });
  }
  return createOpenAiClient({
    baseUrl: config.endpoint.baseUrl,
    apiKey: config.endpoint.apiKey,
    idleTimeoutMs: config.llm.idleTimeoutMs,
    totalTimeoutMs: config.llm.totalTimeoutMs,
    // In VS Code the key is set by a command (or is the bridge's, for a VS Code language
    // model), never by an environment variable: a refused key's message names those.
    ...(process.env.COG_SURFACE === 'vscode' && {
      apiKeyName: 'the model settings ("Cog: Set API Key", or "Cog: Use a VS Code Language Model")',
    }),
  });
}

/** What every surface shows of the models: offline, or the endpoint's per node. */
export function modelInfoOf(model: ModelClient, config: CogConfig): ModelInfo {
  return {
    offline: model.offline,
    models: model.offline
      ? { input: 'offline', thinker: 'offline', output: 'offline', memorizer: 'offline' }
      : config.models,
    ...(model.baseUrl ? { baseUrl: model.baseUrl } : {}),
  };
}

/**
 * What code output must never show: the configured API key, and the bearer token of
 * `cog serve` on this home (read once: a `cog mcp` may run beside an old token file).
 */
export function secretsOf(config: CogConfig): string[] {
  const out: string[] = [];
  if (config.endpoint && config.endpoint.apiKey !== 'not-needed') out.push(config.endpoint.apiKey);
  try {
    const token = readFileSync(join(config.home, 'token'), 'utf8').trim();
    if (token) out.push(token);
  } catch {
    // No token file: nothing to hide.
  }
  return out;
}
