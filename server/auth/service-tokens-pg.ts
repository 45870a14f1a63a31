import pg from 'pg';
import { migrate } from '../store/pg-migrations.js';
import { redact } from '../store/pg-store.js';
import { SCOPES, type Authenticator, type Scope } from './identity.js';
import {
  checkServiceTokenName,
  compileServiceTokens,
  describeServiceToken,
  matchServiceToken,
  mintServiceToken,
  tokenExists,
  tokenNotFound,
  type CompiledServiceToken,
  type CreateOptions,
  type ServiceTokenEntry,
  type ServiceTokenInfo,
} from './service-token-core.js';

/**
 * Service tokens in PostgreSQL (`cog_service_tokens`, migration 4), for Cog with a
 * database: one token made once is accepted by every `cog serve` on that database, and a
 * revoke on any of them is refused by all. Same operations and semantics as the file store
 * (service-tokens.ts), with the minting, hashing and matching it shares
 * (service-token-core.ts): the token is shown once, only its SHA-256 is stored, a listing
 * never holds a hash, an expired or revoked token is refused.
 */

/**
 * How old the authenticator's copy of the table may be when it answers, in ms. A request
 * that finds its copy older than this first reads the table again, so a revoke committed
 * on any instance is refused by every instance from REFRESH_MS after its commit.
 */
export const SERVICE_TOKENS_REFRESH_MS = 500;

/** What create returns: the token (its only appearance) and what is listed. */
export interface CreatedPgServiceToken {
  /** The token itself. Shown to the user once; nothing keeps it. */
  token: string;
  info: ServiceTokenInfo;
  /** Where it is kept, for messages: the table and the database URL without its password. */
  where: string;
}

/** Options of the authenticator. */
export interface PgAuthenticatorOptions {
  /** See SERVICE_TOKENS_REFRESH_MS (the default). */
  refreshMs?: number;
  /** The clock, in ms since the epoch (tests inject one); expiry and refresh use it. */
  now?: () => number;
  /** Where a failed read of the table is reported; default stderr. */
  warn?: (message: string) => void;
}

/** The service tokens of one database; see openPgServiceTokens. */
export interface PgServiceTokens {
  /** `cog_service_tokens in <url without password>`, for messages. */
  readonly where: string;
  /** Makes and stores a token; throws service_token_exists if `name` holds a live one. */
  create(name: string, opts: CreateOptions): Promise<CreatedPgServiceToken>;
  /** The tokens not revoked, oldest first, without hashes. */
  list(opts?: { now?: () => number }): Promise<ServiceTokenInfo[]>;
  /** Revokes `name`; every instance refuses it within its refresh interval. */
  revoke(name: string): Promise<ServiceTokenInfo>;
  /**
   * An authenticator reading this database, with the table cached in memory. Reads it now,
   * so a database that cannot be read stops start-up rather than meaning "no tokens".
   */
  authenticator(opts?: PgAuthenticatorOptions): Promise<Authenticator>;
  /** Closes the connections. */
  close(): Promise<void>;
}

interface Row {
  name: string;
  sha256: Buffer;
  scopes: string[];
  created_at: Date;
  expires_at: Date | null;
}

const COLUMNS = 'name, sha256, scopes, created_at, expires_at';

/** A row as the entry the shared code works on (the same shape the file keeps). */
function entryOf(row: Row): ServiceTokenEntry {
  const known = new Set<string>(SCOPES);
  return {
    name: row.name,
    sha256: row.sha256.toString('hex'),
    // Only Cog writes the table; a scope it does not know (a newer Cog's) grants nothing.
    scopes: row.scopes.filter((s): s is Scope => known.has(s)),
    createdAt: row.created_at.toISOString(),
    ...(row.expires_at ? { expiresAt: row.expires_at.toISOString() } : {}),
  };
}

/**
 * Connects to the database at `url` and brings its schema up to date (the same
 * migrations `cog serve --database` runs, so `cog token create` works on a new database).
 */
export async function openPgServiceTokens(opts: { url: string }): Promise<PgServiceTokens> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    // One table read per refresh interval and the odd create or revoke: two are plenty.
    max: 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    // A CLI command must not be kept alive by an idle connection.
    allowExitOnIdle: true,
  });
  const where = `cog_service_tokens in ${redact(opts.url)}`;
  let warnPool: (m: string) => void = (m) => process.stderr.write(`cog: ${m}\n`);
  pool.on('error', (err) => warnPool(`a PostgreSQL connection failed: ${err.message}`));
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`Cannot use the database ${redact(opts.url)}: ${(err as Error).message}`, {
      cause: err,
    });
  }

  const live = async (): Promise<ServiceTokenEntry[]> => {
    const { rows } = await pool.query<Row>(
      `SELECT ${COLUMNS} FROM cog_service_tokens WHERE revoked_at IS NULL ORDER BY created_at, name`,
    );
    return rows.map(entryOf);
  };

  return {
    where,
    async create(name, createOpts) {
      const { token, entry, now } = mintServiceToken(name, createOpts);
      // One statement: a live token of that name wins (nothing changes, no row returned);
      // a revoked one is replaced, as the file store lets a revoked name be reused.
      const { rowCount } = await pool.query(
        `INSERT INTO cog_service_tokens (name, sha256, scopes, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE
           SET sha256 = EXCLUDED.sha256, scopes = EXCLUDED.scopes,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
               revoked_at = NULL
           WHERE cog_service_tokens.revoked_at IS NOT NULL`,
        [
          name,
          Buffer.from(entry.sha256, 'hex'),
          entry.scopes,
          entry.createdAt,
          entry.expiresAt ?? null,
        ],
      );
      if (rowCount !== 1) throw tokenExists(name);
      return { token, info: describeServiceToken(entry, now), where };
    },
    async list(listOpts = {}) {
      const now = (listOpts.now ?? Date.now)();
      return (await live()).map((e) => describeServiceToken(e, now));
    },
    async revoke(name) {
      checkServiceTokenName(name);
      const { rows } = await pool.query<Row>(
        `UPDATE cog_service_tokens SET revoked_at = now()
          WHERE name = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
        [name],
      );
      const row = rows[0];
      if (!row) throw tokenNotFound(name);
      return describeServiceToken(entryOf(row), Date.now());
    },
    async authenticator(authOpts = {}) {
      const refreshMs = authOpts.refreshMs ?? SERVICE_TOKENS_REFRESH_MS;
      const now = authOpts.now ?? Date.now;
      const warn = authOpts.warn ?? ((m: string) => process.stderr.write(`cog: ${m}\n`));
      warnPool = warn;
      let entries: CompiledServiceToken[] = compileServiceTokens(await live());
      // When the read behind `entries` was sent: what it saw was committed before then.
      let readAt = now();
      let failing = false;
      let reading: Promise<void> | undefined;

      const refresh = (): Promise<void> =>
        (reading ??= (async () => {
          const sentAt = now();
          try {
            entries = compileServiceTokens(await live());
            if (failing) warn(`${where} can be read again; service tokens are accepted`);
            failing = false;
          } catch (err) {
            // Fail closed: a table we cannot read might be hiding a revocation. The next
            // attempt waits a refresh interval, so a database that is down is not hammered
            // (nor each request held up) by every request.
            entries = [];
            if (!failing) {
              warn(
                `cannot read ${where} (${(err as Error).message}); refusing every service token until it can`,
              );
            }
            failing = true;
          } finally {
            readAt = sentAt;
            reading = undefined;
          }
        })());

      return async (token) => {
        // Requests only wait for a read when the copy is too old: at most one read per
        // interval per instance, shared by every request that arrives meanwhile.
        if (now() - readAt >= refreshMs) await refresh();
        return matchServiceToken(entries, token, now());
      };
    },
    close: () => pool.end(),
  };
}
