import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { LineTransport } from '../../server/mcp/stdio-transport.js';
import { JsonLines, type Wire } from '../helpers/json-lines.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

/** The transport under test, driving a small SDK server, with its output collected. */
async function harness(opts: { maxLineBytes?: number; output?: PassThrough } = {}) {
  const input = new PassThrough();
  const output = opts.output ?? new PassThrough();
  const transport = new LineTransport({ input, output, maxLineBytes: opts.maxLineBytes });
  const server = new McpServer({ name: 'transport-test', version: '0.0.0' });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  let closed = false;
  transport.onclose = () => (closed = true);
  await server.connect(transport);
  const out = new JsonLines(output, { paused: opts.output !== undefined });
  const send = (line: string) => input.write(`${line}\n`);
  const initialize = async (protocolVersion: string) => {
    send(JSON.stringify(initializeRequest('init', 't', protocolVersion)));
    await out.next((m) => m.id === 'init');
    send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
  };
  return { input, output, out, send, initialize, transport, isClosed: () => closed };
}

const errorOf = (m: Wire) => m.error?.code;

test('each malformed line gets one JSON-RPC error, with the id when one can be read', async () => {
  const h = await harness();
  const cases: [string, number, string | number | null][] = [
    ['garbage', -32700, null],
    ['{"jsonrpc":"2.0","id":1,', -32700, null],
    ['null', -32600, null],
    ['42', -32600, null],
    ['{}', -32600, null],
    ['{"jsonrpc":"1.0","id":5,"method":"ping"}', -32600, 5],
    ['{"jsonrpc":"2.0","id":"s","method":7}', -32600, 's'],
    ['{"jsonrpc":"2.0","id":6,"method":"ping","params":"x"}', -32600, 6],
    ['{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600, 1.5],
    ['{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600, null],
    ['{"jsonrpc":"2.0","id":1e400,"method":"ping"}', -32600, null],
    // A malformed *response* never echoes its id: that id is the client's own request's.
    ['{"jsonrpc":"2.0","id":3,"result":"not an object"}', -32600, null],
  ];
  for (const [line] of cases) h.send(line);
  await h.out.count(cases.length);
  assert.deepEqual(
    h.out.messages.map((m) => [errorOf(m as Wire), (m as Wire).id]),
    cases.map(([, code, id]) => [code, id]),
  );
  for (const m of h.out.messages as Wire[]) {
    assert.equal(m.jsonrpc, '2.0');
    assert.ok(m.error && m.error.message.length < 300, 'a short message');
  }
  // And the connection still works.
  h.send('{"jsonrpc":"2.0","id":99,"method":"ping"}');
  assert.deepEqual((await h.out.next((m) => m.id === 99)).result, {});
});

test('an oversized line is refused while it streams in, then discarded', async () => {
  const h = await harness({ maxLineBytes: 64 * 1024 });
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  // 10x the limit and no newline yet: the error must already be there.
  for (let i = 0; i < 40; i++) h.input.write(chunk);
  const err = await h.out.next((m) => errorOf(m) === -32600);
  assert.match(err.error!.message, /longer than 65536 bytes/);
  assert.equal(err.id, null);
  for (let i = 0; i < 40; i++) h.input.write(chunk);
  h.input.write('\n'); // the long line ends here
  h.send('{"jsonrpc":"2.0","id":2,"method":"ping"}');
  await h.out.next((m) => m.id === 2);
  assert.equal(h.out.messages.length, 2, 'one error for the long line, then the ping');
});

test('batches: refused under 2025-06-18 and later, answered as an array under 2025-03-26', async () => {
  const batch = JSON.stringify([
    { jsonrpc: '2.0', id: 'a', method: 'ping' },
    { jsonrpc: '2.0', id: 'b', method: 'tools/list' },
    { jsonrpc: '2.0', id: 'c', method: 7 },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
  ]);
  const before = await harness();
  before.send(batch);
  const early = await before.out.next((m) => errorOf(m) === -32600);
  assert.match(early.error!.message, /before initialization/);

  const modern = await harness();
  await modern.initialize('2025-06-18');
  modern.send(batch);
  const refused = await modern.out.next((m) => errorOf(m) === -32600);
  assert.match(refused.error!.message, /batches are not part of MCP 2025-06-18/);

  const legacy = await harness();
  await legacy.initialize('2025-03-26');
  legacy.send(batch);
  const replies = await legacy.out.next<Wire[]>((m) => Array.isArray(m));
  assert.deepEqual(replies.map((r) => r.id).sort(), ['a', 'b', 'c']);
  assert.equal(replies.find((r) => r.id === 'c')?.error?.code, -32600);
  assert.deepEqual(replies.find((r) => r.id === 'a')?.result, {});
  legacy.send('[]');
  assert.match((await legacy.out.next((m) => errorOf(m) === -32600)).error!.message, /empty batch/);
});

test('stdin ending answers what is in flight, then closes', async () => {
  const h = await harness();
  h.input.write(
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"last"}}}',
  );
  h.input.end(); // no trailing newline: the last line still counts
  const reply = await h.out.next((m) => m.id === 1);
  assert.deepEqual(reply.result?.content, [{ type: 'text', text: 'last' }]);
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.ok(h.isClosed());
});

test('a client that does not read its answers stops being read (backpressure)', async () => {
  const h = await harness({ output: new PassThrough({ highWaterMark: 256 }) });
  for (let i = 0; i < 200; i++) h.send('garbage');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(h.input.isPaused(), true, 'input paused while output is congested');
  h.out.resume();
  await h.out.count(200);
  assert.equal(h.input.isPaused(), false, 'and resumed once it drained');
});
