// The session workspace as the wasm host sees it: names relative to its root, never a
// symbolic link, never a path outside it. Node's permission model already limits the
// host to the workspace, but it follows symbolic links (a link inside the workspace may
// point anywhere), so every access here walks the path one component at a time with
// lstat and refuses links.

import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

/** Bytes the sandboxed code may bring in from, and send back to, the workspace per run. */
export const WORKSPACE_LIMIT_BYTES = 64 * 1024 * 1024;
/** Deepest directory nesting copied or listed; deeper trees are skipped. */
const MAX_DEPTH = 32;
const MAX_NAME_CHARS = 1024;
const WINDOWS = process.platform === 'win32';

/** An error whose message is meant for the user (and the sandboxed program). */
export class WorkspaceError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WorkspaceError';
    this.code = 'workspace_error';
  }
}

/**
 * Splits a workspace-relative name into its components, refusing anything that could
 * leave the workspace: absolute paths, `..`, empty or `.` components, backslashes (a
 * separator on Windows), NUL, and on Windows colons (drive letters, alternate streams).
 * @param {unknown} name
 * @returns {string[]}
 */
export function splitName(name) {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS) {
    throw new WorkspaceError(`invalid workspace file name: ${JSON.stringify(name)}`);
  }
  const parts = name.split('/');
  for (const part of parts) {
    if (
      part === '' ||
      part === '.' ||
      part === '..' ||
      part.includes('\\') ||
      part.includes('\0') ||
      (WINDOWS && part.includes(':'))
    ) {
      throw new WorkspaceError(
        `invalid workspace file name ${JSON.stringify(name)}: use a relative path inside the workspace`,
      );
    }
  }
  return parts;
}

function lstatOrNull(path) {
  try {
    return lstatSync(path);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The real path of `parts` under `root`, after checking that every directory on the way
 * is a real directory (no link). With `create`, missing directories are made.
 */
function resolveDir(root, parts, create) {
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    const st = lstatOrNull(dir);
    if (st === null) {
      if (!create) return null;
      mkdirSync(dir);
    } else if (!st.isDirectory()) {
      throw new WorkspaceError(`${parts.join('/')}: a path component is not a directory`);
    }
  }
  return dir;
}

/**
 * Reads a workspace file as bytes. Opened with O_NOFOLLOW where the platform has it, and
 * checked to be a regular file by the descriptor, so a link swapped in meanwhile is refused.
 * @param {string} root
 * @param {string} name
 * @param {number} maxBytes
 */
export function readWorkspaceFile(root, name, maxBytes) {
  const parts = splitName(name);
  const dir = resolveDir(root, parts.slice(0, -1), false);
  if (dir === null) throw new WorkspaceError(`${name}: no such file in the workspace`);
  const path = join(dir, parts[parts.length - 1]);
  const st = lstatOrNull(path);
  if (st === null) throw new WorkspaceError(`${name}: no such file in the workspace`);
  if (!st.isFile()) throw new WorkspaceError(`${name}: not a regular file`);
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) {
      throw new WorkspaceError(`${name}: ${size} bytes is over the ${maxBytes}-byte limit`);
    }
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a workspace file through a temporary file and a rename, so the rename replaces
 * a link at the final name instead of writing through it, and a kill mid-write leaves the
 * old content. Parent directories are created.
 * @param {string} root
 * @param {string} name
 * @param {Uint8Array} bytes
 */
export function writeWorkspaceFile(root, name, bytes) {
  const parts = splitName(name);
  const dir = resolveDir(root, parts.slice(0, -1), true);
  const path = join(dir, parts[parts.length - 1]);
  const st = lstatOrNull(path);
  if (st !== null && st.isDirectory()) throw new WorkspaceError(`${name}: is a directory`);
  const tmp = join(dir, `.cog-wasm-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    0o644,
  );
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Creates a workspace directory and any missing parents. */
export function makeWorkspaceDir(root, name) {
  resolveDir(root, splitName(name), true);
}

/** Deletes a workspace file (not a directory), if it is still there. */
export function removeWorkspaceFile(root, name) {
  const parts = splitName(name);
  const dir = resolveDir(root, parts.slice(0, -1), false);
  if (dir === null) return;
  const path = join(dir, parts[parts.length - 1]);
  const st = lstatOrNull(path);
  if (st !== null && !st.isDirectory()) unlinkSync(path);
}

/** Removes an empty workspace directory; a non-empty one stays. */
export function removeWorkspaceDir(root, name) {
  const parts = splitName(name);
  const dir = resolveDir(root, parts, false);
  if (dir === null) return;
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (it holds files the code never saw): keep it.
  }
}

/**
 * Every regular file and directory under `root`, as workspace-relative names with `/`
 * separators, directories before their contents. Links and special files are skipped.
 * @returns {{ files: { name: string, size: number }[], dirs: string[] }}
 */
export function listWorkspace(root) {
  const files = [];
  const dirs = [];
  const walk = (dir, prefix, depth) => {
    if (depth > MAX_DEPTH) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const name = prefix + entry.name;
      if (entry.isDirectory()) {
        dirs.push(name);
        walk(join(dir, entry.name), name + '/', depth + 1);
      } else if (entry.isFile()) {
        const st = lstatOrNull(join(dir, entry.name));
        if (st !== null && st.isFile()) files.push({ name, size: st.size });
      }
    }
  };
  walk(root, '', 0);
  return { files, dirs };
}

/** SHA-256 of a file's content, to tell later which files the code changed. */
export function digest(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}
