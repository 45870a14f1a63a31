import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { eventsOf, tempHome, testConfig } from '../helpers/runtime.js';

// The topic retitle with a model that speaks the OpenAI wire (the fixture server scripting
// the Memorizer's replies): a passing topic is noise, a settled one retitles once.

const OWNER = 'local:titles-fixture';
let fixture: FixtureServer;
const homes: { cleanup(): void }[] = [];
before(async () => {
  fixture = await startFixtureServer();
});
after(async () => {
  await fixture.close();
  homes.forEach((h) => h.cleanup());
});
beforeEach(() => fixture.reset());

async function runtimeOnFixture() {
  const home = tempHome('cog-titles-fx-');
  homes.push(home);
  const config = testConfig(home.home, {
    models: { input: 'm-input', thinker: 'm-thinker', output: 'm-output', memorizer: 'm-memo' },
    endpoint: { baseUrl: fixture.url, apiKey: 'test-key', source: 'test' },
  });
  const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'test-key', retryBaseMs: 10 });
  return createRuntime(config, { model, sandbox: 'none' });
}

const titled = (events: RuntimeEvent[]) =>
  events.flatMap((e) => (e.type === 'session.titled' ? [`${e.source}: ${e.title}`] : []));

/** Sends each message, the Memorizer answering with the topic beside it; titles after each. */
async function converse(topics: (string | null)[], first = 'hi') {
  const runtime = await runtimeOnFixture();
  const { id } = await runtime.createSession(OWNER);
  const seen: string[] = [];
  for (const [i, topic] of topics.entries()) {
    fixture.script('memorizer', [reply.text(JSON.stringify({ topic }))]);
    await runtime.send(id, OWNER, i === 0 ? first : `message ${i + 1}`);
    await runtime.settled(id);
    seen.push(runtime.listSessions(OWNER)[0]?.title ?? '');
  }
  const events = await eventsOf(runtime, id, OWNER);
  await runtime.close();
  return { seen, titles: titled(events) };
}

test('a passing topic is noise; one that settles retitles the session, once', async () => {
  const { seen, titles } = await converse([
    'weather',
    'travel plans',
    'travel plans',
    null,
    'cooking',
    'cooking',
  ]);
  assert.deepEqual(seen, [
    'hi',
    'hi',
    'Travel plans',
    'Travel plans',
    'Travel plans',
    'Travel plans',
  ]);
  assert.deepEqual(titles, ['first-message: hi', 'topic: Travel plans']);
  const memorizerCalls = fixture.requests.filter((r) => r.node === 'memorizer').length;
  assert.equal(memorizerCalls, 6, 'the Memorizer ran after every turn');
});

test('a settled topic that says what the title says changes nothing; a later one still may', async () => {
  const { seen, titles } = await converse(
    ['Travel Plans', 'Travel Plans', 'budget', 'budget'],
    'travel plans',
  );
  assert.deepEqual(seen, ['travel plans', 'travel plans', 'travel plans', 'Budget']);
  assert.deepEqual(titles, ['first-message: travel plans', 'topic: Budget']);
});
