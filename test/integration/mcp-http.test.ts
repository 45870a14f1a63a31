import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  cogEnv,
  firstJsonLine,
  spawnCog,
  startServe,
  type CogProcess,
} from '../helpers/cog-process.js';
import { readSse } from '../helpers/sse.js';
import { tempHome } from '../helpers/runtime.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

const home = tempHome('cog-mcp-http-');
let serve: CogProcess;
let url: string;
let token: string;

before(async () => {
  const started = await startServe(home.home);
  ({ serve, url, token } = started);
  assert.equal(started.tokenFile, join(home.home, 'token'));
});
after(async () => {
  await serve?.stop();
  home.cleanup();
});

const auth = () => ({ Authorization: `Bearer ${token}` });

async function connect(): Promise<Client> {
  const client = new Client({ name: 'cog-http-test', version: '0.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: auth() } }),
  );
  return client;
}

test('serve: loopback URL, a 0600 token file, and where it is on stderr', () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  assert.equal(statSync(join(home.home, 'token')).mode & 0o777, 0o600);
  assert.match(serve.stderr(), new RegExp(`bearer token in ${join(home.home, 'token')}`));
});

test('the SDK client over HTTP: tools, a send streamed as progress, DELETE ends it', async () => {
  const client = await connect();
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'send'));
  const progress: string[] = [];
  const reply = await client.callTool(
    { name: 'send', arguments: { text: 'what is 17*23?' } },
    undefined,
    { onprogress: (p) => void progress.push(p.message ?? '') },
  );
  const out = reply.structuredContent as { text: string };
  assert.match(out.text, /391/);
  assert.ok(progress.length > 0, 'progress notifications arrived over SSE');
  assert.equal(progress.join(''), out.text);

  const transport = client.transport as StreamableHTTPClientTransport;
  const sid = transport.sessionId!;
  await transport.terminateSession(); // DELETE
  const after = await fetch(url, {
    method: 'POST',
    headers: {
      ...auth(),
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sid,
    },
    body: '{"jsonrpc":"2.0","id":9,"method":"ping"}',
  });
  assert.equal(after.status, 404, 'the session is gone');
  await client.close();
});

test("the token is never in cog serve's output; cog token local prints a config with it", async () => {
  assert.ok(!serve.stderr().includes(token), 'stderr (often a log) never holds the token');
  assert.match(serve.stderr(), /run: cog token local --url http:\/\/127\.0\.0\.1:\d+\/mcp/);
  const local = spawnCog(['token', 'local', '--url', url], cogEnv(home.home));
  let out = '';
  local.child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  assert.equal(await local.exited, 0, local.stderr());
  const config = JSON.parse(out) as {
    mcpServers: { cog: { url: string; headers: { Authorization: string } } };
  };
  assert.equal(config.mcpServers.cog.url, url);
  assert.equal(config.mcpServers.cog.headers.Authorization, `Bearer ${token}`);
  assert.ok(!local.stderr().includes(token));
});

test('no token or a wrong one: 401, WWW-Authenticate: Bearer, JSON-RPC body', async () => {
  const cases: Record<string, string>[] = [{}, { Authorization: 'Bearer wrong' }];
  for (const headers of cases) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
    const body = (await res.json()) as { jsonrpc: string; error: { message: string } };
    assert.equal(body.jsonrpc, '2.0');
    assert.doesNotMatch(JSON.stringify(body), new RegExp(token));
  }
});

test('SSE priming: an event id and retry: first, by the version the session negotiated', async () => {
  const base = {
    ...auth(),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  /** The raw start of a tools/list answer's SSE stream, in a session that negotiated `v`. */
  const firstEvent = async (negotiated: string, header: string): Promise<string> => {
    const init = await fetch(url, {
      method: 'POST',
      headers: base,
      body: JSON.stringify(initializeRequest(1, 'priming', negotiated)),
    });
    const sid = init.headers.get('mcp-session-id')!;
    await init.text();
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...base, 'mcp-session-id': sid, 'mcp-protocol-version': header },
      body: '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const text = await res.text();
    await fetch(url, { method: 'DELETE', headers: { ...auth(), 'mcp-session-id': sid } });
    return text.split('\n\n')[0] ?? '';
  };

  // 2025-11-25 clients handle an empty event, even when a request names an older version
  // (the MCP conformance suite's own raw POST does).
  for (const header of ['2025-11-25', '2025-03-26']) {
    assert.match(await firstEvent('2025-11-25', header), /^id: \S+\nretry: 1000\ndata: $/);
  }
  // A session that negotiated an older version gets no empty event: its clients choke on it.
  assert.match(
    await firstEvent('2025-03-26', '2025-03-26'),
    /^(event: message\n)?id: \S+\ndata: \{/,
  );
});

test('resumable SSE: a stream dropped mid-reply is replayed from Last-Event-ID', async () => {
  const base = {
    ...auth(),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const init = await fetch(url, {
    method: 'POST',
    headers: base,
    body: JSON.stringify(initializeRequest(1, 'r')),
  });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  const headers = { ...base, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  await fetch(url, {
    method: 'POST',
    headers,
    body: '{"jsonrpc":"2.0","method":"notifications/initialized"}',
  });

  const dropped = new AbortController();
  const call = await fetch(url, {
    method: 'POST',
    headers,
    signal: dropped.signal,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'call',
      method: 'tools/call',
      params: { name: 'send', arguments: { text: 'what is 6*7?' }, _meta: { progressToken: 'p' } },
    }),
  });
  // Only the priming event (an id, no data) is read; then the connection drops.
  const [priming] = await readSse(call.body!, (e) => e.id !== undefined);
  assert.ok(priming?.id, 'the stream opens with an event id');
  dropped.abort();

  let replay!: Response;
  // The server may not have noticed the drop yet: 409 until it has.
  for (let attempt = 0; attempt < 100; attempt++) {
    replay = await fetch(url, {
      headers: { ...headers, accept: 'text/event-stream', 'last-event-id': priming.id },
    });
    if (replay.status !== 409) break;
    await replay.text();
  }
  assert.equal(replay.status, 200);
  const events = await readSse(replay.body!, (e) => e.data.includes('"id":"call"'));
  const messages = events.map(
    (e) =>
      JSON.parse(e.data) as {
        id?: string;
        method?: string;
        result?: { structuredContent?: { text: string } };
      },
  );
  const result = messages.find((m) => m.id === 'call');
  assert.match(result?.result?.structuredContent?.text ?? '', /42/);
  assert.ok(
    messages.some((m) => m.method === 'notifications/progress'),
    'progress was replayed',
  );
  const ids = events.map((e) => Number(e.id));
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
  );
  assert.ok(ids[0]! > Number(priming.id));
  await replay.body?.cancel();
  await fetch(url, { method: 'DELETE', headers });
});

test('serve refuses --no-auth off loopback, and bad ports, with a clear message', async () => {
  const other = tempHome('cog-http-refuse-');
  try {
    const refused = spawnCog(
      ['serve', '--host', '0.0.0.0', '--no-auth', '--port', '0'],
      cogEnv(other.home),
    );
    assert.equal(await refused.exited, 2);
    assert.match(refused.stderr(), /^cog: refusing --no-auth on 0\.0\.0\.0/);
    assert.doesNotMatch(refused.stderr(), /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(other.home, 'token')), false);
    const badPort = spawnCog(['serve', '--port', 'http'], cogEnv(other.home));
    assert.equal(await badPort.exited, 2);
    assert.match(badPort.stderr(), /--port http is not a port/);
  } finally {
    other.cleanup();
  }
});

test('SIGTERM: serve closes its sessions and exits 0', async () => {
  const client = await connect();
  await client.listTools();
  assert.equal(await serve.stop(), 0, serve.stderr());
  assert.match(serve.stderr(), /SIGTERM, closing/);
  await client.close().catch(() => {});
});

test('--exit-with-stdin: serve stops when its parent closes stdin', async () => {
  const own = tempHome('cog-mcp-stdin-');
  try {
    const p = spawnCog(['serve', '--port', '0', '--exit-with-stdin'], cogEnv(own.home));
    await firstJsonLine(p);
    p.child.stdin.end();
    assert.equal(await p.exited, 0, p.stderr());
    assert.match(p.stderr(), /stdin closed, closing/);
  } finally {
    own.cleanup();
  }
});

test('cog serve --help documents cog serve with every flag, and only cog serve', async () => {
  const help = spawnCog(['serve', '--help'], cogEnv(home.home));
  let out = '';
  help.child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  assert.equal(await help.exited, 0);
  assert.doesNotMatch(out, /cog mcp|cog chat/, 'no other command in its help');
  for (const text of [
    'cog serve',
    '--host',
    '--port',
    '--no-auth',
    '--exit-with-stdin',
    '7411',
    '0600',
  ]) {
    assert.ok(out.includes(text), text);
  }
});
