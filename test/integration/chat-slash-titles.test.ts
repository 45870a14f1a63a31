import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { runSlash, type SlashContext } from '../../server/cli/chat/slash.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { tempHome, testConfig } from '../helpers/runtime.js';

// The terminal chat's session commands on a real runtime (offline engine): /sessions lists
// titles, /rename sets the user's, refusing what the runtime refuses.

const OWNER = 'local:chat-titles';
const home = tempHome('cog-chat-titles-');
after(() => home.cleanup());

test('/sessions shows titles; /rename retitles the current session', async () => {
  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  const { id } = await runtime.createSession(OWNER);
  const other = (await runtime.createSession(OWNER)).id;
  await runtime.send(id, OWNER, 'what is 2+2?');
  await runtime.settled(id);
  const printed: string[] = [];
  const ctx: SlashContext = {
    runtime,
    owner: OWNER,
    session: id,
    print: (text) => void printed.push(text),
    switchTo: async () => undefined,
    decide: () => false,
    quit: () => undefined,
  };
  const run = async (name: string, arg = '') => {
    printed.length = 0;
    await runSlash(ctx, name, arg);
    return printed.join('\n');
  };

  const listed = (await run('sessions')).split('\n');
  assert.match(listed[0] ?? '', new RegExp(`^\\* ${id} +1 turn\\(s\\) .*  what is 2\\+2\\?$`));
  assert.match(listed[1] ?? '', new RegExp(`^  ${other} +0 turn\\(s\\) +[0-9-]+ [0-9:]+$`));

  assert.equal(await run('rename', 'Sums for the week'), 'renamed to "Sums for the week"');
  assert.match(await run('sessions'), /1 turn\(s\) .* {2}Sums for the week\n/);
  assert.equal(await run('rename', ''), 'usage: /rename TITLE');
  assert.match(await run('rename', 'x'.repeat(201)), /^\/rename: A title is one line of 1-200/);
  assert.equal(runtime.listSessions(OWNER)[0]?.title, 'Sums for the week');
  assert.equal((await runtime.session(id, OWNER)).titleSource, 'user');
  await runtime.close();
});
