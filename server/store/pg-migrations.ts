import type { Pool, PoolClient } from 'pg';

/**
 * The PostgreSQL store's schema, as numbered steps applied in order and recorded in
 * `cog_migrations`. A step is never edited once released: a change is a new step.
 * Every table is prefixed `cog_`, so Cog can share a database with other things.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'sessions, events, snapshots',
    sql: `
      CREATE TABLE cog_sessions (
        key         text PRIMARY KEY,
        id          text NOT NULL,
        owner       text NOT NULL,
        title       text,
        -- the ISO string the runtime gave, kept as text so that it reads back the same
        created_at  text NOT NULL,
        last_seq    bigint NOT NULL DEFAULT 0,
        -- the first seq still stored (after a clear dropped what came before)
        base_seq    bigint NOT NULL DEFAULT 1,
        turns       integer NOT NULL DEFAULT 0,
        -- the lease of the instance running this session's turn (fencing: epoch)
        lease_holder text,
        lease_epoch  bigint NOT NULL DEFAULT 0,
        lease_until  timestamptz
      );
      CREATE INDEX cog_sessions_created ON cog_sessions (created_at);
      CREATE TABLE cog_events (
        session_key text NOT NULL REFERENCES cog_sessions (key) ON DELETE CASCADE,
        seq         bigint NOT NULL,
        -- 0 any event, 1 a user or assistant message, 2 a session.cleared
        kind        smallint NOT NULL,
        body        text NOT NULL,
        PRIMARY KEY (session_key, seq)
      );
      CREATE INDEX cog_events_marks ON cog_events (session_key, seq) WHERE kind <> 0;
      CREATE TABLE cog_snapshots (
        session_key text PRIMARY KEY REFERENCES cog_sessions (key) ON DELETE CASCADE,
        seq         bigint NOT NULL,
        turns       integer NOT NULL,
        state       text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'notifications for the other instances',
    // Delivered at commit, to every instance LISTENing: a session created or deleted, a
    // session's new last seq (events to read), a lease let go (a waiting turn may start).
    sql: `
      CREATE FUNCTION cog_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('cog_sessions', 'deleted ' || OLD.key);
          RETURN OLD;
        ELSIF TG_OP = 'INSERT' THEN
          PERFORM pg_notify('cog_sessions', 'created ' || NEW.key);
        ELSE
          IF NEW.last_seq <> OLD.last_seq THEN
            PERFORM pg_notify('cog_sessions', 'appended ' || NEW.key || ' ' || NEW.last_seq);
          END IF;
          IF OLD.lease_holder IS NOT NULL AND NEW.lease_holder IS NULL THEN
            PERFORM pg_notify('cog_sessions', 'released ' || NEW.key);
          END IF;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER cog_sessions_notify AFTER INSERT OR UPDATE OR DELETE ON cog_sessions
        FOR EACH ROW EXECUTE FUNCTION cog_notify_session();
      CREATE INDEX cog_sessions_leased ON cog_sessions (lease_until) WHERE lease_holder IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'session workspaces',
    // The files a session's code runs leave, for the next run on any instance (instances
    // share no filesystem): pg-workspaces.ts. A version comes from a sequence, never
    // reused, so a directory's marker can only match the copy it was synced with.
    sql: `
      CREATE SEQUENCE cog_workspace_versions;
      CREATE TABLE cog_workspaces (
        session_key text PRIMARY KEY REFERENCES cog_sessions (key) ON DELETE CASCADE,
        -- 0: nothing pushed yet
        version     bigint NOT NULL DEFAULT 0,
        files       integer NOT NULL DEFAULT 0,
        bytes       bigint NOT NULL DEFAULT 0
      );
      CREATE TABLE cog_workspace_files (
        session_key text NOT NULL REFERENCES cog_sessions (key) ON DELETE CASCADE,
        -- relative POSIX path, no '.' or '..' segment
        path        text NOT NULL,
        content     bytea NOT NULL,
        mode        integer NOT NULL,
        mtime_ms    bigint NOT NULL,
        sha256      text NOT NULL,
        PRIMARY KEY (session_key, path)
      );
    `,
  },
  {
    version: 4,
    name: 'service tokens',
    // What <COG_HOME>/service-tokens.json holds, shared by every instance on the database
    // (server/auth/service-tokens-pg.ts). Only the token's SHA-256 is kept: the token is 256
    // random bits, so there is no salt and no slow hash to store (service-token-core.ts).
    // A revoke sets revoked_at rather than deleting, so the row says when it happened; a
    // create may reuse a revoked name, replacing the row, as the file store allows.
    sql: `
      CREATE TABLE cog_service_tokens (
        name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
        sha256      bytea NOT NULL CHECK (length(sha256) = 32),
        scopes      text[] NOT NULL CHECK (cardinality(scopes) > 0),
        created_at  timestamptz NOT NULL,
        expires_at  timestamptz,
        revoked_at  timestamptz
      );
    `,
  },
  {
    version: 5,
    name: 'MCP sessions over HTTP, shared',
    sql: `
      CREATE TABLE cog_mcp_sessions (
        id         text PRIMARY KEY,
        principal  text NOT NULL,
        -- the initialize params, replayed by an instance that has not seen the session
        init       text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE cog_mcp_events (
        id         bigserial PRIMARY KEY,
        session_id text NOT NULL REFERENCES cog_mcp_sessions (id) ON DELETE CASCADE,
        stream_id  text NOT NULL,
        message    text NOT NULL
      );
      CREATE INDEX cog_mcp_events_stream ON cog_mcp_events (session_id, stream_id, id);
    `,
  },
  {
    version: 6,
    name: 'MCP resource subscriptions, shared',
    sql: `
      CREATE TABLE cog_mcp_subscriptions (
        session_id text NOT NULL REFERENCES cog_mcp_sessions (id) ON DELETE CASCADE,
        uri        text NOT NULL,
        PRIMARY KEY (session_id, uri)
      );
    `,
  },
  {
    version: 7,
    name: 'where a session title came from',
    // user, topic or first-message (protocol/names.ts TITLE_SOURCES); null before sources.
    sql: `ALTER TABLE cog_sessions ADD COLUMN title_source text;`,
  },
];

/** Any constant both sides agree on: the advisory lock migrations take. */
const MIGRATION_LOCK = 0x636f67; // "cog"

/**
 * Brings the schema up to date, safely from several instances at once: each runs in one
 * transaction holding a transaction-scoped advisory lock, so the second waits for the
 * first and then finds nothing left to do. Refuses a database migrated by a newer Cog.
 * Returns the versions it applied.
 */
export async function migrate(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS cog_migrations (
         version    integer PRIMARY KEY,
         name       text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = await appliedVersions(client);
    // By version, not by place in the list, and without assuming the numbers are
    // contiguous: branches append steps in parallel, and a merge may fill a gap later.
    const steps = [...MIGRATIONS].sort((a, b) => a.version - b.version);
    const newest = steps.at(-1)?.version ?? 0;
    const ahead = [...done].filter((v) => v > newest);
    if (ahead.length) {
      throw new Error(
        `the database has schema version ${Math.max(...ahead)}, newer than this Cog knows (${newest}): upgrade Cog`,
      );
    }
    const applied: number[] = [];
    for (const step of steps) {
      if (done.has(step.version)) continue;
      await client.query(step.sql);
      await client.query('INSERT INTO cog_migrations (version, name) VALUES ($1, $2)', [
        step.version,
        step.name,
      ]);
      applied.push(step.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function appliedVersions(client: PoolClient): Promise<Set<number>> {
  const { rows } = await client.query<{ version: number }>('SELECT version FROM cog_migrations');
  return new Set(rows.map((r) => Number(r.version)));
}
