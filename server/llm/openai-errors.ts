import { STATUS_CODES } from 'node:http';
import { LlmError, type LlmErrorCode } from './types.js';

/**
 * User-facing errors for an OpenAI-compatible endpoint. Each message says what happened
 * and what to do; none carries a stack, and every piece of server text passes through
 * `redact` so the API key never reaches a log or the chat.
 */

/** An LlmError raised after part of a reply had arrived. */
export class LlmPartialError extends LlmError {
  constructor(
    code: LlmErrorCode,
    message: string,
    /** The text the caller had already received through `onDelta`. */
    readonly partialText: string,
    status?: number,
  ) {
    super(code, message, status);
  }
}

/** The partial reply carried by an error, if any. Reads the property, not the class. */
export function partialTextOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('partialText' in err)) return undefined;
  return typeof err.partialText === 'string' ? err.partialText : undefined;
}

/** What an error message needs to know about the endpoint and the call. */
export interface ErrorContext {
  /** The base URL without credentials or query. */
  endpoint: string;
  /** The setting that holds the key, named in 401/403 hints. */
  apiKeyName: string;
  model: string;
  /** Strings that must never appear in a message. */
  secrets: readonly string[];
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

/** Server text made fit for one line of a message: no markup, trimmed, redacted. */
export function cleanServerText(text: string | undefined, ctx: ErrorContext): string | undefined {
  if (!text) return undefined;
  const flat = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!flat) return undefined;
  const short = flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
  return redact(short, ctx.secrets);
}

function statusText(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'HTTP error'}`;
}

function detail(serverText: string | undefined, status: number): string {
  if (!serverText || serverText === STATUS_CODES[status]) return '';
  return ` ("${serverText}")`;
}

function attempts(n: number): string {
  return n === 1 ? '1 attempt' : `${n} attempts`;
}

/** A 4xx other than 429: the request itself is wrong, so trying again would not help. */
export function httpError(ctx: ErrorContext, status: number, serverText?: string): LlmError {
  const what = `Model endpoint ${ctx.endpoint} answered ${statusText(status)}${detail(serverText, status)}`;
  let hint: string;
  switch (status) {
    case 401:
      hint = `check ${ctx.apiKeyName}`;
      break;
    case 403:
      hint = `the key may not have access to model "${ctx.model}"; check ${ctx.apiKeyName} and the account's permissions`;
      break;
    case 404:
      hint = `check the base URL (it usually ends in /v1) and the model name "${ctx.model}"`;
      break;
    case 413:
      hint = 'the request is too large; shorten the conversation or lower the context budget';
      break;
    default:
      hint = `check the model name "${ctx.model}" and that it supports the options used (tools, JSON mode)`;
  }
  return new LlmError('llm_http', `${what}: ${hint}.`, status);
}

/** 429 or 5xx on the last attempt. */
export function exhaustedError(
  ctx: ErrorContext,
  status: number,
  tries: number,
  serverText?: string,
): LlmError {
  const seen = `${statusText(status)}${detail(serverText, status)}`;
  const message =
    status === 429
      ? `Model endpoint ${ctx.endpoint} is rate-limiting requests (${seen}) and still was after ${attempts(tries)}: wait a minute, or check the account's rate limits.`
      : `Model endpoint ${ctx.endpoint} failed with ${seen} on ${attempts(tries)}: the server or model is having trouble; try again later or choose another model.`;
  return new LlmError('llm_retries_exhausted', message, status);
}

/** The server asked to wait longer than the call has left. */
export function retryTooLateError(
  ctx: ErrorContext,
  status: number,
  waitMs: number,
  tries: number,
): LlmError {
  const seconds = Math.ceil(waitMs / 1000);
  return new LlmError(
    'llm_retries_exhausted',
    `Model endpoint ${ctx.endpoint} answered ${statusText(status)} and asked to wait ${seconds} s, longer than this call has left (after ${attempts(tries)}): try again later.`,
    status,
  );
}

/** An error's `cause` chain, outermost first (undici nests the real reason two deep). */
function causes(err: unknown): object[] {
  const chain: object[] = [];
  let current: unknown = err;
  while (chain.length < 6 && typeof current === 'object' && current !== null) {
    chain.push(current);
    current = 'cause' in current ? current.cause : undefined;
  }
  return chain;
}

/** The first string `code` along the cause chain (`ECONNREFUSED`, `UND_ERR_SOCKET`). */
export function causeCode(err: unknown): string | undefined {
  for (const e of causes(err)) if ('code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

/** The innermost message along the cause chain ("bad port", "other side closed"). */
function rootMessage(err: unknown): string | undefined {
  const root = causes(err).at(-1);
  return root && 'message' in root && typeof root.message === 'string' ? root.message : undefined;
}

/** Connection failures worth no retry: nothing to reach, and waiting will not change that. */
export function isPermanentNetworkFailure(err: unknown): boolean {
  const code = causeCode(err);
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND';
}

/** The connection failed before a response arrived. */
export function networkError(ctx: ErrorContext, err: unknown, tries: number): LlmError {
  const code = causeCode(err);
  let what: string;
  let hint = 'check the network and try again';
  switch (code) {
    case 'ECONNREFUSED':
      what = 'nothing is listening there (connection refused)';
      hint = 'start the model server, or fix the base URL';
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      what = 'its host name does not resolve';
      hint = 'check the base URL';
      break;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      what = 'the connection was reset';
      break;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      what = 'connecting timed out';
      break;
    default:
      if (code?.includes('CERT')) what = `its TLS certificate was refused (${code})`;
      else
        what = `the connection failed (${cleanServerText(code ?? rootMessage(err), ctx) ?? 'no details'})`;
  }
  return new LlmError(
    'llm_network',
    `Could not reach model endpoint ${ctx.endpoint}: ${what}, after ${attempts(tries)}. ${capitalize(hint)}.`,
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Attaches the partial reply when there is one, so the caller can keep what it showed. */
export function withPartial(
  code: LlmErrorCode,
  message: string,
  partialText: string,
  status?: number,
): LlmError {
  return partialText
    ? new LlmPartialError(code, message, partialText, status)
    : new LlmError(code, message, status);
}
