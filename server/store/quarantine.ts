import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeEvent } from '../../protocol/events.js';
import { QUARANTINE_INDEX, fsyncDir, isErrno } from './layout.js';

/**
 * Reading lines of a segment, and setting bad ones aside.
 *
 * Segments are never rewritten, so a bad line (a torn tail left by a process that died
 * mid-write, or a corrupt line anywhere, the first one included) stays where it is and
 * the index never points at it. The first scan that meets it copies its raw bytes to
 * `quarantine-<stamp>.jsonl` and records `{segment, offset, length}` in the append-only
 * `quarantine.index.jsonl`, so a later scan does not copy it again. A bad line never
 * costs the session: its owner lives in `meta.json`, not in its first event.
 */

export interface BadLine {
  segment: string;
  offset: number;
  raw: Buffer;
}

const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A line is an event when it is valid UTF-8 JSON with the envelope of this session. */
export function parseEvent(raw: Buffer, session: string): RuntimeEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(raw));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(v['seq']) &&
    (v['seq'] as number) > 0 &&
    typeof v['ts'] === 'string' &&
    typeof v['node'] === 'string' &&
    typeof v['type'] === 'string' &&
    v['session'] === session;
  return ok ? (value as RuntimeEvent) : null;
}

/**
 * Calls `onLine` for every complete line of `buf` from `from`, with its offset; returns
 * the offset after the last newline (where a torn tail, if any, starts).
 */
export function eachLine(
  buf: Buffer,
  from: number,
  onLine: (raw: Buffer, offset: number) => void,
): number {
  let start = from;
  for (;;) {
    const nl = buf.indexOf(NEWLINE, start);
    if (nl === -1) return start;
    if (nl > start) onLine(buf.subarray(start, nl), start);
    start = nl + 1;
  }
}

interface IndexEntry {
  segment: string;
  offset: number;
  length: number;
  file: string;
}

const keyOf = (segment: string, offset: number, length: number) => `${segment}:${offset}:${length}`;

/**
 * Copy the bad lines not yet set aside into a new quarantine file, then record them in the
 * index. The copy is fsynced before the index entry is written: a crash in between only
 * means the next scan copies the same lines again, never that a line is lost.
 */
export function quarantine(sessionDir: string, bad: BadLine[]): void {
  const indexPath = join(sessionDir, QUARANTINE_INDEX);
  let indexBuf: Buffer;
  try {
    indexBuf = readFileSync(indexPath);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    indexBuf = Buffer.alloc(0);
  }
  const known = new Set<string>();
  for (const line of indexBuf.toString('utf8').split('\n')) {
    try {
      const e = JSON.parse(line) as Partial<IndexEntry>;
      if (typeof e.segment === 'string' && Number.isSafeInteger(e.offset)) {
        known.add(keyOf(e.segment, Number(e.offset), Number(e.length)));
      }
    } catch {
      // a torn index line: its bad line is copied again below, which is harmless
    }
  }
  const fresh = bad.filter((b) => !known.has(keyOf(b.segment, b.offset, b.raw.length)));
  if (fresh.length === 0) return;

  const { file, fd } = createQuarantineFile(sessionDir);
  try {
    writeSync(fd, Buffer.concat(fresh.flatMap((b) => [b.raw, Buffer.from('\n')])));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDir(sessionDir);

  // If an earlier index append was torn, start on a fresh line rather than gluing onto it.
  const lead = indexBuf.length > 0 && indexBuf[indexBuf.length - 1] !== NEWLINE ? '\n' : '';
  const entries = fresh.map((b) =>
    JSON.stringify({ segment: b.segment, offset: b.offset, length: b.raw.length, file }),
  );
  const index = openSync(indexPath, 'a');
  try {
    writeSync(index, lead + entries.join('\n') + '\n');
    fsyncSync(index);
  } finally {
    closeSync(index);
  }
  if (indexBuf.length === 0) fsyncDir(sessionDir);
}

function createQuarantineFile(sessionDir: string) {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (let n = 0; ; n++) {
    const file = `quarantine-${stamp}${n === 0 ? '' : `-${n}`}.jsonl`;
    try {
      return { file, fd: openSync(join(sessionDir, file), 'wx') };
    } catch (err) {
      if (!isErrno(err, 'EEXIST') || n >= 100) throw err;
    }
  }
}
