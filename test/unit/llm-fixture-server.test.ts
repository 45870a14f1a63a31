import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';

/** The fixture's own promises, checked with plain fetch so a client bug cannot hide them. */

let server: FixtureServer;

before(async () => {
  server = await startFixtureServer({ latencyMs: 30 });
});
after(async () => {
  await server.close();
});
beforeEach(() => server.reset());

function post(node: string | undefined, body: object): Promise<Response> {
  return fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(node ? { 'x-cog-node': node } : {}) },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'ping' }], ...body }),
  });
}

describe('fixture OpenAI server', () => {
  it('lists a model', async () => {
    const res = await fetch(`${server.url}/models`);
    const body = (await res.json()) as { data: Array<{ id: string }> };
    assert.equal(body.data[0]?.id, 'fixture-model');
  });

  it('answers "ok" when nothing is scripted, and falls back to the * queue', async () => {
    server.script('*', [reply.echo('echo: ')]);
    server.script('input', [reply.text('for input')]);
    const texts = [];
    for (const node of ['input', 'output', 'output']) {
      const body = (await (await post(node, {})).json()) as {
        choices: Array<{ message: { content: string } }>;
      };
      texts.push(body.choices[0]?.message.content);
    }
    assert.deepEqual(texts, ['for input', 'echo: ping', 'ok']);
    assert.deepEqual(
      server.requests.map((r) => r.node),
      ['input', 'output', 'output'],
    );
  });

  it('streams SSE ending in usage and [DONE], after the default latency', async () => {
    server.script('*', [reply.text('abcdef', { chunkSize: 2 })]);
    const res = await post('output', { stream: true, stream_options: { include_usage: true } });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const events = (await res.text()).split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    const parsed = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    const content = parsed.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(content, 'abcdef');
    assert.ok(parsed.at(-1).usage.total_tokens > 0);
    const [rec] = server.requests;
    assert.ok(rec?.respondedAt && rec.respondedAt - rec.receivedAt >= 25, 'latency applied');
  });

  it('sends OpenAI-style error bodies with Retry-After', async () => {
    server.script('*', [reply.error(429, { retryAfter: 7, message: 'slow down' })]);
    const res = await post(undefined, {});
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    const body = (await res.json()) as { error: { message: string } };
    assert.equal(body.error.message, 'slow down');
  });

  it('reports a throwing step function as a 500 the test can read', async () => {
    server.script('*', [
      () => {
        throw new Error('oops');
      },
    ]);
    const res = await post(undefined, {});
    assert.equal(res.status, 500);
    assert.match(await res.text(), /fixture step failed: Error: oops/);
  });
});
