import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  diffMemory,
  INITIAL_MEMORY,
  mergeMemory,
  parseMemoryReply,
} from '../../server/runtime/nodes/memorizer.js';

test('a reply in a fence or in prose still parses', () => {
  assert.equal(parseMemoryReply('```json\n{"user_name":"Ada"}\n```').user_name, 'Ada');
  assert.equal(parseMemoryReply('Here you go: {"topic":"maths"} hope it helps').topic, 'maths');
});

test('an unreadable reply throws a coded error', () => {
  assert.throws(() => parseMemoryReply('I think the user is called Ada.'), {
    code: 'memory_unparseable',
  });
  assert.throws(() => parseMemoryReply('{"facts": "not a list"}'), { code: 'memory_unparseable' });
});

test('facts accumulate and a replaced topic moves to the history', () => {
  const a = mergeMemory(INITIAL_MEMORY, { topic: 'cats', facts: ['likes cats'] });
  const b = mergeMemory(a, { topic: 'dogs', facts: ['has a dog'] });
  assert.deepEqual(b.facts, ['likes cats', 'has a dog']);
  assert.deepEqual(b.topic_history, ['cats']);
  assert.deepEqual(
    diffMemory(a, b).map((c) => c.split(':')[0]),
    ['topic', 'topic_history', 'facts'],
  );
});
