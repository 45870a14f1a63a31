import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { CallScope, runAttempt, stoppedError, type CallSettings } from './openai-attempt.js';
import {
  endpointLabel,
  exhaustedError,
  networkError,
  retryTooLateError,
  type ErrorContext,
} from './openai-errors.js';
import { toChatParams } from './openai-wire.js';
import { backoffMs, pause } from './retry.js';
import { LlmError, type ChatRequest, type ChatResult, type ModelClient } from './types.js';

export interface OpenAiClientOptions {
  /** The endpoint's base URL, usually ending in `/v1`. */
  baseUrl: string;
  /** Sent as the bearer token. Empty for servers that need none (Ollama, llama.cpp). */
  apiKey: string;
  /** A streamed reply that sends no byte for this long fails with `llm_stream_idle`. Default 30 s. */
  idleTimeoutMs?: number;
  /** A call (all attempts and waits together) over this fails with `llm_timeout`. Default 120 s. */
  totalTimeoutMs?: number;
  /** Attempts in all, counting the first. Default 3. */
  maxAttempts?: number;
  /** First backoff before a retry, doubled each time, with jitter. Default 500 ms. */
  retryBaseMs?: number;
  /** Longest single wait before a retry, `Retry-After` included. Default 30 s. */
  maxRetryDelayMs?: number;
  /** Extra headers on every request (e.g. OpenRouter's `HTTP-Referer`). */
  headers?: Record<string, string>;
  /** The setting that holds the key, named in messages about a refused key. Default `COG_LLM_API_KEY`. */
  apiKeyName?: string;
}

/** A ModelClient for an OpenAI-compatible endpoint. */
export interface OpenAiModelClient extends ModelClient {
  readonly offline: false;
  /** The base URL as safe to display (no credentials or query). */
  readonly baseUrl: string;
  /** The shared `openai` package instance for this endpoint and key. */
  readonly sdk: OpenAI;
  /** Aborts calls in flight (they reject with `llm_aborted`) and refuses new ones. */
  close(): void;
}

const sdkCache = new Map<string, OpenAI>();
const clientCache = new Map<string, OpenAiModelClient>();

function hash(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * The one `openai` package instance for an endpoint and key, created on first use. Its
 * own retries are off (our client decides when to retry) and its logging is silent
 * (failures reach the caller as LlmErrors). Keys are hashed so the cache holds no secret.
 */
export function getOpenAiSdk(opts: { baseUrl: string; apiKey: string }): OpenAI {
  const baseURL = opts.baseUrl.replace(/\/+$/, '');
  const key = hash([baseURL, opts.apiKey]);
  let sdk = sdkCache.get(key);
  if (!sdk) {
    sdk = new OpenAI({
      baseURL,
      // The package refuses an empty key; keyless local servers ignore the header anyway.
      apiKey: opts.apiKey || 'no-key',
      // Explicit nulls, so OPENAI_ORG_ID and friends never leak to a third-party endpoint.
      organization: null,
      project: null,
      webhookSecret: null,
      maxRetries: 0,
      logLevel: 'off',
    });
    sdkCache.set(key, sdk);
  }
  return sdk;
}

/**
 * The shared ModelClient for an endpoint, key and set of options: asking twice with the
 * same options returns the same client, and every client of one endpoint and key shares
 * one `openai` instance. Closing a shared client drops it from the cache, so the next
 * `getOpenAiClient` builds a fresh one.
 */
export function getOpenAiClient(opts: OpenAiClientOptions): OpenAiModelClient {
  const headers = Object.entries(opts.headers ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const key = hash([
    opts.baseUrl.replace(/\/+$/, ''),
    opts.apiKey,
    opts.idleTimeoutMs,
    opts.totalTimeoutMs,
    opts.maxAttempts,
    opts.retryBaseMs,
    opts.maxRetryDelayMs,
    opts.apiKeyName,
    headers,
  ]);
  let client = clientCache.get(key);
  if (!client) {
    client = buildClient(opts, () => clientCache.delete(key));
    clientCache.set(key, client);
  }
  return client;
}

/**
 * A ModelClient for any OpenAI-compatible endpoint, through the `openai` package. Retries
 * 429, 5xx and connection resets (never once a reply has started, never a 4xx or an abort),
 * honours `Retry-After`, and bounds every call by an idle and a total timeout.
 */
export function createOpenAiClient(opts: OpenAiClientOptions): OpenAiModelClient {
  return buildClient(opts);
}

function buildClient(opts: OpenAiClientOptions, onClose?: () => void): OpenAiModelClient {
  const sdk = getOpenAiSdk(opts);
  const settings: CallSettings = {
    idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
    totalTimeoutMs: opts.totalTimeoutMs ?? 120_000,
    maxAttempts: Math.max(1, Math.floor(opts.maxAttempts ?? 3)),
    retryBaseMs: opts.retryBaseMs ?? 500,
    maxRetryDelayMs: opts.maxRetryDelayMs ?? 30_000,
    headers: { ...opts.headers },
    apiKeyName: opts.apiKeyName ?? 'COG_LLM_API_KEY',
    endpoint: endpointLabel(opts.baseUrl),
    secrets: [opts.apiKey],
  };
  const running = new Set<CallScope>();
  let closed = false;

  return {
    offline: false,
    baseUrl: settings.endpoint,
    sdk,
    async chat(req) {
      if (closed) {
        throw new LlmError('llm_aborted', `The model client for ${settings.endpoint} is closed.`);
      }
      const scope = new CallScope(req.signal, settings.totalTimeoutMs);
      running.add(scope);
      try {
        return await chatWithRetries(sdk, settings, req, scope);
      } finally {
        running.delete(scope);
        scope.dispose();
      }
    },
    close() {
      closed = true;
      onClose?.();
      for (const scope of running) scope.stop('closed');
    },
  };
}

async function chatWithRetries(
  sdk: OpenAI,
  s: CallSettings,
  req: ChatRequest,
  scope: CallScope,
): Promise<ChatResult> {
  const ctx: ErrorContext = {
    endpoint: s.endpoint,
    apiKeyName: s.apiKeyName,
    model: req.model,
    secrets: s.secrets,
  };
  const params = toChatParams(req);
  for (let attempt = 1; ; attempt++) {
    const outcome = await runAttempt(sdk, s, req, params, scope, ctx, attempt);
    if ('result' in outcome) return outcome.result;
    const failure = outcome.failure;
    if (failure.kind === 'final') throw failure.error;

    const giveUp = (): LlmError =>
      failure.status === undefined
        ? networkError(ctx, failure.cause, attempt)
        : exhaustedError(ctx, failure.status, attempt, failure.serverText);
    if (attempt >= s.maxAttempts) throw giveUp();
    const wait = Math.min(
      failure.retryAfterMs ?? backoffMs(attempt, s.retryBaseMs, 8_000),
      s.maxRetryDelayMs,
    );
    if (wait >= scope.remainingMs()) {
      throw failure.status === undefined
        ? giveUp()
        : retryTooLateError(ctx, failure.status, wait, attempt);
    }
    await pause(wait, scope.signal);
    if (scope.reason) throw stoppedError(scope.reason, ctx, s, '');
  }
}
