import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import {
  ChatBodySchema,
  LmBridgeError,
  toLmRequest,
  toWireCall,
  type ChatBody,
  type LmChatRequest,
  type LmPart,
  type LmToolCall,
} from './lm-wire.js';

export {
  LmBridgeError,
  type LmChatRequest,
  type LmMessage,
  type LmPart,
  type LmTool,
  type LmToolCall,
} from './lm-wire.js';

/**
 * An OpenAI-wire endpoint in the extension host in front of the editor's own language
 * models (`vscode.lm`), so the runtime, which speaks only the OpenAI chat-completions
 * format, can use them: `GET /v1/models` and `POST /v1/chat/completions`, streamed (SSE) or
 * not. This file is the HTTP layer only and does not import `vscode`; lm-models.ts is the
 * backend that talks to `vscode.lm`.
 *
 * Only the runtime this window started may use it: it listens on 127.0.0.1 only, on a
 * random port, answers only requests whose Host is that address, and wants a random
 * bearer token (compared in constant time) on every request. A request from a browser
 * (one with an Origin header) is refused, so no web page can drive the editor's models.
 */

/** A model as `/v1/models` lists it; `id` is "vendor/id", what the runtime sends as `model`. */
export interface LmModelInfo {
  id: string;
  name: string;
  maxInputTokens?: number;
}

export interface LmReply {
  parts: AsyncIterable<LmPart>;
  /** Token counts once the reply is complete, when the model can count them. */
  usage?(
    completion: string,
  ): Promise<{ promptTokens: number; completionTokens: number } | undefined>;
}

/** What the bridge needs from the editor: its models, and a chat with one of them. */
export interface LmBackend {
  models(signal: AbortSignal): Promise<LmModelInfo[]>;
  /** Rejects (or its parts throw) with an LmBridgeError for a failure with a known status. */
  chat(request: LmChatRequest, signal: AbortSignal): Promise<LmReply>;
}

export interface LmBridge {
  /** The base URL the runtime gets, ending in `/v1`. */
  readonly baseUrl: string;
  /** The bearer token every request needs. */
  readonly token: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Starts the bridge on 127.0.0.1 at a random port. */
export async function startLmBridge(backend: LmBackend): Promise<LmBridge> {
  const token = randomBytes(32).toString('base64url');
  const tokenDigest = digest(`Bearer ${token}`);
  let host = '';
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, statusOf(err), codeOf(err), messageOf(err));
      else res.destroy();
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.host !== host) {
      return sendError(
        res,
        421,
        'bad_host',
        'This endpoint answers only requests to its own address.',
      );
    }
    if (req.headers.origin !== undefined) {
      return sendError(res, 403, 'browser_refused', 'Browsers may not use this endpoint.');
    }
    if (!timingSafeEqual(digest(req.headers.authorization ?? ''), tokenDigest)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendError(res, 401, 'invalid_token', 'A valid bearer token is required.');
    }
    const path = new URL(req.url ?? '/', 'http://bridge').pathname;
    const aborted = abortOnClose(res);
    if (path === '/v1/models' && req.method === 'GET') {
      const models = await backend.models(aborted);
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.name })),
      });
    }
    if (path === '/v1/chat/completions' && req.method === 'POST') {
      const body = ChatBodySchema.safeParse(await readJson(req));
      if (!body.success) {
        return sendError(
          res,
          400,
          'invalid_request',
          `Not a chat request: ${z.prettifyError(body.error)}`,
        );
      }
      return chat(res, backend, body.data, aborted);
    }
    return sendError(res, 404, 'not_found', `No ${req.method ?? ''} ${path} here.`);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  return {
    baseUrl: `http://${host}/v1`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function chat(res: ServerResponse, backend: LmBackend, body: ChatBody, signal: AbortSignal) {
  const request = toLmRequest(body);
  const reply = await backend.chat(request, signal);
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const base = { id, created, model: body.model };
  let text = '';
  const calls: LmToolCall[] = [];
  const wantUsage = !body.stream || body.stream_options?.include_usage === true;
  const usage = async () => {
    const counted = wantUsage ? await reply.usage?.(text).catch(() => undefined) : undefined;
    return (
      counted && {
        prompt_tokens: counted.promptTokens,
        completion_tokens: counted.completionTokens,
        total_tokens: counted.promptTokens + counted.completionTokens,
      }
    );
  };

  if (!body.stream) {
    for await (const part of reply.parts) {
      if (part.type === 'text') text += part.text;
      else calls.push(part);
    }
    const counted = await usage();
    return sendJson(res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text || (calls.length ? null : ''),
            ...(calls.length && { tool_calls: calls.map(toWireCall) }),
          },
          finish_reason: calls.length ? 'tool_calls' : 'stop',
        },
      ],
      ...(counted && { usage: counted }),
    });
  }

  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  const event = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    event({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  chunk({ role: 'assistant', content: '' });
  try {
    for await (const part of reply.parts) {
      if (signal.aborted) return;
      if (part.type === 'text') {
        text += part.text;
        if (part.text) chunk({ content: part.text });
      } else {
        chunk({ tool_calls: [{ index: calls.length, ...toWireCall(part) }] });
        calls.push(part);
      }
    }
  } catch (err) {
    // Headers are out: the error goes in the stream, as OpenAI-compatible servers do.
    if (!signal.aborted)
      event({ error: { message: messageOf(err), type: codeOf(err), code: codeOf(err) } });
    return res.end();
  }
  chunk({}, calls.length ? 'tool_calls' : 'stop');
  const counted = await usage();
  if (counted) event({ ...base, object: 'chat.completion.chunk', choices: [], usage: counted });
  res.end('data: [DONE]\n\n');
}

/** Aborted when the client goes away before the answer is complete. */
function abortOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new LmBridgeError(413, 'too_large', 'The request body is too large.');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new LmBridgeError(400, 'invalid_json', 'The request body is not JSON.');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { message, type: code, code } });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** By name, not instanceof: the backend may come from another bundle. */
function isBridgeError(err: unknown): err is LmBridgeError {
  return (err as { name?: unknown } | null)?.name === 'LmBridgeError';
}

function statusOf(err: unknown): number {
  return isBridgeError(err) ? err.status : 500;
}

function codeOf(err: unknown): string {
  return isBridgeError(err) ? err.code : 'internal_error';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
