import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { eventsOf, tempHome, testConfig } from '../helpers/runtime.js';

// What the panel's reply footer is built from: each model call's usage as the provider
// reported it, cost included (OpenRouter's usage.cost), in node.context events that carry
// the turn, stored in the session's log so a reload rebuilds the footer the same.

const OWNER = 'local:test';
let fixture: FixtureServer;
const home = tempHome();

before(async () => {
  fixture = await startFixtureServer();
});
after(async () => {
  await fixture.close();
  home.cleanup();
});

test('a turn’s calls report their usage and cost in node.context, stored with the turn', async () => {
  const config = testConfig(home.home, {
    pipeline: 'fast',
    models: { input: 'm-input', thinker: 'm-thinker', output: 'm-output', memorizer: 'm-memo' },
    endpoint: { baseUrl: fixture.url, apiKey: 'test-key', source: 'test' },
  });
  const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'test-key', retryBaseMs: 10 });
  const runtime = await createRuntime(config, { model, sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  const live: RuntimeEvent[] = [];
  await runtime.subscribe(id, OWNER, (e) => void live.push(e));
  fixture.script('thinker', [
    reply.text('Hello! How can I help?', {
      usage: { prompt_tokens: 1500, completion_tokens: 9, total_tokens: 1509, cost: 0.00321 },
    }),
  ]);
  fixture.script('input', [
    reply.text('The user greets Cog.', {
      usage: { prompt_tokens: 200, completion_tokens: 6, total_tokens: 206 },
    }),
  ]);
  fixture.script('memorizer', [reply.text(JSON.stringify({ user_mood: 'friendly' }))]);
  const result = await runtime.send(id, OWNER, 'hi');
  assert.equal(result.status, 'ok');
  await runtime.settled(id);

  const turn = live.find((e) => e.type === 'turn.started')?.turn;
  assert.ok(turn, 'the turn has an id');
  const reported = (events: RuntimeEvent[]) =>
    events.flatMap((e) =>
      e.type === 'node.context' && e.usage && e.node !== 'memorizer'
        ? [{ node: e.node, turn: e.turn, usage: e.usage }]
        : [],
    );
  const expected = [
    { node: 'thinker', turn, usage: { promptTokens: 1500, completionTokens: 9, cost: 0.00321 } },
    { node: 'input', turn, usage: { promptTokens: 200, completionTokens: 6 } },
  ];
  const sort = (xs: { node: string }[]) => [...xs].sort((a, b) => a.node.localeCompare(b.node));
  assert.deepEqual(sort(reported(live)), sort(expected));
  // The log holds the same: a reload's snapshot rebuilds the footer from these.
  assert.deepEqual(sort(reported(await eventsOf(runtime, id, OWNER))), sort(expected));
  const done = live.find((e) => e.type === 'node.done' && e.node === 'output');
  assert.equal(done?.type === 'node.done' && done.model, 'm-thinker', 'the model that wrote it');
  await runtime.close();
});
