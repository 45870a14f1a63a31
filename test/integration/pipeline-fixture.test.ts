import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { PipelineMode, RuntimeEvent } from '../../protocol/events.js';
import { createOpenAiClient } from '../../server/llm/openai-client.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

const OWNER = 'local:test';
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

async function setup(mode: PipelineMode, extra: Parameters<typeof testConfig>[1] = {}) {
  const home = tempHome();
  homes.push(home);
  const models = {
    input: 'm-input',
    thinker: 'm-thinker',
    output: 'm-output',
    memorizer: 'm-memo',
  };
  const config = testConfig(home.home, {
    pipeline: mode,
    models,
    endpoint: { baseUrl: fixture.url, apiKey: 'test-key', source: 'test' },
    ...extra,
  });
  const model = createOpenAiClient({ baseUrl: fixture.url, apiKey: 'test-key', retryBaseMs: 10 });
  const runtime = await createRuntime(config, { model, sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  const events: RuntimeEvent[] = [];
  let firstDeltaAt = 0;
  await runtime.subscribe(id, OWNER, (e) => {
    events.push(e);
    if (e.type === 'output.delta' && !firstDeltaAt) firstDeltaAt = Date.now();
  });
  return { runtime, id, events, firstDeltaAt: () => firstDeltaAt };
}

const memo = (state: object) => reply.text(JSON.stringify(state));

for (const [mode, expected] of [
  ['fast', 1],
  ['faithful', 3],
] as const) {
  test(`${mode}: ${expected} model call(s) reach the endpoint before the first token`, async () => {
    const { runtime, id, firstDeltaAt } = await setup(mode);
    fixture.script('input', [reply.text('The user greets Cog.', { delayMs: 50 })]);
    fixture.script('thinker', [reply.text('Hello! How can I help?', { delayMs: 50 })]);
    fixture.script('output', [reply.text('Hello there! How can I help?', { delayMs: 50 })]);
    fixture.script('memorizer', [memo({ user_mood: 'friendly' })]);
    const result = await runtime.send(id, OWNER, 'hi');
    assert.equal(result.status, 'ok');
    const before = fixture.requests.filter((r) => r.receivedAt <= firstDeltaAt());
    assert.equal(before.length, expected, before.map((r) => r.node).join(','));
    assert.equal(result.timing.callsBeforeFirstToken, expected);
    assert.equal(
      result.text,
      mode === 'fast' ? 'Hello! How can I help?' : 'Hello there! How can I help?',
    );
    await runtime.settled(id);
    const nodes = fixture.requests.map((r) => r.node);
    assert.deepEqual(
      [...nodes].sort(),
      ['input', 'memorizer', 'thinker', ...(mode === 'faithful' ? ['output'] : [])].sort(),
    );
    assert.equal(fixture.requests.find((r) => r.node === 'thinker')?.body.model, 'm-thinker');
    await runtime.close();
  });
}

test('tool path end to end: native run_code runs python and the answer uses its output', async () => {
  const { runtime, id, events } = await setup('fast');
  fixture.script('thinker', [
    reply.toolCalls([
      { name: 'run_code', arguments: JSON.stringify({ language: 'python', code: 'print(17*23)' }) },
    ]),
    (req) => {
      const tool = req.body.messages?.find((m) => m.role === 'tool');
      const out = String(tool?.content ?? '').split('\n')[1];
      return reply.text(`It is ${out}.`);
    },
  ]);
  const result = await runtime.send(id, OWNER, 'what is 17*23?');
  assert.equal(result.text, 'It is 391.');
  assert.equal(result.timing.callsBeforeFirstToken, 2);
  const status = events
    .filter((e) => e.type === 'process.updated')
    .map((e) => (e.type === 'process.updated' ? e.process.status : ''));
  assert.deepEqual(status.slice(0, 1), ['running']);
  assert.equal(status.at(-1), 'done');
  const decided = events.find((e) => e.type === 'node.decided');
  assert.equal(decided?.type === 'node.decided' && decided.decision, 'tool');
  await runtime.close();
});

test('fenced fallback: a python block runs, and the user never sees the code stream by', async () => {
  const { runtime, id, events } = await setup('fast', { tools: 'fenced' });
  fixture.script('thinker', [
    reply.text('Computing.\n```python\nprint(6*7)\n```\n', { chunkSize: 3 }),
    reply.text('The answer is 42.'),
  ]);
  const result = await runtime.send(id, OWNER, 'what is 6*7?');
  const streamed = events
    .filter((e) => e.type === 'output.delta')
    .map((e) => (e.type === 'output.delta' ? e.text : ''))
    .join('');
  assert.doesNotMatch(streamed, /print/);
  assert.match(streamed, /The answer is 42/);
  assert.equal(result.processes.length, 1);
  assert.equal(
    fixture.requests.filter((r) => r.node === 'thinker')[0]?.body.tools,
    undefined,
    'no tools sent',
  );
  await runtime.close();
});

test('malformed controls from the model are dropped with an error event', async () => {
  const { runtime, id, events } = await setup('fast');
  fixture.script('thinker', [
    reply.toolCalls([
      {
        name: 'show_controls',
        arguments: JSON.stringify({
          controls: [
            { type: 'button', label: 'OK', action: 'ok' },
            {
              type: 'button',
              label: '<img src=x onerror=alert(1)>',
              action: 'javascript:alert(1)',
            },
            { type: 'script', src: 'evil.js' },
          ],
        }),
      },
    ]),
    reply.text('Here you go.'),
  ]);
  const result = await runtime.send(id, OWNER, 'buttons please');
  assert.deepEqual(result.controls, [{ type: 'button', label: 'OK', action: 'ok' }]);
  const errors = events.filter((e) => e.type === 'node.error' && e.code === 'control_invalid');
  assert.equal(errors.length, 2);
  await runtime.close();
});

test('a memorizer reply it cannot parse keeps the previous state and emits an error', async () => {
  const { runtime, id, events } = await setup('fast');
  fixture.script('memorizer', [
    memo({ user_name: 'Ada', facts: ['likes tea'] }),
    reply.text('Sorry, I cannot do JSON today.'),
  ]);
  await runtime.send(id, OWNER, "I'm Ada");
  await runtime.settled(id);
  const s = await runtime.session(id, OWNER);
  assert.equal(s.memory.user_name, 'Ada');
  assert.equal(s.memoryVersion, 1);
  await runtime.send(id, OWNER, 'and I like coffee');
  await runtime.settled(id);
  assert.equal(s.memory.user_name, 'Ada');
  assert.deepEqual(s.memory.facts, ['likes tea']);
  assert.equal(s.memoryVersion, 1, 'no version bump for a failed update');
  const error = events.find((e) => e.type === 'node.error' && e.node === 'memorizer');
  assert.ok(error && error.type === 'node.error' && error.code === 'memory_unparseable');
  assert.match(error.message, /kept the previous state/);
  await runtime.close();
});

test('context: Cog counts the tool schemas, and keeps the provider’s usage beside its count', async () => {
  const { runtime, id, events } = await setup('fast');
  const usage = {
    prompt_tokens: 1234,
    completion_tokens: 7,
    total_tokens: 1241,
    prompt_tokens_details: { cached_tokens: 1024 },
  };
  fixture.script('thinker', [reply.text('Hello! How can I help?', { usage })]);
  fixture.script('input', [reply.text('The user greets Cog.')]);
  fixture.script('memorizer', [memo({})]);
  await runtime.send(id, OWNER, 'hi');
  await runtime.settled(id);
  const thinker = events.filter((e) => e.type === 'node.context' && e.node === 'thinker');
  assert.equal(thinker.length, 2, 'one before the call (our count), one after (theirs too)');
  const [before, afterCall] = thinker;
  assert.ok(
    before?.type === 'node.context' && (before.toolTokens ?? 0) > 50,
    'tool schemas counted',
  );
  assert.ok(before.tokens > before.toolTokens!, 'messages and tools together');
  assert.deepEqual(afterCall?.type === 'node.context' && afterCall.usage, {
    promptTokens: 1234,
    completionTokens: 7,
    cachedTokens: 1024,
  });
  const state = (await runtime.session(id, OWNER)).context.thinker;
  assert.equal(state?.tokens, before.tokens);
  assert.equal(state?.usage?.promptTokens, 1234);
  await runtime.close();
});

test('fast: the result comes with the last token, not after the Input node', async () => {
  const { runtime, id, events } = await setup('fast');
  // The perception takes a second; the reply is done long before.
  fixture.script('input', [reply.text('The user greets Cog.', { delayMs: 1000 })]);
  fixture.script('thinker', [reply.text('Hello! How can I help?', { delayMs: 20 })]);
  fixture.script('memorizer', [memo({ user_mood: 'friendly' })]);
  const result = await runtime.send(id, OWNER, 'hi');
  assert.equal(result.status, 'ok');
  const seen = events.map((e) => `${e.node}:${e.type}`);
  assert.ok(seen.includes('runtime:turn.done'), 'the turn is done');
  assert.ok(!seen.includes('input:node.perceived'), 'while the perception is still running');
  await runtime.settled(id);
  const after = events.map((e) => `${e.node}:${e.type}`);
  const perceived = after.indexOf('input:node.perceived');
  assert.ok(perceived > after.indexOf('runtime:turn.done'), 'the perception reached the HUD');
  assert.ok(
    perceived < after.indexOf('memorizer:memory.updated'),
    'and the memorizer ran after it',
  );
  await runtime.close();
});

test('the next message never waits for the memorizer', async () => {
  const { runtime, id } = await setup('fast');
  fixture.script('memorizer', [reply.text('{}', { delayMs: 1500 }), memo({})]);
  await runtime.send(id, OWNER, 'one');
  const started = Date.now();
  await runtime.send(id, OWNER, 'two');
  assert.ok(Date.now() - started < 1000, 'the second turn did not wait for the slow memorizer');
  await runtime.settled(id);
  await runtime.close();
});

test('cancel mid-stream stops the model stream and records the cancel', async () => {
  const { runtime, id, events } = await setup('fast');
  fixture.script('thinker', [reply.text('word '.repeat(200), { chunkSize: 5, chunkDelayMs: 20 })]);
  const pending = runtime.send(id, OWNER, 'tell me a long story');
  await new Promise<void>((resolve) => {
    const stop = runtime.subscribe(id, OWNER, (e) => {
      if (e.type === 'output.delta') {
        void stop.then((off) => off());
        resolve();
      }
    });
  });
  const cancelledAt = Date.now();
  assert.equal(runtime.cancelTurn(id, OWNER), true);
  const result = await pending;
  assert.ok(Date.now() - cancelledAt < 1000);
  assert.equal(result.status, 'cancelled');
  assert.ok(result.text.length < 'word '.repeat(200).length);
  const done = events.find((e) => e.type === 'turn.done');
  assert.equal(done?.type === 'turn.done' && done.status, 'cancelled');
  await runtime.close();
});

test('cancel during a code run kills the process and ends the turn', async () => {
  const { runtime, id } = await setup('fast');
  fixture.script('thinker', [
    reply.toolCalls([
      {
        name: 'run_code',
        arguments: JSON.stringify({ language: 'python', code: 'import time\ntime.sleep(30)' }),
      },
    ]),
  ]);
  const pending = runtime.send(id, OWNER, 'sleep');
  await new Promise<void>((resolve) => {
    const stop = runtime.subscribe(id, OWNER, (e) => {
      if (e.type === 'process.updated' && e.process.status === 'running') {
        void stop.then((off) => off());
        resolve();
      }
    });
  });
  runtime.cancelTurn(id, OWNER);
  const result = await pending;
  assert.equal(result.status, 'cancelled');
  const procs = (await runtime.session(id, OWNER)).processes;
  const p = procs.get(result.processes[0]?.id ?? [...procs.keys()][0]!);
  assert.equal(p?.status, 'cancelled');
  await runtime.close();
});

test('a model error ends the turn with a clear error event, not a crash', async () => {
  const { runtime, id, events } = await setup('fast');
  fixture.script('thinker', [reply.error(401, { message: 'bad key' })]);
  const result = await runtime.send(id, OWNER, 'hi');
  assert.equal(result.status, 'error');
  assert.match(result.error ?? '', /401/);
  assert.doesNotMatch(result.error ?? '', /test-key/);
  assert.ok(events.some((e) => e.type === 'node.error' && e.node === 'thinker'));
  const next = await runtime.send(id, OWNER, 'hi again');
  assert.equal(next.status, 'ok', 'the session keeps working');
  await runtime.close();
});

test('double-texting: queue waits, interrupt cancels the running turn, reject refuses', async () => {
  const { runtime, id } = await setup('fast');
  const long = () => reply.text('word '.repeat(200), { chunkSize: 5, chunkDelayMs: 10 });
  fixture.script('thinker', [long(), reply.text('second'), long(), reply.text('third')]);
  const first = runtime.send(id, OWNER, 'tell me a long story');
  const queued = runtime.send(id, OWNER, 'and then?');
  assert.equal((await first).status, 'ok', 'queue: the first turn runs to its end');
  assert.equal((await queued).text, 'second');

  const running = runtime.send(id, OWNER, 'another long story');
  await new Promise((r) => setTimeout(r, 100));
  await assert.rejects(runtime.send(id, OWNER, 'hello?', { ifBusy: 'reject' }), {
    code: 'session_busy',
  });
  const interrupting = runtime.send(id, OWNER, 'stop, something else', { ifBusy: 'interrupt' });
  assert.equal((await running).status, 'cancelled', 'interrupt: the running turn is cancelled');
  assert.equal((await interrupting).text, 'third');
  await runtime.settled(id);
  await runtime.close();
});

test('a verified speaker reaches the Input node and names the user in memory; no token does', async () => {
  const { runtime, id, events } = await setup('fast');
  fixture.script('input', [reply.text('Ada greets Cog.')]);
  fixture.script('thinker', [reply.text('Hello Ada!')]);
  fixture.script('memorizer', [memo({ user_mood: 'friendly' })]);
  const speaker = { name: 'Ada Lovelace', email: 'ada@example.org' };
  assert.equal((await runtime.send(id, OWNER, 'hi', { speaker })).status, 'ok');
  await runtime.settled(id);
  const input = fixture.requests.find((r) => r.node === 'input');
  const system = JSON.stringify(input?.body.messages?.[0] ?? '');
  assert.match(system, /Speaker: Ada Lovelace <ada@example\.org> \(signed in as local:test\)/);
  const seeded = events.find((e) => e.type === 'memory.updated');
  assert.ok(seeded?.type === 'memory.updated');
  assert.equal(seeded.state.user_name, 'Ada Lovelace');
  assert.match(seeded.changes.join(' '), /verified sign-in/);
  // A name the user gave stays: the next sign-in does not overwrite it.
  const s = await runtime.session(id, OWNER);
  assert.equal(s.memory.user_name, 'Ada Lovelace');
  await runtime.close();
});
