import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  anyOf,
  localIdentity,
  type Authenticator,
  type Identity,
} from '../../server/auth/identity.js';
import { createOidcAuthenticator } from '../../server/auth/oidc.js';
import { TOOL_SCOPES } from '../../server/auth/scopes.js';
import { startHttpServer, type HttpServerHandle } from '../../server/mcp/http/server.js';
import { createMcpServer } from '../../server/mcp/server.js';
import { TOOLS } from '../../server/mcp/tools/index.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import {
  FIXTURE_MODEL,
  startFixtureServer,
  type FixtureServer,
} from '../fixtures/openai-server.js';
import { cogEnv, ensureBuilt, firstJsonLine, spawnCog } from '../helpers/cog-process.js';
import { rawRequest } from '../helpers/http-raw.js';
import { initializeRequest } from '../helpers/mcp-raw.js';
import {
  allText,
  assertRefused,
  mcpWire,
  rpcReply,
  sdkClient,
  toolCall,
} from '../helpers/oidc-http.js';
import {
  CLIENTS,
  COG_SCOPES,
  startLyingIssuer,
  startTestIssuer,
  type TestIssuer,
} from '../helpers/oidc-provider.js';
import {
  accessClaims,
  hs256WithPublicKey,
  signedByIssuer,
  unknownKidToken,
  unsignedToken,
} from '../helpers/oidc-tokens.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

const LOCAL_TOKEN = 'the-local-users-token-0123456789abcdefghijklmnop';
const OTHER_RESOURCE = 'http://127.0.0.1:9/other-api';
const home = tempHome('cog-auth-oidc-');
let issuer: TestIssuer;
let fixture: FixtureServer;
let runtime: Runtime;
let server: HttpServerHandle;
let oidc: Authenticator;
const logs: string[] = [];
/** Every token handed to Cog here: none may turn up anywhere past the verifier. */
const presented = new Set<string>();
/** case → status → WWW-Authenticate, printed as the report's table. */
const matrix: string[] = [];

before(async () => {
  issuer = await startTestIssuer();
  fixture = await startFixtureServer();
  const models = { input: FIXTURE_MODEL, thinker: FIXTURE_MODEL, output: FIXTURE_MODEL };
  runtime = await createRuntime(
    testConfig(home.home, {
      endpoint: { baseUrl: fixture.url, apiKey: 'fixture-api-key', source: 'test' },
      models: { ...models, memorizer: FIXTURE_MODEL },
    }),
  );
  let url = '';
  oidc = await createOidcAuthenticator({
    issuer: issuer.issuer,
    audience: () => url,
    introspection: { clientId: CLIENTS.cog.id, clientSecret: CLIENTS.cog.secret },
  });
  const local: Authenticator = async (t) =>
    t === LOCAL_TOKEN ? localIdentity('local:tester') : undefined;
  server = await startHttpServer(runtime, {
    port: 0,
    auth: { authenticate: anyOf(local, oidc), oauth: { authorizationServers: [issuer.issuer] } },
    log: (line) => logs.push(line),
  });
  url = server.url;
});
after(async () => {
  for (const row of matrix) process.stderr.write(`${row}\n`);
  await server.close();
  await runtime.close();
  await fixture.close();
  await issuer.close();
  home.cleanup();
});

const wire = () => mcpWire(server.port);
const prmUrl = () => `http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource/mcp`;
const principal = (sub = 'agent') => `oidc:${issuer.issuer}#${sub}`;
const bearer = (t: string) => (presented.add(t), `Bearer ${t}`);
const getToken = async (scope = COG_SCOPES, client: keyof typeof CLIENTS = 'agent') =>
  issuer.token({ resource: server.url, scope, client });
const unauthorized = (error?: string) =>
  `Bearer resource_metadata="${prmUrl()}", scope="${COG_SCOPES}"${error ? `, error="${error}"` : ''}`;
const forbidden = (scope: string) =>
  `Bearer resource_metadata="${prmUrl()}", scope="${scope}", error="insufficient_scope"`;
/** What would change if a refused request had run anything. */
const footprint = () => ({
  modelRequests: fixture.requests.length,
  sessions: runtime.listSessions(principal()).length,
  mcpSessions: server.sessionCount(),
});

test('the token matrix: every bad token is a 401 with the challenge, never a 500, and runs nothing', async () => {
  const sid = await wire().openSession(await getToken());
  const now = Math.floor(Date.now() / 1000);
  const claims = accessClaims(issuer, server.url);
  const signed = async (over: object) =>
    bearer(await signedByIssuer(issuer, { ...claims, ...over }));
  const other = (client: 'agent' | 'opaque') =>
    issuer.token({ resource: OTHER_RESOURCE, scope: COG_SCOPES, client }).then(bearer);
  const cases: [string, string | undefined, string | undefined][] = [
    ['none', undefined, undefined],
    ['Basic', `Basic ${Buffer.from('agent:agent-secret').toString('base64')}`, undefined],
    ['expired', await signed({ exp: now - 120 }), 'x'],
    ['future nbf', await signed({ nbf: now + 120 }), 'x'],
    ['wrong iss', await signed({ iss: OTHER_RESOURCE }), 'x'],
    ['wrong aud (another resource)', await other('agent'), 'x'],
    ['alg none', bearer(unsignedToken(claims)), 'x'],
    ['HS256 with the public key', bearer(await hs256WithPublicKey(issuer, claims)), 'x'],
    ['unknown kid', bearer(await unknownKidToken(claims)), 'x'],
    ['no exp', await signed({ exp: undefined }), 'x'],
    ['opaque, unknown', bearer(randomBytes(32).toString('base64url')), 'x'],
    ['opaque, wrong aud', await other('opaque'), 'x'],
  ];
  const before = footprint();
  for (const [name, auth, sent] of cases) {
    const expected = unauthorized(sent ? 'invalid_token' : undefined);
    // Opening a session, and a send into one that a valid token opened.
    assertRefused(await wire().post(auth, initializeRequest()), 401, expected, name);
    const send = toolCall('send', { text: 'hi' });
    assertRefused(await wire().post(auth, send, { 'mcp-session-id': sid }), 401, expected, name);
    matrix.push(`| ${name} | 401 | ${expected} |`);
  }
  assert.deepEqual(footprint(), before, 'no MCP session, no Cog session, no model request');
});

test('leeway: a token expired a few seconds ago is still accepted (30 s tolerance)', async () => {
  const claims = accessClaims(issuer, server.url);
  const t = await signedByIssuer(issuer, { ...claims, exp: Math.floor(Date.now() / 1000) - 5 });
  const res = await wire().post(bearer(t), initializeRequest());
  assert.equal(res.status, 200, res.body);
  matrix.push('| expired 5 s ago (within leeway) | 200 | – |');
});

test('missing scope: 403 insufficient_scope naming it, before the tool runs', async () => {
  const full = await getToken();
  const sid = await wire().openSession(full);
  const read = await getToken('cog:read');
  const chat = await getToken('cog:chat');
  const before = footprint();
  const checks: [string, string, unknown, string][] = [
    ['send with cog:read only', read, toolCall('send', { text: 'hi' }), 'cog:chat'],
    ['sessions create with cog:read', read, toolCall('sessions', { action: 'create' }), 'cog:chat'],
    [
      'process-approve with cog:read',
      read,
      toolCall('process-approve', { id: 'p' }),
      'cog:approve',
    ],
    [
      'resources/read with cog:chat only',
      chat,
      { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'cog://sessions' } },
      'cog:read',
    ],
  ];
  for (const [name, t, body, scope] of checks) {
    const res = await wire().post(bearer(t), body, { 'mcp-session-id': sid });
    assertRefused(res, 403, forbidden(scope), name);
    assert.equal((JSON.parse(res.body) as { id: unknown }).id, 2, 'the request id is answered');
    matrix.push(`| ${name} | 403 | ${forbidden(scope)} |`);
  }
  assert.deepEqual(footprint(), before);
  // Reading is what cog:read is for; `sessions` (list) only reads.
  const list = await wire().post(bearer(read), toolCall('sessions', {}), { 'mcp-session-id': sid });
  assert.equal(list.status, 200, list.body);
  assert.ok((rpcReply(list, 2).result as { structuredContent: unknown }).structuredContent);
});

test('a token in the query string is refused (400), even beside a valid header', async () => {
  const t = await getToken();
  presented.add(t);
  const before = footprint();
  const challenge = 'Bearer resource_metadata="' + prmUrl() + '", error="invalid_request"';
  for (const auth of [undefined, `Bearer ${t}`]) {
    const res = await wire().post(auth, initializeRequest(), {}, `/mcp?access_token=${t}`);
    assertRefused(res, 400, challenge, 'query token');
  }
  assert.deepEqual(footprint(), before);
  matrix.push(`| token in the query string | 400 | ${challenge} |`);
});

test('valid tokens: JWT and introspected opaque ones work, as principal oidc:<issuer>#<sub>', async () => {
  for (const client of ['agent', 'opaque'] as const) {
    const t = await getToken(COG_SCOPES, client);
    presented.add(t);
    const { client: c } = await sdkClient(server.url, t);
    const tools = await c.listTools();
    assert.equal(tools.tools.length, 10);
    const sent = await c.callTool({ name: 'send', arguments: { text: 'hello from OIDC' } });
    assert.equal(sent.isError, undefined, JSON.stringify(sent.content));
    const id = (sent.structuredContent as { session: string }).session;
    const sub = client === 'agent' ? 'agent' : CLIENTS.opaque.id;
    assert.ok(
      runtime.listSessions(principal(sub)).some((s) => s.id === id),
      sub,
    );
    await c.close();
  }
  matrix.push(`| valid JWT / opaque (introspected) | 200 | – |`);
});

test('the local token still works beside the issuer, as the local user', async () => {
  const { client } = await sdkClient(server.url, LOCAL_TOKEN);
  const sent = await client.callTool({ name: 'send', arguments: { text: 'local here' } });
  const id = (sent.structuredContent as { session: string }).session;
  assert.ok(runtime.listSessions('local:tester').some((s) => s.id === id));
  await client.close();
});

test('claims: name and email from the token; scopes only Cog’s', async () => {
  const t = await issuer.token({ resource: server.url, scope: 'cog:read', client: 'named' });
  presented.add(t);
  assert.deepEqual(await oidc(t), {
    principal: principal(CLIENTS.named.id),
    scopes: ['cog:read'],
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    via: 'oidc',
  });
  const extra = { ...accessClaims(issuer, server.url), scope: 'cog:read admin openid' };
  assert.deepEqual((await oidc(await signedByIssuer(issuer, extra)))?.scopes, ['cog:read']);
  const bound = { ...accessClaims(issuer, server.url), cnf: { jkt: 'abc' } };
  assert.equal(await oidc(await signedByIssuer(issuer, bound)), undefined, 'DPoP-bound');
});

test('step-up: the same MCP session takes a token with more scopes on its next request', async () => {
  const { client, auth } = await sdkClient(server.url, await getToken('cog:read'));
  presented.add(auth.token);
  await assert.rejects(client.callTool({ name: 'send', arguments: { text: 'x' } }), { code: 403 });
  auth.token = await getToken('cog:read cog:chat');
  presented.add(auth.token);
  const sent = await client.callTool({ name: 'send', arguments: { text: 'now I may' } });
  assert.equal(sent.isError, undefined, JSON.stringify(sent.content));
  await client.close();
});

test('the MCP layer checks the scope too: an identity without cog:chat gets an isError', async () => {
  assert.deepEqual(
    TOOLS.map((t) => t.name).sort(),
    [...TOOL_SCOPES.keys()].sort(),
    'every tool has its scope',
  );
  const identity: Identity = { principal: 'oidc:test#reader', scopes: ['cog:read'], via: 'oidc' };
  const cog = createMcpServer(runtime, { principal: identity.principal, identity });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await cog.server.connect(a);
  const client = new Client({ name: 'scope-test', version: '0' });
  await client.connect(b);
  const before = fixture.requests.length;
  const refused = await client.callTool({ name: 'send', arguments: { text: 'hi' } });
  assert.equal(refused.isError, true);
  assert.match(JSON.stringify(refused.content), /needs the scope cog:chat/);
  const list = await client.callTool({ name: 'sessions', arguments: {} });
  assert.equal(list.isError, undefined, 'listing needs cog:read only');
  assert.equal(fixture.requests.length, before);
  assert.deepEqual(runtime.listSessions(identity.principal), []);
  await client.close();
  await cog.close();
});

test('protected-resource metadata: public, on both paths, Host-checked, linked from 401s', async () => {
  const doc = {
    resource: server.url,
    authorization_servers: [issuer.issuer],
    scopes_supported: ['cog:read', 'cog:chat', 'cog:approve'],
    bearer_methods_supported: ['header'],
    resource_name: 'Cog',
  };
  for (const path of ['/.well-known/oauth-protected-resource', new URL(prmUrl()).pathname]) {
    const res = await rawRequest(server.port, { method: 'GET', path });
    assert.equal(res.status, 200, path);
    assert.deepEqual(JSON.parse(res.body), doc);
  }
  const path = new URL(prmUrl()).pathname;
  const evil = await rawRequest(server.port, { method: 'GET', path, headers: { host: 'evil:1' } });
  assert.equal(evil.status, 403);
  assert.equal((await rawRequest(server.port, { method: 'POST', path })).status, 405);
  const linked = /resource_metadata="([^"]+)"/.exec(
    String((await wire().post(undefined, initializeRequest())).headers['www-authenticate']),
  );
  assert.equal(linked?.[1], prmUrl());
  assert.deepEqual(await (await fetch(linked[1])).json(), doc);
});

test('the inbound token never reaches the model endpoint, the trace, the store or the logs', () => {
  assert.ok(presented.size >= 10 && fixture.requests.length > 0);
  const outbound = JSON.stringify(fixture.requests.map((r) => [r.headers, r.body]));
  const stored = allText(home.home);
  for (const t of presented) {
    assert.ok(!outbound.includes(t), 'a model request carried an inbound token');
    assert.ok(!stored.includes(t), 'the store (event log, trace, snapshots) holds a token');
    assert.ok(!logs.join('\n').includes(t), 'a log line holds a token');
  }
  assert.ok(outbound.includes('fixture-api-key'), 'Cog’s own key is what goes to the model');
});

test('the issuer unreachable: 503 with Retry-After, never a 401 nor a 500', async () => {
  const gone = await startTestIssuer();
  const authenticate = await createOidcAuthenticator({ issuer: gone.issuer, audience: 'x' });
  const t = await signedByIssuer(gone, accessClaims(gone, 'x'));
  await gone.close(); // before its keys were ever fetched
  const s = await startHttpServer(runtime, {
    port: 0,
    auth: { authenticate, oauth: { authorizationServers: [gone.issuer] } },
  });
  try {
    const res = await mcpWire(s.port).post(`Bearer ${t}`, initializeRequest());
    assert.equal(res.status, 503, res.body);
    assert.equal(res.headers['retry-after'], '5');
    matrix.push('| issuer unreachable (JWKS) | 503 | – (Retry-After: 5) |');
  } finally {
    await s.close();
  }
});

test('misconfiguration fails at start: symmetric or "none" algorithms, an issuer that lies', async () => {
  for (const algorithms of [['HS256'], ['none'], []]) {
    await assert.rejects(
      createOidcAuthenticator({ issuer: issuer.issuer, audience: 'x', algorithms }),
      { code: 'oidc_config' },
    );
  }
  const liar = await startLyingIssuer();
  await assert.rejects(createOidcAuthenticator({ issuer: liar.issuer, audience: 'x' }), {
    code: 'oidc_config',
    message: /cannot discover the issuer/,
  });
  await liar.close();
});

test('cog serve --issuer: PRM, scopes advertised, OIDC tokens, and the token kept out of stderr', async () => {
  await ensureBuilt();
  const h = tempHome('cog-auth-oidc-serve-');
  const args = ['serve', '--port', '0', '--issuer', issuer.issuer, '--scopes', 'cog:read cog:chat'];
  // The client settings from the environment go with the issuer from the flag.
  const env = {
    COG_OFFLINE: '1',
    COG_OIDC_CLIENT_ID: CLIENTS.cog.id,
    COG_OIDC_CLIENT_SECRET: CLIENTS.cog.secret,
  };
  const cog = spawnCog([...args, '--exit-with-stdin'], cogEnv(h.home, env));
  try {
    const { url } = await firstJsonLine<{ url: string }>(cog);
    const port = Number(new URL(url).port);
    const prm = await rawRequest(port, {
      method: 'GET',
      path: '/.well-known/oauth-protected-resource/mcp',
    });
    assert.deepEqual(JSON.parse(prm.body).scopes_supported, ['cog:read', 'cog:chat']);
    const none = await mcpWire(port).post(undefined, initializeRequest());
    assert.equal(none.status, 401);
    assert.match(
      String(none.headers['www-authenticate']),
      /resource_metadata=".*\/mcp", scope="cog:read cog:chat"/,
    );
    // The default audience is the printed /mcp URL.
    const t = await issuer.token({ resource: url, scope: 'cog:read cog:chat' });
    const { client } = await sdkClient(url, t);
    const sent = await client.callTool({ name: 'send', arguments: { text: 'hello' } });
    assert.equal(sent.isError, undefined, JSON.stringify(sent.content));
    await client.close();
    const opaque = await issuer.token({ resource: url, scope: 'cog:read', client: 'opaque' });
    const introspected = await mcpWire(port).post(`Bearer ${opaque}`, initializeRequest());
    assert.equal(introspected.status, 200, 'an opaque token, introspected with that client');
    const wrong = await issuer.token({ resource: OTHER_RESOURCE, scope: 'cog:read' });
    assert.equal((await mcpWire(port).post(`Bearer ${wrong}`, initializeRequest())).status, 401);
    assert.match(cog.stderr(), /OAuth resource http:\/\/127\.0\.0\.1:\d+\/mcp of issuer/);
    for (const token of [t, opaque, wrong]) assert.ok(!cog.stderr().includes(token));
  } finally {
    await cog.stop();
    h.cleanup();
  }
  const h2 = tempHome('cog-auth-oidc-bad-');
  try {
    const bad = spawnCog(
      ['serve', '--port', '0', '--issuer', 'http://127.0.0.1:1'],
      cogEnv(h2.home),
    );
    assert.equal(await bad.exited, 1);
    assert.match(bad.stderr(), /^cog: cannot discover the issuer http:\/\/127\.0\.0\.1:1\//m);
  } finally {
    h2.cleanup();
  }
});

test('a verified JWT is taken again, never past its exp nor for another audience', async () => {
  let clock = Date.now();
  const aud = 'https://cog.example/mcp';
  const cached = await createOidcAuthenticator({
    issuer: issuer.issuer,
    audience: aud,
    clockToleranceSec: 5,
    verifiedCacheMs: 60_000,
    now: () => clock,
  });
  const exp = Math.floor(clock / 1000) + 20;
  const token = await signedByIssuer(issuer, { ...accessClaims(issuer, aud), exp });
  for (let i = 0; i < 3; i++) assert.equal((await cached(token))?.principal, principal());

  // A token one byte off is not the cached one: checked, and refused.
  const tampered = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
  assert.equal(await cached(tampered), undefined);

  // Past exp + leeway the entry is gone and the full check refuses it.
  clock += 26_000;
  assert.equal(await cached(token), undefined, 'expired, cached or not');

  // The cache holds an audience with the token: verified for one, refused for another.
  let current = aud;
  const moving = await createOidcAuthenticator({ issuer: issuer.issuer, audience: () => current });
  const fresh = await signedByIssuer(issuer, accessClaims(issuer, aud));
  assert.ok(await moving(fresh));
  current = 'https://elsewhere.example/mcp';
  assert.equal(await moving(fresh), undefined, 'not served from the cache for another audience');
});
