import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { serviceTokenAuthenticator, serviceTokensFile } from '../../server/auth/service-tokens.js';
import { cogBin, cogEnv, ensureBuilt, runToEnd, type Ran } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

const homes: { cleanup(): void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));
function freshHome(): string {
  const h = tempHome('cog-cli-token-');
  homes.push(h);
  return h.home;
}

before(() => ensureBuilt());

/** Runs the real `node dist/cog.mjs token ...` on `home`. */
function cogToken(home: string, ...args: string[]): Promise<Ran> {
  return runToEnd(process.execPath, [cogBin, 'token', ...args], { env: cogEnv(home) });
}

const TOKEN = /^cog_svc_[A-Za-z0-9_-]{43}$/;

test('create prints the token once on stdout; list never shows it; the file holds a hash', async () => {
  const home = freshHome();
  const created = await cogToken(home, 'create', 'ci', '--scopes', 'cog:read cog:chat');
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, TOKEN);
  assert.equal(created.stdout, `${token}\n`, 'stdout is the token and nothing else');
  const file = serviceTokensFile(home);
  assert.ok(created.stderr.includes(`Created service token "ci" for service:ci`));
  assert.match(created.stderr, /scopes cog:read, cog:chat; expires never/);
  assert.match(created.stderr, /will not be shown again/);
  assert.ok(created.stderr.includes(`only its SHA-256 hash is stored, in ${file}`));
  assert.ok(!created.stderr.includes(token), 'the token is said once, on stdout');

  assert.ok(!readFileSync(file, 'utf8').includes(token), 'not on disk in plain text');
  assert.equal(statSync(file).mode & 0o777, 0o600);

  const list = await cogToken(home, 'list');
  assert.equal(list.code, 0, list.stderr);
  assert.ok(!list.stdout.includes(token) && !list.stderr.includes(token));
  const [header, row, ...rest] = list.stdout.trimEnd().split('\n');
  assert.match(header!, /^NAME\s+SCOPES\s+CREATED\s+EXPIRES\s+EXPIRED$/);
  assert.match(row!, /^ci\s+cog:read,cog:chat\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+never\s+no$/);
  assert.deepEqual(rest, []);

  // The token the command printed is one the server-side authenticator accepts.
  assert.deepEqual(await serviceTokenAuthenticator(home)(token), {
    principal: 'service:ci',
    scopes: ['cog:read', 'cog:chat'],
    via: 'service',
  });
});

test('--json for create, list and revoke; --expires as a duration or an ISO date', async () => {
  const home = freshHome();
  const before = Date.now();
  const a = await cogToken(home, 'create', 'bot.a', '--expires', '30d', '--json');
  assert.equal(a.code, 0, a.stderr);
  const out = JSON.parse(a.stdout) as Record<string, unknown>;
  assert.match(String(out.token), TOKEN);
  assert.equal(out.name, 'bot.a');
  assert.equal(out.principal, 'service:bot.a');
  assert.deepEqual(out.scopes, ['cog:read', 'cog:chat', 'cog:approve'], 'default: all');
  assert.equal(out.file, serviceTokensFile(home));
  const expires = Date.parse(String(out.expiresAt)) - before;
  const day = 86_400_000;
  assert.ok(expires >= 30 * day && expires < 30 * day + 60_000, String(out.expiresAt));

  const b = await cogToken(home, 'create', 'bot_b', '--scopes=cog:approve', '--expires=2099-12-31');
  assert.equal(b.code, 0, b.stderr);

  const list = await cogToken(home, 'list', '--json');
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as { file: string; tokens: Record<string, unknown>[] };
  assert.equal(listed.file, serviceTokensFile(home));
  assert.deepEqual(
    listed.tokens.map((t) => [t.name, t.scopes, t.expiresAt, t.expired]),
    [
      ['bot.a', ['cog:read', 'cog:chat', 'cog:approve'], out.expiresAt, false],
      ['bot_b', ['cog:approve'], '2099-12-31T00:00:00.000Z', false],
    ],
  );
  assert.ok(!list.stdout.includes(String(out.token)) && !list.stdout.includes('sha256'));

  const revoked = await cogToken(home, 'revoke', 'bot.a', '--json');
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal((JSON.parse(revoked.stdout) as { revoked: { name: string } }).revoked.name, 'bot.a');
  const empty = await cogToken(freshHome(), 'list', '--json');
  assert.deepEqual(JSON.parse(empty.stdout).tokens, []);
});

test('cog token revoke takes effect on an authenticator that is already running', async () => {
  const home = freshHome();
  const keep = (await cogToken(home, 'create', 'keep')).stdout.trim();
  const drop = (await cogToken(home, 'create', 'drop')).stdout.trim();
  const auth = serviceTokenAuthenticator(home); // as a running cog serve holds it
  assert.equal((await auth(drop))?.principal, 'service:drop');

  const r = await cogToken(home, 'revoke', 'drop');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Revoked service token "drop".\n');
  assert.equal(await auth(drop), undefined, 'refused at the next request, no restart');
  assert.equal((await auth(keep))?.principal, 'service:keep');

  const again = await cogToken(home, 'revoke', 'drop');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^cog: there is no service token named "drop": cog token list/);
  const list = await cogToken(home, 'list');
  assert.doesNotMatch(list.stdout, /drop/);
});

test('usage errors exit 2 and say what to do; a broken file exits 1; no stack traces', async () => {
  const home = freshHome();
  const first = await cogToken(home, 'create', 'dup');
  assert.equal(first.code, 0, first.stderr);
  const cases: [string[], RegExp][] = [
    [[], /cog token needs an action: create NAME, list, revoke NAME or local/],
    [['rotate', 'x'], /unknown token action "rotate": use create, list, revoke or local/],
    [['create'], /cog token create needs one NAME/],
    [['create', 'a', 'b'], /cog token create needs one NAME/],
    [['create', 'dup'], /already exists: revoke it first \(cog token revoke dup\)/],
    [['create', 'bad name'], /"bad name" is not a valid service token name: use 1 to 64/],
    [['create', 'x'.repeat(65)], /is not a valid service token name/],
    [['create', 'x', '--expires', '3 weeks'], /--expires 3 weeks is not a duration or a date/],
    [['create', 'x', '--expires', '2001-01-01'], /has already passed: give a time in the future/],
    [['create', 'x', '--scopes', 'cog:admin'], /--scopes: unknown scope cog:admin: use cog:read/],
    [['create', 'x', '--scopes', ' , '], /--scopes is empty/],
    [['list', 'x'], /cog token list takes no NAME/],
    [['list', '--scopes', 'cog:read'], /--scopes and --expires belong to cog token create/],
    [['revoke'], /cog token revoke needs one NAME/],
    [['revoke', 'missing'], /there is no service token named "missing"/],
    [['list', '--bogus'], /bogus/],
  ];
  for (const [args, message] of cases) {
    const r = await cogToken(home, ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^cog: /);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '', 'no token printed on a failure');
  }
  const names = JSON.parse((await cogToken(home, 'list', '--json')).stdout).tokens.map(
    (t: { name: string }) => t.name,
  );
  assert.deepEqual(names, ['dup'], 'no failed command changed the store');

  writeFileSync(serviceTokensFile(home), '{"version":1,"tokens":[{}]}', { mode: 0o600 });
  for (const args of [['list'], ['create', 'y']]) {
    const r = await cogToken(home, ...args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /service-tokens\.json is not a service token file .*: fix it, or delete/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }

  const help = await cogToken(home, '--help');
  assert.equal(help.code, 0);
  for (const s of ['cog token create NAME', '--scopes', '--expires', 'cog token revoke NAME']) {
    assert.ok(help.stdout.includes(s), s);
  }
});

test("concurrent creates all land: no command loses another one's token", async () => {
  const home = freshHome();
  const names = Array.from({ length: 8 }, (_, i) => `par-${i}`);
  const runs = await Promise.all(names.map((n) => cogToken(home, 'create', n)));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const auth = serviceTokenAuthenticator(home);
  for (const [i, r] of runs.entries()) {
    assert.equal((await auth(r.stdout.trim()))?.principal, `service:${names[i]}`);
  }
  const listed = JSON.parse((await cogToken(home, 'list', '--json')).stdout).tokens.map(
    (t: { name: string }) => t.name,
  );
  assert.deepEqual([...listed].sort(), names);
});
