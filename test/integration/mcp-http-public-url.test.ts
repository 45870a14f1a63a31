import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { localIdentity } from '../../server/auth/identity.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { rawRequest } from '../helpers/http-raw.js';
import { initializeRequest } from '../helpers/mcp-raw.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

// Behind a load balancer, clients name the public URL (the OAuth resource, --audience):
// its Host and its Origin are this server's too; any other stays refused.

const PUBLIC = 'https://cog.example.com/mcp';
const home = tempHome('cog-http-public-');
let runtime: Runtime;
let server: HttpServerHandle;

before(async () => {
  runtime = await createRuntime(testConfig(home.home));
  server = await startHttpServer(runtime, {
    port: 0,
    auth: {
      authenticate: async (t) => (t === 'tok' ? localIdentity('local:lb') : undefined),
      oauth: { authorizationServers: ['https://login.example.com'], resource: PUBLIC },
    },
  });
});
after(async () => {
  await server.close();
  await runtime.close();
  home.cleanup();
});

const post = (headers: Record<string, string>) =>
  rawRequest(server.port, {
    method: 'POST',
    path: '/mcp',
    headers: {
      authorization: 'Bearer tok',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify(initializeRequest()),
  });

test('the public URL’s Host and Origin are accepted; others still refused', async () => {
  assert.equal((await post({ host: 'cog.example.com' })).status, 200);
  assert.equal(
    (await post({ host: 'cog.example.com', origin: 'https://cog.example.com' })).status,
    200,
  );
  assert.equal((await post({ host: 'evil.example.com' })).status, 403);
  assert.equal((await post({ host: 'cog.example.com:8443' })).status, 403, 'another port');
  assert.equal(
    (await post({ host: 'cog.example.com', origin: 'https://evil.example.com' })).status,
    403,
  );
  assert.equal(
    (await post({ host: 'cog.example.com', origin: 'http://cog.example.com' })).status,
    403,
    'the scheme is part of the origin',
  );
});
