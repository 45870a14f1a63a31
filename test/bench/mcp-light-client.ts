/**
 * A minimal MCP client over Streamable HTTP for load generation: JSON-RPC POSTs on one
 * keep-alive socket, the reply read from the JSON or SSE body, nothing validated beyond
 * the id. It does what the SDK's Client does on the wire for `initialize` and
 * `tools/call` (session id and protocol version headers included), at a fraction of the
 * CPU, so a benchmark of a server is not a benchmark of its clients.
 */
import { Agent, request } from 'node:http';

const PROTOCOL_VERSION = '2025-06-18';
/** A request that takes longer than this fails the run: nothing waits forever. */
const REQUEST_TIMEOUT_MS = 30_000;

interface JsonRpcReply {
  id?: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

export interface ToolResult {
  isError?: boolean;
  structuredContent?: unknown;
  content?: unknown;
}

export class LightClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly url: URL;
  private session: string | undefined;
  private nextId = 1;

  constructor(
    url: string,
    private readonly headers: Record<string, string>,
    private readonly name: string,
  ) {
    this.url = new URL(url);
  }

  /** `initialize`, then `notifications/initialized`, as the SDK's Client connects. */
  async initialize(): Promise<void> {
    await this.call('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: this.name, version: '0.0.0' },
    });
    if (!this.session) throw new Error('initialize answered without an mcp-session-id');
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async callTool(name: string, args: Record<string, unknown>): Promise<ToolResult> {
    return (await this.call('tools/call', { name, arguments: args })) as ToolResult;
  }

  /** One `ping`, answered; its round trip in ms. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.call('ping', {});
    return performance.now() - t0;
  }

  /** Ends the MCP session (DELETE) and the socket. */
  async close(): Promise<void> {
    if (this.session) await this.send('DELETE', undefined).catch(() => undefined);
    this.agent.destroy();
  }

  private async call(method: string, params: unknown): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const { status, body, contentType } = await this.post({ jsonrpc: '2.0', id, method, params });
    if (status !== 200) throw new Error(`${method}: HTTP ${status} ${body.slice(0, 300)}`);
    const reply = parseReply(body, contentType, id);
    if (!reply) throw new Error(`${method}: no reply with id ${id} in ${body.slice(0, 300)}`);
    if (reply.error) throw new Error(`${method}: ${reply.error.code} ${reply.error.message}`);
    return reply.result ?? {};
  }

  private post(message: unknown) {
    return this.send('POST', JSON.stringify(message));
  }

  private send(method: 'POST' | 'DELETE', body: string | undefined) {
    return new Promise<{ status: number; body: string; contentType: string }>((resolve, reject) => {
      const req = request(
        this.url,
        {
          method,
          agent: this.agent,
          headers: {
            ...this.headers,
            accept: 'application/json, text/event-stream',
            ...(body !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
              : {}),
            ...(this.session
              ? { 'mcp-session-id': this.session, 'mcp-protocol-version': PROTOCOL_VERSION }
              : {}),
          },
        },
        (res) => {
          const session = res.headers['mcp-session-id'];
          if (typeof session === 'string') this.session = session;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: text,
              contentType: res.headers['content-type'] ?? '',
            }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new Error(`${method} ${this.url.href}: no reply in ${REQUEST_TIMEOUT_MS} ms`)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** The reply to `id` in a JSON body or among an SSE body's `data:` events. */
function parseReply(body: string, contentType: string, id: number): JsonRpcReply | undefined {
  if (!contentType.includes('text/event-stream')) {
    const parsed = JSON.parse(body) as JsonRpcReply | JsonRpcReply[];
    return (Array.isArray(parsed) ? parsed : [parsed]).find((m) => m.id === id);
  }
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) continue;
    const msg = JSON.parse(data) as JsonRpcReply;
    if (msg.id === id) return msg;
  }
  return undefined;
}
