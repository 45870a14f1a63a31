import { INNER_WORKSPACE, parentsOf, type Mount } from './layout.js';

/**
 * Who the code runs as. `root`: the runtime is root, so the sandbox is built without a
 * user namespace and the code then runs as `uid`, an unprivileged id of its own, which
 * makes RLIMIT_NPROC count (the kernel exempts root from it) and owns nothing on the host
 * but the workspace. `user`: an ordinary user builds it inside a user namespace and the
 * code keeps that user's id, with every capability dropped.
 */
export type Identity = { mode: 'root'; uid: number } | { mode: 'user' };

const SYSTEM_TOOLS_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** Devices the code may open: nothing that reaches hardware or a terminal. */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom'];

/** bubblewrap's arguments for the layout, up to and including the `--` before the command. */
export function bubblewrapArgs(mounts: Mount[], who: Identity): string[] {
  const args: string[] = [];
  // bwrap would copy the host's modes onto the directories it makes for a mount point
  // (/root is 0700), which the sandbox's uid could not enter: make them 0755 first.
  const made = new Set<string>();
  for (const m of mounts) {
    const dst = m.kind === 'dev' || m.kind === 'proc' ? '/' : m.dst;
    for (const dir of parentsOf(dst)) {
      if (!made.has(dir)) args.push('--perms', '0755', '--dir', dir);
      made.add(dir);
    }
    // A mount inside another mount (shared/ in the workspace) must not remake its parent.
    if (m.kind !== 'dev' && m.kind !== 'proc' && m.kind !== 'symlink') made.add(m.dst);
    switch (m.kind) {
      case 'ro':
        args.push('--ro-bind', m.src, m.dst);
        break;
      case 'rw':
        args.push('--bind', m.src, m.dst);
        break;
      case 'symlink':
        args.push('--symlink', m.target, m.dst);
        break;
      case 'tmpfs':
        args.push('--size', String(m.bytes), '--perms', '1777', '--tmpfs', m.dst);
        break;
      case 'dev':
        args.push('--dev', '/dev');
        break;
      case 'proc':
        args.push('--proc', '/proc');
        break;
      default: {
        const never: never = m;
        throw new Error(`unknown mount ${String(never)}`);
      }
    }
  }
  args.push('--remount-ro', '/');
  args.push('--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-pid');
  args.push('--unshare-cgroup-try', '--die-with-parent', '--new-session');
  if (who.mode === 'user') args.push('--unshare-user', '--cap-drop', 'ALL');
  // As root, bwrap keeps only what the final setpriv needs to become the sandbox's uid;
  // changing uid then clears even those.
  else args.push('--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID');
  args.push('--chdir', INNER_WORKSPACE, '--');
  if (who.mode === 'root') args.push(...dropToUid(who.uid, false));
  return args;
}

/**
 * The command that, run as `unshare ... -- /bin/sh -c SCRIPT sh CMD...`, builds the same
 * root as bubblewrap would on the empty directory `mountPoint` (private to this mount
 * namespace), pivots into it, detaches the host's root, and execs CMD with no way back:
 * the final setpriv empties the capability bounding set and sets no_new_privs.
 */
export function namespaceScript(mounts: Mount[], mountPoint: string, who: Identity): string {
  const q = shellQuote;
  const R = q(mountPoint);
  const lines = [
    'set -eu',
    // The tools below come from the host's sbin too; the command gets its own PATH back.
    'CMD_PATH="${PATH:-}"',
    `PATH=${SYSTEM_TOOLS_PATH}`,
    // Inside a user namespace the host's flags on a mount (nosuid, noexec, an atime mode)
    // are locked: a read-only remount must repeat them, so try the likely sets in turn.
    'ro() { for o in "" ,noatime ,relatime ,noexec ,noexec,noatime ,noexec,relatime; do ' +
      'mount -o "remount,bind,ro,nosuid,nodev$o" "$1" 2>/dev/null && return 0; done; ' +
      'echo "cog sandbox: cannot make $1 read-only" >&2; return 1; }',
    `mount -t tmpfs -o size=4m,mode=755 cog-root ${R}`,
    `cd ${R}`,
  ];
  const at = (dst: string) => `.${q(dst)}`;
  const mkParents = (dst: string) => {
    const dirs = parentsOf(dst);
    if (dirs.length) lines.push(`mkdir -p ${dirs.map(at).join(' ')}`);
  };
  for (const m of mounts) {
    switch (m.kind) {
      case 'ro':
      case 'rw': {
        mkParents(m.dst);
        // A file is bound onto a file, a directory onto a directory.
        lines.push(
          `if [ -d ${q(m.src)} ]; then mkdir -p ${at(m.dst)}; else : > ${at(m.dst)}; fi`,
          `mount --rbind ${q(m.src)} ${at(m.dst)}`,
        );
        if (m.kind === 'ro') lines.push(`ro ${at(m.dst)}`);
        break;
      }
      case 'symlink':
        mkParents(m.dst);
        lines.push(`ln -s ${q(m.target)} ${at(m.dst)}`);
        break;
      case 'tmpfs':
        mkParents(m.dst);
        lines.push(
          `mkdir -p ${at(m.dst)}`,
          `mount -t tmpfs -o size=${m.bytes},mode=1777,nosuid,nodev cog-tmp ${at(m.dst)}`,
        );
        break;
      case 'dev':
        lines.push('mkdir -p ./dev');
        for (const d of DEVICES) lines.push(`: > ./dev/${d}`, `mount --bind /dev/${d} ./dev/${d}`);
        lines.push(
          'ln -s /proc/self/fd ./dev/fd',
          'ln -s /proc/self/fd/0 ./dev/stdin',
          'ln -s /proc/self/fd/1 ./dev/stdout',
          'ln -s /proc/self/fd/2 ./dev/stderr',
        );
        break;
      case 'proc':
        // This shell is pid 1 of the new pid namespace, so this /proc shows only the sandbox.
        lines.push('mkdir -p ./proc', 'mount -t proc -o nosuid,nodev,noexec proc ./proc');
        break;
      default: {
        const never: never = m;
        throw new Error(`unknown mount ${String(never)}`);
      }
    }
  }
  lines.push(
    'mkdir .old-root',
    'pivot_root . .old-root',
    'umount -l /.old-root',
    'rmdir /.old-root',
    'mount -o remount,bind,ro /',
    `cd ${q(INNER_WORKSPACE)}`,
    'PATH="$CMD_PATH"',
    `exec ${(who.mode === 'root' ? dropToUid(who.uid, true) : dropCaps()).map(q).join(' ')} "$@"`,
  );
  return lines.join('\n');
}

/** setpriv becoming `uid` with no groups, no capabilities and no way to regain any. */
function dropToUid(uid: number, bounding: boolean): string[] {
  return [
    'setpriv',
    `--reuid=${uid}`,
    `--regid=${uid}`,
    '--clear-groups',
    ...(bounding ? ['--bounding-set=-all', '--inh-caps=-all'] : []),
    '--no-new-privs',
    // Changing uid clears the parent-death signal unshare --kill-child set; without it a
    // SIGKILLed runtime would leave this pid 1, and every escapee, running.
    '--pdeathsig',
    'KILL',
    '--',
  ];
}

function dropCaps(): string[] {
  return [
    'setpriv',
    '--bounding-set=-all',
    '--inh-caps=-all',
    '--no-new-privs',
    '--pdeathsig',
    'KILL',
    '--',
  ];
}

/** `unshare`'s arguments for the namespaces tier, before `/bin/sh -c SCRIPT`. */
export function unshareArgs(who: Identity): string[] {
  const args = ['--mount', '--pid', '--fork', '--net', '--ipc', '--uts', '--cgroup'];
  if (who.mode === 'user') args.unshift('--user', '--map-root-user');
  // The forked pid 1 gets SIGKILL when unshare dies; the whole namespace dies with it.
  args.push('--kill-child', '--propagation', 'private', '--');
  return args;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:,+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
