import { mkdir, open, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RuntimeEvent } from '../../protocol/events.js';
import { StoreError } from './errors.js';
import {
  assertSessionId,
  fsyncDir,
  isErrno,
  isValidSessionId,
  listSegments,
  segmentName,
  sessionPath,
} from './layout.js';
import { readSessionLog } from './read-session.js';
import type { EventStore, LoadResult } from './types.js';

export interface FileStoreOptions {
  /** Root of the store, e.g. `<COG_HOME>/sessions`; one directory per session below it. */
  dir: string;
  /** A segment that would grow past this many bytes is left as is and a new one started. */
  segmentBytes?: number;
  /** How long appended events may wait in memory before a background write. */
  flushIntervalMs?: number;
  /** Failures no caller is waiting for (background writes, bad appends). Default: stderr. */
  onError?: (err: StoreError) => void;
}

export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_FLUSH_INTERVAL_MS = 200;
/** Background retries after failed writes back off up to this delay. */
const MAX_RETRY_DELAY_MS = 30_000;
const NEWLINE = 0x0a;

interface Segment {
  index: number;
  size: number;
}

interface SessionQueue {
  readonly id: string;
  readonly dir: string;
  /** Serialized lines, each ending in "\n", appended but not yet durable; oldest first. */
  pending: string[];
  /** Lines ever appended, and lines durably written: `pending.length === appended - durable`. */
  appended: number;
  durable: number;
  /**
   * Where the next line goes. `null` means "look at the disk first": before the first
   * write, after a failed write and after a load found a torn tail, because the last
   * segment may then end in a partial line that a new line must not be glued onto.
   */
  segment: Segment | null;
  /** The batch write in progress, shared by every flush waiting on it. */
  writing: Promise<void> | null;
  /** Serializes all disk access of this session: batch writes, and loads. Never rejects. */
  lock: Promise<void>;
}

/**
 * The default event store: per session, a directory of append-only JSONL segments.
 *
 * `append` only serializes the event into the session's in-memory queue. Queues are
 * written in batches, by a timer and on `flush`; a batch leaves memory only once it has
 * been written and fsynced, so a failed write keeps its events for the next attempt, and
 * a retried batch may leave some lines twice on disk (the reader keeps the first of each
 * `seq`). One writer process per `dir` is assumed; within it, each session's writes and
 * loads run one at a time, so no two writes ever interleave in a file.
 */
export function createFileStore(opts: FileStoreOptions): EventStore {
  const { dir } = opts;
  const segmentBytes = Math.max(1, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
  const flushIntervalMs = Math.max(0, opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS);
  const queues = new Map<string, SessionQueue>();
  let timer: NodeJS.Timeout | null = null;
  let failureStreak = 0;
  let closing: Promise<void> | null = null;

  function report(err: StoreError): void {
    try {
      if (opts.onError) opts.onError(err);
      else console.error(`[cog store] ${err.code}: ${err.message}`);
    } catch {
      // a failing error handler must not turn append into a throwing call
    }
  }

  function queueFor(session: string): SessionQueue {
    let q = queues.get(session);
    if (!q) {
      q = {
        id: session,
        dir: sessionPath(dir, session),
        pending: [],
        appended: 0,
        durable: 0,
        segment: null,
        writing: null,
        lock: Promise.resolve(),
      };
      queues.set(session, q);
    }
    return q;
  }

  function exclusive<T>(q: SessionQueue, fn: () => Promise<T>): Promise<T> {
    const run = q.lock.then(fn);
    q.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Resolves once every line appended to `q` before the call is durable. */
  async function flushQueue(q: SessionQueue): Promise<void> {
    const target = q.appended;
    while (q.durable < target) {
      q.writing ??= exclusive(q, () => writeBatch(q)).finally(() => {
        q.writing = null;
      });
      await q.writing;
    }
  }

  async function flushAll(): Promise<void> {
    const results = await Promise.allSettled([...queues.values()].map(flushQueue));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  function schedule(delay: number): void {
    if (timer !== null || closing !== null) return;
    timer = setTimeout(() => {
      timer = null;
      flushAll().then(
        () => {
          failureStreak = 0;
        },
        () => {
          // Already reported by writeBatch; retry later, backing off while the disk is failing.
          failureStreak++;
          schedule(Math.min(flushIntervalMs * 2 ** failureStreak, MAX_RETRY_DELAY_MS));
        },
      );
    }, delay);
    // A pending write must not keep the process alive; close() or flush() is the way to be sure.
    timer.unref();
  }

  /** Write the lines queued when the batch starts; later appends wait for the next one. */
  async function writeBatch(q: SessionQueue): Promise<void> {
    let left = q.pending.length;
    let relocations = 0;
    try {
      while (left > 0) {
        const seg = q.segment ?? (q.segment = await locateTail(q.dir));
        // A segment is never pushed past segmentBytes, except by a lone oversized line.
        const chunk: Buffer[] = [];
        let bytes = 0;
        for (let i = 0; i < left; i++) {
          const line = Buffer.from(q.pending[i] ?? '', 'utf8');
          if (seg.size + bytes + line.length > segmentBytes && (seg.size > 0 || i > 0)) break;
          chunk.push(line);
          bytes += line.length;
        }
        if (chunk.length === 0) {
          q.segment = { index: seg.index + 1, size: 0 };
          continue;
        }
        const path = join(q.dir, segmentName(seg.index));
        if (!(await appendDurably(path, Buffer.concat(chunk, bytes), seg.size))) {
          // The file is not the size we left it: someone else wrote to it. Look again.
          if (++relocations > 3) throw new Error(`${path} keeps changing under the writer`);
          q.segment = null;
          continue;
        }
        if (seg.size === 0) await fsyncDir(q.dir);
        seg.size += bytes;
        q.pending.splice(0, chunk.length);
        q.durable += chunk.length;
        left -= chunk.length;
      }
    } catch (err) {
      q.segment = null;
      const error = new StoreError(
        'store_write_failed',
        `Could not write ${left} event(s) of session ${q.id} to ${q.dir}: ` +
          `${err instanceof Error ? err.message : String(err)}. They stay buffered and the next flush retries.`,
        { cause: err },
      );
      report(error);
      throw error;
    }
  }

  return {
    append(event: RuntimeEvent): void {
      try {
        if (closing !== null) {
          throw new StoreError('store_closed', 'Event appended after the store was closed.');
        }
        if (typeof event !== 'object' || event === null) {
          throw new StoreError('store_unserializable', `Cannot append ${String(event)}.`);
        }
        const q = queueFor(event.session);
        let line: string;
        try {
          line = JSON.stringify(event) + '\n';
        } catch (err) {
          throw new StoreError(
            'store_unserializable',
            `Event ${event.type} #${event.seq} of session ${event.session} cannot be stored as JSON.`,
            { cause: err },
          );
        }
        q.pending.push(line);
        q.appended++;
        schedule(flushIntervalMs);
      } catch (err) {
        report(
          err instanceof StoreError
            ? err
            : new StoreError('store_unserializable', String(err), { cause: err }),
        );
      }
    },

    async flush(session?: string): Promise<void> {
      if (session === undefined) return flushAll();
      assertSessionId(session);
      const q = queues.get(session);
      return q ? flushQueue(q) : undefined;
    },

    async listSessions(): Promise<string[]> {
      const ids = new Set<string>();
      try {
        for (const entry of await readdir(dir, { withFileTypes: true })) {
          if (entry.isDirectory() && isValidSessionId(entry.name)) ids.add(entry.name);
        }
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      for (const q of queues.values()) if (q.appended > 0) ids.add(q.id);
      return [...ids].sort();
    },

    async load(session: string): Promise<LoadResult> {
      const q = queueFor(session);
      // Read your own writes. A failed flush was reported; its events are merged below.
      await flushQueue(q).catch(() => undefined);
      return exclusive(q, async () => {
        const log = await readSessionLog(q.dir, session, report);
        if (log.tornTail) q.segment = null;
        if (q.pending.length === 0) return { events: log.events, quarantined: log.quarantined };
        const seen = new Set(log.events.map((e) => e.seq));
        const events = [...log.events];
        for (const line of q.pending) {
          const event = JSON.parse(line) as RuntimeEvent;
          if (!seen.has(event.seq)) events.push(event);
          seen.add(event.seq);
        }
        events.sort((a, b) => a.seq - b.seq);
        return { events, quarantined: log.quarantined };
      });
    },

    close(): Promise<void> {
      if (closing === null) {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        closing = flushAll();
      }
      return closing;
    },
  };
}

/**
 * Where the session's next line may go: the last segment if it ends cleanly, else a new
 * one. Creates the session directory on first use.
 */
async function locateTail(sessionDir: string): Promise<Segment> {
  const created = await mkdir(sessionDir, { recursive: true });
  if (created !== undefined) {
    await fsyncDir(dirname(sessionDir));
    if (created !== sessionDir) await fsyncDir(dirname(created));
  }
  const last = (await listSegments(sessionDir)).at(-1);
  if (last === undefined) return { index: 1, size: 0 };
  const fh = await open(join(sessionDir, last.name), 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return { index: last.index, size };
    const tail = Buffer.alloc(1);
    await fh.read(tail, 0, 1, size - 1);
    return tail[0] === NEWLINE ? { index: last.index, size } : { index: last.index + 1, size: 0 };
  } finally {
    await fh.close();
  }
}

/**
 * Append `data` to the file and fsync it, unless the file is no longer `expectedSize`
 * bytes long (returns false then, having written nothing).
 */
async function appendDurably(path: string, data: Buffer, expectedSize: number): Promise<boolean> {
  const fh = await open(path, 'a');
  try {
    if ((await fh.stat()).size !== expectedSize) return false;
    for (let off = 0; off < data.length;) {
      off += (await fh.write(data, off, data.length - off)).bytesWritten;
    }
    await fh.sync();
    return true;
  } finally {
    await fh.close();
  }
}
