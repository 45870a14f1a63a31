import { localPrincipal } from '../auth/tokens.js';
import type { CogConfig } from '../config.js';
import { createRuntime } from '../runtime/runtime.js';

export interface SessionsOptions {
  action: 'list' | 'delete';
  ids: string[];
  json: boolean;
}

/**
 * `cog sessions`: list the local user's sessions, or delete some (their log, snapshot
 * and workspace). Runs its own runtime on COG_HOME, so it refuses while `cog serve` or
 * `cog chat` holds the home; an agent connected to that runtime uses the `sessions` tool.
 */
export async function runSessions(config: CogConfig, opts: SessionsOptions): Promise<number> {
  if (opts.action === 'delete' && opts.ids.length === 0) {
    throw Object.assign(new Error('cog sessions delete needs at least one session id.'), {
      code: 'usage',
    });
  }
  const owner = localPrincipal();
  const runtime = await createRuntime(config);
  try {
    if (opts.action === 'list') {
      const sessions = runtime.listSessions(owner);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ sessions })}\n`);
      } else if (sessions.length === 0) {
        process.stdout.write('No sessions.\n');
      } else {
        for (const s of sessions) {
          const title = s.title ? `  "${s.title}"` : '';
          process.stdout.write(`${s.id}  ${s.turns} turn(s)  created ${s.createdAt}${title}\n`);
        }
      }
      return 0;
    }
    let failed = 0;
    for (const id of opts.ids) {
      try {
        await runtime.deleteSession(id, owner);
        process.stdout.write(`Deleted session ${id}.\n`);
      } catch (err) {
        failed++;
        process.stderr.write(`cog: ${(err as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  } finally {
    await runtime.close();
  }
}
