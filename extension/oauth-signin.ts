import * as oc from 'openid-client';
import { z } from 'zod';
import type { ResourceAuth } from './oauth-discovery.js';
import { SignInError, startLoopback } from './oauth-loopback.js';

/**
 * Signing a person in to a Cog server that asks for OAuth: the authorization-code flow
 * with PKCE (S256) and state through the system browser and a loopback redirect, the
 * client registered dynamically where the issuer allows it, and refreshing the tokens it
 * yields. Built on `openid-client`; vscode-free, so it tests in plain Node against a real
 * provider. Nothing here logs: tokens and codes never reach a log line or an error text.
 */

/** What a sign-in keeps (in SecretStorage only): enough to call the server and refresh. */
export const SignedInSchema = z.object({
  v: z.literal(1),
  issuer: z.string(),
  resource: z.string(),
  clientId: z.string(),
  accessToken: z.string(),
  refreshToken: z.string().optional(),
  /** When the access token expires, in ms since the epoch. */
  expiresAt: z.number(),
  scope: z.string().optional(),
  /** Who signed in, from the ID token's claims. */
  account: z.object({
    sub: z.string().optional(),
    name: z.string().optional(),
    email: z.string().optional(),
  }),
});
export type SignedIn = z.infer<typeof SignedInSchema>;

/** Everything Cog may ask for; only those the server and the issuer support are asked. */
export const WANTED_SCOPES = [
  'openid',
  'profile',
  'email',
  'offline_access',
  'cog:read',
  'cog:chat',
  'cog:approve',
] as const;

const CLIENT_NAME = 'Cog for VS Code';
/** Assumed when a token response has no `expires_in`: refreshed soon rather than never. */
const DEFAULT_TTL_S = 300;

export interface SignInOptions {
  auth: ResourceAuth;
  /** A client registered for Cog at the issuer (`cog.oauthClientId`); wins over registration. */
  clientId?: string;
  /** Register a client (RFC 7591) when there is no `clientId`. Default true. */
  register?: boolean;
  /** Opens the authorization URL where the user can sign in; false: they declined. */
  openBrowser(url: URL): Promise<boolean>;
  /** How long the user has in the browser. Default 5 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** Runs one sign-in from the browser to the tokens. Rejects with a user-facing message. */
export async function signIn(opts: SignInOptions): Promise<SignedIn> {
  const { auth } = opts;
  const issuer = issuerUrl(auth.issuer);
  const execute = insecureOk(issuer) ? [oc.allowInsecureRequests] : [];
  const server = await oc
    .discovery(issuer, 'cog-discovery-only', undefined, oc.None(), { execute })
    .then((c) => c.serverMetadata())
    .catch((err: unknown) => {
      throw new SignInError('sign_in_failed', `cannot discover ${issuer.href}: ${reasonOf(err)}`);
    });
  // OAuth 2.1 and the MCP spec: without S256 PKCE there is no safe code flow.
  if (!server.code_challenge_methods_supported?.includes('S256')) {
    throw new SignInError(
      'sign_in_failed',
      `${issuer.origin} does not announce PKCE (S256), which Cog needs to sign in safely.`,
    );
  }
  const loopback = await startLoopback({
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  try {
    const config = await clientConfig(issuer, server, loopback.redirectUri, opts, execute);
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const scope = scopesFor(auth, server.scopes_supported);
    const url = oc.buildAuthorizationUrl(config, {
      redirect_uri: loopback.redirectUri,
      scope,
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      resource: auth.resource,
      // offline_access is only honoured with consent (OpenID Connect Core §11).
      ...(scope.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    const answer = loopback.callback(state);
    // Awaited below; when the browser does not open, it ends (cancelled) with the loopback.
    answer.catch(() => undefined);
    if ((await opts.openBrowser(url)) === false) {
      await loopback.close();
      throw new SignInError('sign_in_cancelled', 'the sign-in page was not opened');
    }
    const callback = await answer;
    const tokens = await oc
      .authorizationCodeGrant(
        config,
        callback,
        { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: scopeHas(scope) },
        { resource: auth.resource },
      )
      .catch((err: unknown) => {
        throw new SignInError('sign_in_failed', `the issuer refused the sign-in: ${reasonOf(err)}`);
      });
    return signedIn(tokens, { auth, clientId: config.clientMetadata().client_id, opts });
  } finally {
    await loopback.close();
  }
}

export interface RefreshOptions {
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * New tokens for `current` from its refresh token (rotated if the issuer rotates it). A
 * refusal (`invalid_grant`: revoked, expired) rejects with code `sign_in_revoked`.
 */
export async function refreshSignIn(
  current: SignedIn,
  opts: RefreshOptions = {},
): Promise<SignedIn> {
  if (!current.refreshToken) {
    throw new RefreshError('sign_in_revoked', 'the sign-in has expired and cannot be refreshed');
  }
  const issuer = issuerUrl(current.issuer);
  const execute = insecureOk(issuer) ? [oc.allowInsecureRequests] : [];
  try {
    const config = await oc.discovery(issuer, current.clientId, undefined, oc.None(), {
      execute,
    });
    const tokens = await oc.refreshTokenGrant(config, current.refreshToken, {
      resource: current.resource,
    });
    const auth = { resource: current.resource, issuer: current.issuer, scopes: [] };
    const next = signedIn(tokens, { auth, clientId: current.clientId, opts });
    return {
      ...next,
      refreshToken: next.refreshToken ?? current.refreshToken,
      scope: next.scope ?? current.scope,
      account: tokens.id_token ? next.account : current.account,
    };
  } catch (err) {
    const e = err as { code?: string; error?: string };
    const refused =
      e.code === 'OAUTH_RESPONSE_BODY_ERROR' &&
      ['invalid_grant', 'invalid_client', 'unauthorized_client'].includes(e.error ?? '');
    throw new RefreshError(
      refused ? 'sign_in_revoked' : 'refresh_failed',
      `cannot refresh the sign-in at ${issuer.origin}: ${reasonOf(err)}`,
    );
  }
}

export class RefreshError extends Error {
  override readonly name = 'RefreshError';
  constructor(
    /** `sign_in_revoked`: sign in again; `refresh_failed`: try again later. */
    readonly code: 'sign_in_revoked' | 'refresh_failed',
    message: string,
  ) {
    super(message);
  }
}

/** The scopes to ask for: Cog's wanted ones the PRM and the issuer support (when they say). */
export function scopesFor(auth: ResourceAuth, issuerScopes: string[] | undefined): string {
  const cogOwn = (s: string) => s.startsWith('cog:');
  return WANTED_SCOPES.filter((s) => {
    if (cogOwn(s) && auth.scopes.length && !auth.scopes.includes(s)) return false;
    if (issuerScopes?.length && !issuerScopes.includes(s)) return false;
    return true;
  }).join(' ');
}

/** Plain HTTP to the issuer only on this machine (a test or local provider), never beyond. */
export function insecureOk(issuer: URL): boolean {
  return issuer.protocol === 'http:' && isLoopback(issuer.hostname);
}

function isLoopback(host: string): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(host);
}

function issuerUrl(issuer: string): URL {
  const url = new URL(issuer);
  if (url.protocol !== 'https:' && !insecureOk(url)) {
    throw new SignInError(
      'sign_in_failed',
      `the issuer ${url.origin} is not HTTPS; Cog signs in over plain HTTP only on this machine.`,
    );
  }
  return url;
}

/** The client: the configured one, else one registered now for this loopback redirect. */
async function clientConfig(
  issuer: URL,
  server: oc.ServerMetadata,
  redirectUri: string,
  opts: SignInOptions,
  execute: Array<(c: oc.Configuration) => void>,
): Promise<oc.Configuration> {
  if (opts.clientId) {
    const config = new oc.Configuration(server, opts.clientId, undefined, oc.None());
    for (const e of execute) e(config);
    return config;
  }
  if (opts.register === false || !server.registration_endpoint) {
    throw new SignInError(
      'sign_in_failed',
      `${issuer.origin} does not register clients itself: register Cog there as a public native client (redirect http://127.0.0.1/callback, any port) and set cog.oauthClientId in your user settings.`,
    );
  }
  // A public native client (RFC 8252): no secret to keep, a loopback redirect whose port
  // the issuer ignores when matching, so one registration serves every sign-in.
  return oc
    .dynamicClientRegistration(
      issuer,
      {
        client_name: CLIENT_NAME,
        application_type: 'native',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      },
      oc.None(),
      { execute },
    )
    .catch((err: unknown) => {
      throw new SignInError(
        'sign_in_failed',
        `${issuer.origin} did not register Cog as a client: ${reasonOf(err)}. Set cog.oauthClientId to a client registered there.`,
      );
    });
}

function signedIn(
  tokens: oc.TokenEndpointResponse & oc.TokenEndpointResponseHelpers,
  ctx: { auth: ResourceAuth; clientId: string; opts: { now?: () => number } },
): SignedIn {
  const now = ctx.opts.now?.() ?? Date.now();
  const claims = tokens.id_token ? tokens.claims() : undefined;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  const name = text(claims?.name) ?? text(claims?.preferred_username);
  const email = text(claims?.email);
  return {
    v: 1,
    issuer: ctx.auth.issuer,
    resource: ctx.auth.resource,
    clientId: ctx.clientId,
    accessToken: tokens.access_token,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    expiresAt: now + (tokens.expiresIn() ?? DEFAULT_TTL_S) * 1000,
    ...(tokens.scope ? { scope: tokens.scope } : {}),
    account: {
      ...(text(claims?.sub) ? { sub: text(claims?.sub) } : {}),
      ...(name ? { name } : {}),
      ...(email ? { email } : {}),
    },
  };
}

function scopeHas(scope: string): boolean {
  return scope.split(' ').includes('openid');
}

/** An error's words without anything the server echoed that could be a secret. */
function reasonOf(err: unknown): string {
  const e = err as { error?: string; error_description?: string; message?: string };
  if (e.error) return e.error_description ? `${e.error} (${e.error_description})` : e.error;
  return e.message ?? String(err);
}
