import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CfWorkerJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/cfworker';
import {
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { parseEvent, type RuntimeEvent } from '../protocol/events.js';
import { HUD_LOGGER } from '../protocol/mcp.js';
import type { Logger } from './emitter.js';

/** A tool answered with `isError`: the message is the runtime's, meant for the user. */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  readonly code = 'tool_error';
  constructor(
    readonly tool: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Per-request timeout; with `onProgress` each progress notification restarts it. */
  timeoutMs?: number;
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
}

/** A question the runtime puts to the user (Cog asks this to approve a code run). */
export interface Elicitation {
  message: string;
  /** The form's fields: name → JSON schema of a primitive. */
  fields: Record<string, { type?: string; title?: string }>;
}
export type ElicitationAnswer =
  | { action: 'accept'; content: Record<string, string | number | boolean> }
  | { action: 'decline' | 'cancel' };

export interface CogClientOptions {
  url: URL;
  /**
   * The bearer token, read before every request (so a refreshed token is used at once).
   * Absent for the browser page `cog serve` serves, whose session cookie goes along instead.
   */
  bearer?: () => string | Promise<string>;
  /** Who the server sees connecting (its `channel`). Default: Cog for VS Code. */
  clientInfo?: { name: string; title: string };
  clientVersion: string;
  log: Logger;
  /** Every runtime event the server sends (all sessions of this principal). */
  onEvent(event: RuntimeEvent): void;
  /** `notifications/resources/updated` for a subscribed URI. */
  onResourceUpdated(uri: string): void;
  /**
   * Answers the runtime's form questions. Without it the client does not offer
   * elicitation, and runs waiting for approval wait for `process-approve`.
   */
  onElicit?(question: Elicitation, signal: AbortSignal): Promise<ElicitationAnswer>;
  /** The transport closed without `close()` being called. */
  onClosed(): void;
}

/** An MCP session with a Cog runtime: typed tool calls over the SDK's Client. */
export interface CogClient {
  call<S extends z.ZodType>(
    tool: string,
    args: Record<string, unknown>,
    schema: S,
    opts?: CallOptions,
  ): Promise<z.output<S>>;
  subscribe(uri: string): Promise<void>;
  unsubscribe(uri: string): Promise<void>;
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * Connects with the bearer token, asks for every logging level (HUD events are sent at
 * `debug`), and routes `cog.hud` notifications to `onEvent`. Nothing else listens on a
 * private channel: these are standard MCP notifications any client can read.
 */
export async function connectCog(opts: CogClientOptions): Promise<CogClient> {
  const { log } = opts;
  const bearer = opts.bearer;
  const transport = new StreamableHTTPClientTransport(opts.url, {
    ...(bearer ? { fetch: withBearer(bearer) } : {}),
    // The connection supervisor restarts the whole session; the SDK's own SSE retries only
    // need to ride out a short blip.
    reconnectionOptions: {
      initialReconnectionDelay: 500,
      maxReconnectionDelay: 2000,
      reconnectionDelayGrowFactor: 2,
      maxRetries: 2,
    },
  });
  const info = opts.clientInfo ?? { name: 'cog-vscode', title: 'Cog for VS Code' };
  const client = new Client(
    { ...info, version: opts.clientVersion },
    {
      capabilities: opts.onElicit ? { elicitation: { form: {} } } : {},
      // Tool results are checked against their output schemas without compiling code
      // (Ajv's default does, which the browser page's CSP, rightly, forbids).
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
    },
  );
  let closing = false;
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    if (n.params.logger !== HUD_LOGGER) {
      log.debug(`[mcp ${n.params.level}] ${JSON.stringify(n.params.data).slice(0, 500)}`);
      return;
    }
    const event = parseEvent(n.params.data);
    if (event) opts.onEvent(event);
    else log.warn('skipped a runtime event this extension does not know (is the server newer?)');
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) =>
    opts.onResourceUpdated(n.params.uri),
  );
  const onElicit = opts.onElicit;
  if (onElicit) {
    client.setRequestHandler(ElicitRequestSchema, async (req, extra) => {
      const params = req.params;
      if (params.mode === 'url' || !('requestedSchema' in params)) return { action: 'decline' };
      return onElicit(
        { message: params.message, fields: params.requestedSchema.properties },
        extra.signal,
      );
    });
  }
  client.onerror = (err) => log.debug(`[mcp] ${err.message}`);
  client.onclose = () => {
    if (!closing) opts.onClosed();
  };

  await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
  await client.setLoggingLevel('debug', { timeout: CONNECT_TIMEOUT_MS });

  return {
    async call(tool, args, schema, callOpts = {}) {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, {
        signal: callOpts.signal,
        timeout: callOpts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
        ...(callOpts.onProgress
          ? { onprogress: callOpts.onProgress, resetTimeoutOnProgress: true }
          : {}),
      });
      // A failed turn is an error result that still carries the turn: that is an answer
      // (the trace shows the error). Without structured content it is a plain failure.
      if (result.isError && result.structuredContent === undefined) {
        throw new ToolError(tool, toolErrorText(result.content));
      }
      const parsed = schema.safeParse(result.structuredContent);
      if (!parsed.success && result.isError) {
        throw new ToolError(tool, toolErrorText(result.content));
      }
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(
          `The runtime's answer to ${tool} was not understood (${issue?.path.join('.')}: ${issue?.message}). Is the extension older than the server?`,
        );
      }
      return parsed.data;
    },
    async subscribe(uri) {
      await client.subscribeResource({ uri }, { timeout: DEFAULT_CALL_TIMEOUT_MS });
    },
    async unsubscribe(uri) {
      await client.unsubscribeResource({ uri }, { timeout: DEFAULT_CALL_TIMEOUT_MS });
    },
    async ping(timeoutMs = 5000) {
      await client.ping({ timeout: timeoutMs });
    },
    async close() {
      if (closing) return;
      closing = true;
      // Ends the server-side session too; a dead server must not hold up the shutdown.
      await Promise.race([
        transport.terminateSession().catch(() => undefined),
        new Promise((r) => setTimeout(r, 1000)),
      ]);
      await client.close().catch(() => undefined);
    },
  };
}

/** `fetch` with `Authorization: Bearer <token>`, the token read for each request. */
function withBearer(bearer: () => string | Promise<string>): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${await bearer()}`);
    return fetch(input, { ...init, headers });
  };
}

function toolErrorText(content: unknown): string {
  if (Array.isArray(content)) {
    const text = content
      .map((c: { type?: string; text?: string }) => (c.type === 'text' ? c.text : ''))
      .filter(Boolean)
      .join('\n');
    if (text) return text;
  }
  return 'The runtime reported an error.';
}

/**
 * The words of a failed connection: the server's JSON-RPC error message when the SDK
 * wrapped one ("Error POSTing to endpoint: {…}"), else the error's own message.
 */
export function connectErrorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const json = message.indexOf('{');
  if (json >= 0) {
    try {
      const parsed = JSON.parse(message.slice(json)) as { error?: { message?: unknown } };
      if (typeof parsed.error?.message === 'string') return parsed.error.message;
    } catch {
      // not JSON after all: keep the whole message
    }
  }
  return message;
}
