import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTime } from '../processes/leftovers.js';
import { RuntimeError } from './errors.js';

/**
 * One runtime per COG_HOME. Two processes replaying and appending to the same session
 * logs would corrupt each other's view (a restart marks the other's running turns as
 * interrupted), so the second one refuses to start and says what to do instead.
 * A lock is stale, and taken over, when its process no longer exists, or when its pid now
 * names another process (pid reuse after a reboot): the lock records the process's start
 * time, and a live pid with another start time is not the runtime that wrote it.
 */
export function lockHome(home: string): () => void {
  const path = join(home, 'runtime.lock');
  const mine = JSON.stringify({
    pid: process.pid,
    startedAt: new Date().toISOString(),
    ...(startTime(process.pid) !== undefined && { processStart: startTime(process.pid) }),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, mine, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(path);
      if (holder && holder.pid !== process.pid && isHolder(holder)) {
        throw new RuntimeError(
          'home_locked',
          `Another Cog runtime (pid ${holder.pid}) is using ${home}. Connect to it (cog serve), ` +
            'stop it, or set COG_HOME to another directory.',
        );
      }
      rmSync(path, { force: true }); // stale: its process is gone, or is someone else
    }
  }
  throw new RuntimeError('home_locked', `Could not lock ${home}: remove ${path} if no Cog runs.`);
}

interface Lock {
  pid: number;
  processStart?: string;
}

function readLock(path: string): Lock | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as {
      pid?: unknown;
      processStart?: unknown;
    };
    if (typeof parsed.pid !== 'number') return undefined;
    return {
      pid: parsed.pid,
      ...(typeof parsed.processStart === 'string' && { processStart: parsed.processStart }),
    };
  } catch {
    return undefined;
  }
}

/** Whether the lock's writer still runs: its pid is alive and, where known, was started then. */
function isHolder(lock: Lock): boolean {
  if (!alive(lock.pid)) return false;
  const now = startTime(lock.pid);
  return lock.processStart === undefined || now === undefined || now === lock.processStart;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
