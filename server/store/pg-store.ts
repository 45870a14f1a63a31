import pg from 'pg';
import { TITLE_SOURCES, type RuntimeEvent, type TitleSource } from '../../protocol/events.js';
import { StoreError } from './errors.js';
import { assertSessionId, storeKeyOf } from './layout.js';
import { createPgCluster } from './pg-cluster.js';
import { createWriter, newLog, type OpenLog } from './pg-writer.js';
import { migrate } from './pg-migrations.js';
import { createPgWorkspaces } from './pg-workspaces.js';
import type { EventStore, OpenedSession, SessionMeta, Snapshot, StoredSession } from './types.js';

export interface PgStoreOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** Connections this instance may hold. Default 8. */
  poolSize?: number;
  /** Problems no caller is waiting for. Default: stderr. */
  onWarning?: (message: string) => void;
}

/**
 * The event store in PostgreSQL (`COG_DATABASE_URL`), on the same contract as the file
 * store, for one or many `cog serve` instances on one database.
 *
 * **Seen ⇒ durable, by publishing after the commit.** `append` checks the event and hands
 * out its seq at once, and returns a promise that resolves when PostgreSQL has committed
 * it (synchronous_commit on: on disk on the server, and on a synchronous replica where
 * one is set up). The runtime shows an event only after that promise resolved. Appends
 * to one session go out in order, as few multi-row INSERTs as the burst needs, one in
 * flight at a time; sessions do not wait for each other.
 *
 * **Fenced.** Each INSERT is one statement that also moves `cog_sessions.last_seq` from
 * the seq this instance last committed, under the lease epoch it opened the session
 * with: if another instance wrote to the session or took its lease meanwhile, nothing is
 * kept and the append fails, so two writers can never interleave nor both write a seq.
 * A failed write fails every append queued behind it (they were never shown); the
 * session is then opened again from what the database has.
 */
export async function createPgStore(opts: PgStoreOptions): Promise<EventStore> {
  const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`cog store: ${m}\n`));
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 8,
    // A connection the server dropped is replaced, not handed out.
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', (err) => warn(`a PostgreSQL connection failed: ${err.message}`));
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new StoreError(
      'store_write_failed',
      `Cannot use the database ${redact(opts.url)}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const logs = new Map<string, OpenLog>();
  let closed = false;
  let cluster: Awaited<ReturnType<typeof createPgCluster>>;
  try {
    cluster = await createPgCluster({
      url: opts.url,
      pool,
      warn,
      toStored: (row) => storedOf(row as unknown as SessionRow),
      logs: {
        keys: () => [...logs.keys()],
        adopt(key, lastSeq, epoch) {
          const log = logs.get(key);
          // Appends on their way keep their place; the next write's CAS settles it.
          if (!log || log.writing || log.queue.length) return;
          if (lastSeq > log.durableSeq || epoch !== undefined) {
            log.lastSeq = lastSeq;
            log.durableSeq = lastSeq;
          }
          if (epoch !== undefined) log.epoch = epoch;
          log.failed = undefined;
        },
      },
    });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new StoreError(
      'store_write_failed',
      `Cannot listen on the database ${redact(opts.url)}: ${(err as Error).message}`,
      { cause: err },
    );
  }

  function assertOpen() {
    if (closed) throw new StoreError('store_closed', 'The store is closed.');
  }

  function logOf(key: string): OpenLog {
    assertOpen();
    assertSessionId(key);
    const log = logs.get(key);
    if (!log) throw new StoreError('store_not_found', `Session ${key} is not open.`);
    return log;
  }

  async function exists(key: string): Promise<boolean> {
    const r = await pool.query('SELECT 1 FROM cog_sessions WHERE key = $1', [key]);
    return (r.rowCount ?? 0) > 0;
  }

  async function mustExist(key: string): Promise<void> {
    if (!(await exists(key))) throw new StoreError('store_not_found', `No session ${key}.`);
  }

  const drain = createWriter(pool);

  function snapshotBody(snapshot: Snapshot): [number, number, string] {
    return [snapshot.seq, snapshot.turns, JSON.stringify(snapshot.state)];
  }

  const store: EventStore = {
    full: false,
    cluster,
    workspaces: createPgWorkspaces(pool),

    async listSessions(): Promise<StoredSession[]> {
      assertOpen();
      const { rows } = await pool.query<SessionRow>(
        `SELECT key, id, owner, title, title_source, created_at, last_seq, turns FROM cog_sessions
          ORDER BY created_at, key`,
      );
      return rows.map((row) => {
        const stored = storedOf(row);
        stored.lastSeq = Math.max(stored.lastSeq, logs.get(row.key)?.durableSeq ?? 0);
        return stored;
      });
    },

    async create(meta: SessionMeta): Promise<void> {
      assertOpen();
      const key = storeKeyOf(meta);
      assertSessionId(key);
      let inserted: number | null;
      try {
        const r = await pool.query(
          `INSERT INTO cog_sessions (key, id, owner, title, title_source, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING`,
          [key, meta.id, meta.owner, meta.title ?? null, meta.titleSource ?? null, meta.createdAt],
        );
        inserted = r.rowCount;
      } catch (err) {
        throw new StoreError(
          'store_write_failed',
          `Could not save session ${meta.id}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (!inserted) throw new StoreError('store_exists', `Session ${meta.id} already exists.`);
      logs.set(key, newLog(key, 0, 0));
    },

    async open(key: string): Promise<OpenedSession> {
      assertOpen();
      assertSessionId(key);
      const client = await pool.connect();
      try {
        // One snapshot of the database for the row, the snapshot and the events after it.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const { rows } = await client.query<SessionRow>(
          `SELECT key, id, owner, title, title_source, created_at, last_seq, base_seq, turns, lease_epoch
             FROM cog_sessions WHERE key = $1`,
          [key],
        );
        const row = rows[0];
        if (!row) throw new StoreError('store_not_found', `No session ${key}.`);
        const lastSeq = Number(row.last_seq);
        const base = Number(row.base_seq);
        const snap = await client.query<{ seq: string; turns: number; state: string }>(
          'SELECT seq, turns, state FROM cog_snapshots WHERE session_key = $1',
          [key],
        );
        let snapshot: Snapshot | null = null;
        const s = snap.rows[0];
        if (s) {
          const seq = Number(s.seq);
          // A snapshot is only good between the log's start and its end.
          if (seq <= lastSeq && seq >= base - 1) {
            snapshot = { seq, turns: s.turns, state: JSON.parse(s.state) };
          }
        }
        const from = snapshot ? snapshot.seq : base - 1;
        const ev = await client.query<{ body: string }>(
          'SELECT body FROM cog_events WHERE session_key = $1 AND seq > $2 ORDER BY seq',
          [key, from],
        );
        await client.query('COMMIT');
        const pending = logs.get(key);
        if (pending?.writing) await pending.writing;
        logs.set(key, newLog(key, lastSeq, Number(row.lease_epoch)));
        return {
          meta: metaOf(row),
          lastSeq,
          snapshot,
          events: ev.rows.map((r) => JSON.parse(r.body) as RuntimeEvent),
          quarantined: 0,
        };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    append(event: RuntimeEvent, options: { critical?: boolean; key?: string } = {}) {
      if (typeof event !== 'object' || event === null) {
        throw new StoreError('store_unserializable', `Cannot append ${String(event)}.`);
      }
      const log = logOf(options.key ?? event.session);
      if (log.failed) throw log.failed;
      if (event.seq !== log.lastSeq + 1) {
        throw new StoreError(
          'store_out_of_order',
          `Event #${event.seq} of session ${event.session} is out of order: the next is #${log.lastSeq + 1}.`,
        );
      }
      let body: string;
      try {
        body = JSON.stringify(event);
      } catch (err) {
        throw new StoreError(
          'store_unserializable',
          `Event ${event.type} #${event.seq} of session ${event.session} cannot be stored as JSON.`,
          { cause: err },
        );
      }
      log.lastSeq = event.seq;
      return new Promise<void>((resolve, reject) => {
        log.queue.push({ event, body, resolve, reject });
        void drain(log);
      });
    },

    async flush(session?: string): Promise<void> {
      const targets = session === undefined ? [...logs.values()] : [logs.get(session)];
      for (const log of targets) {
        if (log?.writing) await log.writing;
        if (log?.failed) throw log.failed;
      }
    },

    async read(key, afterSeq, limit) {
      assertOpen();
      assertSessionId(key);
      const { rows } = await pool.query<{ body: string }>(
        'SELECT body FROM cog_events WHERE session_key = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [key, afterSeq, limit],
      );
      if (!rows.length) await mustExist(key);
      return rows.map((r) => JSON.parse(r.body) as RuntimeEvent);
    },

    async messages(key, q) {
      assertOpen();
      assertSessionId(key);
      const { rows } = await pool.query<{ body: string }>(
        `WITH bounds AS (
           SELECT greatest(s.base_seq, $2::bigint + 1) AS lo,
                  least(s.last_seq, $3::bigint - 1) AS hi
             FROM cog_sessions s WHERE s.key = $1),
         cleared AS (
           SELECT coalesce(max(e.seq), bounds.lo - 1) AS at
             FROM bounds LEFT JOIN cog_events e
               ON e.session_key = $1 AND e.kind = 2 AND e.seq BETWEEN bounds.lo AND bounds.hi
            GROUP BY bounds.lo)
         SELECT e.body FROM cog_events e, bounds, cleared
          WHERE e.session_key = $1 AND e.kind = 1
            AND e.seq > cleared.at AND e.seq BETWEEN bounds.lo AND bounds.hi
          ORDER BY e.seq DESC LIMIT $4`,
        [key, q.afterSeq ?? 0, q.beforeSeq ?? Number.MAX_SAFE_INTEGER, q.limit + 1],
      );
      if (!rows.length) await mustExist(key);
      const hasMore = rows.length > q.limit;
      const events = rows
        .slice(0, q.limit)
        .reverse()
        .map((r) => JSON.parse(r.body) as RuntimeEvent);
      return { events, hasMore };
    },

    async saveSnapshot(key, snapshot) {
      const log = logOf(key);
      if (log.writing) await log.writing;
      try {
        await pool.query(
          `WITH s AS (UPDATE cog_sessions SET turns = $3 WHERE key = $1 RETURNING key)
           INSERT INTO cog_snapshots (session_key, seq, turns, state) SELECT s.key, $2, $3, $4 FROM s
           ON CONFLICT (session_key) DO UPDATE SET seq = $2, turns = $3, state = $4`,
          [key, ...snapshotBody(snapshot)],
        );
      } catch (err) {
        // Derived data: the next snapshot replaces it, and open() replays from the log.
        warn(`could not save a snapshot of session ${key}: ${(err as Error).message}`);
      }
    },

    async dropBeforeClear(key, snapshot) {
      const log = logOf(key);
      if (log.writing) await log.writing;
      if (log.failed) throw log.failed;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const mark = await client.query<{ kind: number }>(
          'SELECT kind FROM cog_events WHERE session_key = $1 AND seq = $2',
          [key, snapshot.seq],
        );
        if (mark.rows[0]?.kind !== 2) {
          throw new StoreError(
            'store_out_of_order',
            `Event #${snapshot.seq} of ${key} is not a clear.`,
          );
        }
        const [seq, turns, state] = snapshotBody(snapshot);
        // The snapshot and the deletion commit together: never the one without the other.
        await client.query(
          `INSERT INTO cog_snapshots (session_key, seq, turns, state) VALUES ($1, $2, $3, $4)
           ON CONFLICT (session_key) DO UPDATE SET seq = $2, turns = $3, state = $4`,
          [key, seq, turns, state],
        );
        await client.query('DELETE FROM cog_events WHERE session_key = $1 AND seq < $2', [
          key,
          seq,
        ]);
        await client.query('UPDATE cog_sessions SET base_seq = $2, turns = $3 WHERE key = $1', [
          key,
          seq,
          turns,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async unload(key) {
      const log = logs.get(key);
      if (!log) return;
      try {
        if (log.writing) await log.writing;
      } finally {
        logs.delete(key);
      }
    },

    async delete(key) {
      assertOpen();
      assertSessionId(key);
      const log = logs.get(key);
      if (log?.writing) await log.writing.catch(() => undefined);
      logs.delete(key);
      const r = await pool.query('DELETE FROM cog_sessions WHERE key = $1', [key]);
      if (!r.rowCount) throw new StoreError('store_not_found', `No session ${key}.`);
    },

    async recover() {
      return true;
    },

    async close() {
      if (closed) return;
      closed = true;
      const results = await Promise.allSettled([...logs.values()].map((l) => l.writing));
      logs.clear();
      await cluster.close();
      await pool.end();
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
  return store;
}

interface SessionRow {
  key: string;
  id: string;
  owner: string;
  title: string | null;
  title_source?: string | null;
  created_at: string;
  last_seq: string;
  base_seq?: string;
  turns: number;
  lease_epoch?: string;
}

function storedOf(row: SessionRow): StoredSession {
  return { meta: metaOf(row), lastSeq: Number(row.last_seq), turns: row.turns };
}

function metaOf(row: SessionRow): SessionMeta {
  return {
    id: row.id,
    owner: row.owner,
    ...(row.key !== row.id ? { key: row.key } : {}),
    ...(row.title !== null ? { title: row.title } : {}),
    ...(TITLE_SOURCES.includes(row.title_source as TitleSource)
      ? { titleSource: row.title_source as TitleSource }
      : {}),
    createdAt: row.created_at,
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable database URL)';
  }
}
