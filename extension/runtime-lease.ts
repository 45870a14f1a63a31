import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApprovalPolicy } from '../protocol/events.js';
import type { Logger } from './emitter.js';

/**
 * Which extension host started the runtime of a COG_HOME, kept beside the runtime's own
 * lock. The runtime allows one process per home, and two windows can share a home (empty
 * windows use the global storage). With the lease a second window connects to the
 * runtime the first one started instead of failing on the lock, and a runtime left
 * behind by an extension host that died without stopping it is ended, not waited on.
 */
export interface Lease {
  /** The `cog serve` process. */
  pid: number;
  /** The extension host that started it. */
  host: number;
  url: string;
  /**
   * The approval policy it was started with, so a window in Restricted Mode does not use a
   * runtime that would run code. Absent in leases from before it was recorded.
   */
  approval?: ApprovalPolicy;
}

const FILE = 'vscode-runtime.json';
const POLICIES: readonly ApprovalPolicy[] = ['ask', 'auto', 'deny'];

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readLease(home: string): Promise<Lease | undefined> {
  try {
    const v = JSON.parse(await readFile(join(home, FILE), 'utf8')) as Partial<Lease>;
    const approval = POLICIES.find((p) => p === v.approval);
    return typeof v.pid === 'number' && typeof v.host === 'number' && typeof v.url === 'string'
      ? { pid: v.pid, host: v.host, url: v.url, ...(approval ? { approval } : {}) }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function writeLease(home: string, lease: Lease): Promise<void> {
  await writeFile(join(home, FILE), JSON.stringify(lease), { mode: 0o600 });
}

/** Removes the lease if it still names `pid` (a newer runtime's stays). */
export async function dropLease(home: string, pid: number): Promise<void> {
  if ((await readLease(home))?.pid === pid) await rm(join(home, FILE), { force: true });
}

/** Whether `pid` runs `cog.mjs serve` (so a recycled pid is never killed). Not on Windows. */
function isCogServe(pid: number): Promise<boolean> {
  if (process.platform === 'win32') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'command=', '-p', String(pid)], (err, stdout) => {
      resolve(!err && /cog\.mjs\b.*\bserve\b/.test(stdout));
    });
  });
}

export type LeaseCheck =
  | { kind: 'none' }
  /** Another live extension host's runtime: connect to it. */
  | { kind: 'shared'; lease: Lease };

/**
 * Looks at the home's lease before starting a runtime there: a live runtime of a live
 * extension host is shared; one whose extension host is gone is stopped (SIGTERM, then
 * SIGKILL after 3 s) once it is confirmed to be a `cog serve`.
 */
export async function checkLease(home: string, log: Logger): Promise<LeaseCheck> {
  const lease = await readLease(home);
  if (!lease || !alive(lease.pid)) return { kind: 'none' };
  if (lease.host !== process.pid && alive(lease.host)) return { kind: 'shared', lease };
  if (!(await isCogServe(lease.pid))) return { kind: 'none' };
  log.warn(`stopping runtime ${lease.pid}, left behind by an extension host that is gone`);
  process.kill(lease.pid, 'SIGTERM');
  for (let i = 0; i < 30 && alive(lease.pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(lease.pid)) process.kill(lease.pid, 'SIGKILL');
  return { kind: 'none' };
}

/** Settles when `pid` is gone (polled: it is not our child). */
export function whenGone(pid: number, signal: AbortSignal, everyMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (signal.aborted || !alive(pid)) {
        clearInterval(timer);
        resolve();
      }
    }, everyMs);
  });
}
