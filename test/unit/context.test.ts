import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ChatMessage } from '../../server/llm/types.js';
import { countTokens, fitContext, loadTokenizer } from '../../server/runtime/context.js';

before(() => loadTokenizer());

test('tokens are counted by the BPE tokenizer, not by length/4', () => {
  assert.equal(countTokens('hello world'), 2);
  // Digits and non-English text are where length/4 goes badly wrong.
  const digits = '8271 9364 1057 2948 3756 4821 9302 1174';
  assert.notEqual(countTokens(digits), Math.floor(digits.length / 4));
  assert.ok(countTokens('Grüße aus Köln, schönes Wochenende!') > 0);
});

test('trimming keeps system prompts and the newest turns, dropping the oldest first', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a node. '.repeat(20) },
    ...Array.from({ length: 30 }, (_, i): ChatMessage => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `message number ${i} `.repeat(10),
    })),
  ];
  const fitted = fitContext(messages, 400);
  assert.ok(fitted.tokens <= 400, `${fitted.tokens} tokens`);
  assert.equal(fitted.messages[0]!.role, 'system');
  assert.equal(fitted.messages.at(-1)!.content, messages.at(-1)!.content);
  assert.ok(fitted.trimmed > 0);
  const kept = fitted.messages.slice(1).map((m) => Number(/number (\d+)/.exec(m.content)?.[1]));
  assert.deepEqual(
    kept,
    [...kept].sort((a, b) => a - b),
  );
  assert.equal(kept.at(-1), 29);
  assert.equal(kept[0], 30 - kept.length, 'the kept turns are the newest, contiguous');
});

test('everything fits: nothing is trimmed', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'hi' },
  ];
  const fitted = fitContext(messages, 1000);
  assert.equal(fitted.trimmed, 0);
  assert.deepEqual(fitted.messages, messages);
});
