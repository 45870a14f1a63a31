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
    `const store = createFileStore({ dir: ${JSON.stringify(dir)}, flushIntervalMs: 60_000 });
     store.append({ seq: 1, ts: new Date().toISOString(), session: 's1', node: 'user', type: 'user.message', text: 'hi' });
     await store.close();`,
  );
  const timeout = setTimeout(() => assert.fail('the child did not exit after close()'), 8000);
  const { code } = await exited;
  clearTimeout(timeout);
  assert.equal(code, 0, stderr());
  const { events } = await createFileStore({ dir }).load('s1');
  assert.equal(events.length, 1);
});

test('SIGKILL mid-stream loses nothing that a flush acknowledged', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'cog-store-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'sessions');
  // Each "turn" streams 40 events of ~1 KiB, flushes, then acknowledges the last seq on
  // stdout. Small segments and a short timer keep writes and rotations in flight, so the
  // kill usually lands after events the timer wrote but no flush acknowledged.
  const { proc, exited, stderr } = await child(
    root,
    `const store = createFileStore({ dir: ${JSON.stringify(dir)}, segmentBytes: 64 * 1024, flushIntervalMs: 2 });
     const text = 'δ'.repeat(500);
     let seq = 0;
     for (;;) {
       for (let i = 0; i < 40; i++) {
         store.append({ seq: ++seq, ts: new Date().toISOString(), session: 'crash', node: 'output', type: 'output.delta', text });
         if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1));
       }
       await store.flush('crash');
       process.stdout.write(seq + '\\n');
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
        if (++turns === 25) {
          // A few ms into the next turn, while the timer is writing its events.
          setTimeout(() => proc.kill('SIGKILL'), 5);
          clearTimeout(timeout);
          res();
        }
      }
    });
  });
  assert.equal((await exited).signal, 'SIGKILL');

  const { events, quarantined } = await createFileStore({ dir }).load('crash');
  assert.ok(events.length >= acked, `acknowledged ${acked}, loaded ${events.length}`);
  assert.deepEqual(
    events.map((e) => e.seq),
    Array.from({ length: events.length }, (_, i) => i + 1),
  );
  for (const e of events) assert.equal(e.type === 'output.delta' && e.text.length, 500);
  assert.ok(quarantined <= 1, `at most the torn tail is quarantined, got ${quarantined}`);
});
