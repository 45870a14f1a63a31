import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC 2.0 error codes the transport answers with itself. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

/**
 * An error reply written by the transport itself. `id` is `null` when none could be read
 * (JSON-RPC 2.0 §5), which the SDK's own message types cannot express.
 */
export interface TransportErrorReply {
  jsonrpc: '2.0';
  id: string | number | null;
  error: { code: number; message: string };
}

/** What one line of input turned out to be. */
export type Classified =
  | { kind: 'empty' }
  | { kind: 'message'; message: JSONRPCMessage }
  | { kind: 'error'; reply: TransportErrorReply };

/** The unit a transport carries one message in, named when a batch is refused. */
export type Framing = 'line' | 'POST';

export function errorReply(
  id: string | number | null,
  code: number,
  message: string,
): TransportErrorReply {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

const MAX_REASON = 160;

/** Classifies one line of input (without its newline). Never throws. */
export function classifyLine(line: string): Classified {
  if (/^\s*$/.test(line)) return { kind: 'empty' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    // V8's messages quote a snippet of the input; keep the reply short whatever it is.
    const reason = err instanceof Error ? err.message : 'not JSON';
    const short = reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
    return { kind: 'error', reply: errorReply(null, PARSE_ERROR, `Parse error: ${short}`) };
  }
  return classifyValue(value, 'line');
}

/**
 * Classifies one parsed JSON value as a JSON-RPC message, or the error reply it earns.
 * An array is a JSON-RPC batch, which Cog refuses in every protocol version: refused
 * whole, with no member looked at, so none of them runs.
 */
export function classifyValue(
  value: unknown,
  framing: Framing,
): Exclude<Classified, { kind: 'empty' }> {
  if (Array.isArray(value)) {
    const why = `Invalid Request: JSON-RPC batches are not supported; send one message per ${framing}`;
    return { kind: 'error', reply: errorReply(null, INVALID_REQUEST, why) };
  }
  let parsed: ReturnType<typeof JSONRPCMessageSchema.safeParse>;
  try {
    parsed = JSONRPCMessageSchema.safeParse(value);
  } catch {
    // Pathological input (e.g. nesting deep enough to exhaust the stack) is still invalid.
    parsed = { success: false } as typeof parsed;
  }
  if (parsed.success) return { kind: 'message', message: parsed.data };
  return {
    kind: 'error',
    reply: errorReply(replyId(value), INVALID_REQUEST, `Invalid Request: ${describe(value)}`),
  };
}

/**
 * The id to answer an invalid message with. Only something that reads as a request gets
 * its id back: echoing the id of a malformed *response* would land on the client's own
 * pending request with that number, so those get `null`.
 */
function replyId(value: unknown): string | number | null {
  if (!isObject(value) || !('method' in value)) return null;
  const id = value.id;
  if (typeof id === 'string' && id.length <= 256) return id;
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  return null;
}

function describe(value: unknown): string {
  if (!isObject(value)) return `expected a JSON-RPC message object, got ${kindOf(value)}`;
  if (value.jsonrpc !== '2.0') return '"jsonrpc" must be "2.0"';
  if ('method' in value) {
    if (typeof value.method !== 'string') return '"method" must be a string';
    if ('id' in value && !isValidId(value.id)) return '"id" must be a string or an integer';
    if ('params' in value && !isObject(value.params)) return '"params" must be an object';
    return 'not a valid request or notification (unexpected or malformed members)';
  }
  if ('result' in value || 'error' in value) return 'not a valid response';
  return 'a message needs "method" (request, notification) or "result"/"error" (response)';
}

function isValidId(id: unknown): boolean {
  return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return `a ${typeof value}`;
}
