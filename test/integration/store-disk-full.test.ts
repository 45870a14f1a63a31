import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  writeSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { eventsOf, sessionDir, testConfig } from '../helpers/runtime.js';
import { connect, textOf } from './mcp-core-harness.js';

const OWNER = 'local:test';
const isRoot = process.getuid?.() === 0;

/** Writes zeros into `path` until the file system says ENOSPC. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

/**
 * Not root: this file again, in a user and mount namespace of its own, where it is root
 * and may mount its tmpfs (unprivileged user namespaces, on by default on Debian and most
 * Linux distributions).
 */
function inUserNamespace(): void {
  const file = fileURLToPath(import.meta.url);
  const r = spawnSync(
    'unshare',
    ['--user', '--map-root-user', '--mount', process.execPath, '--import', 'tsx', '--test', file],
    // Its own run, not a subtest of this one (node:test marks children with NODE_TEST_CONTEXT).
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
  );
  const said = `${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`;
  assert.equal(
    r.status,
    0,
    `as a user, this test mounts its tmpfs in a user namespace (unshare -rm), which failed; run it as root or allow unprivileged user namespaces:\n${said}`,
  );
  assert.match(r.stdout, /^# pass 1$/m, said);
}

test('a full disk ends the turn with an error that says so; reads work; freeing space heals it', async (t) => {
  if (!isRoot) return inUserNamespace();
  const mnt = mkdtempSync(join(tmpdir(), 'cog-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', mnt]);
  t.after(() => {
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  const home = join(mnt, 'home');
  const runtime = await createRuntime(testConfig(home), { sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  const seen: RuntimeEvent[] = [];
  await runtime.subscribe(id, OWNER, (e) => seen.push(e));
  assert.equal((await runtime.send(id, OWNER, 'hello')).status, 'ok');

  const filler = join(mnt, 'filler');
  fillUp(filler);
  // Sends until one meets the full disk: the very first, or one a page later.
  let failed;
  for (let i = 0; i < 20 && !failed; i++) {
    try {
      const r = await runtime.send(id, OWNER, `message ${i}`);
      if (r.status === 'error') failed = r.error;
    } catch (err) {
      failed = (err as Error).message;
    }
  }
  assert.match(String(failed), /disk is full/);
  // While full: a clear error at once, over MCP too, and nothing recorded.
  const before = seen.length;
  await assert.rejects(runtime.send(id, OWNER, 'still full?'), { code: 'store_disk_full' });
  const c = await connect(runtime, OWNER);
  const viaMcp = await c.call('send', { text: 'and over MCP?', session: id });
  assert.equal(viaMcp.isError, true);
  assert.match(textOf(viaMcp), /disk is full.*Free some space/s);
  assert.equal(seen.length, before, 'a refused message leaves no event');
  // Reads keep working.
  const state = await c.call('state', { session: id });
  assert.equal(state.isError, undefined);
  const history = await c.call('history', { session: id });
  assert.ok((history.structuredContent as { messages: unknown[] }).messages.length >= 2);
  await c.close();

  // The turn that met the full disk mid-stream (the files' last pages had room for its
  // first events) ends with an error event and its turn.done, written from the reserve.
  const [error, done] = seen.slice(-2);
  assert.equal(error?.type === 'node.error' && error.code, 'store_disk_full');
  assert.equal(done?.type === 'turn.done' && done.status, 'error');
  assert.match((done?.type === 'turn.done' && done.error) || '', /disk is full/);

  rmSync(filler);
  const healed = await runtime.send(id, OWNER, 'is there room now?');
  assert.equal(healed.status, 'ok', healed.error);
  await runtime.close();

  // After a restart: every event that was shown, exactly; no half-written line anywhere.
  const again = await createRuntime(testConfig(home), { sandbox: 'none' });
  const stored = await eventsOf(again, id, OWNER);
  assert.deepEqual(
    stored.filter((e) => e.seq >= seen[0]!.seq && e.seq <= seen.at(-1)!.seq),
    seen,
    'seen ⇒ durable, with the same seqs',
  );
  stored.forEach((e, i) => assert.equal(e.seq, i + 1));
  const dir = sessionDir(home, OWNER, id);
  assert.ok(!readdirSync(dir).some((n) => n.startsWith('quarantine')), 'nothing torn');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl'))) {
    const text = readFileSync(join(dir, name), 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), `${name} ends mid-line`);
  }
  await again.close();
});
