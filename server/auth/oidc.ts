import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import {
  allowInsecureRequests,
  ClientSecretBasic,
  discovery,
  None,
  tokenIntrospection,
  type Configuration,
} from 'openid-client';
import {
  AuthUnavailableError,
  SCOPES,
  type Authenticator,
  type Identity,
  type Scope,
} from './identity.js';
import { VerifiedTokenCache } from './verified-cache.js';

/** Signature algorithms an access token may use: asymmetric only, never `none` or HS*. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export interface OidcAuthenticatorOptions {
  /** The issuer identifier; its discovery document says where its keys are. */
  issuer: string;
  /**
   * The audience a token must name: Cog's canonical resource URL. A function when it is
   * only known once the server listens (a free port); it is read per token.
   */
  audience: string | (() => string);
  /** Scopes a token must all carry to be accepted at all. Default: none. */
  requiredScopes?: readonly Scope[];
  /** Leeway for `exp` and `nbf`, in seconds. Default 30. */
  clockToleranceSec?: number;
  /** Accepted JWS algorithms; each must be asymmetric. Default RS256, PS256, ES256, EdDSA. */
  algorithms?: readonly string[];
  /**
   * Client credentials for the issuer's introspection endpoint, for opaque (non-JWT)
   * tokens. Without them, or when the issuer has no such endpoint, opaque tokens are
   * refused.
   */
  introspection?: { clientId: string; clientSecret: string };
  /** Timeout of each request to the issuer (discovery, keys, introspection). Default 10 s. */
  timeoutMs?: number;
  /**
   * How long a verified JWT is taken again without a new signature check (never past its
   * `exp`), in ms; 0 checks every time. Default 60 s. Opaque tokens are introspected on
   * every request, so a revocation counts at once.
   */
  verifiedCacheMs?: number;
  /** The clock, in ms since the epoch; tests move it. Default Date.now. */
  now?: () => number;
}

/** Thrown at startup when the issuer cannot be used: its message says what to fix. */
export class OidcConfigError extends Error {
  override readonly name = 'OidcConfigError';
  readonly code = 'oidc_config';
}

/**
 * Verifies access tokens of one OAuth 2.1 / OpenID Connect issuer, for Cog as a resource
 * server (MCP authorization, 2025-11-25). The issuer is discovered now, with openid-client;
 * a failure throws an OidcConfigError. Then, per token:
 *
 * - a JWT is verified locally with jose against the issuer's JWKS (fetched on first use,
 *   cached, fetched again at most every 30 s for an unknown `kid`): signature with an
 *   allowed asymmetric algorithm, `iss` exactly the issuer, `aud` naming the audience,
 *   `exp` present and `nbf` honoured with `clockToleranceSec` leeway, and `sub`; the same
 *   token is then taken for up to `verifiedCacheMs` without a new check (never past `exp`);
 * - anything else (an opaque token) is introspected, when the issuer has an introspection
 *   endpoint and credentials for it are configured: it must be active, of this issuer,
 *   for this audience and in its time window. Otherwise it is refused.
 *
 * A token bound to a key (a `cnf` claim: DPoP, mTLS) is refused: Cog checks no proof of
 * possession, so accepting one as a bearer token would defeat its binding. There is no
 * userinfo fallback. The identity is `oidc:<issuer>#<sub>`, its scopes the token's `scope`
 * that are Cog's. The token is never logged nor put in an error.
 */
export async function createOidcAuthenticator(
  opts: OidcAuthenticatorOptions,
): Promise<Authenticator> {
  const algorithms = [...(opts.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA'])];
  const bad = algorithms.filter((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
  if (bad.length || algorithms.length === 0) {
    throw new OidcConfigError(
      `algorithm ${bad.join(', ') || '(none)'} is not allowed for access tokens: use ${ASYMMETRIC_ALGORITHMS.join(', ')}`,
    );
  }
  const tolerance = opts.clockToleranceSec ?? 30;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const config = await discover(opts, timeoutMs);
  const meta = config.serverMetadata();
  const issuer = meta.issuer;
  const given = opts.audience;
  const audience = typeof given === 'string' ? () => given : given;

  const jwks = meta.jwks_uri
    ? createRemoteJWKSet(checkedUrl(meta.jwks_uri, opts.issuer, 'jwks_uri'), {
        timeoutDuration: timeoutMs,
      })
    : undefined;
  const endpoint = opts.introspection ? meta.introspection_endpoint : undefined;
  if (endpoint) checkedUrl(endpoint, opts.issuer, 'introspection_endpoint');
  const introspect = endpoint !== undefined;
  if (!jwks && !introspect) {
    throw new OidcConfigError(
      `the issuer ${issuer} has no jwks_uri, and opaque tokens cannot be introspected (${meta.introspection_endpoint ? 'set COG_OIDC_CLIENT_ID and COG_OIDC_CLIENT_SECRET' : 'it has no introspection endpoint'}): no token could be verified`,
    );
  }

  const accept = (claims: Record<string, unknown>): Identity | undefined => {
    if (claims.cnf !== undefined) return undefined;
    const identity = identityFromClaims(issuer, claims);
    if (!identity) return undefined;
    const required = opts.requiredScopes ?? [];
    return required.every((s) => identity.scopes.includes(s)) ? identity : undefined;
  };

  const now = opts.now ?? Date.now;
  const verified = new VerifiedTokenCache(opts.verifiedCacheMs ?? 60_000, now);

  return async (token) => {
    if (JWS_COMPACT.test(token)) {
      if (!jwks) return undefined;
      const aud = audience();
      const seen = verified.get(token, aud);
      if (seen) return accept(seen);
      const claims = await verifyJwt(token, jwks, {
        issuer,
        audience: aud,
        algorithms,
        clockTolerance: tolerance,
        currentDate: new Date(now()),
      });
      if (!claims) return undefined;
      verified.set(token, aud, claims, tolerance);
      return accept(claims);
    }
    if (!introspect) return undefined;
    const claims = await introspectToken(config, token);
    return claims && activeFor(claims, issuer, audience(), tolerance, now())
      ? accept(claims)
      : undefined;
  };
}

/** Three base64url segments: a compact JWS (the signature empty for `alg: none`). */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** jose error codes that mean "this token is not valid"; any other is the issuer's trouble. */
const INVALID_TOKEN_CODES = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWK_INVALID',
]);

async function verifyJwt(
  token: string,
  jwks: JWTVerifyGetKey,
  checks: Required<
    Pick<JWTVerifyOptions, 'issuer' | 'audience' | 'algorithms' | 'clockTolerance' | 'currentDate'>
  >,
): Promise<Record<string, unknown> | undefined> {
  try {
    const { payload } = await jwtVerify(token, jwks, { ...checks, requiredClaims: ['exp', 'sub'] });
    return payload;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && INVALID_TOKEN_CODES.has(code)) return undefined;
    throw unavailable('its signing keys (jwks_uri)', err);
  }
}

async function introspectToken(
  config: Configuration,
  token: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await tokenIntrospection(config, token, { token_type_hint: 'access_token' });
    return r.active === true ? { ...r } : undefined;
  } catch (err) {
    throw unavailable('its introspection endpoint', err);
  }
}

/** An introspection answer is for this resource and within its time window. */
function activeFor(
  claims: Record<string, unknown>,
  issuer: string,
  audience: string,
  tolerance: number,
  nowMs: number,
): boolean {
  if (claims.iss !== undefined && claims.iss !== issuer) return false;
  const aud = claims.aud;
  const auds = Array.isArray(aud) ? aud : [aud];
  if (!auds.includes(audience)) return false;
  const now = nowMs / 1000;
  if (typeof claims.exp === 'number' && now > claims.exp + tolerance) return false;
  if (typeof claims.nbf === 'number' && now < claims.nbf - tolerance) return false;
  const type = claims.token_type;
  return type === undefined || (typeof type === 'string' && type.toLowerCase() === 'bearer');
}

/**
 * The identity verified claims stand for: `sub` (or, for an introspected client-credentials
 * token without one, `client_id`), Cog's scopes among `scope` (or an `scp` array, as some
 * issuers send), and a display name and email when the claims have them.
 */
export function identityFromClaims(
  issuer: string,
  claims: Record<string, unknown>,
): Identity | undefined {
  const sub = text(claims.sub, 255) ?? text(claims.client_id, 255);
  if (!sub) return undefined;
  const granted =
    typeof claims.scope === 'string'
      ? claims.scope.split(' ')
      : Array.isArray(claims.scp)
        ? claims.scp.filter((s): s is string => typeof s === 'string')
        : [];
  const scopes = SCOPES.filter((s) => granted.includes(s));
  const name = text(claims.name, 200) ?? text(claims.preferred_username, 200);
  const email = text(claims.email, 320);
  return {
    principal: `oidc:${issuer}#${sub}`,
    scopes,
    ...(name ? { name } : {}),
    ...(email ? { email } : {}),
    via: 'oidc',
  };
}

/** A non-empty string of at most `max` characters without control characters. */
function text(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const clean = value.replace(/\p{Cc}/gu, '').trim();
  return clean && clean.length <= max ? clean : undefined;
}

async function discover(opts: OidcAuthenticatorOptions, timeoutMs: number): Promise<Configuration> {
  const issuer = checkedUrl(opts.issuer, opts.issuer, '--issuer');
  const creds = opts.introspection;
  const options = {
    timeout: Math.ceil(timeoutMs / 1000),
    // Plain http only for an issuer on this machine (development, tests).
    execute: issuer.protocol === 'http:' ? [allowInsecureRequests] : [],
  };
  let firstError: unknown;
  // OpenID Connect discovery first, then RFC 8414 metadata for a plain OAuth server.
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      return await discovery(
        issuer,
        creds?.clientId ?? 'cog-resource-server',
        creds ? { client_secret: creds.clientSecret } : undefined,
        creds ? ClientSecretBasic(creds.clientSecret) : None(),
        { ...options, algorithm },
      );
    } catch (err) {
      firstError ??= err;
    }
  }
  throw new OidcConfigError(
    `cannot discover the issuer ${issuer.href}: ${reason(firstError)}. Check --issuer (COG_OIDC_ISSUER): ` +
      'its /.well-known/openid-configuration (or oauth-authorization-server) must answer with that issuer',
  );
}

/** An https URL, or http on a loopback host; anything else is refused at startup. */
function checkedUrl(value: string, issuer: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OidcConfigError(`${what} ${value} is not a URL (issuer ${issuer})`);
  }
  const loopback = /^(localhost|127(\.\d+){3}|\[::1\])$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new OidcConfigError(
      `${what} ${value} must be https (plain http only on a loopback address)`,
    );
  }
  return url;
}

function unavailable(what: string, err: unknown): AuthUnavailableError {
  return new AuthUnavailableError(`the issuer cannot verify tokens now: ${what}: ${reason(err)}`);
}

/** A cause's message, never a request body: what the issuer answered or the network said. */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message}${cause}`.slice(0, 300);
}
