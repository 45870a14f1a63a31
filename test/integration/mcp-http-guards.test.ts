import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tokenTableVerifier } from '../../server/auth/tokens.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { assertJsonRpcErrorBody, rawRequest, type RawRequest } from '../helpers/http-raw.js';
import { tempHome, testConfig } from '../helpers/runtime.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

const home = tempHome('cog-http-guards-');
let runtime: Runtime;
let server: HttpServerHandle;
const TOKEN = 'guards-test-token';

before(async () => {
  runtime = await createRuntime(testConfig(home.home));
  server = await startHttpServer(runtime, {
    auth: { verify: tokenTableVerifier({ [TOKEN]: 'test:guards' }) },
    port: 0,
    maxBodyBytes: 1024 * 1024,
  });
});
after(async () => {
  await server.close();
  await runtime.close();
  home.cleanup();
});

const INIT = JSON.stringify(initializeRequest());
const mcpHeaders = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${TOKEN}`,
};
const post = (extra: Partial<RawRequest> = {}) =>
  rawRequest(server.port, {
    body: INIT,
    ...extra,
    headers: { ...mcpHeaders, ...extra.headers },
  });
const errorBody = (res: Awaited<ReturnType<typeof rawRequest>>) =>
  assertJsonRpcErrorBody(res, (m) => assert.fail(m));

test('Host × Origin: only this machine, only loopback or VS Code origins', async () => {
  const port = server.port;
  const hosts: [string | undefined, boolean][] = [
    [`127.0.0.1:${port}`, true],
    [`localhost:${port}`, true],
    [`[::1]:${port}`, true],
    ['evil.com', false],
    [`evil.com:${port}`, false],
    ['127.0.0.1.evil.com', false],
    [`127.0.0.1:${port + 1}`, false],
    [undefined, false],
  ];
  const origins: [string | undefined, boolean][] = [
    [undefined, true],
    [`http://127.0.0.1:${port}`, true],
    [`http://localhost:${port}`, true],
    ['vscode-webview://abc', true],
    ['https://evil.com', false],
    [`http://127.0.0.1.evil.com:${port}`, false],
    ['null', false],
  ];
  const table: string[] = [];
  const wrong: string[] = [];
  for (const [host, hostOk] of hosts) {
    for (const [origin, originOk] of origins) {
      const res = await post({ headers: { host, origin } });
      const expected = hostOk && originOk ? 200 : 403;
      table.push(`${host ?? '(none)'} × ${origin ?? '(none)'} → ${res.status}`);
      if (res.status !== expected) wrong.push(`${table.at(-1)} (expected ${expected})`);
      if (expected === 403) assert.match(errorBody(res).message, /^Forbidden: (Host|Origin)/);
    }
  }
  assert.deepEqual(wrong, [], table.join('\n'));
});

test('auth: no token or a wrong one is 401 with WWW-Authenticate: Bearer', async () => {
  for (const authorization of [undefined, 'Bearer nope', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
    const res = await post({ headers: { authorization } });
    assert.equal(res.status, 401, String(authorization));
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="cog"/);
    assert.match(errorBody(res).message, /Unauthorized/);
  }
});

test('bad requests get JSON-RPC error bodies: 400, 404, 405, 413, 415', async () => {
  const cases: [string, Partial<RawRequest>, number, number][] = [
    ['malformed JSON', { body: '{"jsonrpc":' }, 400, -32700],
    ['JSON, not JSON-RPC', { body: '{"jsonrpc":"2.0","id":7,"method":5}' }, 400, -32600],
    ['not an object', { body: '42' }, 400, -32600],
    ['wrong content type', { headers: { 'content-type': 'text/plain' } }, 415, -32000],
    ['no content type', { headers: { 'content-type': undefined } }, 415, -32000],
    ['unknown path', { path: '/admin' }, 404, -32000],
    ['PUT', { method: 'PUT' }, 405, -32000],
    [
      'no session, not initialize',
      { body: '{"jsonrpc":"2.0","id":2,"method":"ping"}' },
      400,
      -32000,
    ],
    ['unknown session', { headers: { 'mcp-session-id': 'nope' } }, 404, -32001],
  ];
  for (const [what, req, status, code] of cases) {
    const res = await post(req);
    assert.equal(res.status, status, `${what}: ${res.body}`);
    assert.equal(errorBody(res).code, code, what);
    const id = (JSON.parse(res.body) as { id: unknown }).id;
    assert.equal(id, what === 'JSON, not JSON-RPC' ? 7 : null, `${what}: the request's id if any`);
  }
});

test('413: an oversized body is refused and not read to its end', async () => {
  const big = Buffer.alloc(32 * 1024 * 1024, 0x20);
  const declared = await post({ body: big });
  assert.equal(declared.status, 413);
  assert.match(errorBody(declared).message, /Payload Too Large/);
  const streamed = await post({ body: big, chunked: 64 * 1024 });
  assert.equal(streamed.status, 413);
  errorBody(streamed);
  assert.ok(
    streamed.sentBytes < big.length / 2,
    `the server stopped reading: ${streamed.sentBytes} of ${big.length} bytes sent`,
  );
});

test('a JSON-RPC batch is 400 -32600 and none of it runs, in any protocol version', async () => {
  const refused = async (res: Awaited<ReturnType<typeof rawRequest>>, what: string) => {
    assert.equal(res.status, 400, `${what}: ${res.body}`);
    assert.deepEqual(JSON.parse(res.body), {
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: 'Invalid Request: JSON-RPC batches are not supported; send one message per POST',
      },
    });
    errorBody(res);
  };
  const createSession = (id: string) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'sessions', arguments: { action: 'create', id } },
  });
  const owned = () => runtime.listSessions('test:guards').map((s) => s.id);

  // No session yet: a batched initialize opens none.
  const open = server.sessionCount();
  await refused(await post({ body: `[${INIT}]` }), 'batched initialize');
  await refused(await post({ body: '[]' }), 'empty batch');
  assert.equal(server.sessionCount(), open, 'no session was opened');

  for (const version of ['2025-03-26', '2025-06-18']) {
    const init = await post({ body: JSON.stringify(initializeRequest(1, 't', version)) });
    assert.equal(init.status, 200, init.body);
    assert.match(init.body, new RegExp(`"protocolVersion":"${version}"`));
    const headers = {
      'mcp-session-id': String(init.headers['mcp-session-id']),
      'mcp-protocol-version': version,
    };
    const initialized = await post({
      headers,
      body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    });
    assert.equal(initialized.status, 202, initialized.body);

    const batch = [
      { jsonrpc: '2.0', id: 'b-ping', method: 'ping' },
      createSession(`batched-${version}`),
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'x' } },
    ];
    await refused(await post({ headers, body: JSON.stringify(batch) }), version);
    assert.ok(!owned().includes(`batched-${version}`), `${version}: the batched call never ran`);

    // The session goes on working, one message per POST.
    const single = await post({
      headers,
      body: JSON.stringify(createSession(`single-${version}`)),
    });
    assert.equal(single.status, 200, single.body);
    assert.match(single.body, new RegExp(`Created session single-${version}`));
    assert.ok(owned().includes(`single-${version}`));
    const ended = await post({ method: 'DELETE', headers, body: undefined });
    assert.equal(ended.status, 200, ended.body);
  }
});
