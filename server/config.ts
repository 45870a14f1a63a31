import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import {
  BUSY_POLICIES,
  type ApprovalPolicy,
  type BusyPolicy,
  type NodeName,
  type PipelineMode,
} from '../protocol/names.js';
import { SANDBOX_SETTINGS, type SandboxSetting } from './processes/tiers.js';
import { DEFAULT_LIMITS, type ProcessLimits } from './processes/types.js';

/** Where replies come from. `undefined` endpoint means the offline engine. */
export interface Endpoint {
  baseUrl: string;
  apiKey: string;
  /** Where the settings came from, for the banner ("COG_LLM_BASE_URL", "OPENROUTER_API_KEY"). */
  source: string;
}

/** `cog serve` as an OAuth 2.1 protected resource of one OpenID Connect / OAuth issuer. */
export interface OidcSettings {
  issuer: string;
  /** The resource URL tokens must name; default the server's own `/mcp` URL. */
  audience?: string;
  /**
   * Cog's client at the issuer: the browser sign-in (authorization code, redirect URI
   * `<server>/auth/callback`) and the introspection endpoint (opaque tokens).
   */
  clientId?: string;
  clientSecret?: string;
}

export interface CogConfig {
  home: string;
  endpoint: Endpoint | undefined;
  /** True when COG_OFFLINE=1 chose the offline engine over a configured model. */
  offlineForced?: boolean;
  models: Record<NodeName, string>;
  /** Context budget per node, in tokens. */
  budgets: Record<NodeName, number>;
  pipeline: PipelineMode;
  approval: ApprovalPolicy;
  /** A run nobody approves or denies within this long is denied. */
  approvalTimeoutMs: number;
  /** A message while a turn runs: queue (default), interrupt the turn, or reject. */
  ifBusy: BusyPolicy;
  /** `native` function calling, or `fenced` code blocks for models without tools. */
  tools: 'native' | 'fenced';
  limits: ProcessLimits;
  /** Which isolation tier runs code: `auto` (the strongest that works) or one by name. */
  sandbox: SandboxSetting;
  sensorIntervalMs: number;
  llm: { idleTimeoutMs: number; totalTimeoutMs: number };
  /** Absent: `cog serve` takes the local token only. */
  oidc?: OidcSettings;
  /** `postgres://…`: sessions in PostgreSQL instead of `<home>/sessions`. */
  databaseUrl?: string;
  /** Each principal's share: sessions busy at once, code runs at once, HTTP requests a minute. */
  perPrincipal: PerPrincipalLimits;
}

export interface PerPrincipalLimits {
  turns: number;
  codeRuns: number;
  requestsPerMinute: number;
}

export const DEFAULT_PER_PRINCIPAL: PerPrincipalLimits = {
  turns: 8,
  codeRuns: 2,
  requestsPerMinute: 600,
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config_invalid';
}

export const DEFAULT_BUDGETS: Record<NodeName, number> = {
  input: 2000,
  thinker: 6000,
  output: 4000,
  memorizer: 3000,
};

const OPENROUTER_URL = 'https://openrouter.ai/api/v1';
const OPENAI_URL = 'https://api.openai.com/v1';

const NodeModels = z
  .object({
    input: z.string().min(1),
    thinker: z.string().min(1),
    output: z.string().min(1),
    memorizer: z.string().min(1),
  })
  .partial()
  .strict();

/** `<COG_HOME>/config.json`; every key optional, environment variables win. */
export const ConfigFileSchema = z
  .object({
    baseUrl: z.url().optional(),
    apiKey: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    models: NodeModels.optional(),
    budgets: z
      .object({
        input: z.number().int().min(256),
        thinker: z.number().int().min(256),
        output: z.number().int().min(256),
        memorizer: z.number().int().min(256),
      })
      .partial()
      .strict()
      .optional(),
    pipeline: z.enum(['fast', 'faithful']).optional(),
    approval: z.enum(['ask', 'auto', 'deny']).optional(),
    /** How long a run waits for approval before it is denied (default 600). */
    approvalTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
    ifBusy: z.enum(BUSY_POLICIES).optional(),
    tools: z.enum(['native', 'fenced']).optional(),
    sandbox: z.enum(SANDBOX_SETTINGS).optional(),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    perPrincipal: z
      .object({
        turns: z.number().int().min(1).max(10_000),
        codeRuns: z.number().int().min(1).max(1_000),
        requestsPerMinute: z.number().int().min(1).max(1_000_000),
      })
      .partial()
      .strict()
      .optional(),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
      .optional(),
    oidc: z
      .object({
        issuer: z.url(),
        audience: z.url().optional(),
        clientId: z.string().min(1).optional(),
        clientSecret: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

/** COG_DATABASE_URL over config.json's databaseUrl; a postgres:// URL or nothing. */
function databaseOf(env: NodeJS.ProcessEnv, file: ConfigFile): { databaseUrl?: string } {
  const url = env.COG_DATABASE_URL || file.databaseUrl;
  if (!url) return {};
  if (!/^postgres(ql)?:\/\/./.test(url) || !URL.canParse(url)) {
    throw new ConfigError(
      'The database URL (--database, COG_DATABASE_URL or databaseUrl) is not a PostgreSQL URL: use postgres://user:password@host:5432/database',
    );
  }
  return { databaseUrl: url };
}

/** Each principal's share: the environment over config.json over the defaults. */
function resolvePerPrincipal(env: NodeJS.ProcessEnv, file: ConfigFile): PerPrincipalLimits {
  const limits = { ...DEFAULT_PER_PRINCIPAL, ...file.perPrincipal };
  const fromEnv: Array<[keyof PerPrincipalLimits, string, number]> = [
    ['turns', 'COG_PRINCIPAL_TURNS', 10_000],
    ['codeRuns', 'COG_PRINCIPAL_CODE_RUNS', 1_000],
    ['requestsPerMinute', 'COG_PRINCIPAL_REQUESTS_PER_MINUTE', 1_000_000],
  ];
  for (const [key, name, max] of fromEnv) {
    const value = integer(name, env[name], 1, max);
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

/** A whole number in [min, max] from an environment variable, or undefined when unset. */
function integer(name: string, value: string | undefined, min: number, max: number) {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
    throw new ConfigError(
      `${name}=${value} is not valid: use a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

function pick<T extends string>(name: string, value: string | undefined, allowed: readonly T[]) {
  if (value === undefined || value === '') return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${name}=${value} is not valid: use one of ${allowed.join(', ')}`);
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`Cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not valid JSON: fix or delete it`);
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue?.path.join('.') || 'file'}: ${issue?.message}`);
  }
  return parsed.data;
}

function resolveEndpoint(env: NodeJS.ProcessEnv, file: ConfigFile) {
  if (env.COG_OFFLINE === '1') return { endpoint: undefined, defaultModel: undefined };
  const baseUrl = env.COG_LLM_BASE_URL || file.baseUrl;
  if (baseUrl) {
    const apiKey = env.COG_LLM_API_KEY || file.apiKey || 'not-needed';
    const source = env.COG_LLM_BASE_URL ? 'COG_LLM_BASE_URL' : 'config.json';
    return { endpoint: { baseUrl, apiKey, source }, defaultModel: undefined };
  }
  if (env.OPENROUTER_API_KEY) {
    return {
      endpoint: {
        baseUrl: OPENROUTER_URL,
        apiKey: env.OPENROUTER_API_KEY,
        source: 'OPENROUTER_API_KEY',
      },
      defaultModel: 'google/gemini-2.5-flash',
    };
  }
  if (env.OPENAI_API_KEY) {
    return {
      endpoint: { baseUrl: OPENAI_URL, apiKey: env.OPENAI_API_KEY, source: 'OPENAI_API_KEY' },
      defaultModel: 'gpt-4o-mini',
    };
  }
  return { endpoint: undefined, defaultModel: undefined };
}

/** The OIDC settings: each COG_OIDC_* variable wins over its config.json key. */
function resolveOidc(env: NodeJS.ProcessEnv, file: ConfigFile): OidcSettings | undefined {
  const url = (name: string, value: string | undefined) => {
    if (!value) return undefined;
    if (z.url().safeParse(value).success && !value.includes('#')) return value;
    throw new ConfigError(`${name}=${value} is not a URL: use e.g. https://login.example.com`);
  };
  const issuer = url('COG_OIDC_ISSUER', env.COG_OIDC_ISSUER) ?? file.oidc?.issuer;
  const audience = url('COG_OIDC_AUDIENCE', env.COG_OIDC_AUDIENCE) ?? file.oidc?.audience;
  const clientId = env.COG_OIDC_CLIENT_ID || file.oidc?.clientId;
  const clientSecret = env.COG_OIDC_CLIENT_SECRET || file.oidc?.clientSecret;
  if (!issuer) {
    if (audience || clientId || clientSecret) {
      throw new ConfigError(
        'OIDC settings without an issuer: set COG_OIDC_ISSUER (or oidc.issuer in config.json)',
      );
    }
    return undefined;
  }
  if (!clientId !== !clientSecret) {
    throw new ConfigError(
      'COG_OIDC_CLIENT_ID and COG_OIDC_CLIENT_SECRET (for token introspection) go together: set both or neither',
    );
  }
  return {
    issuer,
    ...(audience ? { audience } : {}),
    ...(clientId && clientSecret ? { clientId, clientSecret } : {}),
  };
}

/**
 * Builds the configuration from the environment and `<COG_HOME>/config.json`.
 * Throws a ConfigError whose message says what to change.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CogConfig {
  const home = resolve(env.COG_HOME || join(homedir(), '.cog'));
  const file = readConfigFile(join(home, 'config.json'));
  const { endpoint, defaultModel } = resolveEndpoint(env, file);

  const base = env.COG_MODEL || file.model || defaultModel;
  const perNode = (node: NodeName) =>
    env[`COG_MODEL_${node.toUpperCase()}`] || file.models?.[node] || base;
  const models = {} as Record<NodeName, string>;
  for (const node of ['input', 'thinker', 'output', 'memorizer'] as const) {
    const model = endpoint ? perNode(node) : 'offline';
    if (!model) {
      // In VS Code (the extension sets COG_SURFACE) the user fixes it in Settings.
      const fix =
        env.COG_SURFACE === 'vscode'
          ? `set Cog: Model (cog.model) in Settings, or cog.models.${node}`
          : `set COG_MODEL (or COG_MODEL_${node.toUpperCase()})`;
      throw new ConfigError(`No model named for the ${node} node: ${fix} for ${endpoint?.baseUrl}`);
    }
    models[node] = model;
  }

  const timeout = file.timeoutMs;
  const oidc = resolveOidc(env, file);
  return {
    home,
    endpoint,
    ...(env.COG_OFFLINE === '1' ? { offlineForced: true } : {}),
    models,
    budgets: { ...DEFAULT_BUDGETS, ...file.budgets },
    pipeline:
      pick('COG_PIPELINE', env.COG_PIPELINE, ['fast', 'faithful']) ?? file.pipeline ?? 'fast',
    approval:
      pick('COG_APPROVAL', env.COG_APPROVAL, ['ask', 'auto', 'deny']) ?? file.approval ?? 'ask',
    approvalTimeoutMs: (file.approvalTimeoutSeconds ?? 600) * 1000,
    ifBusy: file.ifBusy ?? 'queue',
    tools: pick('COG_TOOLS', env.COG_TOOLS, ['native', 'fenced']) ?? file.tools ?? 'native',
    limits: { ...DEFAULT_LIMITS, ...(timeout ? { timeoutMs: timeout } : {}) },
    sandbox: pick('COG_SANDBOX', env.COG_SANDBOX, SANDBOX_SETTINGS) ?? file.sandbox ?? 'auto',
    sensorIntervalMs: 5000,
    llm: { idleTimeoutMs: 30_000, totalTimeoutMs: 120_000 },
    ...(oidc ? { oidc } : {}),
    ...databaseOf(env, file),
    perPrincipal: resolvePerPrincipal(env, file),
  };
}
