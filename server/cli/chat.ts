import { userInfo } from 'node:os';
import type { CogConfig } from '../config.js';
import { createRuntime, type Runtime } from '../runtime/runtime.js';
import { isCoded } from '../runtime/errors.js';
import { banner } from './chat/format.js';
import { runPipe } from './chat/pipe.js';
import { runTerminal } from './chat/terminal.js';

export { hudLine } from './chat/format.js';

export interface ChatOptions {
  session?: string;
  /** With `session`: create it under that id if it does not exist. */
  create?: boolean;
  json: boolean;
}

/** Exit code for a usage error (an unknown session named without --create). */
const USAGE = 2;

/** The session to talk to, or a message saying why there is none. */
async function resolveSession(
  runtime: Runtime,
  owner: string,
  opts: ChatOptions,
): Promise<{ id: string } | { error: string }> {
  if (!opts.session) return { id: (await runtime.createSession(owner)).id };
  try {
    return { id: (await runtime.session(opts.session, owner)).id };
  } catch (e) {
    if (!isCoded(e, 'session_not_found')) throw e;
  }
  if (!opts.create) {
    return {
      error:
        `cog: no session "${opts.session}" here (\`cog sessions\` lists yours; ` +
        'add --create to start one with that id)',
    };
  }
  return { id: (await runtime.createSession(owner, { id: opts.session })).id };
}

/** `cog chat`: an interactive chat on a TTY, or a line-per-message script on a pipe. */
export async function runChat(config: CogConfig, opts: ChatOptions): Promise<number> {
  if (opts.create && !opts.session) {
    process.stderr.write('cog: --create needs --session ID\n');
    return USAGE;
  }
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.json;
  const owner = `local:${userInfo().username}`;
  const runtime = await createRuntime(config);
  try {
    const resolved = await resolveSession(runtime, owner, opts);
    if ('error' in resolved) {
      process.stderr.write(`${resolved.error}\n`);
      return USAGE;
    }
    if (tty) return await runTerminal({ runtime, owner, session: resolved.id });
    if (!opts.json) process.stderr.write(banner(runtime, resolved.id));
    return await runPipe({ runtime, owner, session: resolved.id, json: opts.json });
  } finally {
    await runtime.close();
  }
}
