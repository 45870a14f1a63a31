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
