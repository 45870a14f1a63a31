import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createServiceToken } from '../../server/auth/service-tokens.js';
import { cogBin, cogEnv, connectHttp, startServe } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

// `cog serve` takes the service tokens `cog token` makes: each is its own principal with
// the scopes it was made with, and a revoke counts from the next request.

const home = tempHome('cog-serve-svc-');
after(() => home.cleanup());

async function asService(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'ci-bot', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const text = (r: object) =>
  ((r as { content?: { text?: string }[] }).content ?? []).map((c) => c.text).join('\n');

test('a service token is service:NAME with its scopes; revoked, it is refused', async () => {
  const reader = createServiceToken(home.home, 'reader', { scopes: ['cog:read'] }).token;
  const bot = createServiceToken(home.home, 'bot', { scopes: ['cog:read', 'cog:chat'] }).token;
  const started = await startServe(home.home);
  try {
    const local = await connectHttp(started);
    const mine = await local.callTool({ name: 'send', arguments: { text: 'hi' } });
    assert.notEqual(mine.isError, true);

    const b = await asService(started.url, bot);
    const sent = await b.callTool({ name: 'send', arguments: { text: 'what is 17*23?' } });
    assert.notEqual(sent.isError, true, text(sent));
    const listed = await b.callTool({ name: 'sessions', arguments: {} });
    const sessions = (listed.structuredContent as { sessions: { id: string }[] }).sessions;
    assert.equal(sessions.length, 1, 'the bot sees its own session, not the local user’s');

    const r = await asService(started.url, reader);
    const read = await r.callTool({ name: 'sessions', arguments: {} });
    assert.deepEqual((read.structuredContent as { sessions: unknown[] }).sessions, []);
    await assert.rejects(
      r.callTool({ name: 'send', arguments: { text: 'hi' } }),
      /403|insufficient_scope|cog:chat/,
      'cog:read cannot send',
    );

    await promisify(execFile)(process.execPath, [cogBin, 'token', 'revoke', 'bot'], {
      env: cogEnv(home.home),
    });
    const refused = await fetch(started.url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${bot}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(refused.status, 401, 'revoked: refused on the next request');
    assert.match(refused.headers.get('www-authenticate') ?? '', /invalid_token/);
    await Promise.all([local.close(), b.close(), r.close()]);
  } finally {
    // Awaited: the home is deleted after this, and cog serve writes until it has exited.
    await started.serve.stop();
  }
});
