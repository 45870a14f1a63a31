import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { EventOf, RuntimeEvent } from '../../protocol/events.js';
import { StoreError, writeError } from './errors.js';
import { HEADER_BYTES, INDEX_FILE, RECORD_BYTES } from './index-file.js';
import {
  META_FILE,
  RESERVE_FILE,
  SNAPSHOT_FILE,
  TRASH_PREFIX,
  assertSessionId,
  fsyncDir,
  isErrno,
  isValidSessionId,
  sessionIdOf,
  storeKeyOf,
  sessionPath,
} from './layout.js';
import { parseMeta, writeAtomically } from './files.js';
import { SessionLog } from './session-log.js';
import type { EventStore, OpenedSession, SessionMeta, Snapshot, StoredSession } from './types.js';

export interface FileStoreOptions {
  /** Root of the store, e.g. `<COG_HOME>/sessions`; one directory per session below it. */
  dir: string;
  /** A segment that would grow past this many bytes is left as is and a new one started. */
  segmentBytes?: number;
  /** Space held back so that a full disk can still be reported in the log. */
  reserveBytes?: number;
  /** Problems no caller is waiting for (a line that could not be set aside). Default: stderr. */
  onWarning?: (message: string) => void;
}

export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_RESERVE_BYTES = 64 * 1024;

/**
 * The default event store: per session, a directory of append-only JSONL segments, an
 * index from seq to line, a snapshot of the projections and the session's identity.
 *
 * **Seen ⇒ durable, by writing before publishing.** `append` is a synchronous write(2)
 * of the line (and of its index record) into the kernel's page cache; the runtime shows
 * an event to nobody before `append` has returned. A SIGKILL at any moment therefore
 * either finds the event in the file or finds that nobody saw it, and since a seq is
 * handed out only by a successful append, a seq never names two events. Power loss is
 * covered by `flush` (fsync), which the runtime awaits at the end of every turn and every
 * memorizer update, as before. The cost is two small syscalls per event (see `npm run bench`).
 *
 * **A full disk is an error, and can still be said.** `.reserve` holds a few KiB of the
 * disk. The first append that meets ENOSPC cuts its write back, deletes the reserve and
 * throws `store_disk_full`; from then on only `critical` appends (the error event and the
 * end of the turn) are tried, in the space the reserve gave back. `recover()` retakes the
 * reserve once there is room again.
 *
 * One writer process per `dir` is assumed (the runtime's home lock).
 */
export function createFileStore(opts: FileStoreOptions): EventStore {
  const { dir } = opts;
  const segmentBytes = Math.max(1, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
  const reserveBytes = Math.max(0, opts.reserveBytes ?? DEFAULT_RESERVE_BYTES);
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`cog store: ${m}\n`));
  const logs = new Map<string, SessionLog>();
  let closed = false;
  let full = false;

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(dir)) {
    // A delete that a crash interrupted: the rename was its commit point.
    if (name.startsWith(TRASH_PREFIX)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  full = !takeReserve();

  function takeReserve(): boolean {
    const path = join(dir, RESERVE_FILE);
    try {
      if (statSync(path).size === reserveBytes) return true;
    } catch {
      // not there yet
    }
    try {
      writeFileSync(path, Buffer.alloc(reserveBytes), { mode: 0o600 });
      const fd = openSync(path, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return true;
    } catch {
      rmSync(path, { force: true });
      return false;
    }
  }

  function assertOpen() {
    if (closed) throw new StoreError('store_closed', 'The store is closed.');
  }

  function logOf(session: string): SessionLog {
    assertOpen();
    assertSessionId(session);
    const log = logs.get(session);
    if (!log) throw new StoreError('store_not_found', `Session ${session} is not open.`);
    return log;
  }

  function openLog(session: string): SessionLog {
    let log = logs.get(session);
    if (!log) {
      const sdir = sessionPath(dir, session);
      if (!existsSync(sdir)) throw new StoreError('store_not_found', `No session ${session}.`);
      log = SessionLog.open(sdir, sessionIdOf(dir, session), segmentBytes, warn);
      logs.set(session, log);
    }
    return log;
  }

  /** A session's identity: `meta.json`, or (for a log from before it) its first event. */
  function metaOf(session: string): SessionMeta | undefined {
    const sdir = sessionPath(dir, session);
    try {
      return parseMeta(readFileSync(join(sdir, META_FILE), 'utf8'), session);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) {
        warn(`session ${session}: unreadable ${META_FILE}; rebuilding it from the log`);
      }
    }
    const log = openLog(session);
    const first = log.read(log.base - 1, 64);
    const created = first.find((e) => e.type === 'session.created');
    const titled = first.findLast((e) => e.type === 'session.titled');
    const meta: SessionMeta =
      created?.type === 'session.created'
        ? {
            id: created.session,
            ...(created.session !== session ? { key: session } : {}),
            owner: created.owner,
            ...(created.title ? { title: created.title } : {}),
            ...(created.titleSource ? { titleSource: created.titleSource } : {}),
            ...(titled?.type === 'session.titled'
              ? { title: titled.title, titleSource: titled.source }
              : {}),
            createdAt: created.ts,
          }
        : { id: session, owner: '', createdAt: new Date(0).toISOString() };
    if (!created) warn(`session ${session}: its first event is unreadable and its owner unknown`);
    else writeAtomically(sdir, META_FILE, JSON.stringify(meta), true);
    return meta;
  }

  function readSnapshot(session: string): Snapshot | null {
    try {
      const text = readFileSync(join(sessionPath(dir, session), SNAPSHOT_FILE), 'utf8');
      const nl = text.indexOf('\n');
      const head = JSON.parse(text.slice(0, nl)) as { seq?: unknown; turns?: unknown };
      if (!Number.isSafeInteger(head.seq) || !Number.isSafeInteger(head.turns)) return null;
      return {
        seq: head.seq as number,
        turns: head.turns as number,
        state: JSON.parse(text.slice(nl + 1)),
      };
    } catch {
      return null;
    }
  }

  /** The first line of the snapshot only: what a listing needs. */
  function snapshotTurns(session: string): number {
    try {
      const fd = openSync(join(sessionPath(dir, session), SNAPSHOT_FILE), 'r');
      try {
        const buf = Buffer.alloc(256);
        const n = readSync(fd, buf, 0, buf.length, 0);
        const line = buf.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
        const turns = (JSON.parse(line) as { turns?: unknown }).turns;
        return Number.isSafeInteger(turns) ? (turns as number) : 0;
      } finally {
        closeSync(fd);
      }
    } catch {
      return 0;
    }
  }

  /** Last seq from the index's size alone; an index-less log is indexed first (once). */
  function lastSeqOf(session: string): number {
    const open = logs.get(session);
    if (open) return open.lastSeq;
    const path = join(sessionPath(dir, session), INDEX_FILE);
    try {
      const fd = openSync(path, 'r');
      try {
        const head = Buffer.alloc(HEADER_BYTES);
        readSync(fd, head, 0, HEADER_BYTES, 0);
        const records = Math.floor((statSync(path).size - HEADER_BYTES) / RECORD_BYTES);
        return head.readUInt32LE(8) - 1 + Math.max(0, records);
      } finally {
        closeSync(fd);
      }
    } catch {
      const log = openLog(session);
      const last = log.lastSeq;
      log.close();
      logs.delete(session);
      return last;
    }
  }

  /**
   * A title is the listing's, so meta.json takes it (fsynced: rare, and a listing after a
   * crash must not go back to the old one). The event is already in the log; if the meta
   * cannot be written the event stands and the warning says so.
   */
  function retitle(session: string, event: EventOf<'session.titled'>): void {
    const sdir = sessionPath(dir, session);
    try {
      const meta = metaOf(session);
      if (!meta) return;
      const next = { ...meta, title: event.title, titleSource: event.source };
      writeAtomically(sdir, META_FILE, JSON.stringify(next), true);
    } catch (err) {
      warn(`session ${session}: could not save its new title: ${(err as Error).message}`);
    }
  }

  const store: EventStore = {
    get full() {
      return full;
    },

    async listSessions(): Promise<StoredSession[]> {
      assertOpen();
      const out: StoredSession[] = [];
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory() || !isValidSessionId(entry.name)) continue;
        const meta = metaOf(entry.name);
        if (!meta) continue;
        out.push({ meta, lastSeq: lastSeqOf(entry.name), turns: snapshotTurns(entry.name) });
      }
      return out.sort((a, b) => a.meta.createdAt.localeCompare(b.meta.createdAt));
    },

    async create(meta: SessionMeta): Promise<void> {
      assertOpen();
      const key = storeKeyOf(meta);
      assertSessionId(key);
      const sdir = sessionPath(dir, key);
      try {
        mkdirSync(sdir, { mode: 0o700 });
      } catch (err) {
        if (isErrno(err, 'EEXIST')) {
          throw new StoreError('store_exists', `Session ${meta.id} already exists.`);
        }
        throw writeError(err, `session ${meta.id}`);
      }
      try {
        if (full) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        writeAtomically(sdir, META_FILE, JSON.stringify(meta), true);
        fsyncDir(dir);
        openLog(key);
      } catch (err) {
        rmSync(sdir, { recursive: true, force: true });
        throw err instanceof StoreError ? err : writeError(err, `session ${meta.id}`);
      }
    },

    async open(session: string): Promise<OpenedSession> {
      assertOpen();
      const meta = metaOf(session);
      if (!meta) throw new StoreError('store_not_found', `No session ${session}.`);
      const log = openLog(session);
      let snapshot = readSnapshot(session);
      // A snapshot is only good between the log's start and its end.
      if (snapshot && (snapshot.seq > log.lastSeq || snapshot.seq < log.base - 1)) snapshot = null;
      const from = snapshot ? snapshot.seq : log.base - 1;
      const events = log.read(from, log.lastSeq - from);
      return { meta, lastSeq: log.lastSeq, snapshot, events, quarantined: log.quarantined };
    },

    append(event: RuntimeEvent, options: { critical?: boolean; key?: string } = {}): void {
      if (typeof event !== 'object' || event === null) {
        throw new StoreError('store_unserializable', `Cannot append ${String(event)}.`);
      }
      const log = logOf(options.key ?? event.session);
      if (full && !options.critical) {
        throw new StoreError(
          'store_disk_full',
          `The disk is full: session ${event.session} cannot record more until space is freed.`,
        );
      }
      let line: Buffer;
      try {
        line = Buffer.from(JSON.stringify(event), 'utf8');
      } catch (err) {
        throw new StoreError(
          'store_unserializable',
          `Event ${event.type} #${event.seq} of session ${event.session} cannot be stored as JSON.`,
          { cause: err },
        );
      }
      try {
        log.append(event, line);
      } catch (err) {
        if (err instanceof StoreError && err.code === 'store_disk_full' && !full) {
          full = true;
          rmSync(join(dir, RESERVE_FILE), { force: true });
        }
        throw err;
      }
      if (event.type === 'session.titled') retitle(options.key ?? event.session, event);
    },

    async flush(session?: string): Promise<void> {
      if (session !== undefined) {
        assertSessionId(session);
        await logs.get(session)?.sync();
        return;
      }
      const results = await Promise.allSettled([...logs.values()].map((l) => l.sync()));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },

    // Reads open the log if needed: a reader may still hold a session the runtime has
    // just set aside.
    async read(session, afterSeq, limit) {
      assertOpen();
      return openLog(session).read(afterSeq, limit);
    },

    async messages(session, q) {
      assertOpen();
      return openLog(session).messages(q);
    },

    async saveSnapshot(session, snapshot) {
      logOf(session);
      if (full) return; // derived data: the next snapshot after recovery replaces it
      const body = `${JSON.stringify({ seq: snapshot.seq, turns: snapshot.turns })}\n${JSON.stringify(snapshot.state)}`;
      try {
        writeAtomically(sessionPath(dir, session), SNAPSHOT_FILE, body, false);
      } catch (err) {
        warn(`could not save a snapshot of session ${session}: ${(err as Error).message}`);
      }
    },

    async dropBeforeClear(session, snapshot) {
      const log = logOf(session);
      await log.sync();
      const body = `${JSON.stringify({ seq: snapshot.seq, turns: snapshot.turns })}\n${JSON.stringify(snapshot.state)}`;
      // The snapshot must be durable before the events it replaces are deleted.
      writeAtomically(sessionPath(dir, session), SNAPSHOT_FILE, body, true);
      log.dropBefore(snapshot.seq);
    },

    async unload(session) {
      const log = logs.get(session);
      if (!log) return;
      try {
        await log.sync();
      } finally {
        log.close();
        logs.delete(session);
      }
    },

    async delete(session) {
      assertOpen();
      const sdir = sessionPath(dir, session);
      const log = logs.get(session);
      log?.close();
      logs.delete(session);
      const trash = join(dir, `${TRASH_PREFIX}${session}-${randomBytes(4).toString('hex')}`);
      try {
        renameSync(sdir, trash);
      } catch (err) {
        if (isErrno(err, 'ENOENT'))
          throw new StoreError('store_not_found', `No session ${session}.`);
        throw err;
      }
      fsyncDir(dir);
      await rm(trash, { recursive: true, force: true });
    },

    async recover() {
      if (!full) return true;
      full = !takeReserve();
      return !full;
    },

    async close() {
      if (closed) return;
      closed = true;
      const results = await Promise.allSettled([...logs.values()].map((l) => l.sync()));
      for (const log of logs.values()) log.close();
      logs.clear();
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
  return store;
}
