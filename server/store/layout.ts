import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';

/**
 * On-disk layout of the file store:
 *
 *   <dir>/<session>/000001.jsonl, 000002.jsonl, ...  segments, one event per line, append-only
 *   <dir>/<session>/quarantine-<stamp>.jsonl         raw copies of lines that could not be parsed
 *   <dir>/<session>/quarantine.index.jsonl           which segment bytes were copied aside
 */

/**
 * Session ids become directory names, so they are restricted to a charset with no path
 * separators, no dots and no empty string: `..`, `a/b` and `` can never escape `dir`.
 */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidSessionId(id: unknown): id is string {
  return typeof id === 'string' && SESSION_ID_PATTERN.test(id);
}

/** Throws `store_invalid_session` unless `id` is safe to use as a directory name. */
export function assertSessionId(id: unknown): asserts id is string {
  if (!isValidSessionId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new StoreError(
      'store_invalid_session',
      `Invalid session id ${shown}: use 1-64 characters from A-Z, a-z, 0-9, "_" and "-".`,
    );
  }
}

export const QUARANTINE_INDEX = 'quarantine.index.jsonl';
const SEGMENT_RE = /^(\d{6,})\.jsonl$/;

export function segmentName(index: number): string {
  return `${String(index).padStart(6, '0')}.jsonl`;
}

export interface SegmentFile {
  index: number;
  name: string;
}

/** The session's segments in append order; empty when the session directory is absent. */
export async function listSegments(sessionDir: string): Promise<SegmentFile[]> {
  let names: string[];
  try {
    names = await readdir(sessionDir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const segments: SegmentFile[] = [];
  for (const name of names) {
    const m = SEGMENT_RE.exec(name);
    if (m?.[1] !== undefined) segments.push({ index: Number(m[1]), name });
  }
  return segments.sort((a, b) => a.index - b.index);
}

/**
 * Make a directory entry (a new segment, a new session directory) durable. Platforms that
 * cannot fsync a directory (Windows) report it in several ways; those are not failures.
 */
export async function fsyncDir(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } catch (err) {
    if (!isErrno(err, 'EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES')) throw err;
  } finally {
    await fh?.close();
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
