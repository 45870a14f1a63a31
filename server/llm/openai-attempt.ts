import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';
import { Stream } from 'openai/core/streaming';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
} from 'openai/resources/chat/completions';
import {
  cleanServerText,
  httpError,
  isPermanentNetworkFailure,
  networkError,
  withPartial,
  type ErrorContext,
} from './openai-errors.js';
import { StreamAccumulator, fromCompletion } from './openai-wire.js';
import { isRetryableStatus, retryAfterMs } from './retry.js';
import { LlmError, type ChatRequest, type ChatResult } from './types.js';

/**
 * One attempt at a chat call against an OpenAI-compatible endpoint, and what its failure
 * means: final, or worth another attempt. The retry loop lives in `openai-client.ts`.
 */

/** A client's resolved options. */
export interface CallSettings {
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  maxRetryDelayMs: number;
  headers: Record<string, string>;
  apiKeyName: string;
  endpoint: string;
  secrets: string[];
}

export type StopReason = 'aborted' | 'timeout' | 'closed';

/** One call's lifetime: the caller's signal, the total deadline, and `close()`, as one signal. */
export class CallScope {
  private readonly controller = new AbortController();
  private readonly deadline: number;
  private readonly timer: NodeJS.Timeout;
  reason: StopReason | undefined;

  constructor(
    private readonly callerSignal: AbortSignal,
    totalMs: number,
  ) {
    this.deadline = Date.now() + totalMs;
    this.timer = setTimeout(() => this.stop('timeout'), totalMs);
    if (callerSignal.aborted) this.stop('aborted');
    else callerSignal.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remainingMs(): number {
    return this.deadline - Date.now();
  }

  /** The first reason wins: a timeout that fires after an abort is still an abort. */
  stop(reason: StopReason): void {
    this.reason ??= reason;
    this.controller.abort();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal.removeEventListener('abort', this.onCallerAbort);
  }

  private readonly onCallerAbort = (): void => this.stop('aborted');
}

/** Why an attempt failed: for good, or in a way another attempt may fix. */
export type Failure =
  | { kind: 'final'; error: unknown }
  | { kind: 'retry'; status?: number; retryAfterMs?: number; serverText?: string; cause?: unknown };

/** Thrown around an exception from the caller's own `onDelta`, which is passed on as is. */
class CallerFault {
  constructor(readonly error: unknown) {}
}

export async function runAttempt(
  sdk: OpenAI,
  s: CallSettings,
  req: ChatRequest,
  params: ChatCompletionCreateParamsBase,
  scope: CallScope,
  ctx: ErrorContext,
  attempt: number,
): Promise<{ result: ChatResult } | { failure: Failure }> {
  // Per attempt, so a retry starts with a fresh signal; the scope's stop aborts it too.
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  scope.signal.addEventListener('abort', stop, { once: true });
  if (scope.signal.aborted) stop();
  const idle = new IdleTimer(s.idleTimeoutMs, stop);
  const acc = new StreamAccumulator();
  const options = {
    signal: controller.signal,
    headers: { ...s.headers, 'X-Cog-Node': req.node },
    // The package's own timeout stays out of the way: ours fire first.
    timeout: Math.max(1, Math.ceil(scope.remainingMs())) + 1_000,
    maxRetries: 0,
  };
  const failed = (err: unknown): { failure: Failure } => ({
    failure: classify(err, { scope, idle, acc, ctx, s, attempt, streaming: Boolean(req.onDelta) }),
  });

  try {
    const onDelta = req.onDelta;
    if (!onDelta) {
      const body: unknown = await sdk.chat.completions.create(
        { ...params, stream: false },
        options,
      );
      const result = fromCompletion(body, req.model);
      if (result) return { result };
      return failed(new LlmError('llm_bad_response', notACompletion(ctx, body)));
    }

    idle.arm();
    const response = await sdk.chat.completions
      .create({ ...params, stream: true, stream_options: { include_usage: true } }, options)
      .asResponse();
    const stream = Stream.fromSSEResponse<ChatCompletionChunk>(
      onEveryByte(response, () => idle.arm()),
      controller,
    );
    for await (const chunk of stream) {
      const delta = acc.add(chunk);
      if (delta === undefined) continue;
      try {
        onDelta(delta);
      } catch (err) {
        throw new CallerFault(err);
      }
    }
    // The package's stream ends quietly when aborted, so an abort shows only here.
    if (controller.signal.aborted) return failed(undefined);
    if (acc.chunks === 0) {
      return failed(new LlmError('llm_bad_response', notACompletion(ctx, 'no events')));
    }
    if (acc.finishReason === null) {
      const message = `Model endpoint ${ctx.endpoint} ended the reply without finishing it (no finish reason) after ${acc.text.length} characters: try again.`;
      return failed(new LlmError('llm_bad_response', message));
    }
    return { result: acc.result(req.model) };
  } catch (err) {
    return failed(err);
  } finally {
    idle.clear();
    scope.signal.removeEventListener('abort', stop);
  }
}

interface AttemptState {
  scope: CallScope;
  idle: IdleTimer;
  acc: StreamAccumulator;
  ctx: ErrorContext;
  s: CallSettings;
  attempt: number;
  streaming: boolean;
}

/** Turns whatever ended an attempt into a Failure. `err` is undefined for a quiet abort. */
function classify(err: unknown, st: AttemptState): Failure {
  const { ctx, acc } = st;
  const final = (error: unknown): Failure => ({ kind: 'final', error });
  if (err instanceof CallerFault) return final(err.error);
  // Our own stops first: once one fired, any error after it is its consequence.
  if (st.scope.reason) return final(stoppedError(st.scope.reason, ctx, st.s, acc.text));
  if (st.idle.fired) {
    const message = `Model endpoint ${ctx.endpoint} sent nothing for ${duration(st.s.idleTimeoutMs)} ${acc.hasContent ? 'in the middle of a reply' : 'after the request'}: the server may be overloaded or stuck; try again.`;
    return final(withPartial('llm_stream_idle', message, acc.text));
  }
  if (err instanceof LlmError)
    return final(withPartial(err.code, err.message, acc.text, err.status));
  if (err instanceof APIUserAbortError) return final(stoppedError('aborted', ctx, st.s, acc.text));
  if (err instanceof APIConnectionTimeoutError)
    return final(stoppedError('timeout', ctx, st.s, acc.text));
  if (err instanceof APIConnectionError) {
    // Raised only before a response arrived, so nothing has reached the caller.
    return isPermanentNetworkFailure(err)
      ? final(networkError(ctx, err, st.attempt))
      : { kind: 'retry', cause: err };
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const serverText = cleanServerText(serverMessage(err), ctx);
    if (isRetryableStatus(err.status) && !acc.hasContent) {
      const wait = retryAfterMs(err.headers);
      return {
        kind: 'retry',
        status: err.status,
        serverText,
        ...(wait === undefined ? {} : { retryAfterMs: wait }),
      };
    }
    return final(httpError(ctx, err.status, serverText));
  }
  if (err instanceof APIError) {
    // An `error` event inside a 200 stream (OpenRouter reports upstream failures so).
    const text = cleanServerText(serverMessage(err), ctx) ?? 'no details';
    const message = `Model endpoint ${ctx.endpoint} reported an error in the middle of the reply ("${text}"): try again or choose another model.`;
    return final(withPartial('llm_bad_response', message, acc.text));
  }
  if (err instanceof SyntaxError) {
    const message = `Model endpoint ${ctx.endpoint} sent a reply that is not valid JSON: is the base URL an OpenAI-compatible API (usually ending in /v1)?`;
    return final(withPartial('llm_bad_response', message, acc.text));
  }
  // Anything else is the body breaking off after the headers (undici's "terminated").
  const received = st.streaming
    ? `after ${acc.text.length} characters`
    : 'before the reply was complete';
  const message = `The connection to model endpoint ${ctx.endpoint} broke off ${received}: try again.`;
  return final(withPartial('llm_network', message, acc.text));
}

export function stoppedError(
  reason: StopReason,
  ctx: ErrorContext,
  s: CallSettings,
  partial: string,
): LlmError {
  switch (reason) {
    case 'aborted':
      return withPartial(
        'llm_aborted',
        `The call to model endpoint ${ctx.endpoint} was cancelled.`,
        partial,
      );
    case 'closed':
      return withPartial(
        'llm_aborted',
        `The model client for ${ctx.endpoint} was closed during the call.`,
        partial,
      );
    case 'timeout':
      return withPartial(
        'llm_timeout',
        `Model endpoint ${ctx.endpoint} did not finish within ${duration(s.totalTimeoutMs)}: the model may be overloaded or the reply too long; try again, choose a faster model, or raise the total timeout.`,
        partial,
      );
    default: {
      const never: never = reason;
      throw new Error(`unknown stop reason ${String(never)}`);
    }
  }
}

/** The server's own words from an error response, if it gave any. */
function serverMessage(err: APIError): string | undefined {
  const body: unknown = err.error;
  if (typeof body === 'string') return body;
  if (
    typeof body === 'object' &&
    body !== null &&
    'message' in body &&
    typeof body.message === 'string'
  ) {
    return body.message;
  }
  // A non-JSON body (an HTML error page from a proxy) ends up in the package's message.
  const text = err.message.replace(/^\d{3}\s+/, '');
  return body === undefined && !text.includes('(no body)') ? text : undefined;
}

function notACompletion(ctx: ErrorContext, body: unknown): string {
  const got =
    body === 'no events'
      ? 'a stream without a single chat-completion event'
      : typeof body === 'string'
        ? 'text that is not JSON'
        : 'JSON that is not a chat completion';
  return `Model endpoint ${ctx.endpoint} answered with ${got}: check that the base URL points at an OpenAI-compatible API (usually ending in /v1).`;
}

/** Passes the body through untouched, calling `onBytes` whenever bytes arrive. */
function onEveryByte(response: Response, onBytes: () => void): Response {
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
}

/** Fires once no `arm()` has come for `ms`; counts SSE keep-alive comments as life. */
class IdleTimer {
  fired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {}

  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.onIdle();
    }, this.ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

function duration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
