import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import {
  loadOrCreateLocalToken,
  tokensEqual,
  tokenTableVerifier,
} from '../../server/auth/tokens.js';
import { BoundedEventStore } from '../../server/mcp/http/event-store.js';
import { allowedHosts, isAllowedOrigin, isLoopbackHost } from '../../server/mcp/http/guards.js';
import { tempHome } from '../helpers/runtime.js';

const home = tempHome('cog-http-parts-');
after(() => home.cleanup());

const note = (n: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 't', progress: n },
});

async function replay(store: BoundedEventStore, after: string) {
  const got: [string, JSONRPCMessage][] = [];
  const stream = await store.replayEventsAfter(after, {
    send: async (id, message) => void got.push([id, message]),
  });
  return { stream, got };
}

test('event store: replays one stream after an id, skips priming events', async () => {
  const store = new BoundedEventStore();
  const priming = await store.storeEvent('s1', {} as JSONRPCMessage);
  const a = await store.storeEvent('s1', note(1));
  await store.storeEvent('s2', note(99));
  const b = await store.storeEvent('s1', note(2));
  assert.equal(await store.getStreamIdForEventId(a), 's1');
  assert.equal(await store.getStreamIdForEventId('nope'), undefined);
  const fromPriming = await replay(store, priming);
  assert.equal(fromPriming.stream, 's1');
  assert.deepEqual(
    fromPriming.got.map(([id]) => id),
    [a, b],
  );
  assert.deepEqual((await replay(store, b)).got, []);
});

test('event store: bounded by count and by bytes; an aged-out id is unknown', async () => {
  const byCount = new BoundedEventStore({ maxEvents: 10 });
  const first = await byCount.storeEvent('s', note(0));
  for (let i = 1; i < 100; i++) await byCount.storeEvent('s', note(i));
  assert.equal(byCount.size.events, 10);
  assert.equal(await byCount.getStreamIdForEventId(first), undefined);
  await assert.rejects(replay(byCount, first));

  const bySize = new BoundedEventStore({ maxBytes: 10_000 });
  for (let i = 0; i < 1000; i++) await bySize.storeEvent('s', note(i));
  assert.ok(bySize.size.bytes <= 10_000, `${bySize.size.bytes} bytes`);
  const huge = await bySize.storeEvent('s', {
    jsonrpc: '2.0',
    method: 'x',
    params: { blob: 'y'.repeat(50_000) },
  });
  assert.equal(bySize.size.events, 1, 'the newest event stays even when it alone is over');
  assert.equal(await bySize.getStreamIdForEventId(huge), 's');
});

test('local token: 32 random bytes base64url in a 0600 file, reused, replaced if exposed', () => {
  const t1 = loadOrCreateLocalToken(home.home);
  assert.match(t1.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(t1.created, true);
  assert.equal(statSync(t1.file).mode & 0o777, 0o600);
  assert.equal(readFileSync(t1.file, 'utf8').trim(), t1.token);

  const t2 = loadOrCreateLocalToken(home.home);
  assert.equal(t2.token, t1.token);
  assert.equal(t2.created, false);

  chmodSync(t1.file, 0o644); // someone else may have read it
  const t3 = loadOrCreateLocalToken(home.home);
  assert.notEqual(t3.token, t1.token);
  assert.equal(statSync(t3.file).mode & 0o777, 0o600);

  writeFileSync(join(home.home, 'token'), 'short\n', { mode: 0o600 });
  assert.notEqual(loadOrCreateLocalToken(home.home).token, 'short');
});

test('token comparison and a two-token verifier', async () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('abc', 'abcd'), false);
  const verify = tokenTableVerifier({ 'token-a': 'test:alice', 'token-b': 'test:bob' });
  assert.equal(await verify('token-a'), 'test:alice');
  assert.equal(await verify('token-b'), 'test:bob');
  assert.equal(await verify('token-c'), undefined);
  assert.equal(await verify(''), undefined);
});

test('loopback hosts, allowed Host values and Origins', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) {
    assert.ok(isLoopbackHost(h), h);
  }
  for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '127.0.0.1.evil.com']) {
    assert.ok(!isLoopbackHost(h), h);
  }
  const hosts = allowedHosts('127.0.0.1', 4000);
  assert.deepEqual([...hosts].sort(), ['127.0.0.1:4000', '[::1]:4000', 'localhost:4000']);
  assert.ok(allowedHosts('10.1.2.3', 80).has('10.1.2.3:80'));
  const good = [
    'http://127.0.0.1:9',
    'http://localhost:3000',
    'https://localhost',
    'http://[::1]:1',
  ];
  for (const o of [...good, 'vscode-webview://abc123']) assert.ok(isAllowedOrigin(o), o);
  const bad = [
    'null',
    'https://evil.com',
    'http://127.0.0.1.evil.com',
    'file://',
    'ftp://localhost',
  ];
  for (const o of bad) assert.ok(!isAllowedOrigin(o), o);
});
