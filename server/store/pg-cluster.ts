import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { createPgMcpSessions } from './pg-mcp.js';
import type { Lease, StoreChange, StoreCluster, StoredSession } from './types.js';

/** What the store tells the cluster part about its open sessions. */
export interface OpenLogs {
  /** Keys of the sessions open here. */
  keys(): string[];
  /** From now on, appends to `key` continue from `lastSeq` under `epoch` (when given). */
  adopt(key: string, lastSeq: number, epoch?: number): void;
}

export interface PgClusterOptions {
  url: string;
  pool: pg.Pool;
  logs: OpenLogs;
  warn: (message: string) => void;
  toStored: (row: Record<string, unknown>) => StoredSession;
}

/** The channel migration 2's trigger notifies on. */
const CHANNEL = 'cog_sessions';

/**
 * The cluster side of the PostgreSQL store: leases in `cog_sessions` (holder, epoch,
 * expiry, by the database's clock, so instances need not agree on the time), and one
 * LISTEN connection for what the others commit. When that connection drops it is made
 * again, and every open session is reported as possibly appended to, so that nothing
 * committed meanwhile is missed.
 */
export async function createPgCluster(
  opts: PgClusterOptions,
): Promise<StoreCluster & { close(): Promise<void> }> {
  const { pool, logs, warn } = opts;
  const instance = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const listeners = new Set<(change: StoreChange) => void>();
  let listener: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const emit = (change: StoreChange) => {
    for (const l of listeners) l(change);
  };

  function parse(payload: string | undefined): StoreChange | undefined {
    const [type, key, seq] = (payload ?? '').split(' ');
    if (!key) return undefined;
    if (type === 'approve' || type === 'approved') {
      return { type, key, payload: (payload ?? '').slice(type.length + key.length + 2) };
    }
    if (type === 'appended' && seq) return { type, key, lastSeq: Number(seq) };
    if (
      type === 'created' ||
      type === 'deleted' ||
      type === 'released' ||
      type === 'cancel' ||
      type === 'mcp-subscriptions'
    ) {
      return { type, key };
    }
    return undefined;
  }

  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: opts.url });
    client.on('notification', (n) => {
      const change = n.channel === CHANNEL ? parse(n.payload) : undefined;
      if (change) emit(change);
    });
    const lost = (why: string) => {
      if (listener !== client) return;
      listener = undefined;
      client.end().catch(() => undefined);
      if (closed) return;
      warn(`lost the notification connection (${why}); connecting again`);
      retry = setTimeout(() => void reconnect(), 500);
    };
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('it ended'));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    listener = client;
  }

  async function reconnect(): Promise<void> {
    try {
      await listen();
    } catch (err) {
      warn(`could not listen for other instances: ${(err as Error).message}`);
      if (!closed) retry = setTimeout(() => void reconnect(), 2000);
      return;
    }
    // Whatever was committed while nobody listened: read it as if it had been announced.
    const keys = logs.keys();
    if (!keys.length) return;
    const { rows } = await pool.query<{ key: string; last_seq: string }>(
      'SELECT key, last_seq FROM cog_sessions WHERE key = ANY($1)',
      [keys],
    );
    for (const r of rows) emit({ type: 'appended', key: r.key, lastSeq: Number(r.last_seq) });
  }

  await listen();

  return {
    instance,
    mcp: createPgMcpSessions(pool, (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    }),

    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },

    async lookup(key) {
      const { rows } = await pool.query(
        `SELECT key, id, owner, title, title_source, created_at, last_seq, turns FROM cog_sessions WHERE key = $1`,
        [key],
      );
      return rows[0] ? opts.toStored(rows[0] as Record<string, unknown>) : undefined;
    },

    async tryLease(key, ttlMs): Promise<Lease | undefined> {
      const { rows } = await pool.query<{ lease_epoch: string; last_seq: string }>(
        `UPDATE cog_sessions
            SET lease_holder = $2, lease_epoch = lease_epoch + 1,
                lease_until = now() + make_interval(secs => $3)
          WHERE key = $1 AND (lease_holder IS NULL OR lease_until < now())
         RETURNING lease_epoch, last_seq`,
        [key, instance, ttlMs / 1000],
      );
      const row = rows[0];
      if (!row) return undefined;
      const lease = { key, epoch: Number(row.lease_epoch), lastSeq: Number(row.last_seq) };
      logs.adopt(key, lease.lastSeq, lease.epoch);
      return lease;
    },

    async renewLease(lease, ttlMs) {
      const r = await pool.query(
        `UPDATE cog_sessions SET lease_until = now() + make_interval(secs => $4)
          WHERE key = $1 AND lease_holder = $2 AND lease_epoch = $3`,
        [lease.key, instance, lease.epoch, ttlMs / 1000],
      );
      return (r.rowCount ?? 0) > 0;
    },

    async releaseLease(lease) {
      await pool.query(
        `UPDATE cog_sessions SET lease_holder = NULL, lease_until = NULL
          WHERE key = $1 AND lease_holder = $2 AND lease_epoch = $3`,
        [lease.key, instance, lease.epoch],
      );
    },

    async expiredLeases() {
      const { rows } = await pool.query<{ key: string }>(
        `SELECT key FROM cog_sessions WHERE lease_holder IS NOT NULL AND lease_until < now()`,
      );
      return rows.map((r) => r.key);
    },

    async announce(type, key, payload) {
      await pool.query(
        `SELECT pg_notify('${CHANNEL}', $1::text || ' ' || $2::text || ' ' || $3::text)`,
        [type, key, payload],
      );
    },

    async requestCancel(key) {
      await pool.query(`SELECT pg_notify('${CHANNEL}', 'cancel ' || $1::text)`, [key]);
    },

    caughtUp(key, lastSeq) {
      logs.adopt(key, lastSeq);
    },

    async close() {
      closed = true;
      clearTimeout(retry);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
      listeners.clear();
    },
  };
}
