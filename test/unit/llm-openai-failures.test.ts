import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { reply } from '../fixtures/openai-server.js';
import {
  API_KEY,
  clientFor,
  closedPort,
  rejection,
  request,
  useFixtureServer,
} from '../helpers/llm-client.js';

const fixture = useFixtureServer();
const client = (opts: Parameters<typeof clientFor>[1] = {}) => clientFor(fixture(), opts);

describe('OpenAI client: retries', () => {
  it('retries a 429 after the Retry-After wait, then succeeds', async () => {
    fixture().script('thinker', [
      reply.error(429, { retryAfter: 1 }),
      reply.text('after the wait'),
    ]);
    const result = await client().chat(request());
    assert.equal(result.text, 'after the wait');
    const [first, second] = fixture().requests;
    assert.ok(first?.respondedAt && second, 'two requests');
    const waited = second.receivedAt - first.respondedAt;
    assert.ok(waited >= 1000, `retried after ${waited} ms, before Retry-After allowed`);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const date = new Date(Date.now() + 1500).toUTCString(); // whole seconds: waits 0.5-1.5 s
    fixture().script('thinker', [reply.error(429, { retryAfter: date }), reply.text('ok')]);
    await client().chat(request());
    const [first, second] = fixture().requests;
    assert.ok(first?.respondedAt && second);
    assert.ok(second.receivedAt - first.respondedAt >= 400, 'waited for the date');
  });

  it('retries a 500 twice and succeeds on the third attempt', async () => {
    fixture().script('thinker', [reply.error(500), reply.error(502), reply.text('third time')]);
    const result = await client().chat(request());
    assert.equal(result.text, 'third time');
    assert.equal(fixture().requests.length, 3);
  });

  it('gives up with llm_retries_exhausted after exactly 3 attempts of 500', async () => {
    fixture().script('thinker', [
      reply.error(500),
      reply.error(500),
      reply.error(500),
      reply.text('too late'),
    ]);
    const err = await rejection(client().chat(request()), 'llm_retries_exhausted');
    assert.equal(fixture().requests.length, 3);
    assert.equal(err.status, 500);
    assert.match(err.message, /500 Internal Server Error/);
    assert.match(err.message, /3 attempts/);
  });

  it('does not retry when the server asks to wait longer than maxRetryDelayMs', async () => {
    fixture().script('thinker', [reply.error(503, { retryAfter: 3 }), reply.text('never')]);
    const err = await rejection(
      client({ maxRetryDelayMs: 1000 }).chat(request()),
      'llm_retries_exhausted',
    );
    assert.match(err.message, /asked to wait 3 s/);
    assert.equal(fixture().requests.length, 1);
  });

  it('does not retry a 401, and says which setting to check', async () => {
    fixture().script('thinker', [
      reply.error(401, { message: 'Invalid token' }),
      reply.text('never'),
    ]);
    const err = await rejection(client().chat(request()), 'llm_http');
    assert.equal(fixture().requests.length, 1);
    assert.equal(err.status, 401);
    assert.equal(
      err.message,
      `Model endpoint ${fixture().url} answered 401 Unauthorized ("Invalid token"): check COG_LLM_API_KEY.`,
    );
  });

  it('retries a connection reset before any byte, but not a refused connection', async () => {
    fixture().script('thinker', [reply.reset(), reply.text('reconnected')]);
    assert.equal((await client().chat(request())).text, 'reconnected');
    assert.equal(fixture().requests.length, 2);

    const refused = createOpenAiClient({
      baseUrl: `http://127.0.0.1:${await closedPort()}/v1`,
      apiKey: API_KEY,
    });
    const err = await rejection(refused.chat(request()), 'llm_network');
    assert.match(err.message, /connection refused/);
    assert.match(err.message, /1 attempt\b/);
  });

  it('never retries once a stream has started', async () => {
    fixture().script('thinker', [reply.cut('partial '), reply.text('should not be asked for')]);
    await rejection(client().chat(request({ onDelta: () => {} })), 'llm_network');
    assert.equal(fixture().requests.length, 1);
  });
});

describe('OpenAI client: cancel and timeouts', () => {
  it('rejects with llm_aborted promptly when aborted mid-stream', async () => {
    fixture().script('output', [
      reply.text('word '.repeat(200), { chunkSize: 5, chunkDelayMs: 20 }),
    ]);
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
    assert.equal(err.partialText, undefined);
    assert.equal(fixture().requests.length, 0);
  });

  it('fails a stream that goes quiet with llm_stream_idle, keeping the partial text', async () => {
    fixture().script('output', [reply.hang({ text: 'Hel' })]);
    const started = Date.now();
    const err = await rejection(
      client({ idleTimeoutMs: 300 }).chat(request({ node: 'output', onDelta: () => {} })),
      'llm_stream_idle',
    );
    const took = Date.now() - started;
    assert.ok(took >= 300 && took < 1500, `idle after ${took} ms`);
    assert.equal(err.partialText, 'Hel');
    assert.equal(fixture().requests.length, 1, 'an idle stream is not retried');
  });

  it('counts SSE keep-alive comments as life, so a slow first token is not idle', async () => {
    const chunk = {
      id: 'c',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'm',
      choices: [{ index: 0, delta: { content: 'late' }, finish_reason: 'stop' }],
    };
    const slow = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const ping = setInterval(() => res.write(': keep-alive\n\n'), 100);
      setTimeout(() => {
        clearInterval(ping);
        res.end(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
      }, 800);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = slow.address() as AddressInfo;
      const c = createOpenAiClient({
        baseUrl: `http://127.0.0.1:${port}/v1`,
        apiKey: API_KEY,
        idleTimeoutMs: 300,
      });
      const result = await c.chat(request({ onDelta: () => {} }));
      assert.equal(result.text, 'late');
    } finally {
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('fails a call over the total limit with llm_timeout', async () => {
    fixture().script('thinker', [reply.text('slow', { delayMs: 3000 })]);
    const started = Date.now();
    const err = await rejection(client({ totalTimeoutMs: 400 }).chat(request()), 'llm_timeout');
    const took = Date.now() - started;
    assert.ok(took >= 400 && took < 1000, `timed out after ${took} ms`);
    assert.match(err.message, /did not finish within 400 ms/);
  });

  it('stops waiting out a Retry-After when aborted', async () => {
    fixture().script('thinker', [reply.error(429, { retryAfter: 5 }), reply.text('never')]);
    const started = Date.now();
    const signal = AbortSignal.timeout(150);
    await rejection(client().chat(request({ signal })), 'llm_aborted');
    assert.ok(Date.now() - started < 600, 'the abort cut the wait short');
    assert.equal(fixture().requests.length, 1);
  });

  it('counts backoff waits against the total limit', async () => {
    fixture().script('thinker', [reply.error(429, { retryAfter: 5 }), reply.text('never')]);
    const started = Date.now();
    const err = await rejection(
      client({ totalTimeoutMs: 2000 }).chat(request()),
      'llm_retries_exhausted',
    );
    assert.ok(Date.now() - started < 1000, 'gave up instead of waiting past the limit');
    assert.match(err.message, /asked to wait 5 s/);
    assert.equal(fixture().requests.length, 1);
  });

  it('reports a stream cut off mid-reply with the partial text', async () => {
    fixture().script('output', [reply.cut('The answer is', { chunkSize: 4 })]);
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
    fixture().script('output', [reply.cut('Half a', { end: 'close' })]);
    const err = await rejection(
      client().chat(request({ node: 'output', onDelta: () => {} })),
      'llm_bad_response',
    );
    assert.equal(err.partialText, 'Half a');
    assert.match(err.message, /without finishing/);
  });

  it('aborts calls in flight when the client is closed', async () => {
    fixture().script('thinker', [reply.hang()]);
    const c = client();
    const call = c.chat(request({ onDelta: () => {} }));
    while (fixture().requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    c.close();
    await rejection(call, 'llm_aborted');
    await rejection(c.chat(request()), 'llm_aborted');
  });
});
