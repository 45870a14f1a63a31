import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import Provider, { errors, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';

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

export interface TestIssuerOptions {
  /**
   * People sign in too: the authorization-code flow with PKCE, open dynamic client
   * registration, refresh tokens, and oidc-provider's development login page (any login,
   * any password; the login becomes the account: `ada` is "Ada", ada@example.com). Consent
   * is granted without asking, as for a first-party client.
   */
  interactive?: boolean;
  /** Lifetime of access tokens, in seconds. Default 300. */
  accessTokenTtl?: number;
  /**
   * The loopback address to listen on and name the issuer by. Default 127.0.0.1; the VS
   * Code test uses 127.0.0.2, which code-server does not rewrite into its port proxy.
   */
  host?: string;
}

export interface TestIssuer {
  /** The issuer identifier, `http://<host>:<port>`. */
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
export async function startTestIssuer(opts: TestIssuerOptions = {}): Promise<TestIssuer> {
  const ttl = opts.accessTokenTtl ?? 300;
  const http: Server = createServer();
  const sockets = new Set<Socket>();
  http.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => http.listen(0, host, resolve));
  const issuer = `http://${host}:${(http.address() as AddressInfo).port}`;

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
    scopes: [...COG_SCOPES.split(' '), ...(opts.interactive ? PEOPLE_SCOPES : [])],
    cookies: { keys: ['test-cookie-key-not-secret'] },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      Interaction: 600,
      Grant: 3600,
      Session: 3600,
      RefreshToken: 3600,
      IdToken: 3600,
      AuthorizationCode: 60,
    },
    ...(opts.interactive ? interactive() : {}),
    features: {
      devInteractions: { enabled: opts.interactive === true },
      registration: { enabled: opts.interactive === true },
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
            accessTokenTTL: ttl,
            accessTokenFormat: c.clientId === CLIENTS.opaque.id ? 'opaque' : 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // As an issuer set up to put profile claims into access tokens (Auth0's and Keycloak's
    // mappers do): a person's name and email; for machines, only the `named` client's.
    extraTokenClaims: (ctx, token) => {
      const accountId = 'accountId' in token ? token.accountId : undefined;
      if (opts.interactive && typeof accountId === 'string') {
        return { name: personName(accountId), email: `${accountId}@example.com` };
      }
      return ctx.oidc.client?.clientId === CLIENTS.named.id
        ? { name: 'Ada Lovelace', email: 'ada@example.com' }
        : undefined;
    },
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

/** The dev login's account `ada` is "Ada". */
function personName(login: string): string {
  return login.charAt(0).toUpperCase() + login.slice(1);
}

const PEOPLE_SCOPES = ['openid', 'offline_access', 'profile', 'email'];

/** What a provider needs for people to sign in (see `TestIssuerOptions.interactive`). */
function interactive() {
  return {
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        name: personName(id),
        email: `${id}@example.com`,
        email_verified: true,
      }),
    }),
    // First-party: whatever the client asks for is granted, so the only page is the login.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      if (!oidc.client || !oidc.session?.accountId) return undefined;
      const grant = new oidc.provider.Grant({
        clientId: oidc.client.clientId,
        accountId: oidc.session.accountId,
      });
      grant.addOIDCScope([...PEOPLE_SCOPES, ...COG_SCOPES.split(' ')].join(' '));
      grant.addOIDCClaims(['sub', 'name', 'email', 'email_verified']);
      const resource = oidc.params?.resource;
      for (const r of Array.isArray(resource) ? resource : resource ? [resource] : []) {
        if (typeof r === 'string') grant.addResourceScope(r, COG_SCOPES);
      }
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
  };
}

/**
 * Signs `login` in at the test issuer the way a browser would, without one: follows the
 * authorization URL through the development login page (a cookie jar, redirects by hand)
 * and returns the URL the issuer finally redirects to (the client's redirect URI with
 * `code` and `state`, or `error`).
 */
export async function signInHeadless(authorizationUrl: string, login: string): Promise<URL> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';', 1);
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  const origin = new URL(authorizationUrl).origin;
  let url = new URL(authorizationUrl);
  let form: URLSearchParams | undefined;
  for (let hop = 0; hop < 20; hop++) {
    if (url.origin !== origin) return url;
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: cookie(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: form } : {}),
    });
    remember(res);
    form = undefined;
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url);
      continue;
    }
    const page = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    if (!res.ok || !action) {
      throw new Error(`the issuer answered ${res.status} without a form: ${page.slice(0, 300)}`);
    }
    url = new URL(action.replace(/&amp;/g, '&'), url);
    // The login page, then (a native client is always asked) the consent page.
    form = page.includes('name="login"')
      ? new URLSearchParams({ prompt: 'login', login, password: 'any' })
      : new URLSearchParams({ prompt: 'consent' });
  }
  throw new Error('too many redirects signing in');
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
