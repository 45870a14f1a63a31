import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ProcessInfo } from '../../protocol/events.js';
import {
  codeSha256,
  createProcessManager,
  SQL_DATABASE_FILE,
  type ProcessManager,
  type ProcessManagerOptions,
  type RunRequest,
} from '../../server/processes/index.js';

const root = mkdtempSync(join(tmpdir(), 'cog-processes-process-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A manager whose events are recorded, plus a way to await one of them. */
function setup(opts: Partial<ProcessManagerOptions> = {}) {
  const updates: ProcessInfo[] = [];
  const output = new Map<string, string>();
  const waiters: { match: (p: ProcessInfo) => boolean; resolve: (p: ProcessInfo) => void }[] = [];
  const outputWaiters: { id: string; text: string; resolve: () => void }[] = [];
  const pm: ProcessManager = createProcessManager({
    policy: 'auto',
    ...opts,
    events: {
      onUpdate(p) {
        updates.push(p);
        for (const w of waiters.filter((w) => w.match(p))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(p);
        }
      },
      onOutput(id, _stream, text) {
        output.set(id, (output.get(id) ?? '') + text);
        for (const w of outputWaiters.filter((w) => w.id === id)) {
          if (!output.get(id)?.includes(w.text)) continue;
          outputWaiters.splice(outputWaiters.indexOf(w), 1);
          w.resolve();
        }
      },
    },
  });
  /** The first update matching `match`, including one already seen. */
  const waitFor = (match: (p: ProcessInfo) => boolean): Promise<ProcessInfo> => {
    const seen = updates.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ match, resolve }));
  };
  /** Resolves once process `id` has streamed `text`. */
  const waitForOutput = (id: string, text: string): Promise<void> =>
    output.get(id)?.includes(text)
      ? Promise.resolve()
      : new Promise((resolve) => outputWaiters.push({ id, text, resolve }));
  return { pm, updates, output, waitFor, waitForOutput };
}

let counter = 0;
function req(
  language: RunRequest['language'],
  code: string,
  more: Partial<RunRequest> = {},
): RunRequest {
  const session = more.session ?? `s${++counter}`;
  return { session, language, code, workspace: join(root, session), ...more };
}

test('javascript runs, streams its output and reports every status change', async () => {
  const { pm, updates, output } = setup();
  const r = await pm.run(req('javascript', 'console.log(6 * 7); console.error("warn")'));
  assert.equal(r.process.status, 'done');
  assert.equal(r.process.exitCode, 0);
  assert.match(r.process.id, /^p-[0-9a-f]{8}$/);
  assert.equal(r.output.split('\n').sort().join(','), ',42,warn');
  assert.equal(output.get(r.process.id), r.output);
  assert.deepEqual(
    updates.map((u) => [u.status, u.startedAt !== undefined]),
    [
      ['running', false],
      ['running', true],
      ['done', true],
    ],
  );
  assert.ok(r.process.endedAt && r.process.startedAt && r.process.endedAt >= r.process.startedAt);
  assert.deepEqual(pm.get(r.process.id), r.process);
  await pm.close();
});

test('a non-zero exit is failed with its code, and run() still resolves', async () => {
  const { pm } = setup();
  const r = await pm.run(req('javascript', 'process.exit(3)'));
  assert.equal(r.process.status, 'failed');
  assert.equal(r.process.exitCode, 3);
  assert.equal(r.process.reason, 'exited with code 3');
  await pm.close();
});

test('ask: pending until approved, then runs', async () => {
  const { pm, waitFor } = setup({ policy: 'ask' });
  const running = pm.run(req('javascript', 'console.log("approved run")'));
  const pending = await waitFor((p) => p.status === 'pending-approval');
  assert.deepEqual(
    pm.pending(pending.session).map((p) => p.id),
    [pending.id],
  );
  // An approval names the code it was shown for: none, or another's, is refused.
  assert.throws(() => pm.approve(pending.id, 'approve'), { code: 'approval_mismatch' });
  assert.throws(() => pm.approve(pending.id, 'approve', codeSha256('console.log("other")')), {
    code: 'approval_mismatch',
  });
  assert.equal(pending.codeSha256, codeSha256('console.log("approved run")'));
  assert.equal(pm.approve(pending.id, 'approve', pending.codeSha256).status, 'running');
  const r = await running;
  assert.equal(r.process.status, 'done');
  assert.equal(r.output, 'approved run\n');
  assert.deepEqual(pm.pending(), []);
  await pm.close();
});

test('ask: denied is never spawned', async () => {
  const { pm, waitFor } = setup({ policy: 'ask' });
  const request = req('python', 'open("ran.txt", "w").write("oops")');
  const running = pm.run(request);
  const pending = await waitFor((p) => p.status === 'pending-approval');
  const denied = pm.approve(pending.id, 'deny');
  assert.equal(denied.status, 'denied');
  const r = await running;
  assert.equal(r.process.status, 'denied');
  assert.equal(r.process.reason, 'denied by the user');
  assert.equal(r.process.startedAt, undefined);
  assert.equal(existsSync(join(request.workspace, 'ran.txt')), false);
  await pm.close();
});

test('ask: a run nobody decides is denied after the approval timeout, never spawned', async () => {
  const { pm, waitFor } = setup({ policy: 'ask', approvalTimeoutMs: 200 });
  const request = req('python', 'open("ran.txt", "w").write("oops")');
  const running = pm.run(request);
  await waitFor((p) => p.status === 'pending-approval');
  const r = await running;
  assert.equal(r.process.status, 'denied');
  assert.match(r.process.reason ?? '', /nobody approved or denied it within 0?\.?\d* ?s/);
  assert.equal(r.process.startedAt, undefined);
  assert.equal(existsSync(join(request.workspace, 'ran.txt')), false);
  await pm.close();
});

test('cancel while pending: cancelled, never started; a late approval is an error', async () => {
  const { pm, waitFor } = setup({ policy: 'ask' });
  const running = pm.run(req('javascript', 'console.log("never")'));
  const pending = await waitFor((p) => p.status === 'pending-approval');
  assert.equal(pm.cancel(pending.id), true);
  const r = await running;
  assert.equal(r.process.status, 'cancelled');
  assert.equal(r.process.startedAt, undefined);
  assert.equal(pm.cancel(pending.id), false, 'cancelling a finished process is a no-op');
  assert.throws(() => pm.approve(pending.id, 'approve'), { code: 'process_not_pending' });
  assert.throws(() => pm.approve('p-00000000', 'approve'), { code: 'process_not_found' });
  await pm.close();
});

test("the caller's AbortSignal cancels a pending process", async () => {
  const { pm, waitFor } = setup({ policy: 'ask' });
  const controller = new AbortController();
  const running = pm.run(req('javascript', '1', { signal: controller.signal }));
  await waitFor((p) => p.status === 'pending-approval');
  controller.abort();
  assert.equal((await running).process.status, 'cancelled');
  await pm.close();
});

test('policy deny refuses at once; setPolicy applies to later runs', async () => {
  const { pm } = setup({ policy: 'deny' });
  const r = await pm.run(req('javascript', 'console.log(1)'));
  assert.equal(r.process.status, 'denied');
  assert.equal(r.process.reason, 'denied by policy');
  assert.equal(r.output, '');
  pm.setPolicy('auto');
  assert.equal(pm.policy, 'auto');
  assert.equal((await pm.run(req('javascript', 'console.log(1)'))).process.status, 'done');
  await pm.close();
});

test('cancel before the child has spawned: it never starts', async () => {
  const { pm, output, waitFor } = setup();
  const running = pm.run(req('javascript', 'console.log("never")'));
  // The first update comes before the workspace is prepared and anything is spawned.
  const first = await waitFor((p) => p.status === 'running');
  assert.equal(first.startedAt, undefined);
  assert.equal(pm.cancel(first.id), true);
  const r = await running;
  assert.equal(r.process.status, 'cancelled');
  assert.equal(r.process.startedAt, undefined);
  assert.equal(output.get(first.id), undefined);
  await pm.close();
});

test('output cap: 3 MiB printed, 1 MiB kept, 16 KiB for the model with a marker', async () => {
  const { pm, output } = setup();
  const r = await pm.run(
    req(
      'python',
      'import sys\nfor i in range(3 * 1024):\n    sys.stdout.write("y" * 1023 + "\\n")',
    ),
  );
  assert.equal(r.process.status, 'done');
  assert.equal(r.process.outputBytes, 3 * 1024 * 1024);
  assert.equal(r.process.truncated, true);
  assert.equal(Buffer.byteLength(pm.output(r.process.id) ?? ''), 1024 * 1024);
  assert.equal(
    Buffer.byteLength(output.get(r.process.id) ?? ''),
    1024 * 1024,
    'streaming stops at the cap',
  );
  assert.ok(Buffer.byteLength(r.output) <= 16 * 1024);
  assert.match(r.output, /\n\[output truncated: showing 1\d(\.\d)? KiB of 3 MiB\]\n/);
  await pm.close();
});

test('python3 missing: failed with a reason that says what to do', async () => {
  const empty = mkdtempSync(join(root, 'empty-path-'));
  const { pm } = setup({ path: empty, sandbox: 'none' });
  const r = await pm.run(req('python', 'print(1)'));
  assert.equal(r.process.status, 'failed');
  assert.equal(
    r.process.reason,
    'python3 is not installed (Debian/Ubuntu: apt-get install python3)',
  );
  assert.equal(r.process.startedAt, undefined);
  await pm.close();
});

test('close() cancels running processes and refuses new ones', async () => {
  const { pm, waitFor, waitForOutput } = setup();
  const running = pm.run(req('python', 'import time\nprint("up", flush=True)\ntime.sleep(30)'));
  const started = await waitFor((p) => p.startedAt !== undefined);
  await waitForOutput(started.id, 'up');
  await pm.close();
  assert.equal(pm.get(started.id)?.status, 'cancelled');
  assert.equal((await running).process.status, 'cancelled');
  await assert.rejects(pm.run(req('javascript', '1')), { code: 'manager_closed' });
});

test('sql: a session database file persists across runs; sessions are separate', async () => {
  const { pm } = setup();
  const a = req('sql', '', { session: 'sql-a' });
  const create = await pm.run({
    ...a,
    code: "CREATE TABLE pets (name TEXT, legs INT); INSERT INTO pets VALUES ('cat', 4), ('bird', 2);",
  });
  assert.equal(create.process.status, 'done', create.output);
  assert.equal(create.output, '(2 rows changed)\n');
  assert.ok(existsSync(join(a.workspace, SQL_DATABASE_FILE)));

  const select = await pm.run({ ...a, code: 'SELECT name, legs FROM pets ORDER BY legs;' });
  assert.equal(select.process.status, 'done', select.output);
  assert.equal(select.output, 'name | legs\n-----+-----\nbird | 2\ncat  | 4\n(2 rows)\n');

  const other = await pm.run(req('sql', 'SELECT * FROM pets;', { session: 'sql-b' }));
  assert.equal(other.process.status, 'failed');
  assert.match(other.output, /SQL error: no such table: pets/);
  await pm.close();
});
