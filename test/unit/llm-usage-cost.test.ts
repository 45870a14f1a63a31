import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type OpenAI from 'openai';
import { StreamAccumulator, usageCost } from '../../server/llm/openai-wire.js';
import { reply } from '../fixtures/openai-server.js';
import { clientFor, request, useFixtureServer } from '../helpers/llm-client.js';

// The provider's reported cost (OpenRouter's `usage.cost`, USD) rides along with the token
// counts into `node.context` events' `usage`, for the panel's per-reply footer.

const fixture = useFixtureServer();

const usage = (extra: Record<string, unknown>) =>
  ({
    prompt_tokens: 10,
    completion_tokens: 4,
    total_tokens: 14,
    ...extra,
  }) as OpenAI.CompletionUsage;

describe('usage cost', () => {
  it('reads a finite, non-negative usage.cost and nothing else', () => {
    assert.equal(usageCost(usage({ cost: 0.00042 })), 0.00042);
    assert.equal(usageCost(usage({ cost: 0 })), 0);
    assert.equal(usageCost(usage({})), undefined);
    for (const odd of ['0.1', -1, Number.NaN, Number.POSITIVE_INFINITY, null, { usd: 1 }])
      assert.equal(usageCost(usage({ cost: odd })), undefined, `cost ${String(odd)}`);
  });

  it('the accumulator keeps the cost beside the token counts', () => {
    const acc = new StreamAccumulator();
    acc.add({
      id: 'c',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'm',
      choices: [],
      usage: usage({ cost: 0.0125, prompt_tokens_details: { cached_tokens: 2 } }),
    });
    assert.deepEqual(acc.result('m').usage, {
      promptTokens: 10,
      completionTokens: 4,
      cachedTokens: 2,
      cost: 0.0125,
    });
  });

  it('a streamed reply from the OpenAI-wire server reports its cost', async () => {
    fixture().script('output', [
      reply.text('Costs a little.', {
        usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, cost: 0.00315 },
      }),
    ]);
    const deltas: string[] = [];
    const result = await clientFor(fixture()).chat(
      request({ node: 'output', onDelta: (d) => deltas.push(d) }),
    );
    assert.equal(deltas.join(''), 'Costs a little.');
    assert.deepEqual(result.usage, { promptTokens: 120, completionTokens: 30, cost: 0.00315 });
  });

  it('a non-streamed reply reports its cost; a provider that reports none has no cost', async () => {
    fixture().script('thinker', [
      reply.text('One.', {
        usage: { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8, cost: 0.5 },
      }),
      reply.text('Two.', { usage: { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 } }),
    ]);
    const first = await clientFor(fixture()).chat(request());
    assert.deepEqual(first.usage, { promptTokens: 7, completionTokens: 1, cost: 0.5 });
    const second = await clientFor(fixture()).chat(request());
    assert.deepEqual(second.usage, { promptTokens: 7, completionTokens: 1 });
  });
});
