import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRuntime } from '../../server/runtime/runtime.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

// Titles through the runtime on PostgreSQL: the first message's, the settled topic's and
// the user's rename all reach cog_sessions with the event, and a restarted runtime lists them.

const OWNER = 'local:titles-pg';
let server: PgServer;
const homes: { cleanup(): void }[] = [];
before(async () => {
  server = await startPostgres();
});
after(async () => {
  homes.forEach((h) => h.cleanup());
  await server?.stop();
});

test('titles persist in PostgreSQL across a restart; the user’s is never replaced', async () => {
  const url = await server.createDatabase('titles');
  const h = tempHome('cog-titles-pg-');
  homes.push(h);
  const config = testConfig(h.home, { databaseUrl: url });
  const first = await createRuntime(config, { sandbox: 'none' });
  const topical = (await first.createSession(OWNER)).id;
  const mine = (await first.createSession(OWNER)).id;
  for (const text of ['what is 2+2?', 'what is 3+3?']) {
    for (const id of [topical, mine]) {
      await first.send(id, OWNER, text);
      await first.settled(id);
      if (id === mine && text === 'what is 2+2?') await first.renameSession(id, OWNER, 'Mine');
    }
  }
  const titles = () =>
    Object.fromEntries(first.listSessions(OWNER).map((s) => [s.id, s.title ?? null]));
  assert.deepEqual(titles(), { [topical]: 'Arithmetic', [mine]: 'Mine' });
  await first.close();

  const second = await createRuntime(config, { sandbox: 'none' });
  const listed = Object.fromEntries(second.listSessions(OWNER).map((s) => [s.id, s.title]));
  assert.deepEqual(listed, { [topical]: 'Arithmetic', [mine]: 'Mine' });
  assert.equal((await second.session(topical, OWNER)).titleSource, 'topic');
  assert.equal((await second.session(mine, OWNER)).titleSource, 'user');
  await second.renameSession(topical, OWNER, 'Sums, renamed');
  await second.close();

  const third = await createRuntime(config, { sandbox: 'none' });
  assert.equal(third.listSessions(OWNER).find((s) => s.id === topical)?.title, 'Sums, renamed');
  await third.close();
});

test('a rename on one instance shows in the other’s listing, loaded there or not', async () => {
  const databaseUrl = await server.createDatabase('titles_cluster');
  const [a, b] = await Promise.all(
    [0, 1].map(async (i) => {
      const h = tempHome(`cog-titles-cl-${i}-`);
      homes.push(h);
      return createRuntime(testConfig(h.home, { databaseUrl }), { sandbox: 'none' });
    }),
  );
  const cold = (await a!.createSession(OWNER, { id: 'cold' })).id;
  const warm = (await a!.createSession(OWNER, { id: 'warm' })).id;
  const titleOn = (r: typeof a, id: string) =>
    r!.listSessions(OWNER).find((s) => s.id === id)?.title;
  const until = async (what: string, probe: () => boolean) => {
    const deadline = Date.now() + 15_000;
    while (!probe()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(
    'B lists both',
    () => titleOn(b, cold) === undefined && b!.listSessions(OWNER).length === 2,
  );
  // B has "warm" loaded (it ran a turn there); "cold" it has only listed.
  await b!.send(warm, OWNER, 'hello from B');
  await b!.settled(warm);
  await until('A sees the first-message title', () => titleOn(a, warm) === 'hello from B');

  await a!.renameSession(cold, OWNER, 'Cold, renamed on A');
  await a!.renameSession(warm, OWNER, 'Warm, renamed on A');
  await until('B lists the cold rename', () => titleOn(b, cold) === 'Cold, renamed on A');
  await until('B lists the warm rename', () => titleOn(b, warm) === 'Warm, renamed on A');
  assert.equal((await b!.session(warm, OWNER)).titleSource, 'user');
  await a!.close();
  await b!.close();
});
