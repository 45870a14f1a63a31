import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { alive, checkLease, readLease, writeLease } from '../../extension/runtime-lease.js';
import { startLocalRuntime } from '../../extension/runtime-process.js';
import { runtimeEnv } from '../../extension/runtime-env.js';
import { cogBin } from '../helpers/cog-process.js';
import { recordingLog, useHomes } from './harness.js';

const home = useHomes('cog-lease-');
const { log, lines: warned } = recordingLog('warn');

/** A pid that no process has now. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '0']).pid;
  assert.ok(pid && !alive(pid));
  return pid;
}

async function serve(dir: string) {
  const env = runtimeEnv(
    { PATH: process.env.PATH, HOME: dir },
    {
      baseUrl: '',
      model: '',
      models: { input: '', thinker: '', output: '', memorizer: '' },
      pipeline: 'fast',
      approvalPolicy: 'auto',
      serverUrl: '',
      oauthClientId: '',
    },
    dir,
    undefined,
  );
  return startLocalRuntime({ execPath: process.execPath, bundle: cogBin, env, log });
}

test('a runtime whose extension host is gone is stopped before a new one starts', async () => {
  const dir = home();
  const orphan = await serve(dir);
  await writeLease(dir, { pid: orphan.pid, host: deadPid(), url: orphan.url.href });
  assert.deepEqual(await checkLease(dir, log), { kind: 'none' });
  await orphan.exited;
  assert.ok(!alive(orphan.pid));
  assert.ok(warned.some((w) => w.includes(String(orphan.pid))));
});

test("another live extension host's runtime is shared, not stopped", async () => {
  const dir = home();
  const other = await serve(dir);
  try {
    const lease = { pid: other.pid, host: process.ppid, url: other.url.href };
    await writeLease(dir, lease);
    assert.deepEqual(await checkLease(dir, log), { kind: 'shared', lease });
    assert.ok(alive(other.pid));
    assert.deepEqual(await readLease(dir), lease);
  } finally {
    await other.stop();
  }
});

test('a lease naming a process that is not cog serve (a recycled pid) kills nothing', async () => {
  const dir = home();
  const sleeper = spawn('sleep', ['30']);
  try {
    await writeLease(dir, { pid: sleeper.pid!, host: deadPid(), url: 'http://127.0.0.1:1/mcp' });
    assert.deepEqual(await checkLease(dir, log), { kind: 'none' });
    assert.ok(alive(sleeper.pid!));
  } finally {
    sleeper.kill();
  }
});
