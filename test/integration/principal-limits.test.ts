import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRuntime, type Runtime } from '../../server/runtime/runtime.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

// Each principal's share of one runtime: its turns and code runs are counted apart from
// everyone else's, so one principal cannot take all of it.

const SUM = 'what is 17*23?';

async function setUp(limits: { turns: number; codeRuns: number }) {
  const home = tempHome('cog-limits-');
  const runtime = await createRuntime(testConfig(home.home, { approval: 'ask' }), {
    sandbox: 'none',
    principalLimits: limits,
  });
  return {
    runtime,
    async close() {
      await runtime.close();
      home.cleanup();
    },
  };
}

/** Resolves once `owner` has `n` runs waiting for approval. */
async function pendingRuns(runtime: Runtime, owner: string, n: number) {
  for (let i = 0; i < 200; i++) {
    const pending = runtime.listProcesses(owner).filter((p) => p.status === 'pending-approval');
    if (pending.length >= n) return pending;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${owner} never had ${n} run(s) waiting`);
}

test('busy sessions: past its limit a principal is refused with a hint; another principal is not', async () => {
  const { runtime, close } = await setUp({ turns: 2, codeRuns: 5 });
  const [a1, a2, a3] = await Promise.all(
    [0, 1, 2].map(async () => (await runtime.createSession('local:alice')).id),
  );
  const first = runtime.send(a1!, 'local:alice', SUM);
  const second = runtime.send(a2!, 'local:alice', SUM);
  const waiting = await pendingRuns(runtime, 'local:alice', 2);
  await assert.rejects(runtime.send(a3!, 'local:alice', 'hi'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'rate_limited');
    assert.match(err.message, /turns running in 2 sessions.*send again in a few seconds/);
    return true;
  });
  // Into a session that is busy already, a message only queues: that is always allowed.
  const queued = runtime.send(a1!, 'local:alice', 'and then?');
  // Bob's share is his own.
  const bob = (await runtime.createSession('local:bob')).id;
  assert.equal((await runtime.send(bob, 'local:bob', 'hi')).status, 'ok');
  // Once her sessions are idle again, she may send into another.
  for (const run of waiting) runtime.approve(run.id, 'local:alice', 'deny');
  await Promise.all([first, second]);
  assert.equal((await queued).status, 'ok');
  assert.equal((await runtime.send(a3!, 'local:alice', 'hi')).status, 'ok');
  await close();
});

test('code runs: past its limit a principal’s run waits for a slot; another principal’s does not', async () => {
  const { runtime, close } = await setUp({ turns: 10, codeRuns: 1 });
  const [a1, a2] = await Promise.all(
    [0, 1].map(async () => (await runtime.createSession('local:alice')).id),
  );
  const first = runtime.send(a1!, 'local:alice', SUM);
  const [held] = await pendingRuns(runtime, 'local:alice', 1);
  const second = runtime.send(a2!, 'local:alice', SUM);
  // Bob's run is asked for at once, beside alice's.
  const bob = (await runtime.createSession('local:bob')).id;
  const bobs = runtime.send(bob, 'local:bob', SUM);
  const [bobRun] = await pendingRuns(runtime, 'local:bob', 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(runtime.listProcesses('local:alice').length, 1, 'her second run waits for a slot');
  runtime.approve(held!.id, 'local:alice', 'deny');
  await first;
  const [next] = await pendingRuns(runtime, 'local:alice', 1);
  assert.equal(next!.session, a2, 'the waiting run got the slot');
  runtime.approve(next!.id, 'local:alice', 'deny');
  runtime.approve(bobRun!.id, 'local:bob', 'deny');
  await Promise.all([second, bobs]);
  await close();
});

test('a run waiting for a slot ends with its turn when the turn is cancelled', async () => {
  const { runtime, close } = await setUp({ turns: 10, codeRuns: 1 });
  const [a1, a2] = await Promise.all(
    [0, 1].map(async () => (await runtime.createSession('local:alice')).id),
  );
  const first = runtime.send(a1!, 'local:alice', SUM);
  const [held] = await pendingRuns(runtime, 'local:alice', 1);
  const second = runtime.send(a2!, 'local:alice', SUM);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(runtime.cancelTurn(a2!, 'local:alice'), true);
  assert.equal((await second).status, 'cancelled');
  runtime.approve(held!.id, 'local:alice', 'deny');
  await first;
  assert.equal(runtime.listProcesses('local:alice').length, 1, 'the cancelled one never ran');
  await close();
});
