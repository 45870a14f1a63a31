import type { ApprovalPolicy, NodeName, PipelineMode } from '../protocol/events.js';

/** The `cog.*` settings, read once per (re)start. Empty strings mean "not set". */
export interface CogSettings {
  baseUrl: string;
  model: string;
  models: Record<NodeName, string>;
  pipeline: PipelineMode;
  approvalPolicy: ApprovalPolicy;
  serverUrl: string;
  /** The client id Cog signs in with at a server's issuer that does not register clients. */
  oauthClientId: string;
}

/**
 * The settings a runtime starts with in a workspace that is (or is not) trusted: in
 * Restricted Mode chat works and no code runs, whatever the user's policy.
 */
export function underWorkspaceTrust(settings: CogSettings, trusted: boolean): CogSettings {
  return trusted ? settings : { ...settings, approvalPolicy: 'deny' };
}

/**
 * Inherited variables that would choose a model or a state directory behind the settings'
 * back. The extension's runtime is configured by its settings and SecretStorage only, so a
 * key exported in the shell that launched VS Code does not silently switch engines.
 */
const INHERITED_CONFIG = /^(COG_|OPENROUTER_API_KEY$|OPENAI_API_KEY$)/;

/**
 * The environment of the `cog serve` child: the editor's own, minus inherited Cog
 * configuration, plus the settings, the API key and `ELECTRON_RUN_AS_NODE` (the child runs
 * on the editor's own binary, which is Electron in desktop VS Code).
 */
export function runtimeEnv(
  base: NodeJS.ProcessEnv,
  settings: CogSettings,
  home: string,
  apiKey: string | undefined,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!INHERITED_CONFIG.test(key)) env[key] = value;
  }
  env.ELECTRON_RUN_AS_NODE = '1';
  env.COG_HOME = home;
  env.COG_PIPELINE = settings.pipeline;
  env.COG_APPROVAL = settings.approvalPolicy;
  if (settings.baseUrl) env.COG_LLM_BASE_URL = settings.baseUrl;
  if (settings.model) env.COG_MODEL = settings.model;
  for (const [node, model] of Object.entries(settings.models)) {
    if (model) env[`COG_MODEL_${node.toUpperCase()}`] = model;
  }
  if (apiKey) env.COG_LLM_API_KEY = apiKey;
  // The runtime's hints then name commands and settings, not environment variables.
  env.COG_SURFACE = 'vscode';
  return env;
}

/** A one-line description of the settings for the log: never the key, only whether one is set. */
export function describeSettings(settings: CogSettings, hasApiKey: boolean): string {
  const engine = settings.baseUrl ? settings.baseUrl : 'offline engine';
  const models = Object.entries(settings.models)
    .filter(([, m]) => m)
    .map(([n, m]) => `${n}=${m}`);
  return [
    `engine ${engine}`,
    settings.model ? `model ${settings.model}` : '',
    models.length ? `models ${models.join(' ')}` : '',
    `pipeline ${settings.pipeline}`,
    `approval ${settings.approvalPolicy}`,
    `api key ${hasApiKey ? 'set' : 'not set'}`,
  ]
    .filter(Boolean)
    .join(', ');
}
