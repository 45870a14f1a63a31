import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServiceToken, serviceTokenAuthenticator } from '../../server/auth/service-tokens.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { initializeRequest } from '../helpers/mcp-raw.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

// The GET stream carries every event of the principal's sessions, so it needs cog:read:
// a token that may only chat or approve cannot watch the HUD.

const home = tempHome('cog-http-stream-scope-');
let runtime: Runtime;
let server: HttpServerHandle;
let chatOnly: string;
let reader: string;

before(async () => {
  chatOnly = createServiceToken(home.home, 'chatter', { scopes: ['cog:chat'] }).token;
  reader = createServiceToken(home.home, 'watcher', { scopes: ['cog:read'] }).token;
  runtime = await createRuntime(testConfig(home.home));
  server = await startHttpServer(runtime, {
    port: 0,
    auth: { authenticate: serviceTokenAuthenticator(home.home) },
  });
});
after(async () => {
  await server.close();
  await runtime.close();
  home.cleanup();
});

const headers = (token: string, sid?: string): Record<string, string> => ({
  Authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
  ...(sid ? { 'mcp-session-id': sid } : {}),
});

async function open(token: string): Promise<string> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: headers(token),
    body: JSON.stringify(initializeRequest()),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  return res.headers.get('mcp-session-id')!;
}

test('the GET stream needs cog:read; without it 403 insufficient_scope, with it the stream opens', async () => {
  const refused = await fetch(server.url, {
    method: 'GET',
    headers: headers(chatOnly, await open(chatOnly)),
  });
  assert.equal(refused.status, 403);
  assert.match(
    refused.headers.get('www-authenticate') ?? '',
    /error="insufficient_scope".*scope="cog:read"|scope="cog:read".*error="insufficient_scope"/,
  );
  const body = (await refused.json()) as { error: { message: string } };
  assert.match(body.error.message, /needs the scope cog:read/);

  const stream = new AbortController();
  const opened = await fetch(server.url, {
    method: 'GET',
    headers: headers(reader, await open(reader)),
    signal: stream.signal,
  });
  assert.equal(opened.status, 200);
  assert.match(opened.headers.get('content-type') ?? '', /text\/event-stream/);
  stream.abort();
});
