import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeEvent } from '../../protocol/events.js';
import { StoreError } from './errors.js';
import { QUARANTINE_INDEX, fsyncDir, isErrno, listSegments } from './layout.js';

/**
 * Reading a session's log, and setting bad lines aside.
 *
 * Segments are never rewritten, so a bad line (a torn tail left by a process that died
 * mid-write, or a corrupt line anywhere) stays where it is, and every load skips it. The
 * first load that meets it copies its raw bytes to `quarantine-<stamp>.jsonl` and records
 * `{segment, offset, length}` in the append-only `quarantine.index.jsonl`, so later loads
 * skip it without copying it again. `quarantined` counts every bad line in the log, so it
 * is the same on every load. A torn tail also tells the writer to start a new segment, so
 * that the next event is never glued onto the partial line.
 *
 * A last line that parses as a whole event but lost only its newline is kept: the event
 * is complete, and the writer still starts a new segment after it.
 */

export interface SessionLog {
  /** In `seq` order; when a `seq` repeats (a write retried after a failure) the first wins. */
  events: RuntimeEvent[];
  quarantined: number;
  /** The last segment does not end with a newline. */
  tornTail: boolean;
}

interface BadLine {
  segment: string;
  offset: number;
  raw: Buffer;
}

const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readSessionLog(
  sessionDir: string,
  session: string,
  report: (err: StoreError) => void,
): Promise<SessionLog> {
  const bySeq = new Map<number, RuntimeEvent>();
  const bad: BadLine[] = [];
  let tornTail = false;

  for (const segment of await listSegments(sessionDir)) {
    const buf = await readIfPresent(join(sessionDir, segment.name));
    if (buf === null) continue;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(NEWLINE, start);
      const end = nl === -1 ? buf.length : nl;
      if (end > start) {
        const raw = buf.subarray(start, end);
        const event = parseEvent(raw, session);
        if (event === null) bad.push({ segment: segment.name, offset: start, raw });
        else if (!bySeq.has(event.seq)) bySeq.set(event.seq, event);
      }
      start = end + 1;
    }
    tornTail = buf.length > 0 && buf[buf.length - 1] !== NEWLINE;
  }

  if (bad.length > 0) {
    try {
      await quarantine(sessionDir, bad);
    } catch (err) {
      report(
        new StoreError(
          'store_quarantine_failed',
          `Could not set aside ${bad.length} unreadable line(s) of session ${session}; ` +
            'they are skipped, and the next load tries again.',
          { cause: err },
        ),
      );
    }
  }

  const events = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return { events, quarantined: bad.length, tornTail };
}

/** A line is an event when it is valid UTF-8 JSON with the envelope of this session. */
function parseEvent(raw: Buffer, session: string): RuntimeEvent | null {
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
    typeof v['ts'] === 'string' &&
    typeof v['node'] === 'string' &&
    typeof v['type'] === 'string' &&
    v['session'] === session;
  return ok ? (value as RuntimeEvent) : null;
}

async function readIfPresent(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
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
 * means the next load copies the same lines again, never that a line is lost.
 */
async function quarantine(sessionDir: string, bad: BadLine[]): Promise<void> {
  const indexPath = join(sessionDir, QUARANTINE_INDEX);
  const indexBuf = (await readIfPresent(indexPath)) ?? Buffer.alloc(0);
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

  const { file, fh } = await createQuarantineFile(sessionDir);
  try {
    await fh.writeFile(Buffer.concat(fresh.flatMap((b) => [b.raw, Buffer.from('\n')])));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(sessionDir);

  // If an earlier index append was torn, start on a fresh line rather than gluing onto it.
  const lead = indexBuf.length > 0 && indexBuf[indexBuf.length - 1] !== NEWLINE ? '\n' : '';
  const entries = fresh.map((b) =>
    JSON.stringify({ segment: b.segment, offset: b.offset, length: b.raw.length, file }),
  );
  const index = await open(indexPath, 'a');
  try {
    await index.appendFile(lead + entries.join('\n') + '\n');
    await index.sync();
  } finally {
    await index.close();
  }
  if (indexBuf.length === 0) await fsyncDir(sessionDir);
}

async function createQuarantineFile(sessionDir: string) {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (let n = 0; ; n++) {
    const file = `quarantine-${stamp}${n === 0 ? '' : `-${n}`}.jsonl`;
    try {
      return { file, fh: await open(join(sessionDir, file), 'wx') };
    } catch (err) {
      if (!isErrno(err, 'EEXIST') || n >= 100) throw err;
    }
  }
}
