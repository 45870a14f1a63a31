import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * How failures leave the MCP surface. A failure the caller can act on (unknown session,
 * bad process id, empty message) becomes an `isError` tool result saying what to do; a
 * protocol fault is an McpError with its JSON-RPC code; anything else is our bug and goes
 * out as -32603, never dressed up as "invalid params".
 */

/** Codes of runtime and process errors that are the caller's to fix, with what to do. */
const HINTS: Record<string, string> = {
  session_not_found:
    'Call `sessions` with action "list" to see your sessions, or call `send` without `session` to start one.',
  process_not_found: 'Call `process-list` to see the processes of your sessions.',
  process_not_pending:
    'Only a process in pending-approval can be approved or denied; `process-list` shows its status.',
  approval_mismatch:
    'Pass codeSha256: the hex SHA-256 of the exact code shown to the human (`process-list` has the code).',
  invalid_input: 'Fix the input and call again.',
  session_exists: 'Choose another id, or leave `id` out to get a generated one.',
  invalid_session_id: 'Use 1-64 letters, digits, _ or -, or leave `id` out.',
  runtime_closed: 'Cog is shutting down: reconnect and try again.',
  session_busy:
    'Wait for the running turn (state shows busy), cancel it, or send with if_busy "queue" or "interrupt".',
  session_moved:
    'Another Cog instance serves this session now: call `trace` to see how its turn ended, then `send` again.',
  rate_limited:
    'Each principal has a share of Cog: wait for one of your turns to end (state shows busy), or cancel one.',
  store_disk_full:
    'Free some space on the disk that holds COG_HOME, then send again; reading sessions still works.',
  store_write_failed: 'Check the disk that holds COG_HOME, then send again.',
};

/** A tool failure with a message written for the caller. */
export class ToolFailure extends Error {
  override readonly name = 'ToolFailure';
  readonly code = 'tool_failure';
}

function codeOf(err: unknown): string | undefined {
  const code =
    typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The text of an `isError` result for `err`, or undefined when `err` is not the caller's. */
export function toolFailureText(err: unknown): string | undefined {
  const code = codeOf(err);
  if (code === undefined) return undefined;
  const message = (err as Error).message;
  if (code === 'tool_failure') return message;
  const hint = HINTS[code];
  return hint === undefined ? undefined : `${message} ${hint}`;
}

/**
 * An internal failure as a JSON-RPC error. The details (which may hold paths) go to
 * stderr, never to the client; stdout belongs to the protocol in stdio mode.
 */
export function internalError(what: string, err: unknown): McpError {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`cog: ${what} failed: ${detail}\n`);
  return new McpError(
    ErrorCode.InternalError,
    `${what} failed with an internal error; the details are in Cog's log.`,
  );
}

/** JSON-RPC code for "resource not found" (MCP spec, resources). */
export const RESOURCE_NOT_FOUND = -32002;
