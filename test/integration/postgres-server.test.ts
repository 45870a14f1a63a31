/**
 * test/helpers/postgres.ts: a real, throw-away PostgreSQL server as the PostgreSQL store's
 * tests will use it (password logins on 127.0.0.1 only, not as root, fsync on, LISTEN/NOTIFY,
 * one database per test), and nothing of it left once stopped.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type PgServer } from '../helpers/postgres.js';

let server: PgServer;
let postmasterPid = 0;

before(async () => {
  server = await startPostgres();
  // postmaster.pid's first line is the postmaster's pid.
  postmasterPid = Number(readFileSync(`${server.dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
});
after(() => server?.stop());

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Live processes whose command line mentions `text` (a zombie's command line is empty). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids.filter((p) => p !== process.pid);
}

/** Resolves true when a TCP connection to 127.0.0.1:port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('select version() over the URL, as the cog role, with fsync on', async () => {
  const row = await withClient(server.url, async (c) => {
    const { rows } = await c.query<{ version: string; user: string; db: string; fsync: string }>(
      `select version(), current_user as user, current_database() as db,
              current_setting('fsync') as fsync`,
    );
    return rows[0];
  });
  assert.match(row?.version ?? '', /^PostgreSQL \d+/);
  assert.equal(row?.user, 'cog');
  assert.equal(row?.db, 'cog');
  assert.equal(row?.fsync, 'on');
  assert.match(
    server.url,
    new RegExp(`^postgres://cog:[0-9a-f]+@127\\.0\\.0\\.1:${server.port}/cog$`),
  );
  assert.match(server.log(), /database system is ready to accept connections/);
});

test('a wrong password is refused (SCRAM authentication, not trust)', async () => {
  const wrong = new URL(server.url);
  wrong.password = 'not-the-password';
  await assert.rejects(
    withClient(wrong.href, (c) => c.query('select 1')),
    (err: { code?: string }) => err.code === '28P01', // invalid_password
  );
});

test('the server runs as a non-root user and owns its data directory', async () => {
  const dataDir = await withClient(server.url, async (c) => {
    const { rows } = await c.query<{ d: string }>(`select current_setting('data_directory') as d`);
    return rows[0]?.d ?? '';
  });
  assert.equal(dataDir, `${server.dir}/data`);
  const postmasterUid = statSync(`/proc/${postmasterPid}`).uid;
  assert.notEqual(postmasterUid, 0, 'the postmaster runs as root');
  assert.equal(statSync(dataDir).uid, postmasterUid);
  if (process.getuid?.() !== 0) assert.equal(postmasterUid, process.getuid?.());
});

test('it listens on 127.0.0.1 only', async () => {
  const listen = await withClient(server.url, async (c) => {
    const { rows } = await c.query<{ a: string }>(
      `select current_setting('listen_addresses') as a`,
    );
    return rows[0]?.a;
  });
  assert.equal(listen, '127.0.0.1');
  // Every listening TCP socket on its port (state 0A is LISTEN), over IPv4 and IPv6.
  const hexPort = server.port.toString(16).toUpperCase().padStart(4, '0');
  const listening = ['/proc/net/tcp', '/proc/net/tcp6']
    .filter((f) => existsSync(f))
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').slice(1))
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A')
    .map((cols) => cols[1]);
  assert.deepEqual(listening, [`0100007F:${hexPort}`]);
});

test('LISTEN/NOTIFY between two clients', async () => {
  await withClient(server.url, async (listener) => {
    await listener.query('listen cog_events');
    const got = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
    await withClient(server.url, (notifier) =>
      notifier.query(`select pg_notify('cog_events', $1)`, ['session-1:42']),
    );
    const n = await got;
    assert.equal(n.channel, 'cog_events');
    assert.equal(n.payload, 'session-1:42');
  });
});

test('createDatabase gives independent databases on the same server', async () => {
  const a = await server.createDatabase('store_a');
  const b = await server.createDatabase('store_b');
  assert.notEqual(a, b);
  await withClient(a, (c) => c.query('create table t (v text)'));
  await withClient(a, (c) => c.query(`insert into t values ('in a')`));
  const inB = await withClient(b, async (c) => {
    const { rows } = await c.query<{ t: string | null }>(`select to_regclass('t')::text as t`);
    return rows[0]?.t;
  });
  assert.equal(inB, null, 'the table made in store_a is visible in store_b');
  await withClient(b, (c) => c.query(`create table t (v text); insert into t values ('in b')`));
  const read = (url: string) =>
    withClient(url, async (c) => (await c.query<{ v: string }>('select v from t')).rows);
  assert.deepEqual(await read(a), [{ v: 'in a' }]);
  assert.deepEqual(await read(b), [{ v: 'in b' }]);
  await assert.rejects(server.createDatabase('store_a'), /already exists/);
  await assert.rejects(server.createDatabase('No"Quotes'), /not a plain database name/);
});

test('stop(): the port refuses connections, no process is left, the dir is gone', async () => {
  const other = await startPostgres({ name: 'second' });
  assert.notEqual(other.dir, server.dir);
  assert.match(other.url, /\/second$/);
  await withClient(other.url, (c) => c.query('select 1'));
  const pid = Number(readFileSync(`${other.dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
  assert.ok(processesMentioning(other.dir).includes(pid), 'the second postmaster is not running');
  await other.stop();
  await other.stop(); // twice is fine
  assert.equal(await refused(other.port), true, `port ${other.port} still accepts connections`);
  assert.deepEqual(processesMentioning(other.dir), []);
  assert.equal(existsSync(other.dir), false);
  assert.match(other.log(), /received fast shutdown request/);
  // The first server was not disturbed.
  await withClient(server.url, (c) => c.query('select 1'));
});
