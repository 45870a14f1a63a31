import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SCOPES, parseScopes, type Scope } from '../auth/identity.js';
import type { CreateOptions, ServiceTokenInfo } from '../auth/service-token-core.js';
import {
  createServiceToken,
  listServiceTokens,
  revokeServiceToken,
  serviceTokensFile,
} from '../auth/service-tokens.js';
import { loadOrCreateLocalToken } from '../auth/tokens.js';
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from '../mcp/http/defaults.js';
import { redact } from '../store/pg-store.js';
import { commandHelpText } from './help.js';

/** A user error in the arguments: exit code 2, the message says what to do. */
class TokenUsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

/** Store errors that are the user's to fix in the command line, hence exit code 2. */
const USAGE_CODES = new Set([
  'usage',
  'service_token_bad_name',
  'service_token_bad_options',
  'service_token_exists',
  'service_token_not_found',
]);

const UNITS_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;
const DURATION = /^(\d{1,6})([dhm])$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Parses `--expires`: a duration from now (`30d`, `12h`, `90m`) or an ISO date
 * (`2027-01-31`, midnight UTC) or date-time (`2027-01-31T12:00:00Z`).
 */
export function parseExpires(text: string, now = Date.now()): Date {
  const usage = () =>
    new TokenUsageError(
      `--expires ${text} is not a duration or a date: use e.g. 30d, 12h, 90m or 2027-01-31`,
    );
  const duration = DURATION.exec(text);
  if (duration) {
    const ms = Number(duration[1]) * UNITS_MS[duration[2] as keyof typeof UNITS_MS];
    if (ms === 0) throw new TokenUsageError(`--expires ${text} is no time at all: use e.g. 30d`);
    return new Date(now + ms);
  }
  const iso = ISO.exec(text);
  const date = new Date(text);
  if (!iso || Number.isNaN(date.getTime())) throw usage();
  // The Date parser rolls 2027-02-30 over into March; a typo should not expire a token late.
  const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  if (day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) throw usage();
  return date;
}

function scopesOf(text: string | undefined): Scope[] {
  if (text === undefined) return [...SCOPES];
  try {
    const scopes = parseScopes(text);
    if (scopes.length) return scopes;
  } catch (err) {
    throw new TokenUsageError(`--scopes: ${(err as Error).message}`);
  }
  throw new TokenUsageError(`--scopes is empty: name some of ${SCOPES.join(', ')}`);
}

function asJson(info: ServiceTokenInfo) {
  return { ...info, expiresAt: info.expiresAt ?? null };
}

function table(tokens: ServiceTokenInfo[]): string {
  const rows = [
    ['NAME', 'SCOPES', 'CREATED', 'EXPIRES', 'EXPIRED'],
    ...tokens.map((t) => [
      t.name,
      t.scopes.join(','),
      t.createdAt,
      t.expiresAt ?? 'never',
      t.expired ? 'yes' : 'no',
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** What `cog token` needs of its configuration. */
export interface TokenConfig {
  home: string;
  /** With one, the tokens are in this database's cog_service_tokens, not in the home. */
  databaseUrl?: string | undefined;
}

/** The file or the database, behind the three operations the command uses. */
interface TokenStore {
  /** For JSON output: `{"file": path}` or `{"database": url without password}`. */
  location: Record<string, string>;
  /** For messages: the file's path, or the table and database. */
  where: string;
  create(name: string, opts: CreateOptions): Promise<{ token: string; info: ServiceTokenInfo }>;
  list(): Promise<ServiceTokenInfo[]>;
  revoke(name: string): Promise<ServiceTokenInfo>;
  close(): Promise<void>;
}

async function openStore(config: TokenConfig): Promise<TokenStore> {
  const file = serviceTokensFile(config.home);
  if (!config.databaseUrl) {
    return {
      location: { file },
      where: file,
      create: async (name, opts) => createServiceToken(config.home, name, opts),
      list: async () => listServiceTokens(config.home),
      revoke: async (name) => revokeServiceToken(config.home, name),
      close: async () => {},
    };
  }
  if (existsSync(file)) {
    // Not merged: a token revoked in the database must not live on in one home's file.
    process.stderr.write(
      `cog: ${file} is not used: with a database the service tokens are in it; recreate them there and delete the file\n`,
    );
  }
  const { openPgServiceTokens } = await import('../auth/service-tokens-pg.js');
  const db = await openPgServiceTokens({ url: config.databaseUrl });
  return {
    location: { database: redact(config.databaseUrl) },
    where: db.where,
    create: (name, opts) => db.create(name, opts),
    list: () => db.list(),
    revoke: (name) => db.revoke(name),
    close: () => db.close(),
  };
}

/**
 * `cog token local`: an MCP client configuration holding the local user's token, on stdout
 * only, for pasting into a client. cog serve itself never prints the token: its stderr is
 * often a log.
 */
function printLocalClientConfig(config: TokenConfig, url: string | undefined): number {
  const endpoint = url ?? `http://${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}/mcp`;
  if (!URL.canParse(endpoint)) usage(`--url ${endpoint} is not a URL`);
  const { token } = loadOrCreateLocalToken(config.home);
  const client = {
    mcpServers: {
      cog: { type: 'http', url: endpoint, headers: { Authorization: `Bearer ${token}` } },
    },
  };
  process.stdout.write(`${JSON.stringify(client, null, 2)}\n`);
  return 0;
}

function usage(message: string): never {
  throw new TokenUsageError(`${message}. Run cog token --help.`);
}

/**
 * `cog token create NAME | list | revoke NAME`: the service tokens of the database when one
 * is configured (`--database URL`, COG_DATABASE_URL or config.json's databaseUrl), else of
 * `<COG_HOME>/service-tokens.json`. `configFor` loads the configuration with `--database`
 * (if given) standing in for COG_DATABASE_URL. A created token goes to stdout once (so
 * `TOKEN=$(cog token create ci)` works) and is never shown again; everything else is said
 * on stderr.
 */
export async function runToken(
  args: string[],
  configFor: (database: string | undefined) => Promise<TokenConfig>,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      scopes: { type: 'string' },
      expires: { type: 'string' },
      database: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(commandHelpText('token') ?? '');
    return 0;
  }
  const [action, ...names] = positionals;
  if (action === 'local') return printLocalClientConfig(await configFor(undefined), values.url);
  if (values.url !== undefined) usage('--url belongs to cog token local');
  let store: TokenStore | undefined;
  try {
    if (action !== 'create' && (values.scopes !== undefined || values.expires !== undefined)) {
      usage('--scopes and --expires belong to cog token create');
    }
    if (action !== 'create' && action !== 'list' && action !== 'revoke') {
      return usage(
        action === undefined
          ? 'cog token needs an action: create NAME, list, revoke NAME or local'
          : `unknown token action "${action}": use create, list, revoke or local`,
      );
    }
    if (action === 'list' && names.length) usage('cog token list takes no NAME');
    if (action !== 'list' && names.length !== 1) usage(`cog token ${action} needs one NAME`);
    store = await openStore(await configFor(values.database));
    switch (action) {
      case 'create': {
        const name = names[0] ?? '';
        const now = Date.now(); // one clock reading: "30d" means 30 days after createdAt
        const created = await store.create(name, {
          scopes: scopesOf(values.scopes),
          now: () => now,
          ...(values.expires !== undefined ? { expiresAt: parseExpires(values.expires, now) } : {}),
        });
        const { info } = created;
        if (values.json) {
          const out = { ...asJson(info), token: created.token, ...store.location };
          process.stdout.write(`${JSON.stringify(out)}\n`);
        } else {
          process.stdout.write(`${created.token}\n`);
        }
        process.stderr.write(
          `Created service token "${name}" for ${info.principal} (scopes ${info.scopes.join(', ')}; ` +
            `expires ${info.expiresAt ?? 'never'}). It will not be shown again: ` +
            `only its SHA-256 hash is stored, in ${store.where}.\n`,
        );
        return 0;
      }
      case 'list': {
        const tokens = await store.list();
        if (values.json) {
          const out = { ...store.location, tokens: tokens.map(asJson) };
          process.stdout.write(`${JSON.stringify(out)}\n`);
        } else if (tokens.length === 0) {
          process.stdout.write('No service tokens.\n');
        } else {
          process.stdout.write(`${table(tokens)}\n`);
        }
        return 0;
      }
      default: {
        // revoke, the only action left
        const info = await store.revoke(names[0] ?? '');
        process.stdout.write(
          values.json
            ? `${JSON.stringify({ revoked: asJson(info) })}\n`
            : `Revoked service token "${info.name}".\n`,
        );
        return 0;
      }
    }
  } catch (err) {
    const code = String((err as { code?: unknown }).code);
    if (!USAGE_CODES.has(code)) throw err;
    process.stderr.write(`cog: ${(err as Error).message}\n`);
    return 2;
  } finally {
    await store?.close();
  }
}
