import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, mock, test } from 'node:test';
import pg from 'pg';
import { SCOPES } from '../../server/auth/identity.js';
import {
  openPgServiceTokens,
  SERVICE_TOKENS_REFRESH_MS,
  type PgServiceTokens,
} from '../../server/auth/service-tokens-pg.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';

// The service tokens of a database (cog_service_tokens) on a real PostgreSQL: the same
// semantics as the file store, shared by every instance, a revoke refused by all within
// SERVICE_TOKENS_REFRESH_MS.

let server: PgServer;
const opened: PgServiceTokens[] = [];
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await server?.stop();
});

async function open(url: string): Promise<PgServiceTokens> {
  const s = await openPgServiceTokens({ url });
  opened.push(s);
  return s;
}

async function rows(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

/** Changes one character of the token: still the right shape, not the right token. */
function offByOne(token: string, at: number): string {
  const c = token[at]!;
  return token.slice(0, at) + (c === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

const HOUR = 3_600_000;

test('create shows the token once; the table holds its SHA-256 and nothing in plain text', async () => {
  const url = await server.createDatabase('svc_create');
  const store = await open(url);
  const { token, info, where } = await store.create('ci', { scopes: ['cog:read', 'cog:chat'] });
  assert.match(token, /^cog_svc_[A-Za-z0-9_-]{43}$/);
  assert.equal(info.principal, 'service:ci');
  assert.deepEqual(info.scopes, ['cog:read', 'cog:chat']);
  assert.equal(info.expired, false);
  assert.match(where, /^cog_service_tokens in postgres:\/\/cog:\*\*\*@/);
  assert.ok(!where.includes(new URL(url).password), 'no password in messages');

  const [row] = await rows(url, 'SELECT * FROM cog_service_tokens');
  assert.ok(row);
  const expected = crypto.createHash('sha256').update(token).digest();
  assert.deepEqual(row.sha256, expected);
  const dump = JSON.stringify(
    await rows(url, 'SELECT row_to_json(t)::text AS j FROM cog_service_tokens t'),
  );
  assert.ok(!dump.includes(token.slice('cog_svc_'.length)), 'the token itself is nowhere');
  assert.deepEqual(await rows(url, 'SELECT version FROM cog_migrations WHERE version = 4'), [
    { version: 4 },
  ]);

  const listed = await store.list();
  assert.deepEqual(listed, [info]);
  assert.ok(!JSON.stringify(listed).includes('sha256'), 'a listing holds no hash');
});

test('list, duplicate names, revoke, reuse of a revoked name, unknown names', async () => {
  const url = await server.createDatabase('svc_ops');
  const store = await open(url);
  const a = await store.create('a', { scopes: SCOPES });
  await store.create('b', { scopes: ['cog:read'] });
  await assert.rejects(store.create('a', { scopes: SCOPES }), { code: 'service_token_exists' });
  await assert.rejects(store.create('bad name', { scopes: SCOPES }), {
    code: 'service_token_bad_name',
  });
  await assert.rejects(store.create('c', { scopes: [] }), { code: 'service_token_bad_options' });
  await assert.rejects(store.revoke('nope'), { code: 'service_token_not_found' });
  assert.deepEqual(
    (await store.list()).map((t) => t.name),
    ['a', 'b'],
  );

  const auth = await store.authenticator({ refreshMs: 0 });
  assert.equal((await auth(a.token))?.principal, 'service:a');
  const revoked = await store.revoke('a');
  assert.equal(revoked.name, 'a');
  assert.equal(await auth(a.token), undefined, 'revoked: refused');
  await assert.rejects(store.revoke('a'), { code: 'service_token_not_found' }, 'revoked once');
  assert.deepEqual(
    (await store.list()).map((t) => t.name),
    ['b'],
  );
  const [kept] = await rows(url, "SELECT revoked_at FROM cog_service_tokens WHERE name = 'a'");
  assert.ok(kept?.revoked_at instanceof Date, 'the revoke is recorded, not erased');

  // As with the file store, a revoked name can be used again; the old token stays dead.
  const again = await store.create('a', { scopes: ['cog:read'] });
  assert.notEqual(again.token, a.token);
  assert.equal(await auth(a.token), undefined);
  assert.deepEqual(await auth(again.token), {
    principal: 'service:a',
    scopes: ['cog:read'],
    via: 'service',
  });
});

test('an expired token is listed as expired and refused', async () => {
  const url = await server.createDatabase('svc_expiry');
  const store = await open(url);
  const T0 = Date.now();
  let clock = T0;
  const { token } = await store.create('short', {
    scopes: SCOPES,
    expiresAt: new Date(T0 + HOUR),
    now: () => T0,
  });
  await assert.rejects(store.create('past', { scopes: SCOPES, expiresAt: new Date(T0 - 1) }), {
    code: 'service_token_bad_options',
  });
  const auth = await store.authenticator({ now: () => clock });
  clock = T0 + HOUR - 1;
  assert.equal((await auth(token))?.principal, 'service:short');
  clock = T0 + HOUR;
  assert.equal(await auth(token), undefined, 'refused from the expiry on');
  const [listed] = await store.list({ now: () => clock });
  assert.equal(listed?.expired, true);
  assert.equal(listed?.expiresAt, new Date(T0 + HOUR).toISOString());
});

test('a token one byte off, cut, extended or the hash itself is refused', async () => {
  const url = await server.createDatabase('svc_offbyone');
  const store = await open(url);
  const { token } = await store.create('svc', { scopes: SCOPES });
  const auth = await store.authenticator();
  const wrong = [
    offByOne(token, token.length - 1),
    offByOne(token, 'cog_svc_'.length),
    token.slice(0, -1),
    `${token}A`,
    token.slice('cog_svc_'.length),
    '',
    crypto.createHash('sha256').update(token).digest('hex'),
  ];
  for (const t of wrong) assert.equal(await auth(t), undefined, t);
  assert.equal((await auth(token))?.principal, 'service:svc');
});

test('every live token’s hash is compared in constant time, match or not', async (t) => {
  const url = await server.createDatabase('svc_constant');
  const store = await open(url);
  const tokens: string[] = [];
  for (const n of ['one', 'two', 'three', 'four', 'gone']) {
    tokens.push((await store.create(n, { scopes: SCOPES })).token);
  }
  await store.revoke('gone');
  const auth = await store.authenticator();
  const spy = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
  t.after(() => {
    spy.mock.restore();
    syncBuiltinESMExports();
  });
  for (const [token, principal] of [
    [tokens[0]!, 'service:one'],
    [tokens[3]!, 'service:four'],
    [tokens[4]!, undefined],
    [offByOne(tokens[1]!, 20), undefined],
  ] as const) {
    spy.mock.resetCalls();
    assert.equal((await auth(token))?.principal, principal);
    assert.equal(spy.mock.callCount(), 4, 'one comparison per live token, no early exit');
    for (const call of spy.mock.calls) {
      assert.equal((call.arguments[0] as Buffer).length, 32, 'hashes, not tokens, compared');
    }
  }
});

test(`a revoke on one instance is refused by another within ${SERVICE_TOKENS_REFRESH_MS} ms`, async (t) => {
  const url = await server.createDatabase('svc_propagate');
  // Two stores with their own pools: two cog serve instances on one database.
  const a = await open(url);
  const b = await open(url);
  const authA = await a.authenticator();
  const { token } = await b.create('ci', { scopes: SCOPES });
  // A token created on B after A loaded is accepted by A within the same bound.
  await sleep(SERVICE_TOKENS_REFRESH_MS);
  assert.equal((await authA(token))?.principal, 'service:ci');

  // Per request, with a warm copy: no query, just a hash and the comparisons.
  const N = 5000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await authA(token);
  const perCallUs = ((performance.now() - t0) * 1000) / N;
  t.diagnostic(
    `per-request service-token check on PostgreSQL: ${perCallUs.toFixed(1)} µs on average (1 token, one table read per ${SERVICE_TOKENS_REFRESH_MS} ms included)`,
  );
  assert.ok(perCallUs < 1000, `${perCallUs} µs per check`);

  await b.revoke('ci');
  const committed = performance.now();
  let refusedAfter = -1;
  while (performance.now() - committed < 2 * SERVICE_TOKENS_REFRESH_MS) {
    if ((await authA(token)) === undefined) {
      refusedAfter = performance.now() - committed;
      break;
    }
    await sleep(10);
  }
  t.diagnostic(`refused by the other instance ${refusedAfter.toFixed(0)} ms after the revoke`);
  assert.ok(refusedAfter >= 0, 'refused at last');
  // The bound itself: a request a full interval after the commit cannot use an older copy.
  assert.ok(
    refusedAfter <= SERVICE_TOKENS_REFRESH_MS + 50,
    `refused after ${refusedAfter} ms, not within ${SERVICE_TOKENS_REFRESH_MS} ms`,
  );
});

test('a table that cannot be read refuses every token (fail closed), then recovers', async () => {
  const url = await server.createDatabase('svc_failclosed');
  const store = await open(url);
  const { token } = await store.create('ci', { scopes: SCOPES });
  const warnings: string[] = [];
  const auth = await store.authenticator({ refreshMs: 0, warn: (m) => warnings.push(m) });
  assert.equal((await auth(token))?.principal, 'service:ci');
  await rows(url, 'ALTER TABLE cog_service_tokens RENAME TO cog_service_tokens_away');
  assert.equal(await auth(token), undefined, 'unreadable: refused');
  assert.equal(await auth(token), undefined);
  assert.equal(warnings.length, 1, `said once: ${warnings.join(' | ')}`);
  assert.match(
    warnings[0] ?? '',
    /cannot read cog_service_tokens in .*refusing every service token/,
  );
  await rows(url, 'ALTER TABLE cog_service_tokens_away RENAME TO cog_service_tokens');
  assert.equal((await auth(token))?.principal, 'service:ci');
  assert.match(warnings[1] ?? '', /can be read again/);
});
