import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { after, mock, test } from 'node:test';
import {
  createServiceToken,
  listServiceTokens,
  revokeServiceToken,
  serviceTokenAuthenticator,
  serviceTokensFile,
} from '../../server/auth/service-tokens.js';
import { SCOPES } from '../../server/auth/identity.js';
import { parseExpires } from '../../server/cli/token.js';
import { tempHome } from '../helpers/runtime.js';

const homes: { cleanup(): void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));
function freshHome(): string {
  const h = tempHome('cog-svc-');
  homes.push(h);
  return h.home;
}

const HOUR = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** Changes one character of the token: still the right shape, not the right token. */
function offByOne(token: string, at: number): string {
  const c = token[at]!;
  return token.slice(0, at) + (c === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

test('create returns a prefixed random token once; the file holds only its hash, mode 0600', async () => {
  const home = freshHome();
  const { token, info, file } = createServiceToken(home, 'ci-bot', {
    scopes: ['cog:read'],
    now: () => T0,
  });
  assert.match(token, /^cog_svc_[A-Za-z0-9_-]{43}$/);
  assert.ok(!token.includes('ci-bot'), 'the name is not part of the token');
  assert.equal(file, serviceTokensFile(home));
  assert.deepEqual(info, {
    name: 'ci-bot',
    principal: 'service:ci-bot',
    scopes: ['cog:read'],
    createdAt: '2026-01-01T00:00:00.000Z',
    expired: false,
  });

  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(token), 'the token is not on disk');
  assert.ok(!text.includes(token.slice('cog_svc_'.length)), 'nor its random part');
  const sha = crypto.createHash('sha256').update(token).digest('hex');
  assert.deepEqual(JSON.parse(text), {
    version: 1,
    tokens: [
      { name: 'ci-bot', sha256: sha, scopes: ['cog:read'], createdAt: '2026-01-01T00:00:00.000Z' },
    ],
  });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(!existsSync(`${file}.tmp`), 'no temp file left behind');

  const auth = serviceTokenAuthenticator(home);
  assert.deepEqual(await auth(token), {
    principal: 'service:ci-bot',
    scopes: ['cog:read'],
    via: 'service',
  });
});

test('two tokens never match each other, and tokens are independent of their names', async () => {
  const home = freshHome();
  const a = createServiceToken(home, 'a', { scopes: SCOPES }).token;
  const b = createServiceToken(home, 'b', { scopes: ['cog:chat', 'cog:approve'] }).token;
  assert.notEqual(a, b);
  const auth = serviceTokenAuthenticator(home);
  assert.equal((await auth(a))?.principal, 'service:a');
  assert.deepEqual(await auth(b), {
    principal: 'service:b',
    scopes: ['cog:chat', 'cog:approve'],
    via: 'service',
  });
  const hashes = JSON.parse(readFileSync(serviceTokensFile(home), 'utf8')).tokens.map(
    (t: { sha256: string }) => t.sha256,
  );
  assert.equal(new Set(hashes).size, 2);
});

test('a token off by one byte, truncated, extended or bare is refused', async () => {
  const home = freshHome();
  const { token } = createServiceToken(home, 'svc', { scopes: SCOPES });
  const auth = serviceTokenAuthenticator(home);
  const wrong = [
    offByOne(token, token.length - 1),
    offByOne(token, 'cog_svc_'.length),
    token.slice(0, -1),
    `${token}A`,
    token.slice('cog_svc_'.length),
    token.toUpperCase(),
    '',
    crypto.createHash('sha256').update(token).digest('hex'), // the hash is not a token
  ];
  for (const t of wrong) assert.equal(await auth(t), undefined, t);
  assert.equal((await auth(token))?.principal, 'service:svc');
});

test('every stored hash is compared in constant time, match or not, first or last', async (t) => {
  const home = freshHome();
  const tokens = ['one', 'two', 'three', 'four'].map(
    (n) => createServiceToken(home, n, { scopes: SCOPES }).token,
  );
  const auth = serviceTokenAuthenticator(home);
  // The module's named import is a live binding to the builtin: sync it to the spy.
  const spy = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
  t.after(() => {
    spy.mock.restore();
    syncBuiltinESMExports();
  });
  for (const [token, principal] of [
    [tokens[0]!, 'service:one'],
    [tokens[3]!, 'service:four'],
    [offByOne(tokens[1]!, 20), undefined],
  ] as const) {
    spy.mock.resetCalls();
    assert.equal((await auth(token))?.principal, principal);
    assert.equal(spy.mock.callCount(), 4, 'one comparison per entry, no early exit');
    for (const call of spy.mock.calls) {
      assert.equal((call.arguments[0] as Buffer).length, 32, 'hashes, not tokens, compared');
    }
  }
});

test('duplicate and unknown names, bad names and no scopes are clear errors', () => {
  const home = freshHome();
  createServiceToken(home, 'dup', { scopes: SCOPES });
  assert.throws(() => createServiceToken(home, 'dup', { scopes: SCOPES }), {
    code: 'service_token_exists',
    message: /already exists: revoke it first \(cog token revoke dup\)/,
  });
  assert.throws(() => revokeServiceToken(home, 'nope'), {
    code: 'service_token_not_found',
    message: /no service token named "nope": cog token list/,
  });
  for (const bad of ['', 'a b', 'a/b', 'ü', 'x'.repeat(65), 'semi;colon']) {
    assert.throws(() => createServiceToken(home, bad, { scopes: SCOPES }), {
      code: 'service_token_bad_name',
    });
  }
  createServiceToken(home, 'A.b_c-9', { scopes: SCOPES });
  createServiceToken(home, 'x'.repeat(64), { scopes: SCOPES });
  assert.throws(() => createServiceToken(home, 'none', { scopes: [] }), {
    code: 'service_token_bad_options',
  });
  assert.deepEqual(
    listServiceTokens(home).map((t) => t.name),
    ['dup', 'A.b_c-9', 'x'.repeat(64)],
  );
});

test('list shows no hashes; revoke removes the entry and keeps the file private', () => {
  const home = freshHome();
  createServiceToken(home, 'keep', { scopes: ['cog:read'] });
  createServiceToken(home, 'drop', { scopes: ['cog:chat'] });
  const listed = listServiceTokens(home);
  assert.deepEqual(
    listed.map((t) => Object.keys(t).sort()),
    [
      ['createdAt', 'expired', 'name', 'principal', 'scopes'],
      ['createdAt', 'expired', 'name', 'principal', 'scopes'],
    ],
  );
  assert.ok(!JSON.stringify(listed).includes('sha256'));
  assert.equal(revokeServiceToken(home, 'drop').name, 'drop');
  assert.deepEqual(
    listServiceTokens(home).map((t) => t.name),
    ['keep'],
  );
  assert.equal(statSync(serviceTokensFile(home)).mode & 0o777, 0o600);
  assert.deepEqual(listServiceTokens(freshHome()), [], 'no file: no tokens');
});

test('an expired token is refused (injected clock) and listed as expired', async () => {
  const home = freshHome();
  let now = T0;
  const clock = () => now;
  const { token, info } = createServiceToken(home, 'short', {
    scopes: SCOPES,
    expiresAt: new Date(T0 + HOUR),
    now: clock,
  });
  assert.equal(info.expiresAt, '2026-01-01T01:00:00.000Z');
  const auth = serviceTokenAuthenticator(home, { now: clock });
  assert.equal((await auth(token))?.principal, 'service:short');
  now = T0 + HOUR - 1;
  assert.equal((await auth(token))?.principal, 'service:short');
  now = T0 + HOUR;
  assert.equal(await auth(token), undefined, 'refused from the moment it expires');
  assert.deepEqual(
    listServiceTokens(home, { now: clock }).map((t) => t.expired),
    [true],
  );
  assert.throws(
    () => createServiceToken(home, 'past', { scopes: SCOPES, expiresAt: new Date(T0), now: clock }),
    { code: 'service_token_bad_options', message: /already passed/ },
  );
});

test('a running authenticator sees create and revoke as soon as the file changes', async () => {
  const home = freshHome();
  const auth = serviceTokenAuthenticator(home); // started before any token exists
  const a = createServiceToken(home, 'a', { scopes: SCOPES }).token;
  assert.equal((await auth(a))?.principal, 'service:a', 'a token created later is seen');
  const b = createServiceToken(home, 'b', { scopes: SCOPES }).token;
  revokeServiceToken(home, 'a');
  assert.equal(await auth(a), undefined, 'revoked: refused at the next request');
  assert.equal((await auth(b))?.principal, 'service:b', 'the others still work');
  // Revoked and created again under the same name: the old token stays dead.
  const a2 = createServiceToken(home, 'a', { scopes: SCOPES }).token;
  assert.equal(await auth(a), undefined);
  assert.equal((await auth(a2))?.principal, 'service:a');
});

test('a malformed or unsafe file is an error at startup, never an empty list', () => {
  const bad: [string, string | undefined, RegExp][] = [
    ['{ not json', undefined, /is not valid JSON/],
    ['{"version":1,"tokens":[{"name":"x","sha256":"zz"}]}', undefined, /tokens\.0\.sha256/],
    ['{"version":2,"tokens":[]}', undefined, /not a service token file/],
    ['{"version":1,"tokens":[],"token":"cog_svc_x"}', undefined, /not a service token file/],
    ['{"version":1,"tokens":[]}', 'mode', /open to other users \(mode 644; run chmod 600/],
  ];
  for (const [text, mode, message] of bad) {
    const home = freshHome();
    const file = serviceTokensFile(home);
    writeFileSync(file, text, { mode: 0o600 });
    if (mode) chmodSync(file, 0o644);
    const expected = { code: 'service_token_file_invalid', message };
    assert.throws(() => serviceTokenAuthenticator(home), expected, text);
    assert.throws(() => listServiceTokens(home), expected);
    assert.throws(() => createServiceToken(home, 'new', { scopes: SCOPES }), expected);
    assert.equal(readFileSync(file, 'utf8'), text, 'a bad file is never overwritten');
    assert.ok(!existsSync(`${file}.tmp`));
  }
  const home = freshHome();
  const entry = { name: 'x', sha256: 'a'.repeat(64), scopes: ['cog:read'], createdAt: 'x' };
  entry.createdAt = new Date().toISOString();
  writeFileSync(serviceTokensFile(home), JSON.stringify({ version: 1, tokens: [entry, entry] }), {
    mode: 0o600,
  });
  assert.throws(() => serviceTokenAuthenticator(home), { message: /names "x" twice/ });
});

test('a file that turns bad while serving refuses every service token until fixed', async () => {
  const home = freshHome();
  const { token } = createServiceToken(home, 'svc', { scopes: SCOPES });
  const warnings: string[] = [];
  const auth = serviceTokenAuthenticator(home, { warn: (m) => warnings.push(m) });
  assert.equal((await auth(token))?.principal, 'service:svc');
  const file = serviceTokensFile(home);
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, good.replace('"version": 1', '"version": "one"'));
  assert.equal(await auth(token), undefined, 'fails closed');
  assert.equal(await auth(token), undefined);
  assert.equal(warnings.length, 1, 'said once, not per request');
  assert.match(warnings[0]!, /refusing every service token until it is fixed/);
  writeFileSync(file, good);
  assert.equal((await auth(token))?.principal, 'service:svc', 'fixed: accepted again');
});

test('a temp file left by a writer that died is cleared; a fresh one is waited for', async () => {
  const home = freshHome();
  createServiceToken(home, 'first', { scopes: SCOPES });
  const temp = `${serviceTokensFile(home)}.tmp`;
  writeFileSync(temp, '{"partial', { mode: 0o600 });
  const old = new Date(Date.now() - 60_000);
  utimesSync(temp, old, old);
  createServiceToken(home, 'second', { scopes: SCOPES });
  assert.deepEqual(
    listServiceTokens(home).map((t) => t.name),
    ['first', 'second'],
  );
  assert.ok(!existsSync(temp));

  // A live writer's temp file: create waits (the wait blocks this thread, so another
  // process plays the writer) and then adds its entry to what that writer left.
  writeFileSync(temp, '', { mode: 0o600 });
  const writer = spawn(process.execPath, [
    '-e',
    `setTimeout(() => require('node:fs').unlinkSync(${JSON.stringify(temp)}), 300)`,
  ]);
  const started = Date.now();
  createServiceToken(home, 'third', { scopes: SCOPES });
  assert.ok(Date.now() - started >= 250, 'waited for the other writer');
  const [code] = (await once(writer, 'exit')) as [number | null];
  assert.equal(code, 0, 'the writer removed its file, as a finished write does');
  assert.deepEqual(
    listServiceTokens(home).map((t) => t.name),
    ['first', 'second', 'third'],
  );
});

test('--expires: durations and ISO dates; anything else is a usage error', () => {
  const now = T0;
  assert.equal(parseExpires('30d', now).getTime(), T0 + 30 * 24 * HOUR);
  assert.equal(parseExpires('12h', now).getTime(), T0 + 12 * HOUR);
  assert.equal(parseExpires('90m', now).getTime(), T0 + 90 * 60_000);
  assert.equal(parseExpires('2027-01-31', now).toISOString(), '2027-01-31T00:00:00.000Z');
  assert.equal(
    parseExpires('2027-01-31T12:30:00+02:00', now).toISOString(),
    '2027-01-31T10:30:00.000Z',
  );
  for (const bad of [
    '0d',
    '30',
    '30s',
    '1y',
    'tomorrow',
    '2027-02-30',
    '2027-13-01',
    '-5d',
    '1234567d',
  ]) {
    assert.throws(() => parseExpires(bad, now), { code: 'usage' }, bad);
  }
});
