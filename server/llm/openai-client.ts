import OpenAI from 'openai';
import {
  endpointLabel,
  judge,
  NotACompletion,
  toLlmError,
  type StopReason,
} from './openai-errors.js';
import { fromCompletion, StreamAccumulator, toChatParams } from './openai-wire.js';
import { withRetries } from './retry.js';
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
  /** Longest single wait before a retry; a server asking for longer is not retried. Default 30 s. */
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
  /** Aborts calls in flight (they reject with `llm_aborted`) and refuses new ones. */
  close(): void;
}

/**
 * A ModelClient for any OpenAI-compatible endpoint, through the `openai` package, which
 * builds and sends the requests and parses the replies and their SSE streams. On top of it:
 * retries of 429, 5xx and connection resets with jittered waits that honour `Retry-After`
 * (never once a reply has started, never a 4xx or an abort), an idle limit on streams, and
 * one total limit over every attempt and wait of a call.
 */
export function createOpenAiClient(opts: OpenAiClientOptions): OpenAiModelClient {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
  const totalTimeoutMs = opts.totalTimeoutMs ?? 120_000;
  const policy = {
    maxAttempts: Math.max(1, Math.floor(opts.maxAttempts ?? 3)),
    baseMs: opts.retryBaseMs ?? 500,
    maxDelayMs: opts.maxRetryDelayMs ?? 30_000,
  };
  const endpoint = endpointLabel(opts.baseUrl);
  const named = {
    endpoint,
    apiKeyName: opts.apiKeyName ?? 'COG_LLM_API_KEY',
    secrets: [opts.apiKey],
    idleTimeoutMs,
    totalTimeoutMs,
  };
  const sdk = new OpenAI({
    baseURL: opts.baseUrl,
    // The package refuses an empty key; keyless local servers ignore the header anyway.
    apiKey: opts.apiKey || 'no-key',
    // Explicit nulls, so OPENAI_ORG_ID and friends never leak to a third-party endpoint.
    adminAPIKey: null,
    organization: null,
    project: null,
    webhookSecret: null,
    defaultHeaders: opts.headers,
    maxRetries: 0,
    // Ours fires first; the package's only bounds the wait for response headers.
    timeout: totalTimeoutMs + 1_000,
    logLevel: 'off',
  });
  const closing = new AbortController();

  return {
    offline: false,
    baseUrl: endpoint,
    async chat(req) {
      if (closing.signal.aborted) {
        throw new LlmError('llm_aborted', `The model client for ${endpoint} is closed.`);
      }
      const call = new CallLimits(req.signal, closing.signal, totalTimeoutMs, idleTimeoutMs);
      const acc = new StreamAccumulator();
      const onDelta = req.onDelta;
      try {
        return await withRetries(
          { ...policy, deadline: call.deadline, signal: call.signal },
          () => (onDelta ? stream(sdk, req, call, acc, onDelta) : complete(sdk, req, call)),
          // Never once our own limit stopped the call, nor once a reply has started.
          (err) => (call.reason || acc.chunks > 0 ? { retry: false } : judge(err)),
          (end) =>
            end.error instanceof CallerFault
              ? end.error.error
              : toLlmError(end, {
                  ...named,
                  model: req.model,
                  stop: call.reason,
                  streaming: Boolean(onDelta),
                  partialText: acc.text,
                  started: acc.hasContent,
                }),
        );
      } finally {
        call.dispose();
      }
    },
    close() {
      closing.abort();
    },
  };
}

function requestOptions(req: ChatRequest, call: CallLimits) {
  return { signal: call.signal, headers: { 'X-Cog-Node': req.node } };
}

async function complete(sdk: OpenAI, req: ChatRequest, call: CallLimits): Promise<ChatResult> {
  const body: unknown = await sdk.chat.completions.create(
    { ...toChatParams(req), stream: false },
    requestOptions(req, call),
  );
  const result = fromCompletion(body, req.model);
  if (result) return result;
  throw new NotACompletion(
    typeof body === 'string' ? 'text that is not JSON' : 'JSON that is not a chat completion',
  );
}

/** Wraps an exception from the caller's own `onDelta`, which is passed on as it is. */
class CallerFault {
  constructor(readonly error: unknown) {}
}

async function stream(
  sdk: OpenAI,
  req: ChatRequest,
  call: CallLimits,
  acc: StreamAccumulator,
  onDelta: (text: string) => void,
): Promise<ChatResult> {
  // Every byte counts as life, SSE keep-alive comments too, which the package's stream skips.
  call.alive();
  const chunks = await sdk
    .withOptions({ fetch: watching(call.alive) })
    .chat.completions.create(
      { ...toChatParams(req), stream: true, stream_options: { include_usage: true } },
      requestOptions(req, call),
    );
  try {
    for await (const chunk of chunks) {
      const delta = acc.add(chunk);
      if (delta === undefined) continue;
      try {
        onDelta(delta);
      } catch (err) {
        throw new CallerFault(err);
      }
    }
  } finally {
    call.quiet();
  }
  // The package's stream ends quietly when aborted, so an abort shows only here.
  call.signal.throwIfAborted();
  if (acc.chunks === 0) {
    throw new NotACompletion('a stream without a single chat-completion event');
  }
  if (acc.finishReason === null) {
    const message = `Model endpoint ${endpointLabel(sdk.baseURL)} ended the reply without finishing it (no finish reason) after ${acc.text.length} characters: try again.`;
    throw new LlmError('llm_bad_response', message);
  }
  return acc.result(req.model);
}

/** A `fetch` that calls `onBytes` when the headers and each piece of the body arrive. */
function watching(onBytes: () => void): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    onBytes();
    if (!response.body) return response;
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          onBytes();
          out.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

/**
 * One call's ways to stop, as one signal: the caller's abort, the client's close, the
 * total limit and the idle limit. The first to fire is the `reason`. (Not `AbortSignal.any`:
 * on Node 20 it keeps every call's signal alive for as long as the client's.)
 */
class CallLimits {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  readonly deadline: number;
  reason: StopReason | undefined;
  private readonly total: NodeJS.Timeout;
  private idle: NodeJS.Timeout | undefined;
  private readonly onAbort = (): void => this.stop('aborted');
  private readonly onClose = (): void => this.stop('closed');

  constructor(
    private readonly caller: AbortSignal,
    private readonly closing: AbortSignal,
    totalMs: number,
    private readonly idleMs: number,
  ) {
    this.deadline = Date.now() + totalMs;
    this.total = setTimeout(() => this.stop('timeout'), totalMs);
    if (caller.aborted) this.stop('aborted');
    caller.addEventListener('abort', this.onAbort, { once: true });
    closing.addEventListener('abort', this.onClose, { once: true });
  }

  /** (Re)starts the idle limit. */
  readonly alive = (): void => {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop('idle'), this.idleMs);
  };

  quiet(): void {
    clearTimeout(this.idle);
  }

  dispose(): void {
    clearTimeout(this.total);
    this.quiet();
    this.caller.removeEventListener('abort', this.onAbort);
    this.closing.removeEventListener('abort', this.onClose);
  }

  private stop(why: StopReason): void {
    this.reason ??= why;
    this.controller.abort();
  }
}
