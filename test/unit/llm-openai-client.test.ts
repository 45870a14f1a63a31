import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { partialTextOf } from '../../server/llm/openai-errors.js';
import {
  createOpenAiClient,
  getOpenAiClient,
  getOpenAiSdk,
  type OpenAiClientOptions,
} from '../../server/llm/openai-client.js';
import type { ChatRequest, LlmError, LlmErrorCode } from '../../server/llm/types.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';

const API_KEY = 'sk-test-0123456789abcdef-secret';

let server: FixtureServer;

before(async () => {
  server = await startFixtureServer();
});
after(async () => {
  await server.close();
});
beforeEach(() => server.reset());

function client(opts: Partial<OpenAiClientOptions> = {}) {
  return createOpenAiClient({ baseUrl: server.url, apiKey: API_KEY, retryBaseMs: 10, ...opts });
}

function request(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    node: 'thinker',
    model: 'test-model',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello.' },
    ],
    signal: AbortSignal.timeout(10_000),
    ...overrides,
  };
}

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Awaits a rejection and returns it as an LlmError with the expected code. */
async function rejection(
  promise: Promise<unknown>,
  code: LlmErrorCode,
): Promise<LlmError & { partialText?: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as LlmError;
    assert.equal(e.name, 'LlmError', `expected an LlmError, got ${String(err)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    assert.ok(!e.message.includes(API_KEY), 'the API key leaked into the message');
    assert.ok(!e.message.includes('    at '), 'the message carries a stack');
    return e;
  }
  assert.fail(`expected a rejection with ${code}`);
}

describe('OpenAI client: replies', () => {
  it('returns a non-streamed text reply with model, finish reason and usage', async () => {
    server.script('thinker', [
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
    const sent = server.requests[0];
    assert.equal(sent?.body.stream, false);
    assert.equal(sent?.body.model, 'test-model');
    assert.deepEqual(sent?.body.messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello.' },
    ]);
  });

  it('streams deltas in order, and they concatenate to the text', async () => {
    const text = 'The quick brown fox jumps over the lazy dog. ✓ done';
    server.script('output', [reply.text(text, { chunkSize: 3, chunkDelayMs: 2 })]);
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
    assert.equal(server.requests[0]?.body.stream, true);
    assert.deepEqual(server.requests[0]?.body.stream_options, { include_usage: true });
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
    server.script('thinker', [reply.toolCalls(calls, { chunkSize: 5 })]);
    const deltas: string[] = [];
    const result = await client().chat(request({ tools, onDelta: (d) => deltas.push(d) }));
    assert.deepEqual(result.toolCalls, calls);
    assert.equal(result.finishReason, 'tool_calls');
    assert.deepEqual(deltas, []);
    const wireTools = server.requests[0]?.body.tools;
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
    server.script('thinker', [reply.toolCalls(calls, { text: 'Running it.' })]);
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
    assert.deepEqual(server.requests[0]?.body.messages, [
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
    server.script('memorizer', [reply.error(503), reply.text('{"facts":[]}')]);
    const result = await client({ headers: { 'X-Title': 'Cog' } }).chat(
      request({ node: 'memorizer', json: true, maxTokens: 50, temperature: 0 }),
    );
    assert.equal(result.text, '{"facts":[]}');
    assert.equal(server.requests.length, 2);
    for (const sent of server.requests) {
      assert.equal(sent.headers['x-cog-node'], 'memorizer');
      assert.equal(sent.headers['x-title'], 'Cog');
      assert.equal(sent.headers['authorization'], `Bearer ${API_KEY}`);
    }
    const body = server.requests[0]?.body;
    assert.deepEqual(body?.response_format, { type: 'json_object' });
    assert.equal(body?.max_tokens, 50);
    assert.equal(body?.temperature, 0);
  });

  it('answers a non-chat-completion body with llm_bad_response', async () => {
    server.script('*', [reply.raw('<html><body>Welcome to my router</body></html>')]);
    const err = await rejection(client().chat(request()), 'llm_bad_response');
    assert.match(err.message, /OpenAI-compatible API/);
    server.script('*', [reply.raw('<html><body>Welcome to my router</body></html>')]);
    const streamed = await rejection(
      client().chat(request({ onDelta: () => {} })),
      'llm_bad_response',
    );
    assert.match(streamed.message, /without a single chat-completion event/);
  });
});

describe('OpenAI client: retries', () => {
  it('retries a 429 after the Retry-After wait, then succeeds', async () => {
    server.script('thinker', [reply.error(429, { retryAfter: 1 }), reply.text('after the wait')]);
    const result = await client().chat(request());
    assert.equal(result.text, 'after the wait');
    const [first, second] = server.requests;
    assert.ok(first?.respondedAt && second, 'two requests');
    const waited = second.receivedAt - first.respondedAt;
    assert.ok(waited >= 1000, `retried after ${waited} ms, before Retry-After allowed`);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const date = new Date(Date.now() + 1500).toUTCString(); // whole seconds: waits 0.5-1.5 s
    server.script('thinker', [reply.error(429, { retryAfter: date }), reply.text('ok')]);
    await client().chat(request());
    const [first, second] = server.requests;
    assert.ok(first?.respondedAt && second);
    assert.ok(second.receivedAt - first.respondedAt >= 400, 'waited for the date');
  });

  it('retries a 500 twice and succeeds on the third attempt', async () => {
    server.script('thinker', [reply.error(500), reply.error(502), reply.text('third time')]);
    const result = await client().chat(request());
    assert.equal(result.text, 'third time');
    assert.equal(server.requests.length, 3);
  });

  it('gives up with llm_retries_exhausted after exactly 3 attempts of 500', async () => {
    server.script('thinker', [
      reply.error(500),
      reply.error(500),
      reply.error(500),
      reply.text('too late'),
    ]);
    const err = await rejection(client().chat(request()), 'llm_retries_exhausted');
    assert.equal(server.requests.length, 3);
    assert.equal(err.status, 500);
    assert.match(err.message, /500 Internal Server Error/);
    assert.match(err.message, /3 attempts/);
  });

  it('does not retry a 401, and says which setting to check', async () => {
    server.script('thinker', [reply.error(401, { message: 'Invalid token' }), reply.text('never')]);
    const err = await rejection(client().chat(request()), 'llm_http');
    assert.equal(server.requests.length, 1);
    assert.equal(err.status, 401);
    assert.equal(
      err.message,
      `Model endpoint ${server.url} answered 401 Unauthorized ("Invalid token"): check COG_LLM_API_KEY.`,
    );
  });

  it('retries a connection reset before any byte, but not a refused connection', async () => {
    server.script('thinker', [reply.reset(), reply.text('reconnected')]);
    assert.equal((await client().chat(request())).text, 'reconnected');
    assert.equal(server.requests.length, 2);

    const refused = createOpenAiClient({
      baseUrl: `http://127.0.0.1:${await closedPort()}/v1`,
      apiKey: API_KEY,
    });
    const err = await rejection(refused.chat(request()), 'llm_network');
    assert.match(err.message, /connection refused/);
    assert.match(err.message, /1 attempt\b/);
  });

  it('never retries once a stream has started', async () => {
    server.script('thinker', [reply.cut('partial '), reply.text('should not be asked for')]);
    await rejection(client().chat(request({ onDelta: () => {} })), 'llm_network');
    assert.equal(server.requests.length, 1);
  });
});

describe('OpenAI client: cancel and timeouts', () => {
  it('rejects with llm_aborted promptly when aborted mid-stream', async () => {
    server.script('output', [reply.text('word '.repeat(200), { chunkSize: 5, chunkDelayMs: 20 })]);
    const abort = new AbortController();
    let abortedAt = 0;
    const deltas: string[] = [];
    const call = client().chat(
      request({
        node: 'output',
        signal: abort.signal,
        onDelta: (d) => {
          deltas.push(d);
          if (deltas.length === 3) {
            abortedAt = Date.now();
            abort.abort();
          }
        },
      }),
    );
    const err = await rejection(call, 'llm_aborted');
    const took = Date.now() - abortedAt;
    assert.ok(took < 200, `took ${took} ms to stop`);
    assert.equal(err.partialText, 'word word word ');
    assert.equal(deltas.length, 3);
  });

  it('rejects at once with llm_aborted for a signal already aborted', async () => {
    const err = await rejection(
      client().chat(request({ signal: AbortSignal.abort() })),
      'llm_aborted',
    );
    assert.equal(partialTextOf(err), undefined);
    assert.equal(server.requests.length, 0);
  });

  it('fails a stream that goes quiet with llm_stream_idle, keeping the partial text', async () => {
    server.script('output', [reply.hang({ text: 'Hel' })]);
    const started = Date.now();
    const err = await rejection(
      client({ idleTimeoutMs: 300 }).chat(request({ node: 'output', onDelta: () => {} })),
      'llm_stream_idle',
    );
    const took = Date.now() - started;
    assert.ok(took >= 300 && took < 1500, `idle after ${took} ms`);
    assert.equal(partialTextOf(err), 'Hel');
    assert.equal(server.requests.length, 1, 'an idle stream is not retried');
  });

  it('fails a call over the total limit with llm_timeout', async () => {
    server.script('thinker', [reply.text('slow', { delayMs: 3000 })]);
    const started = Date.now();
    const err = await rejection(client({ totalTimeoutMs: 400 }).chat(request()), 'llm_timeout');
    const took = Date.now() - started;
    assert.ok(took >= 400 && took < 1000, `timed out after ${took} ms`);
    assert.match(err.message, /did not finish within 400 ms/);
  });

  it('stops waiting out a Retry-After when aborted', async () => {
    server.script('thinker', [reply.error(429, { retryAfter: 5 }), reply.text('never')]);
    const started = Date.now();
    const signal = AbortSignal.timeout(150);
    await rejection(client().chat(request({ signal })), 'llm_aborted');
    assert.ok(Date.now() - started < 600, 'the abort cut the wait short');
    assert.equal(server.requests.length, 1);
  });

  it('counts backoff waits against the total limit', async () => {
    server.script('thinker', [reply.error(429, { retryAfter: 5 }), reply.text('never')]);
    const started = Date.now();
    const err = await rejection(
      client({ totalTimeoutMs: 2000 }).chat(request()),
      'llm_retries_exhausted',
    );
    assert.ok(Date.now() - started < 1000, 'gave up instead of waiting past the limit');
    assert.match(err.message, /asked to wait 5 s/);
    assert.equal(server.requests.length, 1);
  });

  it('reports a stream cut off mid-reply with the partial text', async () => {
    server.script('output', [reply.cut('The answer is', { chunkSize: 4 })]);
    const deltas: string[] = [];
    const err = await rejection(
      client().chat(request({ node: 'output', onDelta: (d) => deltas.push(d) })),
      'llm_network',
    );
    assert.equal(err.partialText, 'The answer is');
    assert.equal(deltas.join(''), 'The answer is');
    assert.match(err.message, /broke off after 13 characters/);
  });

  it('reports a stream that ends without a finish reason as llm_bad_response', async () => {
    server.script('output', [reply.cut('Half a', { end: 'close' })]);
    const err = await rejection(
      client().chat(request({ node: 'output', onDelta: () => {} })),
      'llm_bad_response',
    );
    assert.equal(err.partialText, 'Half a');
    assert.match(err.message, /without finishing/);
  });

  it('aborts calls in flight when the client is closed', async () => {
    server.script('thinker', [reply.hang()]);
    const c = client();
    const call = c.chat(request({ onDelta: () => {} }));
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    c.close();
    await rejection(call, 'llm_aborted');
    await rejection(c.chat(request()), 'llm_aborted');
  });
});

describe('OpenAI client: instances and secrets', () => {
  it('reuses one openai instance per endpoint and key', () => {
    const a = client({ idleTimeoutMs: 1000 });
    const b = client({ idleTimeoutMs: 2000 });
    assert.notEqual(a, b);
    assert.equal(a.sdk, b.sdk);
    assert.equal(a.sdk, getOpenAiSdk({ baseUrl: `${server.url}/`, apiKey: API_KEY }));
    assert.equal(a.sdk.maxRetries, 0, 'retries are ours, not the package’s');
    assert.notEqual(client({ apiKey: 'sk-other' }).sdk, a.sdk);

    const shared = getOpenAiClient({ baseUrl: server.url, apiKey: API_KEY, idleTimeoutMs: 1000 });
    assert.equal(
      getOpenAiClient({ baseUrl: server.url, apiKey: API_KEY, idleTimeoutMs: 1000 }),
      shared,
    );
    assert.equal(shared.sdk, a.sdk);
    assert.equal(shared.offline, false);
    assert.equal(shared.baseUrl, server.url);
    shared.close();
    assert.notEqual(
      getOpenAiClient({ baseUrl: server.url, apiKey: API_KEY, idleTimeoutMs: 1000 }),
      shared,
    );
  });

  it('never puts the API key in an error message, even when the server echoes it', async () => {
    const echoKey = reply.error(401, { message: 'x' });
    server.script('thinker', [
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
