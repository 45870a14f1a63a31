import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from '../find-executable.js';
import type { Command } from '../sandbox.js';
import { sandboxEtc, sandboxLayout } from './layout.js';
import { bubblewrapArgs, namespaceScript, unshareArgs, type Identity } from './render.js';

export { INNER_RUNNERS, INNER_WORKSPACE } from './layout.js';

/** Where system tools are looked for, whatever the runtime's own PATH says. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PROBE_TIMEOUT_MS = 5_000;
/** The first uid a root runtime hands out to sandboxes, far above any real account's. */
const SANDBOX_UID_BASE = 2_000_000_000;
const SANDBOX_UIDS = 1_000_000;

export type LinuxTier = 'bubblewrap' | 'namespaces';

/** A Linux tier that passed its probe on this machine, ready to wrap commands. */
export interface LinuxSandbox {
  tier: LinuxTier;
  root: boolean;
  /** bwrap or unshare. */
  program: string;
  setpriv: string | undefined;
  prlimit: string;
  /** Empty private directory: the namespaces tier mounts its root on it. */
  mountPoint: string;
  /** Private directory of synthetic passwd/group files, one pair per uid. */
  etcDir: string;
}

export type ProbeResult = { ok: true; sandbox: LinuxSandbox } | { ok: false; why: string };

/** Per-run resource limits applied with prlimit before the sandbox is entered. */
export interface RunLimits {
  addressSpaceBytes: number;
  /** Processes (threads count too) the run may have at once. */
  processes: number;
  fileBytes: number;
  cpuSeconds: number;
}

/** What one run needs inside: its workspace, interpreter prefixes and runner files. */
export interface RunMounts {
  workspace: string;
  prefixes: string[];
  files: { src: string; dst: string }[];
  /** Files the user shared, bound read-only at /workspace/shared. */
  shared?: string;
}

/**
 * Probes a Linux tier by running `true` through exactly the chain real runs use. Being
 * installed is not enough: containers and hardened kernels refuse namespaces, and only a
 * real run tells. `dir` is a private directory the sandbox may keep its scratch files in.
 */
export async function probeLinuxTier(tier: LinuxTier, dir: string): Promise<ProbeResult> {
  if (process.platform !== 'linux') return { ok: false, why: 'only on Linux' };
  const program = findExecutable(tier === 'bubblewrap' ? 'bwrap' : 'unshare', SYSTEM_PATH);
  if (!program) {
    return {
      ok: false,
      why:
        tier === 'bubblewrap'
          ? 'bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)'
          : 'unshare (util-linux) is not installed',
    };
  }
  const prlimit = findExecutable('prlimit', SYSTEM_PATH);
  if (!prlimit) return { ok: false, why: 'prlimit (util-linux) is not installed' };
  const setpriv = findExecutable('setpriv', SYSTEM_PATH);
  const root = process.getuid?.() === 0;
  if (!setpriv && (root || tier === 'namespaces')) {
    return { ok: false, why: 'setpriv (util-linux) is not installed' };
  }
  const truePath = findExecutable('true', SYSTEM_PATH);
  if (!truePath) return { ok: false, why: 'no `true` program to probe with' };
  const sandbox: LinuxSandbox = {
    tier,
    root,
    program,
    setpriv,
    prlimit,
    mountPoint: join(dir, 'root'),
    etcDir: join(dir, 'etc'),
  };
  const workspace = join(dir, 'probe-workspace');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(sandbox.mountPoint, { recursive: true, mode: 0o700 });
  const cmd = wrapLinux(
    sandbox,
    { file: truePath, args: [] },
    { workspace, prefixes: [], files: [] },
    { addressSpaceBytes: 256 * 1024 * 1024, processes: 64, fileBytes: 1024 * 1024, cpuSeconds: 5 },
    'probe',
  );
  const result = await runQuietly(cmd);
  if (result.ok) return { ok: true, sandbox };
  const hint =
    tier === 'namespaces'
      ? ' (unprivileged user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu 24.04 the AppArmor restriction kernel.apparmor_restrict_unprivileged_userns)'
      : '';
  return { ok: false, why: `${result.why}${hint}` };
}

/**
 * The command as spawned in a Linux tier: capped by prlimit, made to die with the runtime
 * (PR_SET_PDEATHSIG), then bwrap or unshare building the sandbox around `cmd`, whose
 * paths are the ones inside. `session` picks the unprivileged uid a root runtime uses.
 */
export function wrapLinux(
  sb: LinuxSandbox,
  cmd: Command,
  mounts: RunMounts,
  limits: RunLimits,
  session: string,
): Command {
  const uid = sb.root ? sandboxUid(session) : (process.getuid?.() ?? 0);
  const who: Identity = sb.root ? { mode: 'root', uid } : { mode: 'user' };
  // Inside a user namespace made by unshare the code is uid 0 (mapped to the user).
  const innerUid = sb.root ? uid : sb.tier === 'namespaces' ? 0 : uid;
  const etc = writeEtc(sb.etcDir, innerUid);
  if (sb.root) giveTo(mounts.workspace, uid);
  const layout = sandboxLayout({ ...mounts, etc });
  const tierArgs =
    sb.tier === 'bubblewrap'
      ? [sb.program, ...bubblewrapArgs(layout, who)]
      : [
          sb.program,
          ...unshareArgs(who),
          '/bin/sh',
          '-c',
          namespaceScript(layout, sb.mountPoint, who),
          'cog-sandbox',
        ];
  const processes = sb.root ? limits.processes : processesOf(uid) + limits.processes;
  const capped = [
    sb.prlimit,
    `--as=${Math.floor(limits.addressSpaceBytes)}`,
    `--nproc=${processes}`,
    `--fsize=${Math.floor(limits.fileBytes)}`,
    `--cpu=${Math.ceil(limits.cpuSeconds)}`,
    '--core=0',
    '--',
    ...tierArgs,
    cmd.file,
    ...cmd.args,
  ];
  const all = sb.setpriv ? [sb.setpriv, '--pdeathsig', 'KILL', '--', ...capped] : capped;
  const [file, ...args] = all as [string, ...string[]];
  return { file, args };
}

/** A uid of the session's own in [BASE, BASE + UIDS): runs of two sessions never share one. */
export function sandboxUid(session: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < session.length; i++) {
    h ^= session.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return SANDBOX_UID_BASE + (h % SANDBOX_UIDS);
}

/** Files the code sees as /etc/passwd and /etc/group: one user, itself. */
function writeEtc(etcDir: string, uid: number): string {
  const dir = join(etcDir, String(uid));
  if (existsSync(join(dir, 'group'))) return dir;
  const { passwd, group } = sandboxEtc(uid);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'passwd'), passwd, { mode: 0o644 });
  writeFileSync(join(dir, 'group'), group, { mode: 0o644 });
  return dir;
}

function readdirSafe(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}

/**
 * Hands the workspace to the sandbox's uid (a root runtime only): the code must be able to
 * write it, and nothing else on the host belongs to that uid. Symlinks are not followed.
 */
function giveTo(workspace: string, uid: number): void {
  const walk = (path: string): void => {
    const st = lstatSync(path);
    if (st.uid !== uid || st.gid !== uid) lchownSync(path, uid, uid);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(workspace);
  // Searchable by others: bwrap enters it as root without CAP_DAC_OVERRIDE before the
  // code becomes its uid. Not listable; its parent (COG_HOME, 0700) keeps strangers out.
  chmodSync(workspace, 0o711);
}

/**
 * Processes the user already has: RLIMIT_NPROC counts all of a user's processes, so a
 * non-root runtime's cap is "what you have plus the run's allowance".
 */
function processesOf(uid: number): number {
  let n = 0;
  for (const name of readdirSafe('/proc') ?? []) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (statSync(`/proc/${name}`).uid === uid) n++;
    } catch {
      // Gone while we counted.
    }
  }
  return n;
}

function runQuietly(cmd: Command): Promise<{ ok: true } | { ok: false; why: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: SYSTEM_PATH },
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, why: e.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true });
      else {
        const last = err.trim().split('\n').pop() ?? '';
        resolve({ ok: false, why: last || `probe exited with ${code ?? signal}` });
      }
    });
  });
}
