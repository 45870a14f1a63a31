import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { tokenTableVerifier } from '../../server/auth/tokens.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { tempHome, testConfig } from '../helpers/runtime.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

const home = tempHome('cog-http-principals-');
let runtime: Runtime;
let server: HttpServerHandle;
const TOKENS = { alice: 'token-for-alice', bob: 'token-for-bob' };

before(async () => {
  runtime = await createRuntime(testConfig(home.home));
  server = await startHttpServer(runtime, {
    port: 0,
    auth: {
      verify: tokenTableVerifier({ [TOKENS.alice]: 'test:alice', [TOKENS.bob]: 'test:bob' }),
    },
  });
});
after(async () => {
  await server.close();
  await runtime.close();
  home.cleanup();
});

async function connect(token: string) {
  const transport = new StreamableHTTPClientTransport(new URL(server.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'principal-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, sid: transport.sessionId! };
}

const rawHeaders = (token: string, sid?: string): Record<string, string> => ({
  Authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
  ...(sid ? { 'mcp-session-id': sid } : {}),
});

test('two principals on one runtime: neither sees the other, at either layer', async () => {
  const alice = await connect(TOKENS.alice);
  const bob = await connect(TOKENS.bob);
  const sent = await alice.client.callTool({ name: 'send', arguments: { text: "I'm Alice" } });
  const aliceSession = (sent.structuredContent as { session: string }).session;

  // HTTP layer: Bob holding Alice's MCP session id gets exactly what a wrong id gets.
  for (const method of ['POST', 'GET', 'DELETE']) {
    const res = await fetch(server.url, {
      method,
      headers: {
        ...rawHeaders(TOKENS.bob, alice.sid),
        accept: 'application/json, text/event-stream',
      },
      ...(method === 'POST' ? { body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' } : {}),
    });
    assert.equal(res.status, 404, method);
    assert.deepEqual(await res.json(), {
      jsonrpc: '2.0',
      error: { code: -32001, message: 'Session not found' },
      id: null,
    });
  }

  // Runtime layer: Bob naming Alice's Cog session gets "not found" as a tool error.
  const peek = await bob.client.callTool({ name: 'state', arguments: { session: aliceSession } });
  const bogus = await bob.client.callTool({
    name: 'state',
    arguments: { session: 's-000000000000' },
  });
  assert.equal(peek.isError, true);
  const text = (r: typeof peek, id: string) => JSON.stringify(r.content).replaceAll(id, 'ID');
  assert.equal(text(peek, aliceSession), text(bogus, 's-000000000000'), 'same as no such session');
  const listed = await bob.client.callTool({ name: 'sessions', arguments: {} });
  assert.doesNotMatch(JSON.stringify(listed.structuredContent), new RegExp(aliceSession));

  // Alice's own connection is untouched by all of that.
  const mine = await alice.client.callTool({ name: 'state', arguments: { session: aliceSession } });
  assert.notEqual(mine.isError, true);
  assert.equal(server.sessionCount(), 2);
  await alice.client.close();
  await bob.client.close();
});

test('an idle MCP session expires; its id is then unknown', async () => {
  const short = await startHttpServer(runtime, {
    port: 0,
    auth: { verify: tokenTableVerifier({ [TOKENS.alice]: 'test:alice' }) },
    sessionIdleMs: 100,
  });
  try {
    const transport = new StreamableHTTPClientTransport(new URL(short.url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKENS.alice}` } },
    });
    const client = new Client({ name: 'idle-test', version: '0.0.0' });
    await client.connect(transport);
    const sid = transport.sessionId!;
    assert.equal(short.sessionCount(), 1);
    // The client goes away without DELETE: its listening GET stream closes, nothing else.
    await client.close();
    // The sweeper runs every idle/2; wait for it to close the session.
    const deadline = Date.now() + 5000;
    while (short.sessionCount() > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(short.sessionCount(), 0, 'expired');
    const res = await fetch(short.url, {
      method: 'POST',
      headers: rawHeaders(TOKENS.alice, sid),
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    assert.equal(res.status, 404);
  } finally {
    await short.close();
  }
});

test('past maxSessions a new session gets 503 with Retry-After', async () => {
  const small = await startHttpServer(runtime, {
    port: 0,
    auth: { verify: tokenTableVerifier({ [TOKENS.alice]: 'test:alice' }) },
    maxSessions: 1,
  });
  try {
    const first = new Client({ name: 'one', version: '0.0.0' });
    await first.connect(
      new StreamableHTTPClientTransport(new URL(small.url), {
        requestInit: { headers: { Authorization: `Bearer ${TOKENS.alice}` } },
      }),
    );
    const res = await fetch(small.url, {
      method: 'POST',
      headers: rawHeaders(TOKENS.alice),
      body: JSON.stringify(initializeRequest(1, 'two')),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '60');
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /Too many/);
    await first.close();
  } finally {
    await small.close();
  }
});
