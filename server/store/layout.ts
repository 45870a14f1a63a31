import type { SessionMeta } from './types.js';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from './errors.js';

/**
 * On-disk layout of the file store:
 *
 *   <dir>/<session>/meta.json                     who owns it, its title, when it was made
 *   <dir>/<session>/000001.jsonl, 000002.jsonl …  segments, one event per line, append-only
 *   <dir>/<session>/events.idx                    seq → (segment, offset, length); derived
 *   <dir>/<session>/snapshot.json                 the projections as of some seq; derived
 *   <dir>/<session>/quarantine-<stamp>.jsonl      raw copies of lines that could not be parsed
 *   <dir>/<session>/quarantine.index.jsonl        which segment bytes were copied aside
 *   <dir>/.trash-<session>-<rand>/                a deleted session on its way out
 *   <dir>/.reserve                                space held back for the events that say
 *                                                 "the disk is full"
 */

/**
 * Session keys become directory names, so they are restricted to a charset with no path
 * separators, no dots and no empty string: `..`, `a/b` and `` can never escape `dir`.
 * A key is an id (1-64 of these) or an owner tag, a dash and an id.
 */
const STORE_KEY = /^[A-Za-z0-9_-]{1,96}$/;

export function isValidSessionId(id: unknown): id is string {
  return typeof id === 'string' && STORE_KEY.test(id);
}

/** The folder a session's files live in. */
export function storeKeyOf(meta: SessionMeta): string {
  return meta.key ?? meta.id;
}

/**
 * The id a session's events carry: its key, or the id after its owner's tag (see
 * SessionMeta.key), as meta.json says, or as the key shows when meta.json is lost.
 */
export function sessionIdOf(dir: string, key: string): string {
  try {
    const meta: unknown = JSON.parse(readFileSync(join(sessionPath(dir, key), META_FILE), 'utf8'));
    const id = (meta as { id?: unknown } | null)?.id;
    if (typeof id === 'string') return id;
  } catch {
    // no meta.json (a log from before it, or lost): the key says
  }
  return /^[0-9a-f]{16}-([A-Za-z0-9_-]{1,64})$/.exec(key)?.[1] ?? key;
}

/** Throws `store_invalid_session` unless `id` is safe to use as a directory name. */
export function assertSessionId(id: unknown): asserts id is string {
  if (!isValidSessionId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new StoreError(
      'store_invalid_session',
      `Invalid session key ${shown}: use 1-96 characters from A-Z, a-z, 0-9, "_" and "-".`,
    );
  }
}

export const META_FILE = 'meta.json';
export const SNAPSHOT_FILE = 'snapshot.json';
export const QUARANTINE_INDEX = 'quarantine.index.jsonl';
export const RESERVE_FILE = '.reserve';
export const TRASH_PREFIX = '.trash-';
const SEGMENT_RE = /^(\d{6,})\.jsonl$/;

export function segmentName(index: number): string {
  return `${String(index).padStart(6, '0')}.jsonl`;
}

/** The session's segment numbers in append order; empty when the directory is absent. */
export function listSegments(sessionDir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(sessionDir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const out: number[] = [];
  for (const name of names) {
    const m = SEGMENT_RE.exec(name);
    if (m?.[1] !== undefined) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/**
 * Make a directory entry (a new segment, a renamed file) durable. Platforms that cannot
 * fsync a directory (Windows) report it in several ways; those are not failures.
 */
export function fsyncDir(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch (err) {
    if (!isErrno(err, 'EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES')) throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function sessionPath(dir: string, session: string): string {
  assertSessionId(session);
  return join(dir, session);
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    typeof err.code === 'string' &&
    codes.includes(err.code)
  );
}
