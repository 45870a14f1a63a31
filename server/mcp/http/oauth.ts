import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCOPES, type Scope } from '../../auth/identity.js';
import { sendJsonError } from './guards.js';

/**
 * Cog as an OAuth 2.1 protected resource (RFC 9728, as the MCP authorization spec of
 * 2025-11-25 asks): what its metadata document says.
 */
export interface ProtectedResource {
  /** Issuer identifiers of the authorization servers whose tokens are accepted. */
  authorizationServers: string[];
  /** Advertised in the metadata and in 401 challenges. Default: every Cog scope. */
  scopesSupported?: readonly Scope[];
  /**
   * The resource's canonical URL, which tokens name as their audience. Default: the
   * server's own `/mcp` URL. Set it to the public URL behind a proxy.
   */
  resource?: string;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** Where a client finds the metadata of `resource`: the well-known path with its path appended. */
export function metadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}${WELL_KNOWN}${path}`;
}

/**
 * The paths this server answers with the metadata: the bare well-known path, the one for
 * `/mcp` and the one for the configured resource's own path (when a proxy maps it).
 */
export function metadataPaths(resource: string): Set<string> {
  return new Set([WELL_KNOWN, `${WELL_KNOWN}/mcp`, new URL(metadataUrl(resource)).pathname]);
}

/** The RFC 9728 document. */
export function metadataDocument(resource: string, oauth: ProtectedResource) {
  return {
    resource,
    authorization_servers: oauth.authorizationServers,
    scopes_supported: [...(oauth.scopesSupported ?? SCOPES)],
    bearer_methods_supported: ['header'],
    resource_name: 'Cog',
  };
}

/** GET of the metadata: public (no token), cacheable for a while, JSON. */
export function serveMetadata(
  req: IncomingMessage,
  res: ServerResponse,
  resource: string,
  oauth: ProtectedResource,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJsonError(res, 405, -32000, 'Method Not Allowed', { Allow: 'GET, HEAD' });
  }
  const body = JSON.stringify(metadataDocument(resource, oauth));
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'public, max-age=300',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface Challenge {
  /** RFC 6750 error code: a token was sent and is not valid, or lacks a scope. */
  error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request';
  description?: string;
  /** The scopes to ask for: the missing one, or (on a 401) every supported one. */
  scope?: string;
}

/**
 * A `WWW-Authenticate: Bearer` value. With OAuth it points at the metadata
 * (`resource_metadata`), so that a client can find the authorization server; without it
 * (the local token only) it names the realm.
 */
export function bearerChallenge(resource: string | undefined, c: Challenge = {}): string {
  const params: string[] = resource
    ? [`resource_metadata="${metadataUrl(resource)}"`]
    : ['realm="cog"'];
  if (c.scope) params.push(`scope="${c.scope}"`);
  if (c.error) params.push(`error="${c.error}"`);
  if (c.description) params.push(`error_description="${c.description}"`);
  return `Bearer ${params.join(', ')}`;
}

/**
 * True when the request URL carries an `access_token` query parameter. RFC 6750's URI
 * method is refused outright (the MCP spec forbids it): tokens in URLs end up in logs,
 * histories and Referer headers.
 */
export function hasQueryToken(rawUrl: string | undefined): boolean {
  const q = (rawUrl ?? '').indexOf('?');
  if (q < 0) return false;
  return new URLSearchParams((rawUrl ?? '').slice(q + 1)).has('access_token');
}
