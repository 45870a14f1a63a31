import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { SCOPES, type Identity, type Scope } from './identity.js';

/**
 * What every service-token store shares, wherever it keeps the tokens (the file in
 * service-tokens.ts, PostgreSQL in service-tokens-pg.ts): names, minting, hashing, what a
 * listing shows and the constant-time match. Keeping it in one place means the two stores
 * cannot drift apart on what a valid token is or how it is compared.
 */

/** Every service token starts with this, so secret scanners can find a leaked one. */
export const SERVICE_TOKEN_PREFIX = 'cog_svc_';

/** 1–64 of letters, digits, `_`, `.` and `-`: safe in a principal, a log line and a shell. */
export const SERVICE_TOKEN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Why a service-token operation failed; see each code's comment. */
export type ServiceTokenErrorCode =
  | 'service_token_bad_name' // a name outside SERVICE_TOKEN_NAME
  | 'service_token_bad_options' // no scopes, or an expiry that has already passed
  | 'service_token_exists' // create with a name that is taken
  | 'service_token_not_found' // revoke of a name the store does not have
  | 'service_token_file_invalid' // the file is not JSON of the shape below, or not private
  | 'service_token_busy'; // another writer held the file for too long

/** Errors cross bundles: check `code`, not `instanceof`. */
export class ServiceTokenError extends Error {
  override readonly name = 'ServiceTokenError';
  constructor(
    readonly code: ServiceTokenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One stored token, as the file keeps it (the database keeps the same fields). */
export const ServiceTokenEntrySchema = z.strictObject({
  name: z.string().regex(SERVICE_TOKEN_NAME),
  /** Lowercase hex SHA-256 of the whole token string, prefix included. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  scopes: z.array(z.enum(SCOPES)).min(1),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().optional(),
});
/** One stored token: its name, hash, scopes and times, never the token. */
export type ServiceTokenEntry = z.infer<typeof ServiceTokenEntrySchema>;

/** What is shown about a token: everything stored except its hash. */
export interface ServiceTokenInfo {
  name: string;
  principal: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt?: string;
  /** True once `expiresAt` has passed: the token is refused, though still listed. */
  expired: boolean;
}

/** How to make a token. */
export interface CreateOptions {
  scopes: readonly Scope[];
  expiresAt?: Date;
  /** The clock, in ms since the epoch (tests inject one). */
  now?: () => number;
}

/** Throws a `service_token_bad_name` error unless `name` can name a service token. */
export function checkServiceTokenName(name: string): void {
  if (!SERVICE_TOKEN_NAME.test(name)) {
    throw new ServiceTokenError(
      'service_token_bad_name',
      `"${name}" is not a valid service token name: use 1 to 64 letters, digits, "_", "." or "-"`,
    );
  }
}

/**
 * The hash a store keeps. The token carries 32 random bytes (256 bits), so no one can guess
 * it from its hash by trying candidates: a plain SHA-256 is enough, and a salt or a slow
 * password hash (which exist for low-entropy secrets) would only slow every request.
 */
export function hashServiceToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Checks the name and options and makes a new token and the entry to store for it. The
 * random part is independent of the name, so nothing about one token says anything about
 * another. The store decides whether the name is free.
 */
export function mintServiceToken(
  name: string,
  opts: CreateOptions,
): { token: string; entry: ServiceTokenEntry; now: number } {
  checkServiceTokenName(name);
  const now = (opts.now ?? Date.now)();
  if (opts.scopes.length === 0) {
    throw new ServiceTokenError(
      'service_token_bad_options',
      `a service token needs at least one scope: use some of ${SCOPES.join(', ')}`,
    );
  }
  if (opts.expiresAt && opts.expiresAt.getTime() <= now) {
    throw new ServiceTokenError(
      'service_token_bad_options',
      `expiry ${opts.expiresAt.toISOString()} has already passed: give a time in the future`,
    );
  }
  const token = SERVICE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const entry: ServiceTokenEntry = {
    name,
    sha256: hashServiceToken(token).toString('hex'),
    scopes: [...new Set(opts.scopes)],
    createdAt: new Date(now).toISOString(),
    ...(opts.expiresAt ? { expiresAt: opts.expiresAt.toISOString() } : {}),
  };
  return { token, entry, now };
}

/** The error for a create whose name is taken. */
export function tokenExists(name: string): ServiceTokenError {
  return new ServiceTokenError(
    'service_token_exists',
    `a service token named "${name}" already exists: revoke it first (cog token revoke ${name}) or choose another name`,
  );
}

/** The error for a revoke of a name no token has. */
export function tokenNotFound(name: string): ServiceTokenError {
  return new ServiceTokenError(
    'service_token_not_found',
    `there is no service token named "${name}": cog token list shows their names`,
  );
}

/** An entry as listed: everything but the hash, and whether it has expired at `now`. */
export function describeServiceToken(e: ServiceTokenEntry, now: number): ServiceTokenInfo {
  return {
    name: e.name,
    principal: `service:${e.name}`,
    scopes: [...e.scopes],
    createdAt: e.createdAt,
    ...(e.expiresAt ? { expiresAt: e.expiresAt } : {}),
    expired: e.expiresAt !== undefined && now >= Date.parse(e.expiresAt),
  };
}

/** An entry made ready for matching: its hash as bytes and its expiry as a number. */
export interface CompiledServiceToken {
  entry: ServiceTokenEntry;
  hash: Buffer;
  expiresAtMs: number;
}

/** Prepares entries for matchServiceToken, once per load rather than once per request. */
export function compileServiceTokens(
  entries: readonly ServiceTokenEntry[],
): CompiledServiceToken[] {
  return entries.map((entry) => ({
    entry,
    hash: Buffer.from(entry.sha256, 'hex'),
    expiresAtMs: entry.expiresAt ? Date.parse(entry.expiresAt) : Infinity,
  }));
}

/**
 * The identity `token` stands for among `entries`, or undefined (unknown or expired).
 * Compares against every entry, never stopping at a match, so the time taken says nothing
 * about which entry (if any) the token belongs to; hashes, not tokens, are compared, so
 * every comparison is of 32 bytes whatever the token's length.
 */
export function matchServiceToken(
  entries: readonly CompiledServiceToken[],
  token: string,
  now: number,
): Identity | undefined {
  const hash = hashServiceToken(token);
  let match: CompiledServiceToken | undefined;
  for (const candidate of entries) {
    if (timingSafeEqual(hash, candidate.hash) && match === undefined) match = candidate;
  }
  if (!match || now >= match.expiresAtMs) return undefined;
  return {
    principal: `service:${match.entry.name}`,
    scopes: [...match.entry.scopes],
    via: 'service',
  };
}
