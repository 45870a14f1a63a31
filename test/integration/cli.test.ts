import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { RuntimeEvent } from '../../protocol/events.js';
import { ENV_DOCS } from '../../server/config-docs.js';
import { runToEnd } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cog = `${root}dist/cog.mjs`;
const home = tempHome('cog-cli-');
after(() => home.cleanup());

before(async () => {
  // `npm test` builds first; a lone run of this file builds here.
  if (!existsSync(cog)) await run(process.execPath, [`${root}esbuild.mjs`], '');
});

function run(cmd: string, args: string[], input: string, env: NodeJS.ProcessEnv = {}) {
  const base = { PATH: process.env.PATH, HOME: home.home, COG_HOME: home.home };
  return runToEnd(cmd, args, { env: { ...base, ...env }, input });
}

test('cog chat on the offline engine, piped: computes, shows a table, remembers a name', async () => {
  const input = "what is 17*23?\nshow me a table\nI'm Ada\nwhat's my name?\n";
  const r = await run(
    process.execPath,
    [cog, 'chat', '--session', 'cli-offline', '--create'],
    input,
    {
      COG_APPROVAL: 'auto',
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /17 × 23 = 391/);
  assert.match(r.stdout, /node\s+\| role/);
  assert.match(r.stdout, /\[Tell me more\]/);
  assert.match(r.stdout, /Your name is Ada/);
  assert.match(r.stderr, /offline engine/, 'the banner says offline');
});

test('cog chat --json prints every event as JSONL, labelled offline', async () => {
  const r = await run(process.execPath, [cog, 'chat', '--json'], 'what is 2+3?\n', {
    COG_APPROVAL: 'auto',
  });
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RuntimeEvent);
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );
  const reply = events.find((e) => e.type === 'assistant.message');
  assert.ok(reply && reply.type === 'assistant.message');
  assert.match(reply.text, /5/);
  assert.equal(reply.model.offline, true);
  assert.ok(
    events.some((e) => e.type === 'memory.updated'),
    'the memorizer ran before exit',
  );
});

test('approval "ask" with piped input denies and says so', async () => {
  const r = await run(process.execPath, [cog, 'chat'], 'what is 17*23?\n', { COG_APPROVAL: 'ask' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /needs approval but stdin is not a terminal: denied/);
  assert.match(r.stdout, /did not finish \(denied\)/);
});

test('piped chat exits 1 and says why when a turn fails (the model endpoint is down)', async () => {
  // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
  const r = await run(process.execPath, [cog, 'chat'], 'hi\nhello again\n', {
    COG_LLM_BASE_URL: 'http://127.0.0.1:9/v1',
    COG_MODEL: 'some-model',
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /the turn failed: Could not reach model endpoint http:\/\/127\.0\.0\.1:9\/v1/,
  );
  assert.match(r.stderr, /2 turn\(s\) failed/);
  assert.equal(r.stdout, '', 'no empty reply lines');
});

test('--session with an unknown id is an error unless --create; nothing is created', async () => {
  const unknown = await run(process.execPath, [cog, 'chat', '--session', 'cli-typo'], 'hi\n');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no session "cli-typo".*--create/);
  const listed = await run(process.execPath, [cog, 'sessions', '--json'], '');
  assert.doesNotMatch(listed.stdout, /cli-typo/, 'the typo did not become a session');
  const lone = await run(process.execPath, [cog, 'chat', '--create'], '');
  assert.equal(lone.code, 2);
  assert.match(lone.stderr, /--create needs --session ID/);
  const made = await run(
    process.execPath,
    [cog, 'chat', '--session', 'cli-typo', '--create'],
    'hi\n',
  );
  assert.equal(made.code, 0, made.stderr);
  const again = await run(
    process.execPath,
    [cog, 'chat', '--session', 'cli-typo'],
    "what's my name?\n",
  );
  assert.equal(again.code, 0, again.stderr);
});

test('the banner names only what is true: forced offline, and the models this mode calls', async () => {
  const forced = await run(process.execPath, [cog, 'chat'], '', {
    COG_OFFLINE: '1',
    COG_LLM_BASE_URL: 'http://127.0.0.1:9/v1',
    COG_MODEL: 'm',
  });
  assert.match(forced.stderr, /offline engine \(COG_OFFLINE=1/);
  assert.doesNotMatch(forced.stderr, /no model configured/);
  const base = {
    COG_LLM_BASE_URL: 'http://127.0.0.1:9/v1',
    COG_MODEL: 'm',
    COG_MODEL_OUTPUT: 'speaker',
  };
  const fast = await run(process.execPath, [cog, 'chat'], '', base);
  assert.match(fast.stderr, /input\+thinker\+memorizer m/);
  assert.doesNotMatch(fast.stderr, /speaker/, 'fast mode never calls the Output model');
  const faithful = await run(process.execPath, [cog, 'chat'], '', {
    ...base,
    COG_PIPELINE: 'faithful',
  });
  assert.match(faithful.stderr, /input\+thinker\+memorizer m, output speaker/);
});

test('--help documents every flag and variable; bad flags fail clearly', async () => {
  const r = await run(process.execPath, [cog, '--help'], '');
  assert.equal(r.code, 0);
  for (const flag of ['--session', '--json', '--help']) assert.ok(r.stdout.includes(flag), flag);
  for (const [name] of ENV_DOCS) assert.ok(r.stdout.includes(name), name);
  const bad = await run(process.execPath, [cog, 'chat', '--bogus'], '');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^cog: .*bogus/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const env = await run(process.execPath, [cog, 'chat'], 'hi\n', { COG_PIPELINE: 'turbo' });
  assert.equal(env.code, 78, 'an invalid configuration exits EX_CONFIG');
  assert.match(r.stdout, /78 the configuration is invalid/);
  assert.match(env.stderr, /COG_PIPELINE=turbo is not valid: use one of fast, faithful/);
});

test('on a terminal: streamed reply, HUD lines, and approval asked y/n', async () => {
  // `script` gives the chat a real pseudo-terminal, as a person at a terminal would have.
  const child = spawn('script', ['-qfec', `${process.execPath} ${cog} chat`, '/dev/null'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: home.home,
      COG_HOME: home.home,
      COG_APPROVAL: 'ask',
      TERM: 'dumb',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  const waitFor = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${pattern}; screen:\n${screen}`)),
        15_000,
      );
      const check = () => {
        if (pattern.test(screen)) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      check();
    });
  child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  await waitFor(/you> /);
  assert.match(screen, /offline engine/);
  child.stdin.write('what is 17*23?\r');
  await waitFor(/Run it\? \[y\/N\]/);
  assert.match(screen, /console\.log\(17\*23\)/, 'the code is shown before approval');
  child.stdin.write('y\r');
  await waitFor(/17 × 23 = 391[\s\S]*you> /);
  assert.match(screen, /· thinker: ran 1 process/, 'compact HUD lines');
  assert.match(screen, /· process p-\w+ \(javascript, [\w-]+\): done/);
  child.stdin.write('/exit\r');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
});

test('cog sessions lists and deletes the local sessions; a bad id fails clearly', async () => {
  const made = await run(
    process.execPath,
    [cog, 'chat', '--session', 'cli-doomed', '--create'],
    'hello\n',
  );
  assert.equal(made.code, 0, made.stderr);
  const listed = await run(process.execPath, [cog, 'sessions', '--json'], '');
  assert.equal(listed.code, 0, listed.stderr);
  const ids = (JSON.parse(listed.stdout) as { sessions: { id: string }[] }).sessions.map(
    (s) => s.id,
  );
  assert.ok(ids.includes('cli-doomed'), listed.stdout);
  const deleted = await run(process.execPath, [cog, 'sessions', 'delete', 'cli-doomed'], '');
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /Deleted session cli-doomed\./);
  const again = await run(process.execPath, [cog, 'sessions'], '');
  assert.doesNotMatch(again.stdout, /cli-doomed/);
  const missing = await run(process.execPath, [cog, 'sessions', 'delete', 'cli-doomed'], '');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No session cli-doomed/);
  const bad = await run(process.execPath, [cog, 'sessions', 'remove'], '');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown sessions action "remove"/);
  const noId = await run(process.execPath, [cog, 'sessions', 'delete'], '');
  assert.equal(noId.code, 2);
  assert.match(noId.stderr, /needs at least one session id/);
});
