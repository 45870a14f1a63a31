import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError } from './errors.js';

/**
 * One runtime per COG_HOME. Two processes replaying and appending to the same session
 * logs would corrupt each other's view (a restart marks the other's running turns as
 * interrupted), so the second one refuses to start and says what to do instead.
 * A lock left by a process that no longer exists is taken over.
 */
export function lockHome(home: string): () => void {
  const path = join(home, 'runtime.lock');
  const mine = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, mine, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(path);
      if (holder && holder.pid !== process.pid && alive(holder.pid)) {
        throw new RuntimeError(
          'home_locked',
          `Another Cog runtime (pid ${holder.pid}) is using ${home}. Connect to it (cog serve), ` +
            'stop it, or set COG_HOME to another directory.',
        );
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new RuntimeError('home_locked', `Could not lock ${home}: remove ${path} if no Cog runs.`);
}

function readLock(path: string): { pid: number } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown };
    return typeof parsed.pid === 'number' ? { pid: parsed.pid } : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
