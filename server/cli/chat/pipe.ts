import { createInterface } from 'node:readline';
import type { Runtime } from '../../runtime/runtime.js';
import { parseSlash, runSlash, type SlashContext } from './slash.js';
import { controlsText, failureOf, sendLine } from './turn.js';

/**
 * `cog chat` on a pipe: one reply per input line on stdout (events as JSONL with `--json`),
 * the banner and errors on stderr. Resolves with the exit code: 1 when any turn failed.
 */
export async function runPipe(opts: {
  runtime: Runtime;
  owner: string;
  session: string;
  json: boolean;
}): Promise<number> {
  const { runtime, owner, json } = opts;
  let session = opts.session;
  const out = (s: string) => process.stdout.write(s);
  const err = (s: string) => process.stderr.write(s);
  let failures = 0;

  const watch = (id: string) =>
    runtime.subscribe(id, owner, (e) => {
      if (json) out(`${JSON.stringify(e)}\n`);
      if (e.type === 'process.updated' && e.process.status === 'pending-approval') {
        err(
          `cog: ${e.process.id} needs approval but stdin is not a terminal: denied. ` +
            'Set COG_APPROVAL=auto to let piped chats run code.\n',
        );
        runtime.approve(e.process.id, owner, 'deny', undefined, 'no terminal to ask on');
      }
    });
  let unwatch = await watch(session);
  let quit = false;

  const ctx: SlashContext = {
    runtime,
    owner,
    get session() {
      return session;
    },
    print: (text) => out(`${text}\n`),
    async switchTo(id) {
      await runtime.session(id, owner);
      unwatch();
      session = id;
      unwatch = await watch(id);
      err(`cog: now in session ${id}\n`);
    },
    decide: () => false,
    quit: () => (quit = true),
  };

  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    const text = line.trim();
    if (!text) continue;
    const slash = parseSlash(text);
    if (slash && slash.name !== 'action') {
      await runSlash(ctx, slash.name, slash.arg);
      if (quit) break;
      continue;
    }
    try {
      const result = await sendLine(runtime, session, owner, text);
      if (!json) {
        if (result.text) out(`${result.text}\n`);
        const controls = controlsText(result);
        if (controls) out(`${controls}\n`);
      }
      const failure = failureOf(result);
      if (failure) {
        failures++;
        err(`cog: the turn failed: ${failure}\n`);
      }
    } catch (e) {
      failures++;
      err(`cog: ${(e as Error).message}\n`);
    }
  }
  rl.close();
  unwatch();
  await runtime.settled(session);
  if (failures) err(`cog: ${failures} turn(s) failed\n`);
  return failures ? 1 : 0;
}
