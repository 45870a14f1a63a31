import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * A session's seq index: one fixed-size record per `seq`, saying where the event's line is.
 *
 *   header  16 bytes: "COGIDX1\n", base (u32 LE), reserved (u32)
 *   record  16 bytes at 16 + (seq - base) * 16:
 *           segment (u32), offset (u32), length (u32, without the newline), flags (u8), 3 zero
 *
 * `seq` is dense (the runtime numbers events 1, 2, 3, … and a failed write does not use up
 * its number), so finding an event is arithmetic, and a page of the trace is one read of
 * the index plus one read per segment it touches. `base` is the first seq still kept: a
 * clear drops everything before it. A record whose `present` flag is 0 is a hole (a seq
 * that a pre-index log never stored). The index is derived data: a missing, torn or short
 * index is rebuilt from the segments.
 */

export const INDEX_FILE = 'events.idx';
export const HEADER_BYTES = 16;
export const RECORD_BYTES = 16;
const MAGIC = Buffer.from('COGIDX1\n', 'latin1');

export const FLAG_PRESENT = 1;
/** A user or assistant message: what `history` pages through without reading the log. */
export const FLAG_MESSAGE = 2;
/** A `session.cleared`: history stops here. */
export const FLAG_CLEARED = 4;

export interface IndexRecord {
  seq: number;
  segment: number;
  offset: number;
  length: number;
  flags: number;
}

export function flagsFor(type: string): number {
  if (type === 'user.message' || type === 'assistant.message') return FLAG_PRESENT | FLAG_MESSAGE;
  if (type === 'session.cleared') return FLAG_PRESENT | FLAG_CLEARED;
  return FLAG_PRESENT;
}

export function encodeHeader(base: number): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(base, 8);
  return buf;
}

export function encodeRecord(r: Omit<IndexRecord, 'seq'>): Buffer {
  const buf = Buffer.alloc(RECORD_BYTES);
  buf.writeUInt32LE(r.segment, 0);
  buf.writeUInt32LE(r.offset, 4);
  buf.writeUInt32LE(r.length, 8);
  buf.writeUInt8(r.flags, 12);
  return buf;
}

export const recordPosition = (base: number, seq: number) =>
  HEADER_BYTES + (seq - base) * RECORD_BYTES;

/** An open index. All calls are synchronous: each is one small positional read or write. */
export class SeqIndex {
  private constructor(
    readonly path: string,
    private fd: number,
    readonly base: number,
    /** Highest seq with a record (base - 1 when empty). */
    public last: number,
  ) {}

  /** Opens the index, or returns null when it is missing or its header is not ours. */
  static open(path: string): SeqIndex | null {
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch {
      return null;
    }
    const head = Buffer.alloc(HEADER_BYTES);
    if (
      readSync(fd, head, 0, HEADER_BYTES, 0) !== HEADER_BYTES ||
      !head.subarray(0, 8).equals(MAGIC)
    ) {
      closeSync(fd);
      return null;
    }
    const base = head.readUInt32LE(8);
    const size = fstatSync(fd).size;
    const records = Math.floor((size - HEADER_BYTES) / RECORD_BYTES);
    // A torn last record (a crash mid-write) is dropped; the caller re-derives it.
    if (HEADER_BYTES + records * RECORD_BYTES !== size) {
      ftruncateSync(fd, HEADER_BYTES + records * RECORD_BYTES);
    }
    return new SeqIndex(path, fd, base, base - 1 + records);
  }

  /** Creates (or replaces) the index with a header and no records. */
  static create(path: string, base: number): SeqIndex {
    const fd = openSync(path, 'w+');
    writeAll(fd, encodeHeader(base), 0);
    return new SeqIndex(path, fd, base, base - 1);
  }

  get descriptor(): number {
    return this.fd;
  }

  /** Writes the record of `seq`; seqs past `last + 1` leave holes. */
  put(seq: number, r: Omit<IndexRecord, 'seq'>): void {
    writeAll(this.fd, encodeRecord(r), recordPosition(this.base, seq));
    if (seq > this.last) this.last = seq;
  }

  /** Forgets records after `seq` (a write that failed half-way, or a log shorter than us). */
  truncateAfter(seq: number): void {
    const keep = Math.max(seq, this.base - 1);
    ftruncateSync(this.fd, recordPosition(this.base, keep + 1));
    this.last = keep;
  }

  /** Records for seqs `from..to` (inclusive, clamped to what exists), holes included. */
  range(from: number, to: number): IndexRecord[] {
    const lo = Math.max(from, this.base);
    const hi = Math.min(to, this.last);
    if (hi < lo) return [];
    const count = hi - lo + 1;
    const buf = Buffer.alloc(count * RECORD_BYTES);
    const got = readSync(this.fd, buf, 0, buf.length, recordPosition(this.base, lo));
    const out: IndexRecord[] = [];
    for (let i = 0; i * RECORD_BYTES + RECORD_BYTES <= got; i++) {
      const at = i * RECORD_BYTES;
      out.push({
        seq: lo + i,
        segment: buf.readUInt32LE(at),
        offset: buf.readUInt32LE(at + 4),
        length: buf.readUInt32LE(at + 8),
        flags: buf.readUInt8(at + 12),
      });
    }
    return out;
  }

  get(seq: number): IndexRecord | undefined {
    return this.range(seq, seq)[0];
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** write(2) until all of `data` is written at `position`; throws what the kernel said. */
export function writeAll(fd: number, data: Buffer, position: number): void {
  for (let off = 0; off < data.length;) {
    off += writeSync(fd, data, off, data.length - off, position + off);
  }
}
