import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import Provider, { errors, type ClientMetadata } from 'oidc-provider';

/** The clients the test issuer knows; each authenticates with `client_secret_basic`. */
export const CLIENTS = {
  /** Gets JWT access tokens (RFC 9068) by the client-credentials grant. */
  agent: { id: 'agent', secret: 'agent-secret-0123456789' },
  /** Gets opaque access tokens, which a resource server must introspect. */
  opaque: { id: 'agent-opaque', secret: 'opaque-secret-0123456789' },
  /** Gets JWTs that carry a display name and an email, as a signed-in user's would. */
  named: { id: 'agent-named', secret: 'named-secret-0123456789' },
  /** Cog itself, for the introspection endpoint only. */
  cog: { id: 'cog', secret: 'cog-introspection-secret-0123456789' },
} as const;

export const COG_SCOPES = 'cog:read cog:chat cog:approve';

export interface TestIssuer {
  /** The issuer identifier, `http://127.0.0.1:<port>`. */
  readonly issuer: string;
  /** The provider's own RS256 signing key and its kid, for tokens forged to test one check. */
  readonly signingKey: CryptoKey;
  readonly kid: string;
  /** The public half, as the JWKS publishes it. */
  readonly publicJwk: JWK;
  /** An access token from the real token endpoint (client-credentials grant). */
  token(opts: { resource: string; scope: string; client?: keyof typeof CLIENTS }): Promise<string>;
  /** Requests served so far, by path (discovery, jwks, token, introspection). */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (`oidc-provider` 8, which supports Node 20) on a free loopback
 * port, with an RSA key generated now. Every resource indicator is a resource server with
 * Cog's three scopes: JWT access tokens for `agent` and `agent-named`, opaque ones for
 * `agent-opaque`; introspection is on.
 */
export async function startTestIssuer(): Promise<TestIssuer> {
  const http: Server = createServer();
  const sockets = new Set<Socket>();
  http.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const kid = 'test-signing-key';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };

  const client = (c: { id: string; secret: string }, grants: string[]): ClientMetadata => ({
    client_id: c.id,
    client_secret: c.secret,
    grant_types: grants,
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: COG_SCOPES,
  });
  const provider = new Provider(issuer, {
    jwks: { keys: [privateJwk] },
    clients: [
      client(CLIENTS.agent, ['client_credentials']),
      client(CLIENTS.opaque, ['client_credentials']),
      client(CLIENTS.named, ['client_credentials']),
      client(CLIENTS.cog, []),
    ],
    scopes: COG_SCOPES.split(' '),
    cookies: { keys: ['test-cookie-key-not-secret'] },
    ttl: { AccessToken: 300, ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Only Cog, the resource server, may introspect.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, c) => c.clientId === CLIENTS.cog.id,
      },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx, resource, c) => {
          if (!URL.canParse(resource)) throw new errors.InvalidTarget();
          return {
            scope: COG_SCOPES,
            accessTokenTTL: 300,
            accessTokenFormat: c.clientId === CLIENTS.opaque.id ? 'opaque' : 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: (ctx) =>
      ctx.oidc.client?.clientId === CLIENTS.named.id
        ? { name: 'Ada Lovelace', email: 'ada@example.com' }
        : undefined,
  });
  // Keep oidc-provider's own error logging out of the test output; answers are checked.
  provider.on('server_error', () => {});
  const hits = new Map<string, number>();
  const callback = provider.callback();
  http.on('request', (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    void callback(req, res);
  });

  return {
    issuer,
    signingKey: privateKey,
    kid,
    publicJwk,
    hits,
    async token({ resource, scope, client = 'agent' }) {
      const c = CLIENTS[client];
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }),
      });
      const body = (await res.json()) as { access_token?: string; error?: string };
      if (!res.ok || !body.access_token) {
        throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
      }
      return body.access_token;
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** A server whose discovery document names another issuer than its own URL. */
export async function startLyingIssuer(): Promise<{ issuer: string; close(): Promise<void> }> {
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ issuer: 'https://someone-else.example', jwks_uri: 'https://x/j' }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    issuer: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}
