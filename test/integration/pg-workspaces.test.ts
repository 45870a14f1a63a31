import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { migrate } from '../../server/store/pg-migrations.js';
import { WORKSPACE_MARKER, createPgWorkspaces } from '../../server/store/pg-workspaces.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { eventsOf, tempHome, testConfig } from '../helpers/runtime.js';

// Session workspaces in PostgreSQL: instances share no filesystem, so what a code run
// leaves is stored in the database (capped) and pulled by the next run, wherever it runs.

let server: PgServer;
let pool: pg.Pool;
let fixture: FixtureServer;
let sessions = 0;
const cleanups: Array<() => Promise<void> | void> = [];

before(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: await server.createDatabase('workspaces_unit') });
  await migrate(pool);
  fixture = await startFixtureServer();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await pool?.end();
  await fixture?.close();
  await server?.stop();
});

/** A stored session (the workspace rows reference it) and two empty dirs, as two instances. */
async function session() {
  const key = `ws-${++sessions}`;
  await pool.query(
    `INSERT INTO cog_sessions (key, id, owner, created_at) VALUES ($1, $1, 'local:t', $2)`,
    [key, new Date().toISOString()],
  );
  const root = mkdtempSync(join(tmpdir(), 'cog-ws-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const a = join(root, 'a');
  const b = join(root, 'b');
  mkdirSync(a);
  return { key, a, b, root };
}

async function storedPaths(key: string): Promise<string[]> {
  const { rows } = await pool.query<{ path: string }>(
    'SELECT path FROM cog_workspace_files WHERE session_key = $1 ORDER BY path',
    [key],
  );
  return rows.map((r) => r.path);
}

async function version(key: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ version: string }>(
    'SELECT version FROM cog_workspaces WHERE session_key = $1',
    [key],
  );
  return rows[0]?.version;
}

test('round trip: files, nested dirs, mode and bytes come back on another directory; deletes follow', async () => {
  const ws = createPgWorkspaces(pool);
  const { key, a, b } = await session();
  writeFileSync(join(a, 'notes.txt'), 'hello');
  mkdirSync(join(a, 'data', 'deep'), { recursive: true });
  const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
  writeFileSync(join(a, 'data', 'deep', 'blob.bin'), binary);
  writeFileSync(join(a, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(a, 'run.sh'), 0o755);
  const pushed = await ws.push(key, a);
  assert.deepEqual(pushed, { files: 3, bytes: 5 + binary.length + 18 });
  assert.deepEqual(await storedPaths(key), ['data/deep/blob.bin', 'notes.txt', 'run.sh']);

  mkdirSync(b);
  writeFileSync(join(b, 'stale.txt'), 'from an older run on B'); // pull must remove it
  await ws.pull(key, b);
  assert.equal(readFileSync(join(b, 'notes.txt'), 'utf8'), 'hello');
  assert.deepEqual(readFileSync(join(b, 'data', 'deep', 'blob.bin')), binary);
  assert.equal(statSync(join(b, 'run.sh')).mode & 0o777, 0o755);
  assert.equal(existsSync(join(b, 'stale.txt')), false);
  assert.equal(readFileSync(join(b, WORKSPACE_MARKER), 'utf8').trim(), await version(key));

  // B deletes a file and a directory and changes one: A gets exactly that.
  rmSync(join(b, 'data'), { recursive: true });
  writeFileSync(join(b, 'notes.txt'), 'hello again');
  const before = await version(key);
  await ws.push(key, b);
  assert.notEqual(await version(key), before);
  assert.deepEqual(await storedPaths(key), ['notes.txt', 'run.sh']);
  await ws.pull(key, a);
  assert.equal(readFileSync(join(a, 'notes.txt'), 'utf8'), 'hello again');
  assert.equal(existsSync(join(a, 'data')), false, 'the emptied directory went too');
});

test('unchanged files are not rewritten, and a pull at the same version does no work', async () => {
  const ws = createPgWorkspaces(pool);
  const { key, a, b } = await session();
  for (let i = 0; i < 5; i++) writeFileSync(join(a, `f${i}.txt`), `file ${i}`);
  await ws.push(key, a);
  await ws.pull(key, b);
  const inode = statSync(join(b, 'f0.txt')).ino;
  // A changes one file: B's pull rewrites that one only (a rename gives a new inode).
  writeFileSync(join(a, 'f1.txt'), 'changed');
  await ws.push(key, a);
  await ws.pull(key, b);
  assert.equal(statSync(join(b, 'f0.txt')).ino, inode, 'f0 kept as it was');
  assert.equal(readFileSync(join(b, 'f1.txt'), 'utf8'), 'changed');
  // A push with nothing changed keeps the version.
  const v = await version(key);
  await ws.push(key, b);
  assert.equal(await version(key), v);
  // At the same version, a pull leaves even a local edit alone (it is the marker that
  // says the copy is current; the next push will store the edit).
  writeFileSync(join(b, 'f2.txt'), 'local edit');
  await ws.pull(key, b);
  assert.equal(readFileSync(join(b, 'f2.txt'), 'utf8'), 'local edit');
});

test('over the byte cap: nothing new is stored, the previous version stays, and the refusal says why', async () => {
  const ws = createPgWorkspaces(pool, { maxBytes: 1024 });
  const { key, a, b } = await session();
  writeFileSync(join(a, 'small.txt'), 'keep me');
  await ws.push(key, a);
  const v = await version(key);
  writeFileSync(join(a, 'small.txt'), 'changed but must not be stored');
  writeFileSync(join(a, 'big.bin'), Buffer.alloc(2000, 7));
  const res = await ws.push(key, a);
  assert.match(res.refused ?? '', /more than 1024 bytes/);
  assert.match(res.refused ?? '', /big\.bin/);
  assert.equal(await version(key), v);
  await ws.pull(key, b);
  assert.equal(readFileSync(join(b, 'small.txt'), 'utf8'), 'keep me');
  assert.equal(existsSync(join(b, 'big.bin')), false);
});

test('over the file cap: refused, nothing stored', async () => {
  const ws = createPgWorkspaces(pool, { maxFiles: 10 });
  const { key, a } = await session();
  for (let i = 0; i < 11; i++) writeFileSync(join(a, `f${i}`), 'x');
  const res = await ws.push(key, a);
  assert.match(res.refused ?? '', /more than 10 files/);
  assert.deepEqual(await storedPaths(key), []);
});

test('a 1 GB (sparse) file is refused by its size alone: fast, nothing read into the database', async () => {
  const ws = createPgWorkspaces(pool);
  const { key, a } = await session();
  execFileSync('truncate', ['-s', '1G', join(a, 'huge.bin')]);
  const started = Date.now();
  const res = await ws.push(key, a);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.match(res.refused ?? '', /huge\.bin alone has 1073741824/);
  assert.deepEqual(await storedPaths(key), []);
});

test('hostile entries: symlinks to /etc/passwd, /etc and /dev/zero, a FIFO, a name with newlines', async () => {
  const ws = createPgWorkspaces(pool);
  const { key, a, b, root } = await session();
  symlinkSync('/etc/passwd', join(a, 'passwd'));
  symlinkSync('/etc', join(a, 'etc'));
  symlinkSync('/dev/zero', join(a, 'zero')); // endless if read: never opened
  execFileSync('mkfifo', [join(a, 'pipe')]);
  const weird = 'line1\nline2 "quoted" \u00e9.txt';
  writeFileSync(join(a, weird), 'odd name');
  writeFileSync(join(a, 'ok.txt'), 'fine');
  // A FIFO nobody writes to would block a plain open forever: this must return.
  const res = await ws.push(key, a);
  assert.equal(res.refused, undefined);
  assert.deepEqual(await storedPaths(key), [weird, 'ok.txt'].sort());
  const { rows } = await pool.query<{ c: string }>(
    `SELECT count(*) AS c FROM cog_workspace_files
      WHERE session_key = $1 AND position('root:'::bytea in content) > 0`,
    [key],
  );
  assert.equal(rows[0]?.c, '0', 'nothing of /etc/passwd was stored');

  // On B, a symlinked parent planted by earlier code must not send the write outside.
  const outside = join(root, 'outside');
  mkdirSync(outside);
  mkdirSync(b);
  symlinkSync(outside, join(b, 'sub'));
  mkdirSync(join(a, 'sub'));
  writeFileSync(join(a, 'sub', 'inner.txt'), 'inside');
  await ws.push(key, a);
  await ws.pull(key, b);
  assert.equal(readFileSync(join(b, 'sub', 'inner.txt'), 'utf8'), 'inside');
  assert.ok(statSync(join(b, 'sub')).isDirectory());
  assert.equal(existsSync(join(outside, 'inner.txt')), false, 'nothing written through the link');
  assert.equal(readFileSync(join(b, weird), 'utf8'), 'odd name');
  assert.equal(existsSync(join(b, 'pipe')), false);
  assert.equal(existsSync(join(b, 'passwd')), false);

  // A marker replaced by a FIFO or a symlink neither blocks nor is followed.
  rmSync(join(b, WORKSPACE_MARKER));
  execFileSync('mkfifo', [join(b, WORKSPACE_MARKER)]);
  await ws.pull(key, b);
  assert.ok(statSync(join(b, WORKSPACE_MARKER)).isFile());
  assert.ok(existsSync('/etc/passwd'));
});

test('paths with .. or a leading / in the database are never written', async () => {
  const ws = createPgWorkspaces(pool);
  const { key, b, root } = await session();
  // As if someone wrote the rows directly: pull checks what it is given.
  await pool.query(`INSERT INTO cog_workspaces (session_key, version) VALUES ($1, 999999)`, [key]);
  for (const path of ['../escaped.txt', '/tmp/abs.txt', 'a/../../x.txt', 'fine.txt']) {
    await pool.query(
      `INSERT INTO cog_workspace_files (session_key, path, content, mode, mtime_ms, sha256)
       VALUES ($1, $2, 'x', 420, 0, 'none')`,
      [key, path],
    );
  }
  await ws.pull(key, b);
  assert.equal(readFileSync(join(b, 'fine.txt'), 'utf8'), 'x');
  assert.equal(existsSync(join(root, 'escaped.txt')), false);
  assert.equal(existsSync(join(root, 'x.txt')), false);
});

test('cost: push and pull of 100 small files', async () => {
  const ws = createPgWorkspaces(pool);
  const { key, a, b } = await session();
  for (let i = 0; i < 100; i++)
    writeFileSync(join(a, `file-${i}.txt`), `content ${i}\n`.repeat(20));
  let t = performance.now();
  await ws.push(key, a);
  const firstPush = performance.now() - t;
  t = performance.now();
  await ws.pull(key, b);
  const firstPull = performance.now() - t;
  t = performance.now();
  await ws.pull(key, b);
  const currentPull = performance.now() - t;
  t = performance.now();
  await ws.push(key, b);
  const unchangedPush = performance.now() - t;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  process.stdout.write(
    `# 100 files: push ${ms(firstPush)}, pull ${ms(firstPull)}, pull (current) ${ms(currentPull)}, push (unchanged) ${ms(unchangedPush)}\n`,
  );
  assert.equal((await storedPaths(key)).length, 100);
  assert.ok(currentPull < firstPull, 'a current pull skips the work');
});

test('two runtimes on one database: a file a run writes on A is read back by the next run on B', async () => {
  const databaseUrl = await server.createDatabase('workspaces_e2e');
  const runtimes: Runtime[] = [];
  for (const name of ['a', 'b']) {
    const home = tempHome(`cog-ws-${name}-`);
    const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'k', retryBaseMs: 10 });
    const config = testConfig(home.home, {
      databaseUrl,
      models: { input: 'm', thinker: 'm-thinker', output: 'm', memorizer: 'm-memo' },
      endpoint: { baseUrl: fixture.url, apiKey: 'k', source: 'test' },
    });
    const r = await createRuntime(config, { model, sandbox: 'none' });
    runtimes.push(r);
    cleanups.push(async () => {
      await r.close();
      home.cleanup();
    });
  }
  const [a, b] = runtimes as [Runtime, Runtime];
  const OWNER = 'local:ws-test';
  fixture.reset();
  fixture.script('memorizer', [reply.text('{}'), reply.text('{}')]);
  const runThenAnswer = (code: string) => [
    reply.toolCalls([
      { name: 'run_code', arguments: JSON.stringify({ language: 'python', code }) },
    ]),
    (req: { body: { messages?: Array<{ role: string; content?: unknown }> } }) => {
      const tool = req.body.messages?.find((m) => m.role === 'tool');
      return reply.text(`Tool said: ${String(tool?.content ?? '')}`);
    },
  ];
  fixture.script('thinker', [
    ...runThenAnswer(
      "open('secret.txt', 'w').write('kept across instances 7e3')\nprint('written')",
    ),
    ...runThenAnswer("print(open('secret.txt').read())"),
  ]);
  const { id } = await a.createSession(OWNER, { id: 'ws-e2e' });
  const first = await a.send(id, OWNER, 'write the file');
  assert.equal(first.status, 'ok');
  assert.match(first.text, /written/);
  await a.settled(id);
  const second = await b.send(id, OWNER, 'read it back');
  assert.equal(second.status, 'ok');
  assert.match(second.text, /kept across instances 7e3/);
  const events: RuntimeEvent[] = await eventsOf(b, id, OWNER);
  assert.equal(
    events.filter((e) => e.type === 'node.error').length,
    0,
    'no workspace error recorded',
  );
});

test('a run that leaves too much records node.error workspace_too_large; the old files stay', async () => {
  const databaseUrl = await server.createDatabase('workspaces_cap');
  const home = tempHome('cog-ws-cap-');
  const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'k', retryBaseMs: 10 });
  const r = await createRuntime(
    testConfig(home.home, {
      databaseUrl,
      models: { input: 'm', thinker: 'm-thinker', output: 'm', memorizer: 'm-memo' },
      endpoint: { baseUrl: fixture.url, apiKey: 'k', source: 'test' },
    }),
    { model, sandbox: 'none' },
  );
  cleanups.push(async () => {
    await r.close();
    home.cleanup();
  });
  const OWNER = 'local:ws-cap';
  fixture.reset();
  fixture.script('memorizer', [reply.text('{}')]);
  fixture.script('thinker', [
    reply.toolCalls([
      {
        name: 'run_code',
        arguments: JSON.stringify({
          language: 'python',
          // 17 MiB, over the default 16 MiB cap
          code: "open('big.bin', 'wb').write(b'x' * (17 * 1024 * 1024))\nprint('ok')",
        }),
      },
    ]),
    reply.text('Done.'),
  ]);
  const { id } = await r.createSession(OWNER, { id: 'ws-cap' });
  const turn = await r.send(id, OWNER, 'make a big file');
  assert.equal(turn.status, 'ok');
  const events = await eventsOf(r, id, OWNER);
  const err = events.find((e) => e.type === 'node.error');
  assert.ok(err && err.type === 'node.error', 'a node.error was recorded');
  assert.equal(err.code, 'workspace_too_large');
  assert.match(err.message, /not saved.*more than 16777216 bytes/);
  const check = new pg.Client({ connectionString: databaseUrl });
  await check.connect();
  try {
    const { rows } = await check.query<{ c: string }>(
      'SELECT count(*) AS c FROM cog_workspace_files',
    );
    assert.equal(rows[0]?.c, '0', 'nothing of the refused run stored');
  } finally {
    await check.end();
  }
});
