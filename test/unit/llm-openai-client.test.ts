import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { reply } from '../fixtures/openai-server.js';
import { API_KEY, clientFor, rejection, request, useFixtureServer } from '../helpers/llm-client.js';

const fixture = useFixtureServer();
const client = (opts: Parameters<typeof clientFor>[1] = {}) => clientFor(fixture(), opts);

describe('OpenAI client: replies', () => {
  it('returns a non-streamed text reply with model, finish reason and usage', async () => {
    fixture().script('thinker', [
      reply.text('Hello there.', {
        model: 'served-model',
        usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
      }),
    ]);
    const result = await client().chat(request());
    assert.deepEqual(result, {
      text: 'Hello there.',
      toolCalls: [],
      model: 'served-model',
      finishReason: 'stop',
      usage: { promptTokens: 12, completionTokens: 3 },
    });
    const sent = fixture().requests[0];
    assert.equal(sent?.body.stream, false);
    assert.equal(sent?.body.model, 'test-model');
    assert.deepEqual(sent?.body.messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello.' },
    ]);
  });

  it('streams deltas in order, and they concatenate to the text', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. ✓ done';
    fixture().script('output', [reply.text(text, { chunkSize: 3, chunkDelayMs: 2 })]);
    const deltas: string[] = [];
    const result = await client().chat(request({ node: 'output', onDelta: (d) => deltas.push(d) }));
    assert.ok(deltas.length >= 10, `expected many deltas, got ${deltas.length}`);
    assert.equal(deltas.join(''), text);
    assert.equal(deltas[0], 'The');
    assert.equal(result.text, text);
    assert.equal(result.finishReason, 'stop');
    assert.ok(
      result.usage && result.usage.completionTokens > 0,
      'usage from the include_usage chunk',
    );
    assert.equal(fixture().requests[0]?.body.stream, true);
    assert.deepEqual(fixture().requests[0]?.body.stream_options, { include_usage: true });
  });

  const runCode = {
    id: 'call_a',
    name: 'run_code',
    arguments: '{"language":"python","code":"print(\\"hi ✓\\")\\n"}',
  };
  const calls = [
    runCode,
    {
      id: 'call_b',
      name: 'show_controls',
      arguments: '{"controls":[{"type":"button","label":"Go"}]}',
    },
  ];
  const tools = [
    { name: 'run_code', description: 'Run code', parameters: { type: 'object', properties: {} } },
    { name: 'show_controls', description: 'Show controls', parameters: { type: 'object' } },
  ];

  it('parses streamed tool calls from argument fragments, exactly', async () => {
    fixture().script('thinker', [reply.toolCalls(calls, { chunkSize: 5 })]);
    const deltas: string[] = [];
    const result = await client().chat(request({ tools, onDelta: (d) => deltas.push(d) }));
    assert.deepEqual(result.toolCalls, calls);
    assert.equal(result.finishReason, 'tool_calls');
    assert.deepEqual(deltas, []);
    const wireTools = fixture().requests[0]?.body.tools;
    assert.deepEqual(wireTools?.[0], {
      type: 'function',
      function: {
        name: 'run_code',
        description: 'Run code',
        parameters: { type: 'object', properties: {} },
      },
    });
  });

  it('parses non-streamed tool calls, and sends tool turns in the wire format', async () => {
    fixture().script('thinker', [reply.toolCalls(calls, { text: 'Running it.' })]);
    const result = await client().chat(
      request({
        tools,
        messages: [
          { role: 'user', content: 'run it' },
          { role: 'assistant', content: '', toolCalls: [runCode] },
          { role: 'tool', content: 'hi ✓', toolCallId: 'call_a' },
        ],
      }),
    );
    assert.equal(result.text, 'Running it.');
    assert.deepEqual(result.toolCalls, calls);
    assert.deepEqual(fixture().requests[0]?.body.messages, [
      { role: 'user', content: 'run it' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_a',
            type: 'function',
            function: { name: 'run_code', arguments: runCode.arguments },
          },
        ],
      },
      { role: 'tool', content: 'hi ✓', tool_call_id: 'call_a' },
    ]);
  });

  it('sends X-Cog-Node and the configured headers on every request', async () => {
    fixture().script('memorizer', [reply.error(503), reply.text('{"facts":[]}')]);
    const result = await client({ headers: { 'X-Title': 'Cog' } }).chat(
      request({ node: 'memorizer', json: true, maxTokens: 50, temperature: 0 }),
    );
    assert.equal(result.text, '{"facts":[]}');
    assert.equal(fixture().requests.length, 2);
    for (const sent of fixture().requests) {
      assert.equal(sent.headers['x-cog-node'], 'memorizer');
      assert.equal(sent.headers['x-title'], 'Cog');
      assert.equal(sent.headers['authorization'], `Bearer ${API_KEY}`);
    }
    const body = fixture().requests[0]?.body;
    assert.deepEqual(body?.response_format, { type: 'json_object' });
    assert.equal(body?.max_tokens, 50);
    assert.equal(body?.temperature, 0);
  });

  it('answers a non-chat-completion body with llm_bad_response', async () => {
    fixture().script('*', [reply.raw('<html><body>Welcome to my router</body></html>')]);
    const err = await rejection(client().chat(request()), 'llm_bad_response');
    assert.match(err.message, /OpenAI-compatible API/);
    fixture().script('*', [reply.raw('<html><body>Welcome to my router</body></html>')]);
    const streamed = await rejection(
      client().chat(request({ onDelta: () => {} })),
      'llm_bad_response',
    );
    assert.match(streamed.message, /without a single chat-completion event/);
  });
});

describe('OpenAI client: endpoints and secrets', () => {
  it('sends no OpenAI account headers from the environment to the endpoint', async () => {
    const saved = process.env;
    process.env = { ...saved, OPENAI_ORG_ID: 'org-from-env', OPENAI_PROJECT_ID: 'proj-from-env' };
    try {
      await client().chat(request());
    } finally {
      process.env = saved;
    }
    const sent = fixture().requests[0]?.headers;
    assert.equal(sent?.['openai-organization'], undefined);
    assert.equal(sent?.['openai-project'], undefined);
    assert.equal(sent?.['authorization'], `Bearer ${API_KEY}`);
  });

  it('works without a key, and closing one client leaves another to the same endpoint alone', async () => {
    const keyless = createOpenAiClient({ baseUrl: `${fixture().url}/`, apiKey: '' });
    const other = client();
    assert.equal(keyless.offline, false);
    assert.equal(keyless.baseUrl, fixture().url);
    assert.equal((await keyless.chat(request())).text, 'ok');
    keyless.close();
    await rejection(keyless.chat(request()), 'llm_aborted');
    assert.equal((await other.chat(request())).text, 'ok');
    assert.equal(fixture().requests.length, 2);
  });

  it('never puts the API key in an error message, even when the server echoes it', async () => {
    const echoKey = reply.error(401, { message: 'x' });
    fixture().script('thinker', [
      (req) => ({
        ...echoKey,
        message: `Incorrect API key provided: ${String(req.headers['authorization'])}`,
      }),
      (req) =>
        reply.error(500, {
          message: `upstream rejected key ${API_KEY} (${String(req.headers['authorization'])})`,
        }),
    ]);
    const err401 = await rejection(client().chat(request()), 'llm_http');
    assert.match(err401.message, /Incorrect API key provided: Bearer \[redacted\]/);
    const err500 = await rejection(
      client({ maxAttempts: 1 }).chat(request()),
      'llm_retries_exhausted',
    );
    assert.match(err500.message, /upstream rejected key \[redacted\]/);
  });
});
