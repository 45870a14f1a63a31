import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type OpenAI from 'openai';
import { endpointLabel, redact } from '../../server/llm/openai-errors.js';
import { fromCompletion, StreamAccumulator } from '../../server/llm/openai-wire.js';
import { retryAfterMs, retryDelayMs } from '../../server/llm/retry.js';

type ChatCompletionChunk = OpenAI.ChatCompletionChunk;
type Fragment = OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall;

function chunk(delta: OpenAI.ChatCompletionChunk.Choice.Delta, finish: string | null = null) {
  return {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
  } as ChatCompletionChunk;
}

function fold(fragments: Partial<Fragment>[]) {
  const acc = new StreamAccumulator();
  for (const f of fragments) acc.add(chunk({ tool_calls: [f as Fragment] }));
  acc.add(chunk({}, 'tool_calls'));
  return acc.result('fallback').toolCalls;
}

describe('StreamAccumulator', () => {
  it('joins argument fragments by index, interleaved', () => {
    const calls = fold([
      { index: 0, id: 'a', function: { name: 'f', arguments: '' } },
      { index: 1, id: 'b', function: { name: 'g', arguments: '{"y"' } },
      { index: 0, function: { arguments: '{"x":' } },
      { index: 1, function: { arguments: ':2}' } },
      { index: 0, function: { arguments: '1}' } },
    ]);
    assert.deepEqual(calls, [
      { id: 'a', name: 'f', arguments: '{"x":1}' },
      { id: 'b', name: 'g', arguments: '{"y":2}' },
    ]);
  });

  it('copes with servers that repeat names, omit the index, or reuse index 0', () => {
    assert.deepEqual(
      fold([
        { index: 0, id: 'a', function: { name: 'f', arguments: '{"x"' } },
        { index: 0, id: 'a', function: { name: 'f', arguments: ':1}' } },
      ]),
      [{ id: 'a', name: 'f', arguments: '{"x":1}' }],
    );
    assert.deepEqual(
      fold([{ function: { name: 'f', arguments: '{}' } }, { function: { arguments: '' } }]),
      [{ id: 'call_0', name: 'f', arguments: '{}' }],
    );
    assert.deepEqual(
      fold([
        { index: 0, id: 'a', function: { name: 'f', arguments: '{}' } },
        { index: 0, id: 'b', function: { name: 'g', arguments: '[]' } },
      ]),
      [
        { id: 'a', name: 'f', arguments: '{}' },
        { id: 'b', name: 'g', arguments: '[]' },
      ],
    );
  });

  it('takes usage from the final choice-less chunk', () => {
    const acc = new StreamAccumulator();
    assert.equal(acc.add(chunk({ role: 'assistant', content: '' })), undefined);
    assert.equal(acc.add(chunk({ content: 'hi' })), 'hi');
    acc.add(chunk({}, 'stop'));
    acc.add({
      ...chunk({}),
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    });
    assert.deepEqual(acc.result('x'), {
      text: 'hi',
      toolCalls: [],
      model: 'm',
      finishReason: 'stop',
      usage: { promptTokens: 5, completionTokens: 1 },
    });
  });
});

describe('fromCompletion', () => {
  it('rejects bodies that are not chat completions', () => {
    assert.equal(fromCompletion('<html>', 'm'), undefined);
    assert.equal(fromCompletion({ choices: [] }, 'm'), undefined);
    assert.equal(fromCompletion(null, 'm'), undefined);
  });
});

describe('retry timing', () => {
  it('reads Retry-After as seconds, an HTTP date, or retry-after-ms', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' }), now), 2000);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '0.5' }), now), 500);
    assert.equal(
      retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now),
      3000,
    );
    assert.equal(
      retryAfterMs(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }), now),
      0,
    );
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined);
    assert.equal(retryAfterMs(new Headers()), undefined);
  });

  const policy = { maxAttempts: 3, baseMs: 100, maxDelayMs: 1000 };

  it('backs off exponentially within [half, full] of the step, capped', () => {
    assert.equal(
      retryDelayMs(1, policy, undefined, () => 0),
      50,
    );
    assert.equal(
      retryDelayMs(3, policy, undefined, () => 0.5),
      300,
    );
    assert.equal(
      retryDelayMs(10, policy, undefined, () => 0),
      500,
    );
  });

  it('keeps the wait a server asked for, adding up to a quarter of jitter, never less', () => {
    assert.equal(
      retryDelayMs(1, policy, 2000, () => 0),
      2000,
    );
    assert.equal(
      retryDelayMs(1, policy, 2000, () => 0.5),
      2250,
    );
    assert.ok(retryDelayMs(2, policy, 2000, () => 0.999) < 2500);
  });
});

describe('error text', () => {
  it('shows endpoints without credentials and redacts secrets', () => {
    assert.equal(endpointLabel('https://u:p@example.com/v1/?key=1#x'), 'https://example.com/v1');
    assert.equal(
      redact('Bearer sk-abc and sk-abc', ['sk-abc']),
      'Bearer [redacted] and [redacted]',
    );
  });
});
