/**
 * How a configured server says it wants OAuth: a `401` whose `WWW-Authenticate: Bearer`
 * names its protected-resource metadata (RFC 9728), as the MCP authorization spec asks.
 * vscode-free, so it tests in plain Node.
 */

/** What the metadata tells a client that is about to sign in. */
export interface ResourceAuth {
  /** The resource tokens must name (their audience): the PRM's `resource`. */
  resource: string;
  /** The authorization server to sign in at (the first of `authorization_servers`). */
  issuer: string;
  /** `scopes_supported`, empty when the document does not say. */
  scopes: string[];
}

/** The server answered in a way no sign-in can fix; the message is for the user. */
export class OAuthDiscoveryError extends Error {
  override readonly name = 'OAuthDiscoveryError';
  readonly code = 'oauth_discovery';
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
const TIMEOUT_MS = 10_000;

/** The `resource_metadata` parameter of a `WWW-Authenticate: Bearer …` value, if any. */
export function resourceMetadataOf(header: string | null): string | undefined {
  if (!header || !/^\s*Bearer\b/i.test(header)) return undefined;
  return /\bresource_metadata="([^"]+)"/i.exec(header)?.[1];
}

/** Where RFC 9728 puts the metadata of `resource`: the well-known path, the resource's path appended. */
export function wellKnownMetadataUrl(resource: URL): URL {
  const path = resource.pathname === '/' ? '' : resource.pathname;
  return new URL(`${resource.origin}${WELL_KNOWN}${path}`);
}

/**
 * Asks `serverUrl` (its MCP endpoint) without a token. Resolves with the OAuth details when
 * it answers 401 and publishes protected-resource metadata, and undefined when it does not
 * (no auth at all, or a plain bearer token is what it wants).
 */
export async function probeServer(
  serverUrl: URL,
  signal?: AbortSignal,
): Promise<ResourceAuth | undefined> {
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const res = await fetch(serverUrl, {
    method: 'GET',
    headers: { accept: 'text/event-stream' },
    redirect: 'error',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  }).catch((err: unknown) => {
    throw new OAuthDiscoveryError(`${serverUrl.origin} did not answer: ${causeOf(err)}`);
  });
  await res.body?.cancel();
  if (res.status !== 401) return undefined;
  const named = resourceMetadataOf(res.headers.get('www-authenticate'));
  if (named) return fetchMetadata(serverUrl, new URL(named, serverUrl), signal);
  // A 401 without the pointer: the well-known place is still worth one look.
  return fetchMetadata(serverUrl, wellKnownMetadataUrl(serverUrl), signal, { optional: true });
}

async function fetchMetadata(
  serverUrl: URL,
  at: URL,
  signal: AbortSignal | undefined,
  { optional = false } = {},
): Promise<ResourceAuth | undefined> {
  // The metadata decides where the user's token goes: only the server's own origin may say.
  if (at.origin !== serverUrl.origin) {
    throw new OAuthDiscoveryError(
      `${serverUrl.origin} points to its sign-in metadata at another origin (${at.origin}); Cog does not follow it.`,
    );
  }
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const res = await fetch(at, {
    headers: { accept: 'application/json' },
    redirect: 'error',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  }).catch((err: unknown) => {
    throw new OAuthDiscoveryError(`cannot read ${at.href}: ${causeOf(err)}`);
  });
  if (!res.ok) {
    await res.body?.cancel();
    if (optional) return undefined;
    throw new OAuthDiscoveryError(`${at.href} answered ${res.status}, not the server's metadata.`);
  }
  const doc = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  return parseMetadata(serverUrl, doc);
}

/** The parts of a PRM document sign-in needs, checked; throws with what is wrong. */
export function parseMetadata(serverUrl: URL, doc: unknown): ResourceAuth {
  const d = (doc && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
  const resource = typeof d.resource === 'string' && URL.canParse(d.resource) ? d.resource : '';
  const servers = Array.isArray(d.authorization_servers) ? d.authorization_servers : [];
  const issuer = servers.find((s): s is string => typeof s === 'string' && URL.canParse(s));
  if (!resource || !issuer) {
    throw new OAuthDiscoveryError(
      `${serverUrl.origin}'s metadata names no resource or no authorization server.`,
    );
  }
  // RFC 9728 §3.3: the resource must be the one asked; a token for another is not ours to get.
  if (new URL(resource).origin !== serverUrl.origin) {
    throw new OAuthDiscoveryError(
      `${serverUrl.origin}'s metadata is for another resource (${resource}); check cog.serverUrl.`,
    );
  }
  const scopes = Array.isArray(d.scopes_supported)
    ? d.scopes_supported.filter((s): s is string => typeof s === 'string')
    : [];
  return { resource, issuer, scopes };
}

function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
