import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { cogBin, cogEnv, ensureBuilt, root, spawnCog } from '../helpers/cog-process.js';
import { JsonLines, type Wire } from '../helpers/json-lines.js';
import { tempHome } from '../helpers/runtime.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

const home = tempHome('cog-mcp-stdio-');
after(() => home.cleanup());
before(() => ensureBuilt());

const TOOLS = [
  'action',
  'clear',
  'history',
  'process-approve',
  'process-cancel',
  'process-list',
  'send',
  'sessions',
  'state',
  'trace',
];

test('the SDK client over stdio: tools, a send, progress while it streams', async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cogBin, 'mcp'],
    cwd: root,
    env: cogEnv(home.home),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'cog-test', version: '0.0.0' });
  const transportErrors: Error[] = [];
  client.onerror = (e) => transportErrors.push(e);
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);

    const reply = await client.callTool({ name: 'send', arguments: { text: 'what is 17*23?' } });
    assert.notEqual(reply.isError, true, JSON.stringify(reply.content));
    const out = reply.structuredContent as { text: string; session: string };
    assert.match(out.text, /391/);

    // Read off the wire, in arrival order: the SDK's Client dispatches notifications a
    // microtask later than responses, so progress that arrives in the same read as the
    // result is dropped before `onprogress` sees it (typescript-sdk#2580). What Cog controls
    // is that every progress is written before the result.
    const progress: { progress: number; message?: string }[] = [];
    let answered = false;
    let late = 0;
    const deliver = transport.onmessage;
    transport.onmessage = (message) => {
      const m = message as { method?: string; params?: { progress: number; message?: string } };
      if (m.method === 'notifications/progress' && m.params) {
        if (answered) late++;
        progress.push(m.params);
      } else if ('result' in message) answered = true;
      deliver?.(message);
    };
    const streamed = await client.callTool(
      { name: 'send', arguments: { text: 'tell me about yourself', session: out.session } },
      undefined,
      { onprogress: () => undefined },
    );
    transport.onmessage = deliver;
    assert.equal(late, 0, 'every progress notification was written before the result');
    assert.notEqual(streamed.isError, true);
    assert.ok(progress.length > 0, 'progress notifications arrived');
    const text = (streamed.structuredContent as { text: string }).text;
    assert.equal(
      progress.map((p) => p.message ?? '').join(''),
      text,
      'the progress messages spell out the reply',
    );
    const values = progress.map((p) => p.progress);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
      'progress only grows',
    );
    // Anything on stdout that is not a JSON-RPC message would surface here.
    // The SDK's own race (typescript-sdk#2580, above) reports progress that came with the
    // result as an error; Cog wrote it in time (asserted above), so that one is not Cog's.
    const sdkRace = /Received a progress notification for an unknown token/;
    assert.deepEqual(
      transportErrors.filter((e) => !sdkRace.test(e.message)),
      [],
    );
  } finally {
    await client.close();
  }
});

test('stdout carries only JSON-RPC; stdin closing ends the process cleanly', async () => {
  const p = spawnCog(['mcp'], cogEnv(home.home));
  const out = new JsonLines(p.child.stdout);
  const send = (m: object) => p.child.stdin.write(`${JSON.stringify(m)}\n`);
  send(initializeRequest());
  await out.next((m) => m.id === 1);
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  p.child.stdin.write('not json\n');
  send({
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'send', arguments: { text: 'what is 2+3?' } },
  });
  const reply = await out.next((m) => m.id === 2);
  assert.match(JSON.stringify(reply.result), /5/);
  const started = Date.now();
  p.child.stdin.end();
  assert.equal(await p.exited, 0, p.stderr());
  const exitMs = Date.now() - started;
  assert.ok(exitMs < 3000, `exited ${exitMs} ms after stdin closed`);

  assert.deepEqual(out.nonJson, [], 'every stdout line is JSON');
  for (const m of out.messages as Wire[]) assert.equal(m.jsonrpc, '2.0');
  assert.ok((out.messages as Wire[]).some((m) => m.error?.code === -32700));
  assert.match(p.stderr(), /cog mcp: serving MCP on stdio/, 'logs go to stderr');
});
