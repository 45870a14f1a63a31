import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A record of the children a runtime has running, one file per pid under `dir`, so that
 * the next runtime on the same home can kill what a crashed one left behind before it
 * restores any session. The Linux tiers already die with the runtime (PR_SET_PDEATHSIG
 * and their pid namespace); this covers the rest, and a kernel that missed the signal.
 * A pid is only killed when its start time still matches: a reused pid is someone else.
 */
export function createChildRegistry(dir: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return {
    add(pid: number): void {
      const start = startTime(pid);
      if (start !== undefined) writeFileSync(join(dir, String(pid)), start, { mode: 0o600 });
    },
    remove(pid: number): void {
      rmSync(join(dir, String(pid)), { force: true });
    },
  };
}

/** Kills every recorded child that is still the same process; returns how many. */
export function killLeftovers(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let killed = 0;
  for (const name of names) {
    const pid = Number(name);
    const path = join(dir, name);
    if (Number.isInteger(pid) && pid > 1) {
      let recorded = '';
      try {
        recorded = readFileSync(path, 'utf8');
      } catch {
        // Unreadable record: nothing to match against.
      }
      if (recorded && startTime(pid) === recorded) {
        for (const target of [-pid, pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        killed++;
      }
    }
    rmSync(path, { force: true });
  }
  return killed;
}

/**
 * The process's start time in clock ticks since boot (Linux), or undefined: with its pid,
 * it names one process for the machine's uptime, so a reused pid is told apart.
 */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}
