import assert from 'node:assert/strict';
import { sendTool as send } from '../helpers/mcp-send.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { cogEnv, connectHttp, spawnCog, startServe } from '../helpers/cog-process.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { tempHome } from '../helpers/runtime.js';

// `cog serve` with COG_DATABASE_URL: the sessions live in PostgreSQL, not under COG_HOME,
// so another instance with another home finds them, whole and in order.

let server: PgServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

test('a session written through one cog serve is read, whole, through another', async () => {
  const url = await server.createDatabase('serve_handover');
  const env = { COG_DATABASE_URL: url, COG_OFFLINE: '1' };
  const homeA = tempHome('cog-pg-serve-a-');
  const homeB = tempHome('cog-pg-serve-b-');
  try {
    const a = await startServe(homeA.home, { env });
    let session: string;
    try {
      const client = await connectHttp(a);
      const first = await send(client, { text: 'what is 6*7?' });
      assert.equal(first.status, 'ok');
      assert.match(first.text, /42/);
      session = first.session;
      const second = await send(client, { session, text: 'I’m Ada' });
      assert.equal(second.status, 'ok');
      await client.close();
    } finally {
      await a.serve.stop();
    }
    assert.ok(!existsSync(join(homeA.home, 'sessions')), 'nothing of the session under COG_HOME');

    const b = await startServe(homeB.home, { env });
    try {
      const client = await connectHttp(b);
      const listed = await client.callTool({ name: 'sessions', arguments: { action: 'list' } });
      const ids = (listed.structuredContent as { sessions: { id: string }[] }).sessions.map(
        (s) => s.id,
      );
      assert.deepEqual(ids, [session]);
      const trace = await client.callTool({ name: 'trace', arguments: { session, limit: 1000 } });
      const events = (trace.structuredContent as { events: { seq: number; type: string }[] })
        .events;
      assert.deepEqual(
        events.map((e) => e.seq),
        Array.from({ length: events.length }, (_, i) => i + 1),
        'every seq once, in order',
      );
      assert.equal(events.filter((e) => e.type === 'turn.done').length, 2);
      // And B goes on where A stopped.
      const third = await send(client, { session, text: 'what is 2+3?' });
      assert.match(third.text, /5/);
      await client.close();
    } finally {
      await b.serve.stop();
    }
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: string; last: string }>(
        'SELECT count(*) AS n, max(seq) AS last FROM cog_events',
      );
      assert.equal(rows[0]?.n, rows[0]?.last, 'no gap and no duplicate in the log');
    } finally {
      await db.end();
    }
  } finally {
    homeA.cleanup();
    homeB.cleanup();
  }
});

test('a database URL that is wrong stops cog serve at start, saying why', async () => {
  const home = tempHome('cog-pg-serve-bad-');
  try {
    const notPg = spawnCog(
      ['serve', '--port', '0'],
      cogEnv(home.home, { COG_DATABASE_URL: 'mysql://x/y' }),
    );
    assert.notEqual(await notPg.exited, 0);
    assert.match(
      notPg.stderr(),
      /The database URL \(--database, COG_DATABASE_URL or databaseUrl\) is not a PostgreSQL URL/,
    );
    const flag = spawnCog(
      ['serve', '--port', '0', '--database', 'postgres://nobody@127.0.0.1:1/none'],
      cogEnv(home.home),
    );
    assert.notEqual(await flag.exited, 0);
    assert.match(flag.stderr(), /Cannot use the database postgres:\/\/nobody@127\.0\.0\.1:1\/none/);
    const wrong = new URL(server.url);
    wrong.password = 'wrong-password';
    const refused = spawnCog(
      ['serve', '--port', '0'],
      cogEnv(home.home, { COG_DATABASE_URL: wrong.href }),
    );
    assert.notEqual(await refused.exited, 0);
    assert.match(refused.stderr(), /Cannot use the database postgres:\/\/cog:\*\*\*@/);
    assert.ok(!refused.stderr().includes('wrong-password'), 'the password is not printed');
  } finally {
    home.cleanup();
  }
});
