import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { assertJsonRpcErrorBody, rawRequest, type RawResponse } from './http-raw.js';
import { initializeRequest } from './mcp-raw.js';

/** Raw MCP requests to one `/mcp` server, with full control over Authorization. */
export function mcpWire(port: number) {
  const post = (
    authorization: string | undefined,
    body: unknown,
    headers: Record<string, string> = {},
    path = '/mcp',
  ): Promise<RawResponse> =>
    rawRequest(port, {
      path,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        ...(authorization ? { authorization } : {}),
        ...headers,
      },
      body: JSON.stringify(body),
    });

  /** An initialized MCP session of `token`'s principal; its id. */
  const openSession = async (token: string): Promise<string> => {
    const res = await post(`Bearer ${token}`, initializeRequest());
    assert.equal(res.status, 200, res.body);
    const sid = String(res.headers['mcp-session-id']);
    const note = { jsonrpc: '2.0', method: 'notifications/initialized' };
    assert.equal((await post(`Bearer ${token}`, note, { 'mcp-session-id': sid })).status, 202);
    return sid;
  };
  return { post, openSession };
}

export const toolCall = (name: string, args: Record<string, unknown>, id = 2) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

/** The JSON-RPC message answering `id` in a JSON or SSE response body. */
export function rpcReply(res: RawResponse, id: number): { result?: unknown; error?: unknown } {
  const type = String(res.headers['content-type'] ?? '');
  const messages = type.startsWith('text/event-stream')
    ? res.body
        .split('\n')
        .filter((l) => l.startsWith('data: ') && l.length > 6)
        .map((l) => JSON.parse(l.slice(6)) as { id?: unknown })
    : [JSON.parse(res.body) as { id?: unknown }];
  const found = messages.find((m) => m.id === id);
  assert.ok(found, `no reply to ${id} in ${res.body}`);
  return found as { result?: unknown; error?: unknown };
}

/** A refusal: exactly this status and WWW-Authenticate, and a JSON-RPC error body. */
export function assertRefused(res: RawResponse, status: number, challenge: string, what: string) {
  assert.equal(res.status, status, `${what}: ${res.body}`);
  assert.equal(res.headers['www-authenticate'], challenge, what);
  assertJsonRpcErrorBody(res, (m) => assert.fail(`${what}: ${m}`));
}

/** An SDK client over Streamable HTTP whose bearer token can be swapped between calls. */
export async function sdkClient(url: string, token: string) {
  const auth = { token };
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${auth.token}`);
      return fetch(input, { ...init, headers });
    },
  });
  const client = new Client({ name: 'oidc-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, auth };
}

/** Every file under `dir`, as text, for "this string is stored nowhere". */
export function allText(dir: string): string {
  let out = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += readFileSync(join(entry.parentPath, entry.name), 'latin1');
  }
  return out;
}
