import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import {
  LmBridgeError,
  startLmBridge,
  type LmBackend,
  type LmBridge,
  type LmChatRequest,
  type LmPart,
  type LmReply,
} from '../../extension/lm-bridge.js';
import { rawRequest } from '../helpers/http-raw.js';

// The HTTP layer of the bridge between Cog's runtime (OpenAI wire format) and VS Code's
// language models: auth, the Host check, the translation of requests, JSON and SSE
// answers read by the real `openai` package, errors, and cancellation on disconnect. The
// backend here is a scripted stand-in for lm-models.ts; the real one (vscode.lm) is proven
// end to end in test/e2e/vscode-lm.test.ts.

const MODEL = 'fixture-vendor/echo';

/** A backend that records each request and answers with `script(request, signal)`. */
function scripted(script: (req: LmChatRequest, signal: AbortSignal) => LmReply | Promise<LmReply>) {
  const requests: LmChatRequest[] = [];
  const signals: AbortSignal[] = [];
  const backend: LmBackend = {
    models: async () => [{ id: MODEL, name: 'Echo', maxInputTokens: 1000 }],
    chat: async (req, signal) => {
      requests.push(req);
      signals.push(signal);
      return script(req, signal);
    },
  };
  return { backend, requests, signals };
}

async function* parts(...list: LmPart[]): AsyncIterable<LmPart> {
  for (const p of list) {
    await new Promise((r) => setImmediate(r));
    yield p;
  }
}

function portOf(bridge: LmBridge): number {
  return Number(new URL(bridge.baseUrl).port);
}

function clientOf(bridge: LmBridge): OpenAI {
  return new OpenAI({ baseURL: bridge.baseUrl, apiKey: bridge.token, maxRetries: 0 });
}

async function withBridge(backend: LmBackend, body: (bridge: LmBridge) => Promise<void>) {
  const bridge = await startLmBridge(backend);
  try {
    await body(bridge);
  } finally {
    await bridge.close();
  }
}

test('the bridge listens on 127.0.0.1 at a random port with a random token', async () => {
  const { backend } = scripted(() => ({ parts: parts() }));
  const a = await startLmBridge(backend);
  const b = await startLmBridge(backend);
  try {
    assert.equal(new URL(a.baseUrl).hostname, '127.0.0.1');
    assert.equal(new URL(a.baseUrl).pathname, '/v1');
    assert.notEqual(a.baseUrl, b.baseUrl);
    assert.notEqual(a.token, b.token);
    assert.ok(a.token.length >= 40, 'at least 32 random bytes');
  } finally {
    await a.close();
    await b.close();
  }
});

test('every request needs the bearer token, the bridge\u2019s own Host and no Origin', async () => {
  const { backend } = scripted(() => ({ parts: parts() }));
  await withBridge(backend, async (bridge) => {
    const port = portOf(bridge);
    const get = (headers: Record<string, string | undefined>) =>
      rawRequest(port, { method: 'GET', path: '/v1/models', headers });
    const auth = `Bearer ${bridge.token}`;

    const none = await get({});
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal(
      (JSON.parse(none.body) as { error: { code: string } }).error.code,
      'invalid_token',
    );
    assert.equal((await get({ authorization: `Bearer ${bridge.token}x` })).status, 401);
    assert.equal(
      (await get({ authorization: bridge.token })).status,
      401,
      'the scheme is part of it',
    );

    // DNS rebinding: a page at evil.example resolving to 127.0.0.1 sends its own Host.
    assert.equal((await get({ authorization: auth, host: `evil.example:${port}` })).status, 421);
    assert.equal((await get({ authorization: auth, host: `localhost:${port}` })).status, 421);
    // No Host at all: Node's HTTP/1.1 server refuses it before the bridge sees it.
    assert.equal((await get({ authorization: auth, host: undefined })).status, 400);
    // A browser page, even one holding the token, may not use it.
    assert.equal((await get({ authorization: auth, origin: 'http://127.0.0.1:1' })).status, 403);

    const ok = await get({ authorization: auth });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), {
      object: 'list',
      data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'Echo' }],
    });
    assert.equal(
      (
        await rawRequest(port, {
          method: 'GET',
          path: '/v1/nothing',
          headers: { authorization: auth },
        })
      ).status,
      404,
    );
  });
});

test('a non-streamed chat: OpenAI messages and tools in, the reply, tool calls and usage out', async () => {
  const { backend, requests } = scripted(() => ({
    parts: parts(
      { type: 'text', text: 'lm says ' },
      { type: 'text', text: 'hi' },
      {
        type: 'tool_call',
        id: 'call-1',
        name: 'run_code',
        input: { language: 'python', code: '1+1' },
      },
    ),
    usage: async (completion) => ({ promptTokens: 12, completionTokens: completion.length }),
  }));
  await withBridge(backend, async (bridge) => {
    const completion = await clientOf(bridge).chat.completions.create({
      model: MODEL,
      temperature: 0.2,
      max_tokens: 100,
      tool_choice: 'required',
      tools: [
        {
          type: 'function',
          function: { name: 'run_code', description: 'Runs code', parameters: { type: 'object' } },
        },
      ],
      messages: [
        { role: 'system', content: 'You are Cog.' },
        { role: 'user', content: [{ type: 'text', text: 'hello' }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'c0',
              type: 'function',
              function: { name: 'run_code', arguments: '{"code":"2"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'c0', content: '2' },
      ],
    });
    assert.deepEqual(requests, [
      {
        model: MODEL,
        messages: [
          { role: 'system', text: 'You are Cog.' },
          { role: 'user', text: 'hello' },
          {
            role: 'assistant',
            text: '',
            toolCalls: [{ id: 'c0', name: 'run_code', input: { code: '2' } }],
          },
          { role: 'tool', callId: 'c0', text: '2' },
        ],
        tools: [{ name: 'run_code', description: 'Runs code', inputSchema: { type: 'object' } }],
        toolMode: 'required',
        modelOptions: { temperature: 0.2, max_tokens: 100 },
      },
    ]);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, MODEL);
    const [choice] = completion.choices;
    assert.equal(choice?.message.content, 'lm says hi');
    assert.equal(choice?.finish_reason, 'tool_calls');
    assert.deepEqual(choice?.message.tool_calls, [
      {
        id: 'call-1',
        type: 'function',
        function: { name: 'run_code', arguments: '{"language":"python","code":"1+1"}' },
      },
    ]);
    assert.deepEqual(completion.usage, {
      prompt_tokens: 12,
      completion_tokens: 10,
      total_tokens: 22,
    });
  });
});

test('a streamed chat is SSE the openai package reads: deltas, a tool call, finish, usage, [DONE]', async () => {
  const { backend } = scripted(() => ({
    parts: parts(
      { type: 'text', text: 'lm-' },
      { type: 'text', text: 'fixture' },
      { type: 'tool_call', id: 'call-9', name: 'show_controls', input: { controls: [] } },
    ),
    usage: async () => ({ promptTokens: 3, completionTokens: 4 }),
  }));
  await withBridge(backend, async (bridge) => {
    const stream = await clientOf(bridge).chat.completions.create({
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    const deltas: string[] = [];
    const calls: unknown[] = [];
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.delta.tool_calls) calls.push(...choice.delta.tool_calls);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.deepEqual(deltas, ['lm-', 'fixture']);
    assert.deepEqual(calls, [
      {
        index: 0,
        id: 'call-9',
        type: 'function',
        function: { name: 'show_controls', arguments: '{"controls":[]}' },
      },
    ]);
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });

    // The framing itself: one `data:` line per event, a blank line after each, [DONE] last.
    const raw = await rawRequest(portOf(bridge), {
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    assert.equal(raw.status, 200);
    assert.match(String(raw.headers['content-type']), /^text\/event-stream/);
    const events = raw.body.split('\n\n');
    assert.equal(events.pop(), '', 'the body ends with a blank line');
    assert.equal(events.at(-1), 'data: [DONE]');
    for (const e of events) assert.match(e, /^data: \S.*$/);
    // Without include_usage no usage chunk is sent.
    assert.ok(!raw.body.includes('"usage"'));
  });
});

test('failures: a status and an OpenAI error body before the reply, an error event inside a stream', async () => {
  let mode: 'refuse' | 'midway' = 'refuse';
  const { backend } = scripted(() => {
    if (mode === 'refuse') {
      throw new LmBridgeError(403, 'lm_no_permission', 'VS Code did not allow Cog to use "Echo".');
    }
    return {
      parts: (async function* () {
        yield { type: 'text', text: 'half' } as LmPart;
        throw new LmBridgeError(502, 'lm_failed', 'The language model "Echo" failed: gone');
      })(),
    };
  });
  await withBridge(backend, async (bridge) => {
    const client = clientOf(bridge);
    const refused = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(refused instanceof APIError);
    assert.equal(refused.status, 403);
    assert.equal(refused.code, 'lm_no_permission');
    assert.match(refused.message, /did not allow Cog/);

    mode = 'midway';
    const stream = await client.chat.completions.create({
      model: MODEL,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const seen: string[] = [];
    const broke = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(seen.includes('half'));
    assert.ok(broke instanceof APIError, `the stream ends in an error: ${String(broke)}`);
    assert.match(broke.message, /failed: gone/);
  });
});

test('requests the bridge cannot carry out faithfully are refused with 400, not changed', async () => {
  const { backend, requests } = scripted(() => ({ parts: parts() }));
  await withBridge(backend, async (bridge) => {
    const post = (body: unknown) =>
      rawRequest(portOf(bridge), {
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const code = async (body: unknown) => {
      const r = await post(body);
      return [r.status, (JSON.parse(r.body) as { error: { code: string } }).error.code];
    };
    const hi = [{ role: 'user', content: 'hi' }];
    assert.deepEqual(await code('{not json'), [400, 'invalid_json']);
    assert.deepEqual(await code({ model: MODEL, messages: [] }), [400, 'invalid_request']);
    assert.deepEqual(await code({ messages: hi }), [400, 'invalid_request']);
    assert.deepEqual(await code({ model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }), [
      400,
      'invalid_request',
    ]);
    assert.deepEqual(await code({ model: MODEL, messages: hi, tool_choice: 'none' }), [
      400,
      'unsupported_tool_choice',
    ]);
    assert.deepEqual(
      await code({
        model: MODEL,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      }),
      [400, 'unsupported_content'],
    );
    assert.deepEqual(
      await code({
        model: MODEL,
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '[1]' } }],
          },
        ],
      }),
      [400, 'invalid_tool_arguments'],
    );
    assert.equal(requests.length, 0, 'none of them reached the model');
    const big = await post({
      model: MODEL,
      messages: [{ role: 'user', content: 'x'.repeat(9 * 1024 * 1024) }],
    });
    assert.equal(big.status, 413);
  });
});

test('a client that goes away cancels the model request', async () => {
  let started!: () => void;
  const streaming = new Promise<void>((r) => (started = r));
  const { backend, signals } = scripted((_req, signal) => ({
    parts: (async function* () {
      yield { type: 'text', text: 'counting' } as LmPart;
      started();
      // Like a model that keeps going until it is told to stop.
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    })(),
  }));
  await withBridge(backend, async (bridge) => {
    const abort = new AbortController();
    const stream = await clientOf(bridge).chat.completions.create(
      { model: MODEL, stream: true, messages: [{ role: 'user', content: 'count slowly' }] },
      { signal: abort.signal },
    );
    const reading = (async () => {
      for await (const chunk of stream) void chunk;
    })().catch(() => undefined);
    await streaming;
    assert.equal(signals[0]?.aborted, false);
    abort.abort();
    await reading;
    await new Promise<void>((resolve) => {
      if (signals[0]?.aborted) resolve();
      else signals[0]?.addEventListener('abort', () => resolve(), { once: true });
    });
    assert.equal(signals[0]?.aborted, true);
  });
});
