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
  // Answers how many times it has run: a batched call that slipped through would show.
  let counted = 0;
  server.registerTool('count', {}, async () => ({
    content: [{ type: 'text', text: String(++counted) }],
  }));
  let closed = false;
  transport.onclose = () => (closed = true);
  await server.connect(transport);
  const out = new JsonLines(output, { paused: opts.output !== undefined });
  const send = (line: string) => input.write(`${line}\n`);
  const initialize = async (protocolVersion: string) => {
    send(JSON.stringify(initializeRequest('init', 't', protocolVersion)));
    const reply = await out.next((m) => m.id === 'init');
    assert.equal(reply.result?.protocolVersion, protocolVersion);
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

const BATCH_REFUSED = {
  jsonrpc: '2.0',
  id: null,
  error: {
    code: -32600,
    message: 'Invalid Request: JSON-RPC batches are not supported; send one message per line',
  },
};

for (const version of [undefined, '2025-03-26', '2025-06-18']) {
  const when = version ? `in a ${version} session` : 'before initialize';
  test(`a batch ${when} is refused whole: one -32600, nothing in it runs`, async () => {
    const h = await harness();
    if (version) await h.initialize(version);
    const batch = [
      initializeRequest('b-init', 't', version ?? '2025-06-18'),
      { jsonrpc: '2.0', id: 'b-ping', method: 'ping' },
      { jsonrpc: '2.0', id: 'b-call', method: 'tools/call', params: { name: 'count' } },
      { jsonrpc: '2.0', id: 'b-bad', method: 7 },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    ];
    const before = h.out.messages.length;
    h.send(JSON.stringify(batch));
    h.send('[]');
    h.send(JSON.stringify([{ jsonrpc: '2.0', id: 'b-one', method: 'ping' }]));
    await h.out.count(before + 3);
    assert.deepEqual(h.out.messages.slice(before), [BATCH_REFUSED, BATCH_REFUSED, BATCH_REFUSED]);

    // The connection goes on: initialize (if the batch's did not count) and call the tool.
    if (!version) await h.initialize('2025-06-18');
    h.send('{"jsonrpc":"2.0","id":"after","method":"tools/call","params":{"name":"count"}}');
    const after = await h.out.next((m) => m.id === 'after');
    assert.deepEqual(after.result?.content, [{ type: 'text', text: '1' }], 'the only call run');
    const ids = (h.out.messages as Wire[]).map((m) => m.id);
    assert.deepEqual(
      ids.filter((id) => typeof id === 'string' && id.startsWith('b-')),
      [],
      'no member of a batch was answered',
    );
  });
}

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
