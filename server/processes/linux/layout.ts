import { lstatSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * What a Linux sandbox's root holds: one description, rendered as bubblewrap arguments
 * (bubblewrap.ts) or as the mount script the namespaces tier runs (namespaces.ts), so both
 * tiers show model-written code exactly the same filesystem.
 *
 * The root starts empty (a tmpfs) and gets only: the system's program and library
 * directories read-only, a few harmless files of /etc, the interpreters' own install
 * prefixes read-only, Cog's runner files read-only under /opt/cog, the session's
 * workspace read-write at /workspace (with the files the user shared read-only over its
 * shared/), a private /tmp, a minimal /dev and a /proc of the
 * sandbox's own pid namespace. Nothing else of the host exists inside: not COG_HOME (its
 * token, config, other sessions' logs and workspaces), not /home or /root, not
 * /etc/shadow, not /run's sockets.
 */
export type Mount =
  | { kind: 'ro'; src: string; dst: string }
  | { kind: 'rw'; src: string; dst: string }
  | { kind: 'symlink'; target: string; dst: string }
  | { kind: 'tmpfs'; dst: string; bytes: number }
  | { kind: 'dev' }
  | { kind: 'proc' };

/** Where the workspace appears inside; also the child's HOME and working directory. */
export const INNER_WORKSPACE = '/workspace';
/** Where Cog's own runner files (the SQL runner, sql.js) appear inside. */
export const INNER_RUNNERS = '/opt/cog';
/** The private /tmp is RAM: its size counts against the machine, not RLIMIT_AS. */
const TMP_BYTES = 64 * 1024 * 1024;

/** Top-level system directories programs load from; /bin etc. are symlinks on merged-usr. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** Files of /etc that programs read and that hold nothing of anyone's. */
const ETC_FILES = ['/etc/ld.so.cache', '/etc/localtime', '/etc/alternatives'];

export interface LayoutRequest {
  /** The session's workspace on the host (a real path). */
  workspace: string;
  /** Host directories needed read-only at their own path (an interpreter's prefix). */
  prefixes: string[];
  /** Host files shown read-only inside, by inner path (under INNER_RUNNERS). */
  files: { src: string; dst: string }[];
  /** A host directory holding the synthetic passwd and group files (see sandboxEtc). */
  etc: string;
  /** Files the user shared with the session's runs: read-only over INNER_SHARED. */
  shared?: string;
}

/** Where shared files appear inside: under the workspace, bound read-only over it. */
export const INNER_SHARED = `${INNER_WORKSPACE}/shared`;

/** The mounts of one run, in the order they must be made. */
export function sandboxLayout(req: LayoutRequest): Mount[] {
  const mounts: Mount[] = [];
  for (const dir of SYSTEM_DIRS) {
    const entry = systemEntry(dir);
    if (entry) mounts.push(entry);
  }
  for (const path of ETC_FILES) {
    const entry = systemEntry(path);
    if (entry) mounts.push(entry);
  }
  mounts.push(
    { kind: 'ro', src: `${req.etc}/passwd`, dst: '/etc/passwd' },
    { kind: 'ro', src: `${req.etc}/group`, dst: '/etc/group' },
  );
  for (const prefix of minimalPrefixes(req.prefixes)) {
    mounts.push({ kind: 'ro', src: prefix, dst: prefix });
  }
  for (const f of req.files) mounts.push({ kind: 'ro', src: f.src, dst: f.dst });
  mounts.push(
    { kind: 'dev' },
    { kind: 'proc' },
    { kind: 'tmpfs', dst: '/tmp', bytes: TMP_BYTES },
    { kind: 'rw', src: req.workspace, dst: INNER_WORKSPACE },
  );
  // After the workspace, so it is bound over it: writes under shared/ fail (EROFS).
  if (req.shared) mounts.push({ kind: 'ro', src: req.shared, dst: INNER_SHARED });
  return mounts;
}

/** A system path as it is on the host: a symlink recreated, anything else bound read-only. */
function systemEntry(path: string): Mount | undefined {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(path), dst: path };
    return { kind: 'ro', src: path, dst: path };
  } catch {
    return undefined;
  }
}

/**
 * Prefixes not already visible through a system directory, without ones nested in
 * another: /usr/bin/python3's prefix /usr needs nothing, a pyenv or nvm install does.
 */
function minimalPrefixes(prefixes: string[]): string[] {
  const covered = (p: string, by: string) => p === by || p.startsWith(`${by}/`);
  const wanted = [...new Set(prefixes)]
    .filter((p) => p !== '/' && !SYSTEM_DIRS.some((d) => covered(p, d)))
    .sort();
  return wanted.filter((p, i) => !wanted.slice(0, i).some((q) => covered(p, q)));
}

/** Directories that must exist in the new root before `mount` is bound at `mount.dst`. */
export function parentsOf(path: string): string[] {
  const out: string[] = [];
  for (let d = dirname(path); d !== '/' && d !== '.'; d = dirname(d)) out.unshift(d);
  return out;
}

/** The passwd and group lines of the one user that exists inside. */
export function sandboxEtc(uid: number): { passwd: string; group: string } {
  return {
    passwd: `sandbox:x:${uid}:${uid}:Cog sandbox:${INNER_WORKSPACE}:/bin/sh\n`,
    group: `sandbox:x:${uid}:\n`,
  };
}
