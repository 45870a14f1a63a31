/**
 * Who a request is, once its credentials are checked, and what it may do. Every surface
 * (HTTP, stdio, the CLI) hands the MCP layer an Identity; tokens themselves never go
 * further than the code that verified them.
 */

/**
 * `cog:read`: state, history, trace, process-list, resources. `cog:chat`: send, action,
 * clear, sessions create/delete. `cog:approve`: process-approve, process-cancel.
 */
export const SCOPES = ['cog:read', 'cog:chat', 'cog:approve'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Identity {
  /** What owns sessions: `local:<user>`, `service:<name>`, `oidc:<issuer>#<sub>`. */
  principal: string;
  /** What it may do. The local user and stdio clients hold every scope. */
  scopes: readonly Scope[];
  /** A display name and email from verified claims, for the speaker the nodes see. */
  name?: string;
  email?: string;
  /** How it was verified. */
  via: 'local' | 'service' | 'oidc' | 'none';
}

/**
 * Checks a bearer token: the identity it stands for, or undefined when it is not valid
 * (unknown, expired, revoked, wrong issuer or audience, bad signature). Never throws for a
 * bad token; a verifier that cannot work at all (issuer unreachable) may throw.
 */
export type Authenticator = (token: string) => Promise<Identity | undefined>;

/** The local user of this machine: every scope. */
export function localIdentity(principal: string, via: Identity['via'] = 'local'): Identity {
  return { principal, scopes: SCOPES, via };
}

/** Parses a space- or comma-separated scope list; unknown names are an error. */
export function parseScopes(text: string): Scope[] {
  const names = text.split(/[\s,]+/).filter(Boolean);
  const unknown = names.filter((n) => !(SCOPES as readonly string[]).includes(n));
  if (unknown.length) {
    throw new Error(`unknown scope ${unknown.join(', ')}: use ${SCOPES.join(', ')}`);
  }
  return [...new Set(names as Scope[])];
}

/**
 * A principal-only verifier (the local token, a fixed table) as an Authenticator: the
 * principal it names is the local user's kind, with every scope.
 */
export function verifierAuthenticator(
  verify: (token: string) => string | undefined | Promise<string | undefined>,
): Authenticator {
  return async (token) => {
    const principal = await verify(token);
    return principal ? localIdentity(principal) : undefined;
  };
}

/** Tries each authenticator in order; the first that knows the token decides. */
export function anyOf(...authenticators: Authenticator[]): Authenticator {
  return async (token) => {
    for (const a of authenticators) {
      const identity = await a(token);
      if (identity) return identity;
    }
    return undefined;
  };
}

/**
 * Thrown by an authenticator that cannot decide at all right now (the issuer's keys or its
 * introspection endpoint unreachable): a 503 to try again, not a 401. Its message never
 * holds the token.
 */
export class AuthUnavailableError extends Error {
  override readonly name = 'AuthUnavailableError';
  readonly code = 'auth_unavailable';
}
