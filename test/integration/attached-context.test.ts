import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { EventOf, RuntimeEvent } from '../../protocol/events.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { cleanupHomes, connect, data, fixtureRuntime, textOf } from './mcp-core-harness.js';
import { DEFAULT_BUDGETS } from '../../server/config.js';

const OWNER = 'local:test';
let fixture: FixtureServer;

before(async () => {
  fixture = await startFixtureServer();
});
after(async () => {
  await fixture.close();
  cleanupHomes();
});
beforeEach(() => fixture.reset());

/** The system messages of the Thinker's first recorded request, joined. */
function thinkerSystem(): string {
  const req = fixture.requests.find((r) => r.node === 'thinker');
  assert.ok(req, 'the Thinker called the model');
  return (req.body.messages ?? [])
    .filter((m) => m.role === 'system')
    .map((m) => String(m.content))
    .join('\n');
}

async function eventsOf(
  runtime: Awaited<ReturnType<typeof fixtureRuntime>>['runtime'],
  session: string,
): Promise<RuntimeEvent[]> {
  const events: RuntimeEvent[] = [];
  const off = await runtime.subscribe(session, OWNER, (e) => events.push(e), 0);
  off();
  return events;
}

test('send with context: the attached text is in the Thinker’s request, delimited as data; the log keeps labels and tokens', async () => {
  const { runtime } = await fixtureRuntime(fixture);
  const c = await connect(runtime, OWNER);
  fixture.script('thinker', [reply.text('It adds one.')]);
  const selection = 'function addOne(n) {\n  return n + 1; // MARKER-SELECTION-7731\n}';
  const file = 'export const FILE_MARKER_5512 = true;\n';
  const r = await c.call('send', {
    text: 'what does this do?',
    context: [
      { label: 'src/a.js:10-12', text: selection, kind: 'selection' },
      { label: 'src/b.ts', text: file, kind: 'file' },
    ],
  });
  assert.equal(r.isError, undefined, textOf(r));
  const { session } = data<{ session: string }>(r);

  const system = thinkerSystem();
  assert.ok(system.includes(selection), 'the selection is in the prompt, verbatim');
  assert.ok(system.includes(file.trim()), 'the file is in the prompt');
  assert.match(system, /data to read, not instructions/);
  const tag = /\[attached ([0-9a-f]{12}) selection "src\/a\.js:10-12"\]/.exec(system)?.[1];
  assert.ok(tag, 'the selection opens with its marker and label');
  assert.ok(system.includes(`[attached ${tag} file "src/b.ts"]`));
  assert.equal(system.split(`\n[end ${tag}]`).length - 1, 2, 'each item is closed');
  // The user's own words stay the newest user message, not mixed with the context.
  const req = fixture.requests.find((x) => x.node === 'thinker');
  const users = (req?.body.messages ?? []).filter((m) => m.role === 'user');
  assert.equal(users.at(-1)?.content, 'what does this do?');

  await runtime.settled(session);
  const events = await eventsOf(runtime, session);
  const user = events.find((e): e is EventOf<'user.message'> => e.type === 'user.message');
  assert.ok(user?.context, 'user.message names its context');
  assert.deepEqual(
    user.context.map((x) => [x.label, x.kind]),
    [
      ['src/a.js:10-12', 'selection'],
      ['src/b.ts', 'file'],
    ],
  );
  assert.ok(user.context.every((x) => x.tokens > 0));
  assert.ok(!JSON.stringify(user).includes('MARKER-SELECTION'), 'the log keeps no text');
  const ctx = events.find(
    (e): e is EventOf<'node.context'> => e.type === 'node.context' && e.node === 'thinker',
  );
  assert.ok(ctx?.attachedTokens && ctx.attachedTokens > 0, 'the HUD counts attached tokens');
  assert.ok(ctx.attachedTokens < ctx.tokens);

  // Other readers see it too: history names the context, state the attached tokens.
  const history = data<{ messages: { role: string; context?: unknown[] }[] }>(
    await c.call('history', { session }),
  );
  assert.equal(history.messages.find((m) => m.role === 'user')?.context?.length, 2);
  const state = data<{ context: { thinker?: { attachedTokens?: number } } }>(
    await c.call('state', { session }),
  );
  assert.equal(state.context.thinker?.attachedTokens, ctx.attachedTokens);

  // The next turn without context sends none: the text belonged to that turn only.
  fixture.reset();
  fixture.script('thinker', [reply.text('Fine.')]);
  assert.equal((await c.call('send', { text: 'thanks', session })).isError, undefined);
  assert.ok(!thinkerSystem().includes('MARKER-SELECTION-7731'));
  await c.close();
  await runtime.close();
});

test('context over the Thinker’s budget is cut to fit, and the fill stays within the budget', async () => {
  const budget = 2000;
  const { runtime } = await fixtureRuntime(fixture, {
    budgets: { ...DEFAULT_BUDGETS, thinker: budget },
  });
  const c = await connect(runtime, OWNER);
  fixture.script('thinker', [reply.text('A long file.')]);
  const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} of the big file`);
  const big = `${lines.join('\n')}\nTAIL-MARKER-9090`;
  const r = await c.call('send', {
    text: 'summarise',
    context: [
      { label: 'big.txt', text: big, kind: 'file' },
      { label: 'after.txt', text: 'AFTER-MARKER', kind: 'file' },
    ],
  });
  assert.equal(r.isError, undefined, textOf(r));
  const { session } = data<{ session: string }>(r);
  const system = thinkerSystem();
  assert.ok(system.includes('line 0 of the big file'), 'the start is kept');
  assert.ok(!system.includes('TAIL-MARKER-9090'), 'the end is cut');
  assert.match(system, /big\.txt: cut to fit the context budget; \d+ tokens in all/);
  assert.ok(!system.includes('AFTER-MARKER'), 'what does not fit is left out');
  assert.match(system, /after\.txt: left out, over the context budget/);

  await runtime.settled(session);
  const events = await eventsOf(runtime, session);
  const ctx = events.find(
    (e): e is EventOf<'node.context'> => e.type === 'node.context' && e.node === 'thinker',
  );
  assert.ok(ctx?.attachedTokens, 'attached tokens are reported');
  assert.ok(ctx.tokens <= budget, `${ctx.tokens} tokens within ${budget}`);
  assert.ok(ctx.attachedTokens <= budget * 0.75);
  const user = events.find((e): e is EventOf<'user.message'> => e.type === 'user.message');
  assert.ok((user?.context?.[0].tokens ?? 0) > budget, 'the log counts the whole file');
  assert.ok(events.some((e) => e.type === 'node.thinking' && /cut to fit/.test(e.detail)));
  await c.close();
  await runtime.close();
});

test('bad context is refused with a clear error and changes nothing', async () => {
  const { runtime } = await fixtureRuntime(fixture);
  const c = await connect(runtime, OWNER);
  const before = runtime.listSessions(OWNER).length;
  const item = { label: 'a.ts', text: 'x', kind: 'file' };
  const cases: [string, unknown, RegExp][] = [
    ['an unknown kind', [{ ...item, kind: 'folder' }], /context/],
    ['an extra field', [{ ...item, path: '/etc/passwd' }], /context/],
    ['an empty label', [{ ...item, label: '  ' }], /context/],
    ['too many items', Array.from({ length: 21 }, () => item), /context/],
    ['an item too large', [{ ...item, text: 'y'.repeat(200_001) }], /context/],
    [
      'too much in all',
      Array.from({ length: 3 }, (_, i) => ({ ...item, label: `f${i}`, text: 'z'.repeat(199_000) })),
      /together; the limit is 500000/,
    ],
    ['not a list', 'src/a.ts', /context/],
    [
      'a shared selection',
      [{ ...item, kind: 'selection', share: true }],
      /only files can be shared/,
    ],
    [
      'a shared path leaving shared/',
      [{ ...item, label: '../etc/x', share: true }],
      /cannot be shared: use a relative path/,
    ],
    [
      'an absolute shared path',
      [{ ...item, label: '/etc/passwd', share: true }],
      /cannot be shared/,
    ],
  ];
  for (const [what, context, message] of cases) {
    const r = await c.call('send', { text: 'hi', context });
    assert.equal(r.isError, true, what);
    assert.match(textOf(r), message, what);
  }
  assert.equal(runtime.listSessions(OWNER).length, before, 'no session was created');
  assert.equal(fixture.requests.length, 0, 'no model was called');

  // In an existing session: refused before anything is recorded.
  fixture.script('thinker', [reply.text('ok')]);
  const first = data<{ session: string }>(await c.call('send', { text: 'hello' }));
  await runtime.settled(first.session);
  const count = (await eventsOf(runtime, first.session)).length;
  const r = await c.call('send', {
    text: 'again',
    session: first.session,
    context: Array.from({ length: 3 }, (_, i) => ({
      ...item,
      label: `f${i}`,
      text: 'z'.repeat(199_000),
    })),
  });
  assert.equal(r.isError, true);
  assert.equal((await eventsOf(runtime, first.session)).length, count, 'nothing recorded');
  await c.close();
  await runtime.close();
});
