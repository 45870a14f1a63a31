import { after, before } from 'node:test';
import { createPgStore } from '../../server/store/pg-store.js';
import type { EventStore } from '../../server/store/types.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { storeContract } from '../helpers/store-contract.js';

// The same contract suite as the file store's (test/unit/store-contract-file.test.ts),
// against the PostgreSQL store on a real throw-away server: one database per test.

let server: PgServer;
let databases = 0;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

storeContract('postgres store', async (t) => {
  const url = await server.createDatabase(`contract_${++databases}`);
  let current: EventStore = await createPgStore({ url });
  t.after(() => current.close());
  return {
    store: current,
    async reopen() {
      await current.close();
      current = await createPgStore({ url });
      return current;
    },
  };
});
