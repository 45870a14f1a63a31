import { STATUS_CODES } from 'node:http';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { retryAfterMs, type GiveUp, type Verdict } from './retry.js';
import { LlmError, type LlmErrorCode } from './types.js';

/**
 * What went wrong with a call to an OpenAI-compatible endpoint, as an LlmError whose
 * message says what happened and what to do. No message carries a stack, and all server
 * text passes through `redact`, so the API key never reaches a log or the chat.
 */

/** Which of our own limits ended a call. */
export type StopReason = 'aborted' | 'closed' | 'timeout' | 'idle';

/** What a message needs to know about the endpoint and how the call ended. */
export interface ErrorContext {
  /** The base URL without credentials or query. */
  endpoint: string;
  /** The setting that holds the key, named in 401/403 hints. */
  apiKeyName: string;
  model: string;
  /** Strings that must never appear in a message. */
  secrets: readonly string[];
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  stop: StopReason | undefined;
  streaming: boolean;
  /** The text already passed to `onDelta`. */
  partialText: string;
  /** True once text or a tool call had arrived. */
  started: boolean;
}

/** A reply that arrived whole but is not a chat completion; `got` says what it was. */
export class NotACompletion {
  constructor(readonly got: string) {}
}

/** A failure worth another attempt: rate limits, server faults, and connections that broke. */
export function judge(err: unknown): Verdict {
  if (err instanceof APIError && err.status !== undefined) {
    return {
      retry: err.status === 429 || err.status >= 500,
      retryAfterMs: retryAfterMs(err.headers),
    };
  }
  // Raised only before a response arrived, so nothing has reached the caller yet.
  const unreachable = /^(ECONNREFUSED|ENOTFOUND)$/.test(causeCode(err) ?? '');
  return { retry: err instanceof APIConnectionError && !timedOut(err) && !unreachable };
}

/** The error a call ends with, from its last failure. */
export function toLlmError(end: GiveUp, c: ErrorContext): LlmError {
  const [code, message, status] = describe(end, c);
  return new LlmError(code, message, status, c.partialText || undefined);
}

function describe(
  { error: err, attempts, refusedWaitMs }: GiveUp,
  c: ErrorContext,
): [LlmErrorCode, string, number?] {
  const ep = `endpoint ${c.endpoint}`;
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  // Our own stops first: once one fired, any error after it is its consequence.
  if (c.stop === 'aborted') return ['llm_aborted', `The call to model ${ep} was cancelled.`];
  if (c.stop === 'closed') {
    return ['llm_aborted', `The model client for ${c.endpoint} was closed during the call.`];
  }
  if (c.stop === 'idle') {
    const when = c.started ? 'in the middle of a reply' : 'after the request';
    return [
      'llm_stream_idle',
      `Model ${ep} sent nothing for ${duration(c.idleTimeoutMs)} ${when}: the server may be overloaded or stuck; try again.`,
    ];
  }
  if (c.stop === 'timeout' || timedOut(err)) {
    return [
      'llm_timeout',
      `Model ${ep} did not finish within ${duration(c.totalTimeoutMs)}: the model may be overloaded or the reply too long; try again, choose a faster model, or raise the total timeout.`,
    ];
  }
  if (err instanceof NotACompletion || err instanceof SyntaxError) {
    const got = err instanceof NotACompletion ? err.got : 'a reply that is not valid JSON';
    return [
      'llm_bad_response',
      `Model ${ep} answered with ${got}: check that the base URL points at an OpenAI-compatible API (usually ending in /v1).`,
    ];
  }
  if (err instanceof LlmError) return [err.code, err.message, err.status];
  if (err instanceof APIConnectionError) {
    const code = causeCode(err);
    if (code === 'ECONNREFUSED') {
      return [
        'llm_network',
        `Could not reach model ${ep}: nothing is listening there (connection refused), after ${tries}. Start the model server, or fix the base URL.`,
      ];
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return [
        'llm_network',
        `Could not reach model ${ep}: its host name does not resolve, after ${tries}. Check the base URL.`,
      ];
    }
    // undici's innermost words say it best: "other side closed", "self-signed certificate".
    const why = clean(causes(err).at(-1)?.message ?? code, c) ?? 'no details';
    return [
      'llm_network',
      `Could not reach model ${ep}: the connection failed (${why}), after ${tries}. Check the network and try again.`,
    ];
  }
  if (err instanceof APIError && err.status !== undefined) {
    const { status } = err;
    const text = serverText(err, c);
    const seen = `${status} ${STATUS_CODES[status] ?? 'HTTP error'}${text && text !== STATUS_CODES[status] ? ` ("${text}")` : ''}`;
    if (refusedWaitMs !== undefined) {
      return [
        'llm_retries_exhausted',
        `Model ${ep} answered ${seen} and asked to wait ${Math.ceil(refusedWaitMs / 1000)} s, more than this call can wait (after ${tries}): try again later.`,
        status,
      ];
    }
    if (status === 429) {
      return [
        'llm_retries_exhausted',
        `Model ${ep} is rate-limiting requests (${seen}) and still was after ${tries}: wait a minute, or check the account's rate limits.`,
        status,
      ];
    }
    if (status >= 500) {
      return [
        'llm_retries_exhausted',
        `Model ${ep} failed with ${seen} on ${tries}: the server or model is having trouble; try again later or choose another model.`,
        status,
      ];
    }
    const hints: Record<number, string> = {
      401: `check ${c.apiKeyName}`,
      403: `the key may not have access to model "${c.model}"; check ${c.apiKeyName} and the account's permissions`,
      404: `check the base URL (it usually ends in /v1) and the model name "${c.model}"`,
      413: 'the request is too large; shorten the conversation or lower the context budget',
    };
    const hint =
      hints[status] ??
      `check the model name "${c.model}" and that it supports the options used (tools, JSON mode)`;
    return ['llm_http', `Model ${ep} answered ${seen}: ${hint}.`, status];
  }
  if (err instanceof APIError) {
    // An `error` event inside a 200 stream (OpenRouter reports upstream failures so).
    return [
      'llm_bad_response',
      `Model ${ep} reported an error in the middle of the reply ("${serverText(err, c) ?? 'no details'}"): try again or choose another model.`,
    ];
  }
  // Anything else is the body breaking off after the headers (undici's "terminated").
  const received = c.streaming
    ? `after ${c.partialText.length} characters`
    : 'before the reply was complete';
  return ['llm_network', `The connection to model ${ep} broke off ${received}: try again.`];
}

function timedOut(err: unknown): boolean {
  return err instanceof APIConnectionTimeoutError;
}

/** An error's `cause` chain, outermost first (undici nests the real reason two deep). */
function causes(err: unknown): { code?: unknown; message?: unknown }[] {
  const chain: { code?: unknown; message?: unknown; cause?: unknown }[] = [];
  for (let e = err; typeof e === 'object' && e !== null && chain.length < 6;) {
    chain.push(e);
    e = 'cause' in e ? e.cause : undefined;
  }
  return chain;
}

/** The first string `code` along the cause chain (`ECONNREFUSED`, `UND_ERR_SOCKET`). */
function causeCode(err: unknown): string | undefined {
  const code = causes(err).find((e) => typeof e.code === 'string')?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The server's own words, which the package puts in its message after the status. */
function serverText(err: APIError, c: ErrorContext): string | undefined {
  const text = typeof err.error === 'string' ? err.error : err.message.replace(/^\d{3}\s+/, '');
  return /^(status code )?\(no (status code or )?body\)$/.test(text) ? undefined : clean(text, c);
}

/** Server text made fit for one line of a message: no markup, trimmed, redacted. */
function clean(text: unknown, c: ErrorContext): string | undefined {
  if (typeof text !== 'string') return undefined;
  const flat = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!flat) return undefined;
  return redact(flat.length > 200 ? `${flat.slice(0, 197)}...` : flat, c.secrets);
}

/** The base URL as safe to show: no user info, query or fragment. */
export function endpointLabel(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '(invalid base URL)';
  }
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

function duration(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
