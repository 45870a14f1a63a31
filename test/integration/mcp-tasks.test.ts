import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  RELATED_TASK_META_KEY,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { ProcessInfo } from '../../protocol/events.js';
import type { TurnResult } from '../../protocol/results.js';
import { TASKS_CAPABILITY } from '../../server/mcp/tasks.js';
import {
  TASK_TTL_MAX_MS,
  TASK_TTL_MIN_MS,
  TASKS_PER_PRINCIPAL,
  TaskRegistry,
} from '../../server/mcp/tasks-store.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { ensureBuilt } from '../helpers/cog-process.js';
import {
  cleanupHomes,
  connect,
  createTask,
  data,
  fixtureRuntime,
  hudEvents,
  mcpError,
  offlineRuntime,
  rawStdio,
  taskResult,
  watchTasks,
} from './mcp-core-harness.js';

let fixture: FixtureServer;
before(async () => {
  fixture = await startFixtureServer();
  await ensureBuilt();
});
after(async () => {
  await fixture.close();
  cleanupHomes();
});
beforeEach(() => fixture.reset());

/** The offline engine answers arithmetic by running `console.log(17*23)`. */
const SUM = 'what is 17*23?';
const IMMEDIATE = 'io.modelcontextprotocol/model-immediate-response';

test('send as a task: working, then completed; tasks/result is the turn a plain call returns', async () => {
  const { runtime, live } = await offlineRuntime();
  const c = await connect(runtime, 'local:alice');
  assert.deepEqual(c.client.getServerCapabilities()?.tasks, TASKS_CAPABILITY);
  for (const t of (await c.client.listTools()).tools) {
    const tasks = ['send', 'action', 'process-approve'].includes(t.name);
    assert.equal(t.execution?.taskSupport, tasks ? 'optional' : 'forbidden', t.name);
  }
  const notForTasks = /state does not run as a task.*send, action, process-approve/;
  await assert.rejects(
    createTask(c, 'state', { session: 'nope' }),
    mcpError(ErrorCode.MethodNotFound, notForTasks),
  );

  const watch = watchTasks(c.client);
  const progress: { message?: string; _meta?: Record<string, unknown> }[] = [];
  const seen: string[] = [];
  let taskId = '';
  let result: CallToolResult | undefined;
  for await (const m of c.client.experimental.tasks.callToolStream(
    { name: 'send', arguments: { text: SUM } },
    CallToolResultSchema,
    { task: { ttl: 60_000 }, onprogress: (p) => void progress.push(p) },
  )) {
    seen.push(m.type === 'taskStatus' ? m.task.status : m.type);
    if (m.type === 'taskCreated') {
      taskId = m.task.taskId;
      assert.equal(m.task.ttl, 60_000, 'the requested ttl is kept');
      assert.ok(m.task.pollInterval && m.task.createdAt && m.task.lastUpdatedAt);
    }
    if (m.type === 'result') result = m.result as CallToolResult;
    if (m.type === 'error') throw m.error;
  }
  assert.equal(seen[0], 'taskCreated');
  assert.deepEqual(seen.slice(-2), ['completed', 'result']);
  const turn = data<TurnResult>(result!);
  assert.deepEqual([turn.status, turn.processes[0]?.status], ['ok', 'done']);
  assert.match(turn.text, /391/);
  assert.deepEqual(result!._meta?.[RELATED_TASK_META_KEY], { taskId });
  assert.equal(progress.map((p) => p.message).join(''), turn.text, 'progress spells the reply');
  const related = progress.map((p) => p._meta?.[RELATED_TASK_META_KEY]);
  assert.deepEqual(
    new Set(related.map((r) => JSON.stringify(r))),
    new Set([`{"taskId":"${taskId}"}`]),
  );
  await watch.until(taskId, 'completed');

  const again = await taskResult(c, taskId);
  assert.deepEqual(again.structuredContent, result!.structuredContent, 'tasks/result repeats');
  const got = await c.client.experimental.tasks.getTask(taskId);
  assert.equal(got.status, 'completed');
  assert.equal(got._meta, undefined, 'tasks/get carries no related-task metadata');

  // A client that does not ask for a task gets today's answer, and no task is made.
  const plain = data<TurnResult>(await c.call('send', { text: SUM, session: turn.session }));
  assert.deepEqual(Object.keys(plain).sort(), Object.keys(turn).sort());
  assert.match(plain.text, /391/);
  const listed = (await c.client.experimental.tasks.listTasks()).tasks;
  assert.deepEqual(
    listed.map((t) => t.taskId),
    [taskId],
    'the plain call made no task',
  );
  await runtime.settled(turn.session);
  await c.close();
  assert.equal(live(), 0, 'the task’s turn released its subscription');
  await runtime.close();
});

test('a run waiting for approval: input_required; process-approve from any connection lets it go on', async () => {
  const { runtime } = await offlineRuntime({ approval: 'ask' });
  const c = await connect(runtime, 'local:alice', { defaultLevel: true });
  let asked = 0;
  // A client that could be asked is not: a task waits for process-approve.
  const other = await connect(runtime, 'local:alice', {
    elicit: () => (asked++, { action: 'decline' }),
  });
  const id = (await runtime.createSession('local:alice')).id;
  for (const [conn, decider, decision] of [
    [c, other, 'approve'],
    [other, c, 'deny'],
  ] as const) {
    const watch = watchTasks(conn.client);
    const taskId = await createTask(conn, 'send', { text: SUM, session: id });
    const waiting = await watch.until(taskId, 'input_required');
    const p = runtime.listProcesses('local:alice', id).at(-1)!;
    const got = await conn.client.experimental.tasks.getTask(taskId);
    assert.equal(got.status, 'input_required');
    assert.equal(got.statusMessage, waiting.statusMessage);
    assert.match(got.statusMessage ?? '', new RegExp(`process ${p.id} wants to run javascript`));
    assert.match(got.statusMessage ?? '', new RegExp(`process-approve with .*${p.codeSha256}`));

    const blocked = taskResult(conn, taskId); // blocks until the task ends
    const decided = data<{ process: { status: string }; turn?: unknown }>(
      await decider.call('process-approve', { process: p.id, decision, codeSha256: p.codeSha256 }),
    );
    assert.equal(decided.process.status, decision === 'approve' ? 'running' : 'denied');
    assert.equal(decided.turn, undefined, 'the task holds the rest of the turn');
    const turn = data<TurnResult>(await blocked);
    assert.equal(turn.status, 'ok');
    assert.match(turn.text, decision === 'approve' ? /391/ : /did not finish \(denied\)/);
    assert.equal(turn.processes[0]?.status, decision === 'approve' ? 'done' : 'denied');
    await watch.until(taskId, 'completed');
    assert.deepEqual(watch.statuses(taskId), ['input_required', 'working', 'completed']);
    await runtime.settled(id);
  }
  assert.equal(asked, 0, 'nobody was asked through elicitation');
  await c.close();
  await other.close();
  await runtime.close();
});

test('process-approve as a task carries the rest of a turn that answered awaiting_approval', async () => {
  const { runtime } = await offlineRuntime({ approval: 'ask' });
  const c = await connect(runtime, 'local:alice', { defaultLevel: true });
  const waiting = data<TurnResult>(await c.call('send', { text: SUM }));
  assert.equal(waiting.status, 'awaiting_approval');
  const p = waiting.pending!;
  const approve = { process: p.id, decision: 'approve', codeSha256: p.codeSha256 };
  const taskId = await createTask(c, 'process-approve', approve);
  const rest = data<{ process: ProcessInfo; turn?: TurnResult }>(await taskResult(c, taskId));
  assert.deepEqual([rest.process.status, rest.turn?.status], ['running', 'ok']);
  assert.match(rest.turn?.text ?? '', /391/);
  assert.equal((await c.client.experimental.tasks.getTask(taskId)).status, 'completed');
  await runtime.settled(waiting.session);
  await c.close();
  await runtime.close();
});

test('tasks/cancel stops the turn and its child process; the task stays cancelled', async () => {
  const { runtime, live } = await fixtureRuntime(fixture);
  const c = await connect(runtime, 'local:alice');
  const watch = watchTasks(c.client);
  const id = (await runtime.createSession('local:alice')).id;
  const code = 'setTimeout(() => {}, 30000)';
  fixture.script('thinker', [
    reply.toolCalls([
      { name: 'run_code', arguments: JSON.stringify({ language: 'javascript', code }) },
    ]),
  ]);
  const taskId = await createTask(c, 'send', { text: 'sleep', session: id });
  await c.until(
    () =>
      hudEvents(c).some((e) => e.type === 'process.updated' && e.process.startedAt !== undefined),
    'the child process to start',
  );
  assert.equal((await c.client.experimental.tasks.getTask(taskId)).status, 'working');
  assert.equal((await c.client.experimental.tasks.cancelTask(taskId)).status, 'cancelled');
  assert.deepEqual(
    runtime.listProcesses('local:alice', id).map((p) => p.status),
    ['cancelled'],
    'the child has ended cancelled by the time tasks/cancel answers',
  );
  await runtime.settled(id);
  const after = await c.client.experimental.tasks.getTask(taskId);
  assert.equal(after.status, 'cancelled', 'cancelled stays cancelled as the turn unwinds');
  const turn = data<TurnResult>(await taskResult(c, taskId));
  assert.equal(turn.status, 'cancelled');
  await assert.rejects(
    c.client.experimental.tasks.cancelTask(taskId),
    mcpError(ErrorCode.InvalidParams, /already cancelled/),
  );
  await watch.until(taskId, 'cancelled');
  assert.deepEqual(watch.statuses(taskId), ['cancelled'], 'one notification, no later change');
  const done = await c.call('trace', { session: id, type: 'turn.done' });
  assert.equal(data<{ events: { status: string }[] }>(done).events[0]?.status, 'cancelled');
  await c.close();
  assert.equal(live(), 0);
  await runtime.close();
});

test('tasks are per principal: tasks/list pages one’s own; another’s ids are "not found"', async () => {
  const { runtime } = await offlineRuntime({ approval: 'ask' });
  const alice = await connect(runtime, 'oidc:alice', { defaultLevel: true });
  const bob = await connect(runtime, 'oidc:bob', { defaultLevel: true });
  const id = (await runtime.createSession('oidc:alice')).id;
  const aliceWatch = watchTasks(alice.client);
  const waiting = await createTask(alice, 'send', { text: SUM, session: id });
  // Quick ones: a decision about a process that does not exist fails at once.
  const failed: string[] = [];
  const deny = { process: 'p-00000000', decision: 'deny' };
  for (let i = 0; i < 50; i++) failed.push(await createTask(alice, 'process-approve', deny));
  const result = await taskResult(alice, failed[0]);
  assert.equal(result.isError, true);
  const plain = await alice.call('process-approve', deny);
  assert.deepEqual(result.content, plain.content, 'the failed task’s result is the call’s');
  const failedTask = await alice.client.experimental.tasks.getTask(failed[0]);
  assert.equal(failedTask.status, 'failed');
  assert.match(failedTask.statusMessage ?? '', /No process p-00000000/);

  const page1 = await alice.client.experimental.tasks.listTasks();
  assert.equal(page1.tasks.length, 50);
  assert.ok(page1.nextCursor);
  const page2 = await alice.client.experimental.tasks.listTasks(page1.nextCursor);
  assert.equal(page2.nextCursor, undefined);
  assert.deepEqual(
    [...page1.tasks, ...page2.tasks].map((t) => t.taskId),
    [waiting, ...failed],
    'in creation order, each once',
  );
  await assert.rejects(
    alice.client.experimental.tasks.listTasks('not-a-cursor'),
    mcpError(ErrorCode.InvalidParams),
  );

  // The turn reaches its approval in its own time (a slow machine: after the listing).
  await aliceWatch.until(waiting, 'input_required', 30_000);
  assert.deepEqual((await bob.client.experimental.tasks.listTasks()).tasks, []);
  const unknown = '00000000-0000-4000-8000-000000000000';
  // Bob gets for alice's task exactly the error of an id that never existed.
  const messageFor = (op: Promise<unknown>, taskId: string) =>
    op.then(
      () => assert.fail('expected an error'),
      (err: unknown) => {
        assert.ok(err instanceof McpError && err.code === ErrorCode.InvalidParams, String(err));
        return err.message.replace(taskId, '<id>');
      },
    );
  const t = bob.client.experimental.tasks;
  for (const [op, name] of [
    [(x: string) => t.getTask(x), 'tasks/get'],
    [(x: string) => t.getTaskResult(x, CallToolResultSchema), 'tasks/result'],
    [(x: string) => t.cancelTask(x), 'tasks/cancel'],
  ] as const) {
    assert.equal(
      await messageFor(op(waiting), waiting),
      await messageFor(op(unknown), unknown),
      `${name}: alice’s task is to bob what an unknown id is`,
    );
  }
  const still = await alice.client.experimental.tasks.getTask(waiting);
  assert.equal(still.status, 'input_required', 'bob’s cancel changed nothing');
  await alice.client.experimental.tasks.cancelTask(waiting);
  await runtime.settled(id);
  await alice.close();
  await bob.close();
  await runtime.close();
});

test('a task outlives its connection; ttl is kept within bounds and an expired task is gone', async (t) => {
  const { runtime, live } = await offlineRuntime({ approval: 'ask' });
  const first = await connect(runtime, 'local:alice', { defaultLevel: true });
  const id = (await runtime.createSession('local:alice')).id;
  const args = { text: SUM, session: id };
  const taskId = await createTask(first, 'send', args, { ttl: 10 * TASK_TTL_MAX_MS });
  await watchTasks(first.client).until(taskId, 'input_required');
  await first.close();

  const second = await connect(runtime, 'local:alice', { defaultLevel: true });
  const tasks = second.client.experimental.tasks;
  const got = await tasks.getTask(taskId);
  assert.equal(got.status, 'input_required', 'still there for the same principal');
  assert.equal(got.ttl, TASK_TTL_MAX_MS, 'a longer ttl is cut to the cap');
  const [p] = runtime.listProcesses('local:alice', id);
  const approve = { process: p.id, decision: 'approve', codeSha256: p.codeSha256 };
  await second.call('process-approve', approve);
  assert.match(data<TurnResult>(await taskResult(second, taskId)).text, /391/);
  await runtime.settled(id);

  const short = await createTask(second, 'process-approve', approve, { ttl: 1 });
  assert.equal((await tasks.getTask(short)).ttl, TASK_TTL_MIN_MS, 'a shorter one is raised');
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  t.mock.timers.tick(TASK_TTL_MIN_MS);
  await assert.rejects(tasks.getTask(short), mcpError(ErrorCode.InvalidParams, /No task/));
  assert.ok(!(await tasks.listTasks()).tasks.some((x) => x.taskId === short));
  await second.close();
  assert.equal(live(), 0);
  await runtime.close();
});

test('a principal holds at most TASKS_PER_PRINCIPAL tasks; the oldest finished makes room', () => {
  const registry = new TaskRegistry();
  const never = () => new Promise<never>(() => undefined);
  const create = (who: string) => registry.create(who, undefined, 'working', never);
  const made = Array.from({ length: TASKS_PER_PRINCIPAL }, () => create('p'));
  assert.throws(() => create('p'), mcpError(ErrorCode.InvalidRequest, /unfinished tasks/));
  assert.ok(create('q'), 'another principal has a cap of its own');
  registry.update(made[3], 'completed', 'done');
  registry.update(made[7], 'failed', 'failed');
  assert.ok(create('p'));
  assert.equal(registry.get('p', made[3].task.taskId), undefined, 'the oldest finished went');
  assert.ok(registry.get('p', made[7].task.taskId));
  assert.equal(registry.get('q', made[7].task.taskId), undefined, 'not q’s');
});

test('over raw JSON-RPC on stdio: create, poll, input_required, result, cancel', async () => {
  const raw = await rawStdio({ COG_APPROVAL: 'ask' });
  const { request } = raw;
  const status = (taskId: string, s: string) =>
    raw.notified('notifications/tasks/status', (p) => p.taskId === taskId && p.status === s);
  const structured = <T>(m: { result?: Record<string, unknown> }) =>
    m.result?.structuredContent as T;
  try {
    assert.deepEqual((raw.init.result?.capabilities as { tasks?: object }).tasks, TASKS_CAPABILITY);
    const listed = await request('tools/list', {});
    const tools = listed.result?.tools as { name: string; execution?: { taskSupport?: string } }[];
    assert.equal(tools.find((x) => x.name === 'send')?.execution?.taskSupport, 'optional');

    const send = { name: 'send', arguments: { text: SUM } };
    const created = await request('tools/call', { ...send, task: { ttl: 60_000 } });
    const task = created.result?.task as { taskId: string; status: string; ttl: number };
    assert.deepEqual([task.status, task.ttl], ['working', 60_000]);
    const meta = created.result?._meta as Record<string, string> | undefined;
    assert.match(meta?.[IMMEDIATE] ?? '', new RegExp(`task ${task.taskId}`));
    await status(task.taskId, 'input_required');
    const polled = await request('tasks/get', { taskId: task.taskId });
    assert.equal(polled.result?.status, 'input_required');
    const call = /process-approve with (\{[^}]+\})/.exec(String(polled.result?.statusMessage));
    assert.ok(call, String(polled.result?.statusMessage));

    const blocked = request('tasks/result', { taskId: task.taskId });
    const decided = await request('tools/call', {
      name: 'process-approve',
      arguments: JSON.parse(call[1]) as object,
    });
    assert.equal(structured<{ process: ProcessInfo }>(decided).process.status, 'running');
    const result = (await blocked).result as CallToolResult;
    assert.match((result.structuredContent as TurnResult).text, /391/);
    assert.deepEqual(result._meta?.[RELATED_TASK_META_KEY], { taskId: task.taskId });
    await status(task.taskId, 'completed');

    // Cancel a task that waits for approval: its run is withdrawn.
    const second = await request('tools/call', { ...send, task: {} });
    const secondId = (second.result?.task as { taskId: string }).taskId;
    await status(secondId, 'input_required');
    const cancelled = await request('tasks/cancel', { taskId: secondId });
    assert.equal(cancelled.result?.status, 'cancelled');
    const procs = await request('tools/call', { name: 'process-list', arguments: {} });
    assert.deepEqual(
      structured<{ processes: ProcessInfo[] }>(procs).processes.map((p) => p.status),
      ['done', 'cancelled'],
    );
    const all = await request('tasks/list', {});
    assert.deepEqual(
      (all.result?.tasks as { taskId: string; status: string }[]).map((x) => [x.taskId, x.status]),
      [
        [task.taskId, 'completed'],
        [secondId, 'cancelled'],
      ],
    );
    // Without `task`: today's answer (awaiting_approval at once, for a client without elicitation).
    const plain = await request('tools/call', send);
    assert.equal(structured<TurnResult>(plain).status, 'awaiting_approval');
    assert.equal(plain.result?.task, undefined);

    const unknown = await request('tasks/get', { taskId: 'nope' });
    assert.equal(unknown.error?.code, ErrorCode.InvalidParams);
    const malformed = await request('tasks/result', { taskId: 5 });
    assert.equal(malformed.error?.code, ErrorCode.InvalidParams);
    assert.deepEqual(raw.out.nonJson, [], 'stdout carries only JSON-RPC');
  } finally {
    await raw.close();
  }
});
