import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore } from '../../server/store/file-store.js';
import type { EventStore } from '../../server/store/types.js';
import { storeContract } from '../helpers/store-contract.js';

storeContract('file store', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cog-store-contract-'));
  const dir = join(root, 'sessions');
  // Warnings are file-store business (unreadable lines and the like): none are expected.
  const warnings: string[] = [];
  const open = () => createFileStore({ dir, onWarning: (m) => warnings.push(m) });
  let current: EventStore = open();
  t.after(async () => {
    await current.close();
    await rm(root, { recursive: true, force: true });
    if (warnings.length > 0) throw new Error(`file store warned: ${warnings.join('; ')}`);
  });
  return {
    store: current,
    async reopen() {
      await current.close();
      current = open();
      return current;
    },
  };
});
