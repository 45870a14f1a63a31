/**
 * `cog chat` in a real pseudo-terminal (tmux), asserting what a person sees: the prompt
 * redrawn under HUD lines, Ctrl-C at an approval, typing while a reply streams, slash
 * commands, and a run's output shown live. The model is the OpenAI-wire fixture.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureBuilt, root } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';
import { openTerminal, type Terminal } from '../helpers/tmux.js';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';

let fixture: FixtureServer;
before(async () => {
  await ensureBuilt();
  fixture = await startFixtureServer();
});
after(() => fixture?.close());

/** A chat on the fixture model, in its own home, approval `ask`. */
async function chat(t: { after(fn: () => Promise<void> | void): void }): Promise<Terminal> {
  const home = tempHome('cog-pty-');
  const term = await openTerminal({
    command: [process.execPath, `${root}dist/cog.mjs`, 'chat'],
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home.home,
      COG_HOME: home.home,
      COG_LLM_BASE_URL: fixture.url,
      COG_MODEL: 'fixture-model',
      COG_APPROVAL: 'ask',
      TERM: 'xterm-256color',
      NO_COLOR: '1',
    },
  });
  t.after(async () => {
    await term.close();
    home.cleanup();
  });
  await term.waitFor(/you> $/);
  return term;
}

/** The last line on screen (where the prompt is). */
const lastLine = (screen: string) => screen.split('\n').at(-1) ?? '';

test('a reply streams, HUD lines print above it, and the prompt comes back under them', async (t) => {
  fixture.reset();
  fixture.script('thinker', [reply.text('Hello from the fixture.')]);
  fixture.script('memorizer', [reply.text('{"topic":"greetings"}')]);
  const term = await chat(t);
  assert.match(
    await term.screen(),
    /cog · http:\/\/127\.0\.0\.1:\d+\/v1 · input\+thinker\+memorizer fixture-model/,
  );
  await term.type('hi', { enter: true });
  const screen = await term.waitFor(/Hello from the fixture\.[\s\S]*memorizer: done[\s\S]*you> $/);
  assert.equal(lastLine(screen), 'you> ', 'the prompt is the last line, after the Memorizer');
  const bannerLine = screen.split('\n')[0] ?? '';
  assert.doesNotMatch(bannerLine, /output/, 'fast mode never calls the Output model');
});

test('Ctrl-C at "Run it?" denies the run, the prompt returns, the next line is a message', async (t) => {
  fixture.reset();
  fixture.script('thinker', [
    reply.toolCalls([
      {
        name: 'run_code',
        arguments: JSON.stringify({ language: 'javascript', code: 'console.log(6*7)' }),
      },
    ]),
    reply.text('It was not run.'),
    reply.text('Second message answered.'),
  ]);
  const term = await chat(t);
  await term.type('compute something', { enter: true });
  await term.waitFor(/console\.log\(6\*7\)\n.*Run it\? \[y\/N\] $/);
  await term.press('C-c');
  let screen = await term.waitFor(/\(denied\)[\s\S]*It was not run\.[\s\S]*you> $/);
  assert.match(screen, /process p-\w+ \(javascript, [\w-]+\): denied/);
  await term.type('and now?', { enter: true });
  screen = await term.waitFor(/Second message answered\.[\s\S]*you> $/);
  assert.doesNotMatch(screen, /not waiting for approval/, 'the line was a message, not an answer');
});

test('text typed while a reply streams is held as queued and sent after it', async (t) => {
  fixture.reset();
  const slow = 'one two three four five six seven eight nine ten eleven twelve';
  fixture.script('thinker', [
    reply.text(slow, { chunkSize: 4, chunkDelayMs: 120 }),
    reply.text('Got your follow-up.'),
  ]);
  const term = await chat(t);
  await term.type('count', { enter: true });
  await term.waitFor(/one two/);
  await term.type('follow up', { enter: true });
  const screen = await term.waitFor(/Got your follow-up\.[\s\S]*you> $/);
  assert.match(screen, new RegExp(slow), 'the streamed reply is whole: nothing typed inside it');
  assert.match(screen, /queued: follow up/);
  assert.match(screen, /you> follow up\n/, 'the queued line is shown when it is sent');
  const bodies = fixture.requests
    .filter((r) => r.node === 'thinker')
    .map((r) => JSON.stringify(r.body));
  assert.ok(
    bodies.some((b) => b.includes('follow up')),
    'the queued line reached the model',
  );
});

test('slash commands run locally: /help, /sessions, /trace, unknown ones; /quit leaves', async (t) => {
  fixture.reset();
  const term = await chat(t);
  await term.type('/help', { enter: true });
  await term.waitFor(/\/trace \[N\][\s\S]*you> $/);
  await term.type('/sessions', { enter: true });
  await term.waitFor(/\* s-\w+ +0 turn\(s\)[\s\S]*you> $/);
  await term.type('/nonsense', { enter: true });
  await term.waitFor(/unknown command \/nonsense[\s\S]*you> $/);
  await term.type('/trace 3', { enter: true });
  await term.waitFor(/#\d+ \w+ [\w.]+[\s\S]*you> $/);
  assert.equal(fixture.requests.length, 0, 'no slash command reached the model');
  await term.type('/quit', { enter: true });
  const deadline = Date.now() + 10_000;
  while (!(await term.exited())) {
    assert.ok(Date.now() < deadline, 'cog chat exits on /quit');
    await new Promise((r) => setTimeout(r, 100));
  }
});

test("a run's output is shown live, one status line per change", async (t) => {
  fixture.reset();
  const code = 'for (let i = 1; i <= 3; i++) console.log(`line ${i}`)';
  fixture.script('thinker', [
    reply.toolCalls([
      { name: 'run_code', arguments: JSON.stringify({ language: 'javascript', code }) },
    ]),
    reply.text('Done counting.'),
  ]);
  const term = await chat(t);
  await term.type('count to three', { enter: true });
  await term.waitFor(/Run it\? \[y\/N\] $/);
  await term.type('y', { enter: true });
  const screen = await term.waitFor(/Done counting\.[\s\S]*you> $/);
  assert.match(screen, /│ line 1\n.*│ line 2\n.*│ line 3/);
  const running = screen.match(/\): running/g) ?? [];
  assert.equal(running.length, 1, `"running" once:\n${screen}`);
});
