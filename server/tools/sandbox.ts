import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { findExecutable } from './find-executable.js';

/** A program and its arguments, ready for `spawn`. */
export interface Command {
  file: string;
  args: string[];
}

/** A bubblewrap that passed the probe, and which of its namespaces work here. */
export interface Bubblewrap {
  path: string;
  pidNamespace: boolean;
}

/** Where system tools are looked for when the parent's PATH lacks them. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Size of the sandbox's private /tmp: it is RAM, and RLIMIT_AS does not count it. */
const SANDBOX_TMP_BYTES = 64 * 1024 * 1024;
const HIDING_TMP_BYTES = 1024 * 1024;
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Arguments for bubblewrap: the whole filesystem read-only, the workspace the only
 * writable place, no network, no capabilities (as root bwrap would otherwise keep them,
 * and CAP_SYS_ADMIN could remount / read-write), and, when it works, a pid namespace so
 * that killing bwrap takes every descendant with it even if one escaped the process group.
 * @param keep files the command needs (interpreter, runner script): their directories stay
 *   visible. The workspace's parent, which holds other sessions' workspaces, is hidden
 *   unless one of these is in it.
 */
export function bubblewrapArgs(bw: Bubblewrap, workspace: string, keep: string[]): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev'];
  // Mounting a fresh /proc needs the pid namespace; without it the host's stays visible.
  if (bw.pidNamespace) args.push('--proc', '/proc');
  args.push('--size', String(SANDBOX_TMP_BYTES), '--tmpfs', '/tmp');
  // A needed file under /tmp (a bundle unpacked there) would vanish under the new tmpfs.
  const keepInTmp = new Set(keep.filter((p) => p.startsWith('/tmp/')).map((p) => dirname(p)));
  for (const dir of keepInTmp) args.push('--ro-bind', dir, dir);
  const parent = dirname(workspace);
  const parentNeeded = keep.some((p) => p.startsWith(parent + sep));
  const hideParent = parent !== '/' && parent !== '/tmp' && !parentNeeded;
  if (hideParent) args.push('--size', String(HIDING_TMP_BYTES), '--tmpfs', parent);
  args.push('--bind', workspace, workspace);
  // The tmpfs that hides the siblings exists only to hold the mount point: read-only.
  if (hideParent) args.push('--remount-ro', parent);
  args.push('--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try');
  if (bw.pidNamespace) args.push('--unshare-pid');
  args.push('--die-with-parent', '--cap-drop', 'ALL', '--chdir', workspace, '--');
  return args;
}

let prlimitPath: string | null | undefined;

/**
 * Caps the command's address space (RLIMIT_AS, soft and hard, so the child cannot raise
 * it). V8 heap flags only bound the JS heap; this bounds everything, native allocations
 * included. prlimit when present, else the shell's `ulimit -v`; on Linux, if that fails,
 * the command does not run at all rather than running uncapped.
 */
export function withMemoryCap(cmd: Command, bytes: number): Command {
  if (prlimitPath === undefined) prlimitPath = findExecutable('prlimit', SYSTEM_PATH) ?? null;
  const limit = Math.max(1, Math.floor(bytes));
  if (prlimitPath !== null) {
    return { file: prlimitPath, args: [`--as=${limit}`, '--', cmd.file, ...cmd.args] };
  }
  const kib = Math.max(1, Math.floor(limit / 1024));
  // macOS refuses RLIMIT_AS outright; failing closed there would mean no code runs at all.
  const onFailure = process.platform === 'linux' ? 'exit 126' : 'true';
  return {
    file: '/bin/sh',
    args: ['-c', `ulimit -v ${kib} || ${onFailure}; exec "$@"`, 'sh', cmd.file, ...cmd.args],
  };
}

/** The command as it is spawned: memory-capped, and inside bubblewrap when given one. */
export function sandboxCommand(
  cmd: Command,
  opts: { workspace: string; addressSpaceBytes: number; bubblewrap?: Bubblewrap; keep: string[] },
): Command {
  const capped = withMemoryCap(cmd, opts.addressSpaceBytes);
  if (!opts.bubblewrap) return capped;
  return {
    file: opts.bubblewrap.path,
    args: [
      ...bubblewrapArgs(opts.bubblewrap, opts.workspace, opts.keep),
      capped.file,
      ...capped.args,
    ],
  };
}

const probes = new Map<string, Promise<Bubblewrap | undefined>>();

/**
 * Finds a bubblewrap that can actually build our sandbox here. Being installed is not
 * enough: containers often forbid namespaces, so a real run with the exact flags decides.
 * Tried with a pid namespace first, then without. Probed once per PATH and cached.
 */
export function probeBubblewrap(pathEnv: string): Promise<Bubblewrap | undefined> {
  let probe = probes.get(pathEnv);
  if (!probe) {
    probe = runProbe(pathEnv);
    probes.set(pathEnv, probe);
  }
  return probe;
}

async function runProbe(pathEnv: string): Promise<Bubblewrap | undefined> {
  const path = findExecutable('bwrap', `${pathEnv}:${SYSTEM_PATH}`);
  const truePath = findExecutable('true', SYSTEM_PATH);
  if (!path || !truePath) return undefined;
  const workspace = mkdtempSync(join(tmpdir(), 'cog-bwrap-probe-'));
  try {
    for (const pidNamespace of [true, false]) {
      const bw = { path, pidNamespace };
      const args = [...bubblewrapArgs(bw, workspace, [truePath]), truePath];
      if (await exitsCleanly(path, args)) return bw;
    }
    return undefined;
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}

function exitsCleanly(file: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'ignore', env: { PATH: SYSTEM_PATH } });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}
