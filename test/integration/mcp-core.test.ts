import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { createContext } from '../../server/mcp/context.js';
import type { TurnResult } from '../../protocol/results.js';
import { defineTool, installTools } from '../../server/mcp/tool-kit.js';
import type { Runtime } from '../../server/runtime/runtime.js';
import {
  cleanupHomes,
  connect,
  data,
  offlineRuntime,
  textOf,
  type Connected,
} from './mcp-core-harness.js';

let runtime: Runtime;
let c: Connected;
before(async () => {
  ({ runtime } = await offlineRuntime());
  c = await connect(runtime, 'local:alice');
});
after(async () => {
  await c.close();
  await runtime.close();
  cleanupHomes();
});

const TOOL_NAMES = [
  'send',
  'action',
  'state',
  'history',
  'trace',
  'clear',
  'sessions',
  'process-list',
  'process-cancel',
  'process-approve',
];

test('tools/list: the ten tools, each with input and output schema and honest annotations', async () => {
  const { tools } = await c.client.listTools();
  assert.deepEqual(
    tools.map((t) => t.name),
    TOOL_NAMES,
  );
  const readOnly = ['state', 'history', 'trace', 'process-list'];
  const destructive = ['clear', 'process-cancel', 'sessions'];
  const idempotent = [...readOnly, 'clear', 'process-cancel'];
  for (const t of tools) {
    assert.equal(t.inputSchema.type, 'object', t.name);
    assert.equal(t.outputSchema?.type, 'object', t.name);
    assert.ok(t.description && t.title, t.name);
    const a = t.annotations ?? {};
    assert.equal(a.openWorldHint, false, t.name);
    assert.equal(a.readOnlyHint, readOnly.includes(t.name), `${t.name} readOnlyHint`);
    if (!a.readOnlyHint) {
      assert.equal(a.destructiveHint, destructive.includes(t.name), `${t.name} destructiveHint`);
    }
    assert.equal(a.idempotentHint, idempotent.includes(t.name), `${t.name} idempotentHint`);
  }
  const send = tools.find((t) => t.name === 'send');
  assert.deepEqual(send?.inputSchema.required, ['text']);
});

test('send streams the offline reply as progress notifications that add up to the text', async () => {
  const progress: { progress: number; message?: string }[] = [];
  const result = (await c.client.callTool(
    { name: 'send', arguments: { text: 'hello' } },
    undefined,
    {
      onprogress: (p) => progress.push(p),
    },
  )) as CallToolResult;
  const turn = data<TurnResult>(result);
  assert.equal(turn.status, 'ok');
  assert.equal(turn.model.offline, true);
  assert.match(turn.session, /^s-/);
  assert.ok(progress.length >= 2, `${progress.length} progress notifications`);
  assert.equal(progress.map((p) => p.message).join(''), turn.text);
  for (let i = 1; i < progress.length; i++)
    assert.ok(progress[i].progress > progress[i - 1].progress);
  assert.match(textOf(result), /Hello!/);
});

test('every tool answers with structured content that matches its output schema', async () => {
  const created = data<{ created: { id: string } }>(
    await c.call('sessions', { action: 'create', title: 'Tour', id: 'tour-1' }),
  ).created;
  assert.equal(created.id, 'tour-1');
  const id = created.id;

  const sum = data<TurnResult>(await c.call('send', { text: 'what is 17*23?', session: id }));
  assert.equal(sum.session, id);
  assert.match(sum.text, /391/);
  assert.equal(sum.processes.length, 1);
  assert.equal(sum.processes[0].status, 'done');

  const table = data<TurnResult>(await c.call('send', { text: 'show me a table', session: id }));
  const button = table.controls.find((x) => x.type === 'button') as unknown as {
    action: string;
    data: object;
  };
  assert.equal(button.action, 'more');
  const clicked = data<TurnResult>(
    await c.call('action', { session: id, action: button.action, data: button.data }),
  );
  assert.match(clicked.text, /Input \(perception\)/);

  const state = data<{ session: string; busy: boolean; lastSeq: number; memory: object }>(
    await c.call('state', { session: id }),
  );
  assert.equal(state.session, id);
  assert.equal(state.busy, false);
  assert.ok(state.lastSeq > 0);

  type Msg = { role: string; text: string; seq: number; turn: string };
  const history = data<{ messages: Msg[]; hasMore: boolean }>(
    await c.call('history', { session: id, last: 2 }),
  );
  assert.deepEqual(
    history.messages.map((m) => m.role),
    ['user', 'assistant'],
  );
  assert.equal(history.messages[0].text, '[action: more] {"about":"nodes"}');
  assert.equal(history.hasMore, true);
  const before = data<{ messages: Msg[] }>(
    await c.call('history', { session: id, before_seq: history.messages[0].seq }),
  );
  assert.equal(before.messages.length, 4);
  assert.equal(before.messages[0].text, 'what is 17*23?');
  const afterSeq = data<{ messages: Msg[] }>(
    await c.call('history', { session: id, after_seq: before.messages[3].seq }),
  );
  assert.equal(afterSeq.messages.length, 2);

  type Page = { events: { seq: number; type: string }[]; next_seq: number; has_more: boolean };
  const page1 = data<Page>(await c.call('trace', { session: id, type: 'turn.done', limit: 2 }));
  assert.equal(page1.events.length, 2);
  assert.equal(page1.has_more, true);
  const page2 = data<Page>(
    await c.call('trace', { session: id, type: 'turn.done', since_seq: page1.next_seq }),
  );
  assert.equal(page2.events.length, 1);
  assert.equal(page2.has_more, false);
  assert.ok(page2.events[0].seq > page1.events[1].seq);
  const thinker = data<Page>(await c.call('trace', { session: id, node: 'thinker', limit: 1000 }));
  assert.ok(thinker.events.length > 0);

  type Procs = { processes: { id: string; status: string; session: string }[] };
  const procs = data<Procs>(await c.call('process-list', { session: id }));
  assert.equal(procs.processes.length, 1);
  const all = data<Procs>(await c.call('process-list'));
  assert.ok(all.processes.some((p) => p.id === procs.processes[0].id));
  const pid = procs.processes[0].id;
  const cancelled = data<{ process: { status: string } }>(
    await c.call('process-cancel', { process: pid }),
  );
  assert.equal(cancelled.process.status, 'done', 'cancelling an ended run changes nothing');
  const approve = await c.call('process-approve', { process: pid, decision: 'approve' });
  assert.equal(approve.isError, true);
  assert.match(textOf(approve), /not waiting for approval.*pending-approval/s);

  const cleared = data<{ cleared: boolean; seq: number }>(await c.call('clear', { session: id }));
  assert.equal(cleared.cleared, true);
  const empty = data<{ messages: unknown[] }>(await c.call('history', { session: id }));
  assert.deepEqual(empty.messages, []);

  const list = data<{ sessions: { id: string; title?: string }[] }>(await c.call('sessions'));
  assert.ok(list.sessions.some((s) => s.id === id && s.title === 'Tour'));
});

test('tool failures are isError results that say what to do', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['send', { text: 'hi', session: 'nope' }, /No session nope\. Call `sessions`/],
    ['send', { text: '   ' }, /message is empty/],
    ['action', { session: 'nope', action: 'more' }, /No session nope/],
    ['action', { session: 'tour-1', action: 'javascript:alert(1)' }, /not a control action/],
    ['state', { session: 'nope' }, /No session nope/],
    ['history', { session: 'nope' }, /No session nope/],
    ['trace', { session: 'nope' }, /No session nope/],
    ['clear', { session: 'nope' }, /No session nope/],
    ['process-list', { session: 'nope' }, /No session nope/],
    ['process-cancel', { process: 'p-00000000' }, /No process p-00000000\. Call `process-list`/],
    ['process-approve', { process: 'p-00000000', decision: 'deny' }, /No process/],
    ['sessions', { action: 'create', id: 'tour-1' }, /already exists\. Choose another id/],
    ['sessions', { action: 'create', id: 'bad id!' }, /invalid/],
  ];
  const sessionsBefore = runtime.listSessions('local:alice').length;
  for (const [name, args, expected] of cases) {
    const result = await c.call(name, args);
    assert.equal(result.isError, true, `${name} ${JSON.stringify(args)}`);
    assert.match(textOf(result), expected, name);
  }
  assert.equal(runtime.listSessions('local:alice').length, sessionsBefore, 'no stray sessions');
});

test('invalid arguments are isError results the caller can correct; an unknown tool is -32602', async () => {
  await assert.rejects(
    c.client.callTool({ name: 'no-such-tool', arguments: {} }),
    (err: unknown) => err instanceof McpError && err.code === ErrorCode.InvalidParams,
  );
  const invalid: [string, Record<string, unknown>][] = [
    ['send', {}],
    ['send', { text: 5 }],
    ['history', { session: 'tour-1', last: 500 }],
    ['trace', { session: 'tour-1', type: 'not.a.type' }],
    ['process-approve', { process: 'p-1', decision: 'maybe' }],
    ['sessions', { action: 'remove' }],
  ];
  const sessionsBefore = runtime.listSessions('local:alice').length;
  for (const [name, args] of invalid) {
    const result = await c.call(name, args);
    assert.equal(result.isError, true, `${name} ${JSON.stringify(args)}`);
    assert.match(textOf(result), new RegExp(`Invalid arguments for tool ${name}`));
  }
  assert.equal(runtime.listSessions('local:alice').length, sessionsBefore, 'nothing ran');
  // A tools/call without a name is malformed params too, not an internal error.
  await assert.rejects(
    c.client.request(
      { method: 'tools/call', params: {} as { name: string } },
      CallToolResultSchema,
    ),
    (err: unknown) => err instanceof McpError && err.code === ErrorCode.InvalidParams,
  );
});

test('our own faults are -32603, never "invalid params", and say nothing of the cause', async () => {
  const mcp = new McpServer({ name: 'faults', version: '0' });
  const ctx = createContext(runtime, mcp, 'local:alice', 'mcp');
  const base = { input: z.object({}), annotations: {}, title: 't', description: 'd' };
  installTools(ctx, [
    defineTool({
      ...base,
      name: 'throws',
      output: z.object({}),
      run: async () => {
        throw new Error('secret /home/alice/path');
      },
    }),
    defineTool({
      ...base,
      name: 'bad-output',
      output: z.object({ n: z.number() }),
      run: async () => ({ data: { n: 'not a number' } as unknown as { n: number }, text: '' }),
    }),
  ]);
  const client = new Client({ name: 't', version: '0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([mcp.connect(b), client.connect(a)]);
  for (const name of ['throws', 'bad-output']) {
    await assert.rejects(
      client.callTool({ name, arguments: {} }),
      (err: unknown) =>
        err instanceof McpError &&
        err.code === ErrorCode.InternalError &&
        !err.message.includes('/home/alice'),
      name,
    );
  }
  await client.close();
  ctx.dispose();
});
