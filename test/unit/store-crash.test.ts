import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createFileStore } from '../../server/store/file-store.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const storeUrl = pathToFileURL(join(repo, 'server/store/file-store.ts')).href;

/** Write `body` as a module that has `createFileStore` in scope, and start it under tsx. */
async function child(root: string, body: string) {
  const script = join(root, 'child.mts');
  await writeFile(script, `import { createFileStore } from ${JSON.stringify(storeUrl)};\n${body}`);
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: repo, // so that `--import tsx` resolves from the repo's node_modules
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on('exit', (code, signal) => res({ code, signal })),
  );
  return { proc, exited, stderr: () => stderr };
}

test('close() lets the process exit with the events on disk', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cog-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'sessions');
  const { exited, stderr } = await child(
    root,
    `const store = createFileStore({ dir: ${JSON.stringify(dir)} });
     await store.create({ id: 's1', owner: 'local:test', createdAt: new Date().toISOString() });
     store.append({ seq: 1, ts: new Date().toISOString(), session: 's1', node: 'user', type: 'user.message', text: 'hi' });
     await store.close();`,
  );
  const timeout = setTimeout(() => assert.fail('the child did not exit after close()'), 8000);
  const { code } = await exited;
  clearTimeout(timeout);
  assert.equal(code, 0, stderr());
  const store = createFileStore({ dir });
  const { events } = await store.open('s1');
  assert.equal(events.length, 1);
  await store.close();
});

test('SIGKILL mid-stream loses nothing that append returned: no flush needed', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cog-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'sessions');
  // Each event is acknowledged on stdout as soon as append returns, the way the runtime
  // publishes it; a flush (fsync) only every 40. Small segments keep rotations in flight.
  const { proc, exited, stderr } = await child(
    root,
    `const store = createFileStore({ dir: ${JSON.stringify(dir)}, segmentBytes: 64 * 1024 });
     await store.create({ id: 'crash', owner: 'local:test', createdAt: new Date().toISOString() });
     const text = 'δ'.repeat(500);
     let seq = 0;
     for (;;) {
       for (let i = 0; i < 40; i++) {
         store.append({ seq: ++seq, ts: new Date().toISOString(), session: 'crash', node: 'output', type: 'output.delta', text });
         process.stdout.write(seq + '\\n');
         if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1));
       }
       await store.flush('crash');
     }`,
  );
  let acked = 0;
  let turns = 0;
  let buffered = '';
  await new Promise<void>((res, rej) => {
    const timeout = setTimeout(() => rej(new Error(`no progress: ${stderr()}`)), 8000);
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        acked = Math.max(acked, Number(line));
        if (++turns === 1000) {
          // Kill while it keeps appending: the last acknowledged event must be there.
          proc.kill('SIGKILL');
          clearTimeout(timeout);
          res();
        }
      }
    });
  });
  assert.equal((await exited).signal, 'SIGKILL');

  const store = createFileStore({ dir });
  const { events, quarantined } = await store.open('crash');
  await store.close();
  assert.ok(events.length >= acked, `acknowledged ${acked}, loaded ${events.length}`);
  assert.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: events.length }, (_, i) => i + 1),
  );
  for (const e of events) assert.equal(e.type === 'output.delta' && e.text.length, 500);
  assert.ok(quarantined <= 1, `at most the torn tail is quarantined, got ${quarantined}`);
});
