import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createChildRegistry, killLeftovers } from '../../server/processes/leftovers.js';

const dir = mkdtempSync(join(tmpdir(), 'cog-leftovers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a recorded child of a crashed runtime is killed; a reused pid is left alone', async () => {
  const registry = createChildRegistry(join(dir, 'children'));
  const left = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  const stranger = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  const exited = new Promise((r) => left.on('exit', r));
  registry.add(left.pid!);
  // A record whose start time is not the live process's: the pid was reused.
  writeFileSync(join(dir, 'children', String(stranger.pid)), '1');
  assert.equal(killLeftovers(join(dir, 'children')), 1);
  await exited;
  assert.equal(alive(stranger.pid!), true, 'the stranger lives');
  assert.deepEqual(readdirSync(join(dir, 'children')), [], 'the records are gone');
  stranger.kill('SIGKILL');
});
