import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { EmptyResultSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { createCoalescer } from '../../server/mcp/live/coalescer.js';
import type { TurnResult } from '../../protocol/results.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import {
  cleanupHomes,
  connect,
  data,
  fixtureRuntime,
  hudEvents,
  offlineRuntime,
  readJson,
  textOf,
} from './mcp-core-harness.js';
import { eventsOf } from '../helpers/runtime.js';

let fixture: FixtureServer;
before(async () => {
  fixture = await startFixtureServer();
});
after(async () => {
  await fixture.close();
  cleanupHomes();
});
beforeEach(() => fixture.reset());

test('HUD events arrive as cog.hud logging messages at the level asked; by default failures only', async () => {
  const { runtime, live } = await fixtureRuntime(fixture);
  const c = await connect(runtime, 'local:alice', { defaultLevel: true });
  const quiet = data<TurnResult>(await c.call('send', { text: 'hi' }));
  assert.deepEqual(
    c.logs.filter((l) => (l.data as { turn?: string }).turn === quiet.turn),
    [],
    'a client that never set a level gets no HUD for a turn that went well',
  );
  await c.client.setLoggingLevel('info');
  const first = data<TurnResult>(await c.call('send', { text: 'hi', session: quiet.session }));
  const hud = hudEvents(c).filter((e) => e.turn === first.turn);
  const types = new Set(hud.map((e) => e.type));
  for (const t of ['turn.started', 'node.thinking', 'node.done', 'turn.done']) {
    assert.ok(types.has(t as never), `HUD has ${t}`);
  }
  assert.ok(!types.has('output.delta' as never), 'debug events stay out at info');
  assert.ok(!types.has('node.context' as never), 'debug events stay out at info');
  assert.ok(c.logs.every((l) => l.logger === 'cog.hud'));
  const levelOf = (type: string) => c.logs.find((l) => (l.data as { type: string }).type === type);
  assert.equal(levelOf('node.thinking')?.level, 'info');

  // At debug the whole event log arrives, seq by seq: what the VS Code panel mirrors.
  await c.client.setLoggingLevel('debug');
  const mark = c.logs.length;
  const second = data<TurnResult>(await c.call('send', { text: 'hello', session: first.session }));
  const all = c.logs.slice(mark).map((l) => l.data as { type: string; seq: number; turn?: string });
  const ofTurn = all.filter((e) => e.turn === second.turn);
  for (const t of ['user.message', 'output.delta', 'node.context', 'assistant.message']) {
    assert.ok(
      ofTurn.some((e) => e.type === t),
      `debug has ${t}`,
    );
  }
  const seqs = all.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );

  await c.client.setLoggingLevel('error');
  const seen = c.logs.length;
  fixture.script('thinker', [reply.error(401, { message: 'bad key' })]);
  const failed = await c.call('send', { text: 'hi again', session: first.session });
  assert.equal(failed.isError, true, 'a turn that errors is an isError result');
  assert.equal((failed.structuredContent as TurnResult).status, 'error');
  const later = c.logs.slice(seen);
  assert.ok(later.length > 0, 'error events still arrive');
  assert.ok(
    later.every((l) => l.level === 'error'),
    later.map((l) => l.level).join(),
  );
  assert.ok(later.some((l) => (l.data as { type: string }).type === 'node.error'));
  await runtime.settled(first.session);
  await c.close();
  assert.equal(live(), 0, 'close() released every runtime subscription');
  await runtime.close();
});

test('resources: list, templates, read, complete, and not-found errors', async () => {
  const { runtime } = await offlineRuntime();
  const c = await connect(runtime, 'local:alice');
  const turn = data<TurnResult>(await c.call('send', { text: 'what is 2+3?' }));
  const id = turn.session;
  await runtime.settled(id);

  const { resources } = await c.client.listResources();
  const uris = resources.map((r) => r.uri).sort();
  assert.deepEqual(
    uris,
    [
      'cog://sessions',
      ...['history', 'processes', 'state', 'trace'].map((v) => `cog://sessions/${id}/${v}`),
    ].sort(),
  );
  assert.ok(resources.every((r) => r.mimeType === 'application/json'));
  const { resourceTemplates } = await c.client.listResourceTemplates();
  assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate).sort(), [
    'cog://sessions/{id}/history',
    'cog://sessions/{id}/processes',
    'cog://sessions/{id}/state',
    'cog://sessions/{id}/trace',
  ]);

  const read = (uri: string) => readJson(c.client, uri) as Promise<Record<string, never>>;
  const list = await read('cog://sessions');
  assert.deepEqual(
    (list.sessions as { id: string }[]).map((s) => s.id),
    [id],
  );
  const state = await read(`cog://sessions/${id}/state`);
  assert.equal(state.memoryVersion, 1);
  const history = await read(`cog://sessions/${id}/history`);
  assert.equal((history.messages as { text: string }[])[0].text, 'what is 2+3?');
  const trace = await read(`cog://sessions/${id}/trace`);
  assert.equal(trace.next_seq, (await runtime.session(id, 'local:alice')).seq);
  const procs = await read(`cog://sessions/${id}/processes`);
  assert.equal((procs.processes as { status: string }[])[0].status, 'done');

  const other = (await runtime.createSession('local:alice', { id: 'second' })).id;
  const complete = (value: string) =>
    c.client.complete({
      ref: { type: 'ref/resource', uri: 'cog://sessions/{id}/state' },
      argument: { name: 'id', value },
    });
  assert.deepEqual((await complete('')).completion.values.sort(), [id, other].sort());
  assert.deepEqual((await complete('sec')).completion.values, [other]);
  assert.deepEqual((await complete('zzz')).completion.values, []);

  await assert.rejects(
    c.client.readResource({ uri: 'cog://sessions/missing/state' }),
    (err: unknown) => err instanceof McpError && err.code === -32002,
  );
  await assert.rejects(
    c.client.subscribeResource({ uri: 'cog://sessions/missing/state' }),
    (err: unknown) => err instanceof McpError && err.code === -32002,
  );
  await assert.rejects(
    c.client.request(
      { method: 'resources/subscribe', params: {} as { uri: string } },
      EmptyResultSchema,
    ),
    (err: unknown) => err instanceof McpError && err.code === ErrorCode.InvalidParams,
  );
  await c.close();
  await runtime.close();
});

test('subscriptions: state updates after the memorizer runs; trace bursts coalesce, the last kept', async () => {
  const { runtime, live } = await offlineRuntime();
  const c = await connect(runtime, 'local:alice');
  const id = (await runtime.createSession('local:alice')).id;
  await c.until(() => c.listChanged() > 0, 'list_changed for the new session');
  const stateUri = `cog://sessions/${id}/state`;
  const traceUri = `cog://sessions/${id}/trace`;
  await c.client.subscribeResource({ uri: stateUri });
  await c.client.subscribeResource({ uri: traceUri });
  let lastEventAt = 0;
  const stop = await runtime.subscribe(id, 'local:alice', () => (lastEventAt = Date.now()));

  await c.call('send', { text: "I'm Ada", session: id });
  // Every update is followed by a read, until one shows the memorizer's first version.
  let seen = 0;
  for (let version = 0; version < 1;) {
    await c.until(() => c.updated.filter((u) => u.uri === stateUri).length > seen, 'state update');
    seen = c.updated.filter((u) => u.uri === stateUri).length;
    version = Number((await readJson(c.client, stateUri)).memoryVersion);
  }
  const memory = (await runtime.session(id, 'local:alice')).memory;
  assert.equal(memory.user_name, 'Ada');

  await runtime.settled(id);
  const events = (await eventsOf(runtime, id, 'local:alice')).length;
  await c.until(
    () => c.updated.some((u) => u.uri === traceUri && u.at >= lastEventAt),
    'a trace update after the last event',
  );
  const traceUpdates = c.updated.filter((u) => u.uri === traceUri).length;
  assert.ok(traceUpdates < events / 4, `${traceUpdates} trace updates for ${events} events`);
  assert.ok(!c.updated.some((u) => u.uri.endsWith('/history')), 'only subscribed URIs');

  await c.client.unsubscribeResource({ uri: traceUri });
  stop();
  await c.close();
  assert.equal(live(), 0);
  await runtime.close();
});

test('cancel: aborting the send request stops the model stream and the trace records it', async () => {
  const { runtime } = await fixtureRuntime(fixture);
  const c = await connect(runtime, 'local:alice');
  const id = (await runtime.createSession('local:alice')).id;
  fixture.script('thinker', [reply.text('word '.repeat(300), { chunkSize: 5, chunkDelayMs: 20 })]);
  const controller = new AbortController();
  let pieces = 0;
  const call = c.client.callTool(
    { name: 'send', arguments: { text: 'a long story', session: id } },
    undefined,
    {
      signal: controller.signal,
      onprogress: () => {
        if (++pieces === 3) controller.abort(new Error('user pressed stop'));
      },
    },
  );
  const abortedAt = Date.now();
  await assert.rejects(call, /user pressed stop/);
  await runtime.settled(id);
  assert.ok(Date.now() - abortedAt < 3000, 'the turn ended promptly');
  type Page = { events: { status: string; error?: string }[] };
  const done = data<Page>(await c.call('trace', { session: id, type: 'turn.done' }));
  assert.equal(done.events[0].status, 'cancelled');
  const streamed = data<Page & { events: { text: string }[] }>(
    await c.call('trace', { session: id, type: 'output.delta', limit: 1000 }),
  );
  assert.ok(streamed.events.length < 100, `the stream stopped early (${streamed.events.length})`);
  await c.close();
  await runtime.close();
});

test('cancel reaches a running child process', async () => {
  const { runtime } = await fixtureRuntime(fixture);
  const c = await connect(runtime, 'local:alice');
  const id = (await runtime.createSession('local:alice')).id;
  fixture.script('thinker', [
    reply.toolCalls([
      {
        name: 'run_code',
        arguments: JSON.stringify({ language: 'javascript', code: 'setTimeout(() => {}, 30000)' }),
      },
    ]),
  ]);
  const controller = new AbortController();
  const call = c.client.callTool(
    { name: 'send', arguments: { text: 'sleep', session: id } },
    undefined,
    {
      signal: controller.signal,
    },
  );
  await c.until(
    () =>
      hudEvents(c).some((e) => e.type === 'process.updated' && e.process.startedAt !== undefined),
    'the process to start',
  );
  controller.abort();
  await assert.rejects(call);
  await runtime.settled(id);
  const { processes } = data<{ processes: { status: string }[] }>(
    await c.call('process-list', { session: id }),
  );
  assert.equal(processes[0].status, 'cancelled');
  const done = await c.call('trace', { session: id, type: 'turn.done' });
  assert.equal(data<{ events: { status: string }[] }>(done).events[0].status, 'cancelled');
  await c.close();
  await runtime.close();
});

test('closing the server mid-turn cancels the turn and releases every subscription', async () => {
  const { runtime, live } = await fixtureRuntime(fixture);
  const c = await connect(runtime, 'local:alice');
  const id = (await runtime.createSession('local:alice')).id;
  await c.client.subscribeResource({ uri: `cog://sessions/${id}/trace` });
  fixture.script('thinker', [reply.text('word '.repeat(300), { chunkSize: 5, chunkDelayMs: 20 })]);
  let closing: Promise<void> | undefined;
  const call = c.client.callTool(
    { name: 'send', arguments: { text: 'go on', session: id } },
    undefined,
    {
      onprogress: () => void (closing ??= c.cog.close()),
    },
  );
  await assert.rejects(call, /Connection closed/);
  await closing;
  assert.equal(live(), 0, 'no subscription left behind');
  await runtime.settled(id);
  const last = (await eventsOf(runtime, id, 'local:alice')).findLast((e) => e.type === 'turn.done');
  assert.equal(last?.type === 'turn.done' && last.status, 'cancelled');
  await runtime.close();
});

test('the coalescer sends the first change at once and folds a burst into one trailing change', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const sent: string[] = [];
  const coalescer = createCoalescer(100, (key) => sent.push(`${key}@${Date.now()}`));
  coalescer.mark('a');
  coalescer.mark('a');
  coalescer.mark('b');
  t.mock.timers.tick(50);
  coalescer.mark('a');
  assert.deepEqual(sent, ['a@0', 'b@0']);
  t.mock.timers.tick(50);
  assert.deepEqual(sent, ['a@0', 'b@0', 'a@100'], 'the last change is not dropped');
  t.mock.timers.tick(500);
  coalescer.mark('a');
  assert.deepEqual(sent.at(-1), 'a@600', 'after a quiet spell it goes out at once again');
  coalescer.mark('a');
  coalescer.close();
  t.mock.timers.tick(500);
  assert.equal(sent.length, 4, 'close() drops what is pending');
});

test('send with if_busy "reject" on a busy session is an isError that says what to do', async () => {
  const { runtime } = await fixtureRuntime(fixture);
  const c = await connect(runtime, 'local:alice');
  const id = (await runtime.createSession('local:alice')).id;
  fixture.script('thinker', [reply.text('word '.repeat(200), { chunkSize: 5, chunkDelayMs: 10 })]);
  const running = c.call('send', { text: 'a long story', session: id });
  await c.until(() => runtime.listSessions('local:alice')[0]?.busy === true, 'a busy session');
  const refused = await c.call('send', { text: 'hello?', session: id, if_busy: 'reject' });
  assert.equal(refused.isError, true);
  assert.match(textOf(refused), /is busy.*if_busy/s);
  assert.equal(data<TurnResult>(await running).status, 'ok');
  await runtime.settled(id);
  await c.close();
  await runtime.close();
});

test('the Input node hears where a message comes from: the surface and the client’s name', async () => {
  const { runtime } = await fixtureRuntime(fixture);
  const c = await connect(runtime, 'local:alice');
  const r = data<TurnResult>(await c.call('send', { text: 'hi' }));
  await runtime.settled(r.session);
  const input = fixture.requests.find((q) => q.node === 'input');
  assert.match(JSON.stringify(input?.body.messages ?? ''), /Channel: mcp \(mcp-core-test\)\./);
  await c.close();
  await runtime.close();
});
