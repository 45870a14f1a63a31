import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tokenTableVerifier } from '../../server/auth/tokens.js';
import { RateLimiter } from '../../server/mcp/http/rate-limit.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { startServe } from '../helpers/cog-process.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

// Requests per minute are each principal's: one that floods gets 429 with Retry-After,
// and the others go on as before.

const home = tempHome('cog-http-rate-');
let runtime: Runtime;
let server: HttpServerHandle;

before(async () => {
  runtime = await createRuntime(testConfig(home.home));
  server = await startHttpServer(runtime, {
    port: 0,
    requestsPerMinute: 5,
    auth: { verify: tokenTableVerifier({ 'token-a': 'test:alice', 'token-b': 'test:bob' }) },
  });
});
after(async () => {
  await server.close();
  await runtime.close();
  home.cleanup();
});

const ping = (token: string) =>
  fetch(server.url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });

test('past its requests a minute a principal gets 429 and a retry hint; another does not', async () => {
  for (let i = 0; i < 5; i++) assert.notEqual((await ping('token-a')).status, 429, `request ${i}`);
  const flooded = await ping('token-a');
  assert.equal(flooded.status, 429);
  const wait = Number(flooded.headers.get('retry-after'));
  assert.ok(wait >= 1 && wait <= 12, `Retry-After ${wait}`);
  const body = (await flooded.json()) as { error: { code: number; message: string } };
  assert.equal(body.error.code, -32000);
  assert.match(body.error.message, /5 a minute per principal; retry in \d+ s/);
  assert.notEqual((await ping('token-b')).status, 429, 'bob’s share is his own');
  assert.equal((await ping('nobody')).status, 401, 'an unknown token is refused, not counted');
});

test('the bucket refills at the steady rate', () => {
  let now = 0;
  const limiter = new RateLimiter(60, () => now);
  for (let i = 0; i < 60; i++) assert.equal(limiter.take('p'), 0);
  assert.equal(limiter.take('p'), 1000, 'one a second at 60 a minute');
  now += 1000;
  assert.equal(limiter.take('p'), 0);
  assert.ok(limiter.take('p') > 0);
  assert.equal(limiter.take('q'), 0, 'another principal starts full');
});

test('cog serve takes the share from COG_PRINCIPAL_REQUESTS_PER_MINUTE', async () => {
  const serveHome = tempHome('cog-http-rate-env-');
  const started = await startServe(serveHome.home, {
    env: { COG_PRINCIPAL_REQUESTS_PER_MINUTE: '3' },
  });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(started.url, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${started.token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.equal(statuses.filter((s) => s === 429).length, 1, `statuses ${statuses.join(' ')}`);
    assert.equal(statuses.at(-1), 429);
  } finally {
    await started.serve.stop();
    serveHome.cleanup();
  }
});
