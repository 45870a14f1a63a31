import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  localIdentity,
  SCOPES,
  verifierAuthenticator,
  type Authenticator,
  type Identity,
  type Scope,
} from '../../auth/identity.js';
import { hasScope, messageScope } from '../../auth/scopes.js';
import { DEFAULT_PER_PRINCIPAL } from '../../config.js';
import type { TokenVerifier } from '../../auth/tokens.js';
import type { Runtime } from '../../runtime/runtime.js';
import { identityAuthInfo } from '../context.js';
import { classifyValue } from '../stdio-messages.js';
import { DEFAULT_MAX_BODY_BYTES, readJsonBody } from './body.js';
import type { BoundedEventStoreOptions } from './event-store.js';
import {
  allowedHosts,
  checkHostAndOrigin,
  isJsonContentType,
  isLoopbackHost,
  isWildcardHost,
  sendJsonError,
  urlHost,
} from './guards.js';
import { DEFAULT_HTTP_HOST } from './defaults.js';
import { RateLimiter } from './rate-limit.js';
import {
  bearerChallenge,
  hasQueryToken,
  metadataPaths,
  serveMetadata,
  type ProtectedResource,
} from './oauth.js';
import { alignProtocolHeader, SessionRegistry, type HttpSession } from './sessions.js';
import type { WebRoutes } from '../../web/routes.js';

export type HttpAuth =
  /** Bearer tokens, each mapped to the principal it authenticates, with every scope. */
  | { verify: TokenVerifier }
  /**
   * Bearer tokens checked by an Authenticator (OIDC, service tokens, the local token, or
   * `anyOf` them). With `oauth`, Cog is an OAuth 2.1 protected resource: it serves its
   * metadata (RFC 9728) and every 401 points there.
   */
  | { authenticate: Authenticator; oauth?: ProtectedResource }
  /** No token; every client acts as `principal`. Refused on a non-loopback host. */
  | { none: true; principal: string };

export interface HttpServerOptions {
  auth: HttpAuth;
  /**
   * The chat page and its sign-in (server/web/), at `/` beside `/mcp`; a signed-in
   * browser's own requests to `/mcp` are authenticated by its session cookie.
   */
  web?: WebRoutes;
  /** Requests a minute one principal may make, bursts included. Default 600. */
  requestsPerMinute?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port (see the handle's `port`). */
  port?: number;
  maxBodyBytes?: number;
  /** An MCP session with no open request for this long is closed. Default 30 minutes. */
  sessionIdleMs?: number;
  /** Default 100. A new session past it gets 503. */
  maxSessions?: number;
  /** Per-session bound on what is kept for `Last-Event-ID` replay. */
  replay?: BoundedEventStoreOptions;
  /** SSE keep-alive comment interval (the SDK's default, 15 s, when unset). */
  keepAliveMs?: number;
  /** Operational messages (stderr in `cog serve`). Never tokens. */
  log?: (line: string) => void;
}

export interface HttpServerHandle {
  /** The MCP endpoint, e.g. `http://127.0.0.1:7411/mcp` (loopback for a wildcard bind). */
  readonly url: string;
  /** With OAuth: the resource URL tokens must name (`oauth.resource`, else `url`). */
  readonly resource: string | undefined;
  readonly host: string;
  readonly port: number;
  /** MCP sessions open now. */
  sessionCount(): number;
  /** Ends every session and stops listening. The runtime stays the caller's. */
  close(): Promise<void>;
}

export class HttpServerError extends Error {
  override readonly name = 'HttpServerError';
  constructor(
    message: string,
    readonly code: 'insecure_bind' | 'listen_failed' | 'invalid_resource',
  ) {
    super(message);
  }
}

/**
 * Streamable HTTP MCP at `/mcp`: one SDK transport and one Cog MCP server per MCP
 * session, all on the one runtime. Every request passes, in order: Host and Origin
 * (403), path (404; with OAuth the protected-resource metadata is served here, without a
 * token), a token in the query string (400), bearer token (401; 503 when it cannot be
 * checked now), then method, Content-Type (415), body (413, 400; a JSON-RPC batch is a 400
 * too) and the scope the message needs (403 insufficient_scope) before the SDK sees it.
 */
export async function startHttpServer(
  runtime: Runtime,
  opts: HttpServerOptions,
): Promise<HttpServerHandle> {
  const host = opts.host ?? DEFAULT_HTTP_HOST;
  if ('none' in opts.auth && !isLoopbackHost(host)) {
    throw new HttpServerError(
      `refusing to serve ${host} without authentication: --no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost)`,
      'insecure_bind',
    );
  }
  const configured = 'oauth' in opts.auth ? opts.auth.oauth?.resource : undefined;
  if (configured !== undefined && (!URL.canParse(configured) || configured.includes('#'))) {
    throw new HttpServerError(
      `the resource ${configured} is not a URL without a fragment: use e.g. https://cog.example.com/mcp`,
      'invalid_resource',
    );
  }
  const log = opts.log ?? (() => {});
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limiter = new RateLimiter(
    opts.requestsPerMinute ?? DEFAULT_PER_PRINCIPAL.requestsPerMinute,
  );
  const registry = new SessionRegistry({
    runtime,
    idleMs: opts.sessionIdleMs ?? 30 * 60_000,
    maxSessions: opts.maxSessions ?? 100,
    ...(opts.replay ? { events: opts.replay } : {}),
    ...(opts.keepAliveMs !== undefined ? { keepAliveMs: opts.keepAliveMs } : {}),
    log,
  });
  let hosts: ReadonlySet<string> = new Set();
  let publicOrigins: ReadonlySet<string> = new Set();
  const auth = opts.auth;
  const oauth = 'oauth' in auth ? auth.oauth : undefined;
  const authenticator = authenticatorOf(auth);
  // Known once listening (a free port); set before the first request can arrive.
  let resource: string | undefined;
  let wellKnown: ReadonlySet<string> = new Set();

  /** The request's identity, or undefined once it has been answered (401, 503). */
  const authenticate = async (
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Identity | undefined> => {
    if ('none' in auth) return localIdentity(auth.principal, 'none');
    // A browser's own page: its session cookie, when it sends no token.
    const browser = req.headers.authorization === undefined ? opts.web?.identity(req) : undefined;
    if (browser) return browser;
    const match = /^Bearer +([^\s]+) *$/i.exec(req.headers.authorization ?? '');
    let identity: Identity | undefined;
    try {
      identity = match?.[1] ? await authenticator(match[1]) : undefined;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'auth_unavailable') throw err;
      log(`token not checked: ${(err as Error).message}`);
      sendJsonError(res, 503, -32000, 'Service Unavailable: tokens cannot be checked now', {
        'Retry-After': '5',
      });
      return undefined;
    }
    if (identity) return identity;
    // RFC 6750: an error code only when a bearer token was sent; another scheme (Basic)
    // or none at all is "no credentials".
    const scope = oauth ? (oauth.scopesSupported ?? SCOPES).join(' ') : undefined;
    const challenge = bearerChallenge(resource, {
      ...(scope ? { scope } : {}),
      ...(match ? { error: 'invalid_token' as const } : {}),
    });
    sendJsonError(res, 401, -32000, 'Unauthorized: a valid bearer token is required', {
      'WWW-Authenticate': challenge,
    });
    return undefined;
  };

  const serveSession = async (
    req: IncomingMessage & { auth?: AuthInfo },
    res: ServerResponse,
    identity: Identity,
    body?: unknown,
  ) => {
    const principal = identity.principal;
    const sid = req.headers['mcp-session-id'];
    let session: HttpSession | undefined;
    if (typeof sid === 'string') {
      // Not here: perhaps begun on another instance behind the same load balancer.
      session = registry.get(sid, principal) ?? (await registry.restore(identity, sid));
      if (!session) return sendJsonError(res, 404, -32001, 'Session not found');
    } else if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return sendJsonError(
        res,
        400,
        -32000,
        'Bad Request: Mcp-Session-Id header is required (start with an initialize request)',
      );
    } else if (registry.full) {
      return sendJsonError(res, 503, -32000, 'Too many MCP sessions: end one (DELETE) first', {
        'Retry-After': '60',
      });
    } else {
      session = await registry.open(identity, (body as { params?: unknown }).params);
    }
    // This request's own identity, for the tool-kit's scope check (context.ts).
    req.auth = identityAuthInfo(identity);
    registry.track(session, res);
    alignProtocolHeader(req, session);
    await session.transport.handleRequest(req, res, body);
    registry.discardIfUninitialized(session);
    // Ended by its client: ended on every instance.
    if (req.method === 'DELETE' && session.id) await runtime.sharedMcp?.delete(session.id);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!checkHostAndOrigin(req, res, hosts, publicOrigins)) return;
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (oauth && resource && wellKnown.has(path)) return serveMetadata(req, res, resource, oauth);
    if (path !== '/mcp' && opts.web && (await opts.web.handle(req, res, path))) return;
    if (path !== '/mcp') return sendJsonError(res, 404, -32000, 'Not Found: the endpoint is /mcp');
    if (hasQueryToken(req.url)) {
      return sendJsonError(
        res,
        400,
        -32000,
        'Bad Request: a token in the URL is never accepted: send it as Authorization: Bearer',
        { 'WWW-Authenticate': bearerChallenge(resource, { error: 'invalid_request' }) },
      );
    }
    const identity = await authenticate(req, res);
    if (!identity) return;
    const wait = limiter.take(identity.principal);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      return sendJsonError(
        res,
        429,
        -32000,
        `Too Many Requests: ${limiter.perMinute} a minute per principal; retry in ${seconds} s`,
        { 'Retry-After': String(seconds) },
      );
    }
    // The GET stream carries every event of the principal's sessions: reading them.
    if (req.method === 'GET' && !hasScope(identity, 'cog:read')) {
      return refuseScope(res, 'cog:read', null);
    }
    if (req.method === 'GET' || req.method === 'DELETE') return serveSession(req, res, identity);
    if (req.method !== 'POST') {
      return sendJsonError(res, 405, -32000, 'Method Not Allowed', { Allow: 'GET, POST, DELETE' });
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      return sendJsonError(
        res,
        415,
        -32000,
        'Unsupported Media Type: Content-Type must be application/json',
      );
    }
    const body = await readJsonBody(req, maxBody);
    if (!body.ok) return sendJsonError(res, body.status, body.code, body.message);
    // The SDK answers JSON that is not JSON-RPC with -32700 (it is -32600 Invalid Request)
    // and runs the members of a batch: both are refused here, before it sees them.
    const c = classifyValue(body.value, 'POST');
    if (c.kind === 'error') {
      const { error, id } = c.reply;
      return sendJsonError(res, 400, error.code, error.message, {}, id);
    }
    // Scopes are checked here, before the SDK parses the message, so that a call without
    // its scope runs nothing; the tool-kit checks tools again for every transport.
    const needed = messageScope(c.message);
    if (needed && !hasScope(identity, needed)) {
      return refuseScope(res, needed, 'id' in c.message ? (c.message.id ?? null) : null);
    }
    return serveSession(req, res, identity, body.value);
  };

  const refuseScope = (res: ServerResponse, needed: Scope, id: string | number | null) =>
    sendJsonError(
      res,
      403,
      -32000,
      `Forbidden: this needs the scope ${needed}, which the token does not grant`,
      {
        'WWW-Authenticate': bearerChallenge(resource, {
          error: 'insufficient_scope',
          scope: needed,
        }),
      },
      id,
    );

  // Node would answer a missing Host with its own empty 400; ours is a JSON-RPC 403.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`request failed: ${err instanceof Error ? err.message : String(err)}`);
      sendJsonError(res, 500, -32603, 'Internal error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${urlHost(host)}:${opts.port ?? 0}`;
      reject(
        new HttpServerError(
          err.code === 'EADDRINUSE'
            ? `${where} is already in use: choose another --port (0 picks a free one)`
            : `cannot listen on ${where}: ${err.code ?? err.message}`,
          'listen_failed',
        ),
      );
    };
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(host, port);
  // Behind a load balancer clients name the public URL (the OAuth resource, --audience):
  // its host is this server's too, and a page served from it may call it.
  if (configured !== undefined) {
    const publicUrl = new URL(configured);
    hosts = new Set([...hosts, publicUrl.host.toLowerCase()]);
    publicOrigins = new Set([publicUrl.origin.toLowerCase()]);
  }
  const shown = isWildcardHost(host) ? DEFAULT_HTTP_HOST : urlHost(host);
  const url = `http://${shown}:${port}/mcp`;
  if (oauth) {
    resource = oauth.resource ?? url;
    wellKnown = metadataPaths(resource);
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    resource,
    host,
    port,
    sessionCount: () => registry.size,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await registry.closeAll();
        server.closeAllConnections();
        await stopped;
      })()),
  };
}

/** What checks a bearer token; `none` takes no token, so it knows none. */
function authenticatorOf(auth: HttpAuth): Authenticator {
  if ('authenticate' in auth) return auth.authenticate;
  if ('verify' in auth) return verifierAuthenticator(auth.verify);
  return async () => undefined;
}
