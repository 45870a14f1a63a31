import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { McpError, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import type { TurnResult } from '../../protocol/results.js';
import { digestDir, sessionDir } from '../helpers/runtime.js';
import {
  cleanupHomes,
  connect,
  data,
  hudEvents,
  offlineRuntime,
  textOf,
  type Connected,
} from './mcp-core-harness.js';

after(cleanupHomes);

/** The offline engine answers arithmetic by running `console.log(17*23)`. */
const SUM = 'what is 17*23?';

const pendingIn = (c: Connected, session?: string) =>
  hudEvents(c).flatMap((e) =>
    e.type === 'process.updated' &&
    e.process.status === 'pending-approval' &&
    (!session || e.session === session)
      ? [e.process]
      : [],
  );

test('elicitation: the client’s human approves, declines, or cannot be asked', async () => {
  const { runtime, live } = await offlineRuntime({ approval: 'ask' });
  const asked: ElicitRequest['params'][] = [];
  let answer: 'accept' | 'decline' | 'cancel' | 'throw' = 'accept';
  const c = await connect(runtime, 'local:alice', {
    elicit: (req) => {
      asked.push(req.params);
      if (answer === 'throw') throw new Error('the dialog crashed');
      return answer === 'accept'
        ? { action: 'accept', content: { approve: true } }
        : { action: answer };
    },
  });

  const approved = data<TurnResult>(await c.call('send', { text: SUM }));
  assert.match(approved.text, /391/);
  assert.equal(approved.processes[0].status, 'done');
  assert.equal(asked.length, 1);
  assert.match(asked[0].message, /javascript code.*console\.log\(17\*23\)/s);
  const schema = (asked[0] as { requestedSchema: { required: string[]; properties: object } })
    .requestedSchema;
  assert.deepEqual(schema.required, ['approve']);
  assert.deepEqual(schema.properties, { approve: { type: 'boolean', title: 'Run this code?' } });

  for (const how of ['decline', 'cancel'] as const) {
    answer = how;
    const denied = data<TurnResult>(await c.call('send', { text: SUM, session: approved.session }));
    assert.equal(denied.status, 'ok');
    assert.equal(denied.processes[0].status, 'denied', how);
    assert.match(denied.text, /did not finish \(denied\)/);
  }

  answer = 'throw';
  const failed = data<TurnResult>(await c.call('send', { text: SUM, session: approved.session }));
  assert.equal(failed.processes[0].status, 'denied', 'a failed question denies, never hangs');
  const runs = data<{ processes: { id: string; reason?: string }[] }>(
    await c.call('process-list', { session: approved.session }),
  );
  const run = runs.processes.find((p) => p.id === failed.processes[0].id);
  assert.match(run?.reason ?? '', /could not ask for approval \(.*the dialog crashed/);
  assert.equal(asked.length, 4);

  await runtime.settled(approved.session);
  await c.close();
  assert.equal(live(), 0);
  await runtime.close();
});

test('without elicitation send answers awaiting_approval at once; process-approve returns the rest', async () => {
  const { runtime } = await offlineRuntime({ approval: 'ask' });
  const c = await connect(runtime, 'local:alice', { defaultLevel: true });
  const id = (await runtime.createSession('local:alice')).id;

  const asked = Date.now();
  const first = await c.call('send', { text: SUM, session: id });
  assert.ok(Date.now() - asked < 1000, 'answered within a second, not when the human decides');
  const waiting = data<TurnResult>(first);
  assert.equal(waiting.status, 'awaiting_approval');
  const pending = waiting.pending!;
  assert.equal(pending.status, 'pending-approval');
  assert.equal(pending.language, 'javascript');
  assert.match(pending.code, /17 \* 23|17\*23/);
  assert.match(textOf(first), /process-approve/);
  assert.match(textOf(first), new RegExp(pending.codeSha256));
  const listed = data<{ processes: { id: string; status: string }[] }>(
    await c.call('process-list', { session: id }),
  );
  assert.deepEqual(listed.processes, [
    { ...listed.processes[0], id: pending.id, status: 'pending-approval' },
  ]);
  const unbound = await c.call('process-approve', { process: pending.id, decision: 'approve' });
  assert.equal(unbound.isError, true, 'an approval must name the code it was shown for');
  assert.match(textOf(unbound), /codeSha256/);
  const decided = data<{ process: { status: string }; turn?: TurnResult }>(
    await c.call('process-approve', {
      process: pending.id,
      decision: 'approve',
      codeSha256: pending.codeSha256,
    }),
  );
  assert.equal(decided.process.status, 'running');
  assert.equal(decided.turn?.status, 'ok', 'the approve call carries the rest of the turn');
  assert.match(decided.turn?.text ?? '', /391/);
  assert.equal(decided.turn?.turn, waiting.turn);
  const again = await c.call('process-approve', {
    process: pending.id,
    decision: 'approve',
    codeSha256: pending.codeSha256,
  });
  assert.equal(again.isError, true, 'a second decision is reported, not ignored');

  // The session is not blocked: the next send is served, and a deny finishes its turn.
  const second = data<TurnResult>(await c.call('send', { text: SUM, session: id }));
  assert.equal(second.status, 'awaiting_approval');
  const denied = data<{ turn?: TurnResult }>(
    await c.call('process-approve', { process: second.pending!.id, decision: 'deny' }),
  );
  assert.equal(denied.turn?.processes[0]?.status, 'denied');

  const third = data<TurnResult>(await c.call('send', { text: SUM, session: id }));
  const withdrawn = data<{ process: { status: string } }>(
    await c.call('process-cancel', { process: third.pending!.id }),
  );
  assert.equal(withdrawn.process.status, 'cancelled');
  await runtime.settled(id);
  const state = data<{ busy: boolean; queued: number }>(await c.call('state', { session: id }));
  assert.deepEqual([state.busy, state.queued], [false, 0], 'nothing left waiting');

  await c.close();
  await runtime.close();
});

test('two principals on one runtime: the other’s sessions and processes are "not found"', async () => {
  const { runtime, live } = await offlineRuntime({ approval: 'ask' });
  const alice = await connect(runtime, 'oidc:alice');
  const bob = await connect(runtime, 'oidc:bob');
  const id = data<{ created: { id: string } }>(
    await alice.call('sessions', { action: 'create', id: 'alice-1' }),
  ).created.id;
  const pending = alice.call('send', { text: SUM, session: id });
  await alice.until(() => pendingIn(alice).length === 1, 'alice’s pending run');
  const pid = pendingIn(alice)[0].id;

  const notFound: [string, Record<string, unknown>, RegExp][] = [
    ['send', { text: 'hi', session: id }, /No session alice-1/],
    ['action', { session: id, action: 'more' }, /No session alice-1/],
    ['state', { session: id }, /No session alice-1/],
    ['history', { session: id }, /No session alice-1/],
    ['trace', { session: id }, /No session alice-1/],
    ['clear', { session: id }, /No session alice-1/],
    ['process-list', { session: id }, /No session alice-1/],
    ['process-approve', { process: pid, decision: 'approve' }, new RegExp(`No process ${pid}`)],
    ['process-cancel', { process: pid }, new RegExp(`No process ${pid}`)],
  ];
  // Nothing bob tries may write a byte of alice's session.
  const aliceStore = () => digestDir(sessionDir(runtime.config.home, 'oidc:alice', id));
  const untouched = aliceStore();
  for (const [name, args, expected] of notFound) {
    const result = await bob.call(name, args);
    assert.equal(result.isError, true, `bob: ${name}`);
    assert.match(textOf(result), expected, `bob: ${name}`);
  }
  assert.deepEqual(data<{ sessions: unknown[] }>(await bob.call('sessions')).sessions, []);
  assert.deepEqual(data<{ processes: unknown[] }>(await bob.call('process-list')).processes, []);
  for (const view of ['state', 'history', 'trace', 'processes']) {
    await assert.rejects(
      bob.client.readResource({ uri: `cog://sessions/${id}/${view}` }),
      (err: unknown) => err instanceof McpError && err.code === -32002,
    );
  }
  await assert.rejects(bob.client.subscribeResource({ uri: `cog://sessions/${id}/state` }));
  const completion = await bob.client.complete({
    ref: { type: 'ref/resource', uri: 'cog://sessions/{id}/trace' },
    argument: { name: 'id', value: '' },
  });
  assert.deepEqual(completion.completion.values, []);
  assert.deepEqual(
    (await bob.client.listResources()).resources.map((r) => r.uri),
    ['cog://sessions'],
  );

  assert.equal(aliceStore(), untouched, 'alice’s log, index and snapshot are as they were');

  // Alice's run is untouched by all that, and decides as usual.
  assert.equal(runtime.listProcesses('oidc:alice', id)[0].status, 'pending-approval');
  const sha = runtime.listProcesses('oidc:alice', id)[0]?.codeSha256;
  assert.equal(data<TurnResult>(await pending).status, 'awaiting_approval');
  const rest = data<{ turn?: TurnResult }>(
    await alice.call('process-approve', { process: pid, decision: 'approve', codeSha256: sha }),
  );
  assert.match(rest.turn?.text ?? '', /391/);
  await runtime.settled(id);
  assert.equal(hudEvents(bob).length, 0, 'bob’s HUD saw nothing of alice’s session');
  assert.equal(bob.listChanged(), 0);

  // Ids are per principal: bob's "alice-1" is his own, new and empty; no "already exists"
  // tells him that alice has one.
  const own = await bob.call('sessions', { action: 'create', id });
  assert.notEqual(own.isError, true, textOf(own));
  const bobs = data<TurnResult>(await bob.call('send', { text: 'hi', session: id }));
  assert.equal(bobs.session, id);
  const bobState = data<{ turns: number }>(await bob.call('state', { session: id }));
  assert.equal(bobState.turns, 1, 'his own first turn, not alice’s two');
  const aliceState = data<{ turns: number }>(await alice.call('state', { session: id }));
  assert.equal(aliceState.turns, 1, 'hers unchanged');
  assert.deepEqual(
    runtime.listProcesses('oidc:bob', id).map((p) => p.id),
    [],
    'alice’s run is not in bob’s session of the same id',
  );
  await runtime.settled(id);

  await alice.close();
  await bob.close();
  assert.equal(live(), 0);
  await runtime.close();
});
