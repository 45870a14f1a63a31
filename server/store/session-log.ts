import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RuntimeEvent } from '../../protocol/events.js';
import { StoreError, writeError } from './errors.js';
import {
  FLAG_CLEARED,
  FLAG_MESSAGE,
  FLAG_PRESENT,
  INDEX_FILE,
  SeqIndex,
  flagsFor,
  writeAll,
  type IndexRecord,
} from './index-file.js';
import { countQuarantined, readFrom, readRange, sizeOf } from './files.js';
import { fsyncDir, listSegments, segmentName } from './layout.js';
import { eachLine, parseEvent, quarantine, type BadLine } from './quarantine.js';

const fsyncAsync = promisify(fsync);
const NEWLINE = Buffer.from('\n');
/** How many index records one backward step of `messages` reads. */
const BACK_CHUNK = 1024;

/**
 * One session's log, open for appending and paged reads. Every call but `sync` is
 * synchronous and small: an append is two positional writes (the line, then its index
 * record), a page is one index read plus one read per segment it touches.
 *
 * An append that fails leaves nothing behind: both files are cut back to where they were,
 * so the seq can be used again and no half line is ever read.
 */
export class SessionLog {
  private segFd = -1;
  private dirty = false;
  /** A file was created since the last sync: the directory needs an fsync too. */
  private newEntry = false;

  private constructor(
    readonly dir: string,
    readonly id: string,
    private index: SeqIndex,
    private segment: number,
    private segSize: number,
    private readonly segmentBytes: number,
    /** Lines ever set aside for this session. */
    readonly quarantined: number,
  ) {}

  get lastSeq(): number {
    return this.index.last;
  }

  get base(): number {
    return this.index.base;
  }

  /**
   * Opens the log, repairing the index from the segments where it falls short of them
   * (a crash between a line and its record, a pre-index log) or runs past them (a log
   * cut short by power loss). Costs what it repairs, not the length of the log.
   */
  static open(
    dir: string,
    id: string,
    segmentBytes: number,
    report: (message: string) => void,
  ): SessionLog {
    const segments = listSegments(dir);
    const indexPath = join(dir, INDEX_FILE);
    let index = SeqIndex.open(indexPath);
    if (index === null) {
      index = SeqIndex.create(indexPath, firstSeq(dir, id, segments) ?? 1);
      fsyncDir(dir);
    }
    // Drop records that do not point at their event (the log lost its tail).
    while (index.last >= index.base) {
      const r = index.get(index.last);
      if (r && r.flags & FLAG_PRESENT && readEvent(dir, id, r)?.seq === r.seq) break;
      index.truncateAfter(index.last - 1);
    }
    const from = index.last >= index.base ? index.get(index.last) : undefined;
    const start = from
      ? { segment: from.segment, offset: from.offset + from.length + 1 }
      : { segment: segments[0] ?? 1, offset: 0 };

    const bad: BadLine[] = [];
    let torn = false;
    for (const segment of segments.filter((s) => s >= start.segment)) {
      const name = segmentName(segment);
      const offset = segment === start.segment ? start.offset : 0;
      const buf = readFrom(join(dir, name), offset);
      const keep = (raw: Buffer, at: number) => {
        const event = parseEvent(raw, id);
        if (event === null) bad.push({ segment: name, offset: at, raw });
        else if (event.seq > index.last && event.seq >= index.base) {
          index.put(event.seq, {
            segment,
            offset: at,
            length: raw.length,
            flags: flagsFor(event.type),
          });
        }
      };
      const rest = eachLine(buf, 0, (raw, at) => keep(raw, offset + at));
      torn = rest < buf.length;
      // A last line that is a whole event and lost only its newline is kept.
      if (torn) keep(buf.subarray(rest), offset + rest);
    }
    if (bad.length > 0) {
      try {
        quarantine(dir, bad);
      } catch (err) {
        report(
          `could not set aside ${bad.length} unreadable line(s) of session ${id} ` +
            `(${err instanceof Error ? err.message : String(err)}); they are skipped`,
        );
      }
    }
    // The next line goes after the last one, unless that one does not end in a newline
    // (torn, or whole but cut before its newline): then into a fresh segment.
    const last = segments.at(-1);
    const lastPath = last === undefined ? '' : join(dir, segmentName(last));
    const lastSize = last === undefined ? 0 : sizeOf(lastPath);
    const clean =
      lastSize === 0 || (torn === false && readRange(lastPath, lastSize - 1, 1)[0] === 0x0a);
    const tail =
      last === undefined
        ? { segment: 1, size: 0 }
        : clean
          ? { segment: last, size: lastSize }
          : { segment: last + 1, size: 0 };
    return new SessionLog(
      dir,
      id,
      index,
      tail.segment,
      tail.size,
      segmentBytes,
      countQuarantined(dir),
    );
  }

  /** Writes one event; it survives a crash of this process once this returns. */
  append(event: RuntimeEvent, line: Buffer): void {
    if (event.seq !== this.index.last + 1) {
      throw new StoreError(
        'store_out_of_order',
        `Event #${event.seq} of session ${this.id} does not follow #${this.index.last}.`,
      );
    }
    // A clear starts a segment of its own, so that everything before it can be deleted.
    const roll =
      this.segSize > 0 &&
      (event.type === 'session.cleared' || this.segSize + line.length + 1 > this.segmentBytes);
    if (roll) this.nextSegment();
    const at = this.segSize;
    try {
      const fd = this.segmentFd();
      writeAll(fd, Buffer.concat([line, NEWLINE]), at);
    } catch (err) {
      this.cutBack(at, event.seq - 1);
      throw writeError(err, `event #${event.seq} of session ${this.id}`);
    }
    try {
      this.index.put(event.seq, {
        segment: this.segment,
        offset: at,
        length: line.length,
        flags: flagsFor(event.type),
      });
    } catch (err) {
      this.cutBack(at, event.seq - 1);
      throw writeError(err, `the index of session ${this.id}`);
    }
    this.segSize = at + line.length + 1;
    this.dirty = true;
  }

  /** Events with seq in `after+1 .. after+limit`, in order (holes skipped). */
  read(after: number, limit: number): RuntimeEvent[] {
    if (limit <= 0) return [];
    return this.fetch(this.index.range(after + 1, after + limit).filter(present));
  }

  /**
   * Up to `limit` user and assistant messages, newest last, with seq in the window
   * (`afterSeq`, `beforeSeq`), never reaching back past the latest clear.
   */
  messages(q: { beforeSeq?: number; afterSeq?: number; limit: number }): {
    events: RuntimeEvent[];
    hasMore: boolean;
  } {
    const found: IndexRecord[] = [];
    const floor = Math.max(this.index.base, (q.afterSeq ?? 0) + 1);
    let hi = Math.min(this.index.last, (q.beforeSeq ?? Infinity) - 1);
    let done = false;
    while (!done && hi >= floor) {
      const lo = Math.max(floor, hi - BACK_CHUNK + 1);
      const chunk = this.index.range(lo, hi);
      for (const r of chunk.reverse()) {
        if (r.flags & FLAG_CLEARED || found.length > q.limit) {
          done = true;
          break;
        }
        if (r.flags & FLAG_MESSAGE) found.push(r);
      }
      hi = lo - 1;
    }
    const hasMore = found.length > q.limit;
    return { events: this.fetch(found.slice(0, q.limit).reverse()), hasMore };
  }

  /** fsyncs what was appended (and new directory entries): power loss keeps it too. */
  async sync(): Promise<void> {
    if (!this.dirty && !this.newEntry) return;
    this.dirty = false;
    const fds = [this.segFd, this.index.descriptor].filter((fd) => fd >= 0);
    try {
      await Promise.all(fds.map((fd) => fsyncAsync(fd)));
      if (this.newEntry) {
        this.newEntry = false;
        fsyncDir(this.dir);
      }
    } catch (err) {
      this.dirty = true;
      throw writeError(err, `session ${this.id}`);
    }
  }

  /**
   * Forgets everything before `seq` (a `session.cleared`, which began its own segment):
   * a new index starting at `seq` replaces the old one, then the older segments and
   * quarantined lines are deleted. A crash part-way leaves either index, both whole.
   */
  dropBefore(seq: number): void {
    const first = this.index.get(seq);
    if (!first || !(first.flags & FLAG_CLEARED) || first.offset !== 0) {
      throw new StoreError('store_out_of_order', `Event #${seq} of ${this.id} is not a clear.`);
    }
    const path = join(this.dir, INDEX_FILE);
    const next = SeqIndex.create(`${path}.tmp`, seq);
    for (const r of this.index.range(seq, this.index.last)) {
      next.put(r.seq, r);
    }
    fsyncSync(next.descriptor);
    next.close();
    renameSync(`${path}.tmp`, path);
    fsyncDir(this.dir);
    this.index.close();
    const reopened = SeqIndex.open(path);
    if (!reopened) throw new StoreError('store_write_failed', `${path} vanished after a rename.`);
    this.index = reopened;
    for (const s of listSegments(this.dir)) {
      if (s < first.segment) unlinkSync(join(this.dir, segmentName(s)));
    }
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith('quarantine')) unlinkSync(join(this.dir, name));
    }
    fsyncDir(this.dir);
  }

  close(): void {
    if (this.segFd >= 0) closeSync(this.segFd);
    this.segFd = -1;
    this.index.close();
  }

  private segmentFd(): number {
    if (this.segFd < 0) {
      const path = join(this.dir, segmentName(this.segment));
      // Positional writes (not O_APPEND): a failed write is cut back to an exact offset.
      this.segFd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
      if (this.segSize === 0) this.newEntry = true;
      const size = fstatSync(this.segFd).size;
      if (size !== this.segSize) {
        closeSync(this.segFd);
        this.segFd = -1;
        throw new StoreError(
          'store_write_failed',
          `${path} is ${size} bytes, expected ${this.segSize}: another process wrote to it.`,
        );
      }
    }
    return this.segFd;
  }

  private nextSegment(): void {
    if (this.segFd >= 0) {
      fsyncSync(this.segFd);
      closeSync(this.segFd);
      this.segFd = -1;
    }
    this.segment++;
    this.segSize = 0;
  }

  private cutBack(size: number, seq: number): void {
    try {
      if (this.segFd >= 0) ftruncateSync(this.segFd, size);
      this.index.truncateAfter(seq);
    } catch {
      // Nothing the index points at was touched; a torn tail is set aside on the next open.
    }
  }

  /** Reads the lines of `records` (in order), one read per run in the same segment. */
  private fetch(records: IndexRecord[]): RuntimeEvent[] {
    const out: RuntimeEvent[] = [];
    const runs: IndexRecord[][] = [];
    for (const r of records) {
      const run = runs.at(-1);
      if (run?.[0]?.segment === r.segment) run.push(r);
      else runs.push([r]);
    }
    for (const run of runs) {
      const first = run[0];
      const last = run.at(-1);
      if (!first || !last) continue;
      const buf = readRange(
        join(this.dir, segmentName(first.segment)),
        first.offset,
        last.offset + last.length - first.offset,
      );
      for (const r of run) {
        const at = r.offset - first.offset;
        const event = parseEvent(buf.subarray(at, at + r.length), this.id);
        if (event) out.push(event);
      }
    }
    return out;
  }
}

const present = (r: IndexRecord) => (r.flags & FLAG_PRESENT) !== 0;

function readEvent(dir: string, id: string, r: IndexRecord): RuntimeEvent | null {
  try {
    return parseEvent(readRange(join(dir, segmentName(r.segment)), r.offset, r.length), id);
  } catch {
    return null;
  }
}

/** The seq of the first readable event, for an index built from scratch. */
function firstSeq(dir: string, id: string, segments: number[]): number | undefined {
  for (const s of segments) {
    let found: number | undefined;
    eachLine(readFrom(join(dir, segmentName(s)), 0), 0, (raw) => {
      found ??= parseEvent(raw, id)?.seq;
    });
    if (found !== undefined) return found;
  }
  return undefined;
}
