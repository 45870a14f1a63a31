import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { PipelineMode, RuntimeEvent } from '../../protocol/events.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

const OWNER = 'local:test';
/** How long the human takes to approve, on the runtime's clock. */
const HUMAN_MS = 90_000;
const homes: { cleanup(): void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));

/**
 * The offline engine answers arithmetic by running code; with approval `ask` the run waits
 * for a human. The runtime's clock jumps HUMAN_MS while it waits (the human's minute and a
 * half), so any latency that counted the wait would be at least that long.
 */
async function approvedTurn(mode: PipelineMode) {
  const home = tempHome();
  homes.push(home);
  let skew = 0;
  const runtime = await createRuntime(testConfig(home.home, { pipeline: mode, approval: 'ask' }), {
    sandbox: 'none',
    now: () => Date.now() + skew,
  });
  const { id } = await runtime.createSession(OWNER);
  const events: RuntimeEvent[] = [];
  await runtime.subscribe(id, OWNER, (e) => {
    events.push(e);
    if (e.type === 'process.updated' && e.process.status === 'pending-approval') {
      skew += HUMAN_MS;
      setImmediate(() => runtime.approve(e.process.id, OWNER, 'approve', e.process.codeSha256));
    }
  });
  const result = await runtime.send(id, OWNER, 'what is 17*23?');
  await runtime.close();
  const done = (node: string) => {
    const e = events.find((x) => x.type === 'node.done' && x.node === node);
    assert.ok(e?.type === 'node.done', `${node} reported node.done`);
    return e;
  };
  return { result, events, done };
}

for (const mode of ['fast', 'faithful'] as const) {
  describe(`approval wait and node latency, ${mode} pipeline`, () => {
    test('a run that waited for approval does not count in the latency of the nodes', async () => {
      const { result, done } = await approvedTurn(mode);
      assert.equal(result.status, 'ok');
      assert.match(result.text, /391/);
      assert.equal(result.processes[0]?.status, 'done');
      // The turn itself took the human's time: the clock did jump.
      assert.ok(result.timing.totalMs >= HUMAN_MS, `turn took ${result.timing.totalMs} ms`);

      const thinker = done('thinker');
      assert.ok(thinker.ms < HUMAN_MS, `thinker latency ${thinker.ms} ms leaves out the wait`);
      assert.ok(thinker.ms >= 0);
      assert.ok(
        (thinker.approvalWaitMs ?? 0) >= HUMAN_MS,
        `the wait left out is reported: ${thinker.approvalWaitMs}`,
      );
      const output = done('output');
      assert.ok(output.ms < HUMAN_MS, `output latency ${output.ms} ms leaves out the wait`);
      assert.ok(output.ms >= 0);
      if (mode === 'fast') assert.ok((output.approvalWaitMs ?? 0) >= HUMAN_MS);
      else assert.equal(output.approvalWaitMs, undefined, 'faithful Output starts after it');
    });
  });
}

test('without an approval wait, node.done carries no approvalWaitMs', async () => {
  const home = tempHome();
  homes.push(home);
  const runtime = await createRuntime(testConfig(home.home, { approval: 'auto' }), {
    sandbox: 'none',
  });
  const { id } = await runtime.createSession(OWNER);
  const events: RuntimeEvent[] = [];
  await runtime.subscribe(id, OWNER, (e) => events.push(e));
  const result = await runtime.send(id, OWNER, 'what is 17*23?');
  await runtime.close();
  assert.match(result.text, /391/);
  const dones = events.filter((e) => e.type === 'node.done');
  const withWait = events.filter((e) => e.type === 'node.done' && e.approvalWaitMs !== undefined);
  assert.ok(events.some((e) => e.type === 'node.done' && e.node === 'thinker'));
  assert.deepEqual(withWait, [], `no wait reported in ${dones.length} node.done events`);
});
