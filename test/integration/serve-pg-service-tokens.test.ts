import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { SERVICE_TOKENS_REFRESH_MS } from '../../server/auth/service-tokens-pg.js';
import { serviceTokensFile } from '../../server/auth/service-tokens.js';
import { cogBin, cogEnv, ensureBuilt, root, startServe } from '../helpers/cog-process.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { tempHome } from '../helpers/runtime.js';

// Two real `cog serve --database` processes with their own homes: a service token made once
// with `cog token create` (COG_DATABASE_URL set) works on both, and `cog token revoke` is
// refused by both within SERVICE_TOKENS_REFRESH_MS of the command's exit.

const run = promisify(execFile);
let server: PgServer;
const homes: { cleanup(): void }[] = [];
before(async () => {
  server = await startPostgres();
  await ensureBuilt();
});
after(async () => {
  await server?.stop();
  for (const h of homes) h.cleanup();
});

function home(prefix: string): string {
  const h = tempHome(prefix);
  homes.push(h);
  return h.home;
}

async function cog(args: string[], homeDir: string, env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [cogBin, ...args], { cwd: root, env: cogEnv(homeDir, env) });
}

/** An MCP initialize with `token`: 200 when it is accepted, 401 when not. */
async function status(url: string, token: string): Promise<number> {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'svc-e2e', version: '1.0.0' },
      },
    }),
  });
  await r.body?.cancel();
  return r.status;
}

test('a token made once in the database works on two instances; revoked, both refuse it', async () => {
  const url = await server.createDatabase('serve_svc_tokens');
  const env = { COG_DATABASE_URL: url, COG_OFFLINE: '1' };
  const homeA = home('cog-pg-svc-a-');
  const homeB = home('cog-pg-svc-b-');
  // A third home runs the CLI: the token lives in the database, in no home.
  const homeCli = home('cog-pg-svc-cli-');
  const made = await cog(['token', 'create', 'ci', '--json'], homeCli, { COG_DATABASE_URL: url });
  const created = JSON.parse(made.stdout) as { token: string; database: string; file?: string };
  assert.match(created.token, /^cog_svc_/);
  assert.equal(created.file, undefined);
  assert.match(created.database, /^postgres:\/\/cog:\*\*\*@127\.0\.0\.1:\d+\/serve_svc_tokens$/);
  assert.match(made.stderr, /only its SHA-256 hash is stored, in cog_service_tokens in postgres/);
  assert.ok(!existsSync(serviceTokensFile(homeCli)), 'no file written');

  // `--database` does what COG_DATABASE_URL does.
  const listed = await cog(['token', 'list', '--json', '--database', url], home('cog-pg-svc-l-'));
  const names = (JSON.parse(listed.stdout) as { tokens: { name: string }[] }).tokens;
  assert.deepEqual(
    names.map((t) => t.name),
    ['ci'],
  );

  const a = await startServe(homeA, { env });
  const b = await startServe(homeB, { env });
  try {
    assert.equal(await status(a.url, created.token), 200, 'accepted by instance A');
    assert.equal(await status(b.url, created.token), 200, 'accepted by instance B');
    assert.equal(await status(a.url, `${created.token.slice(0, -1)}x`), 401);

    await cog(['token', 'revoke', 'ci'], homeCli, { COG_DATABASE_URL: url });
    const revokedAt = Date.now();
    // Within the bound, each is polled until it refuses...
    const refusedAfter = async (u: string): Promise<number> => {
      for (;;) {
        if ((await status(u, created.token)) === 401) return Date.now() - revokedAt;
        if (Date.now() - revokedAt > 5_000) return Infinity;
        await sleep(20);
      }
    };
    const [ra, rb] = await Promise.all([refusedAfter(a.url), refusedAfter(b.url)]);
    assert.ok(ra <= SERVICE_TOKENS_REFRESH_MS + 100, `A refused it after ${ra} ms`);
    assert.ok(rb <= SERVICE_TOKENS_REFRESH_MS + 100, `B refused it after ${rb} ms`);
    // ...and from the bound on, refused for good by both.
    await sleep(Math.max(0, revokedAt + SERVICE_TOKENS_REFRESH_MS - Date.now()));
    assert.equal(await status(a.url, created.token), 401);
    assert.equal(await status(b.url, created.token), 401);
    // The local token of each instance is untouched.
    assert.equal(await status(a.url, a.token), 200);
  } finally {
    await Promise.all([a.serve.stop(), b.serve.stop()]);
  }
});

test('with a database, a service-tokens.json in the home is named once on stderr and not used', async () => {
  const url = await server.createDatabase('serve_svc_file_left');
  const h = home('cog-pg-svc-file-');
  // Made without a database: it goes to the home's file.
  const inFile = (await cog(['token', 'create', 'old'], h)).stdout.trim();
  assert.ok(existsSync(serviceTokensFile(h)));
  const listed = await cog(['token', 'list'], h, { COG_DATABASE_URL: url });
  assert.equal(listed.stdout, 'No service tokens.\n');
  assert.match(listed.stderr, /service-tokens\.json is not used: with a database/);

  const s = await startServe(h, { env: { COG_DATABASE_URL: url, COG_OFFLINE: '1' } });
  try {
    assert.equal(await status(s.url, inFile), 401, 'the file’s token is not accepted');
    assert.equal(await status(s.url, inFile), 401);
    const said = s.serve.stderr().match(/service-tokens\.json is not used/g) ?? [];
    assert.equal(said.length, 1, s.serve.stderr());
  } finally {
    await s.serve.stop();
  }
});
