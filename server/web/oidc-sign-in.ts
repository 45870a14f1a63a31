import { randomBytes } from 'node:crypto';
import {
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  ClientSecretBasic,
  discovery,
  None,
  randomPKCECodeVerifier,
} from 'openid-client';
import type { Authenticator, Identity } from '../auth/identity.js';
import { identityFromClaims, OidcConfigError } from '../auth/oidc.js';

export interface OidcSignInOptions {
  issuer: string;
  /** The client the issuer knows the chat page as, with `redirectUri` registered. */
  clientId: string;
  /** For a confidential client; without it the client is public (PKCE alone). */
  clientSecret?: string;
  /** `<origin>/auth/callback`; read per sign-in (the port is known once listening). */
  redirectUri: () => string;
  /** The resource the access token is for: Cog's own (the same audience as bearer tokens). */
  resource: () => string;
  /** Checks the access token exactly as a bearer token of an MCP client is checked. */
  authenticate: Authenticator;
  /** Requested besides openid, profile and email. */
  scopes: readonly string[];
  now?: () => number;
}

/** A sign-in on its way: where to send the browser, and what binds it to that browser. */
export interface StartedSignIn {
  url: string;
  /** The cookie value that must come back with the callback (the state). */
  binding: string;
}

/** The callback was not a good answer to a sign-in this server started. */
export class SignInError extends Error {
  override readonly name = 'SignInError';
}

interface Pending {
  verifier: string;
  nonce: string;
  ends: number;
}

const PENDING_MS = 10 * 60_000;

/**
 * The chat page's sign-in with the issuer: authorization code + PKCE (S256), state and
 * nonce, run by `cog serve` itself (the browser never holds a token). The access token it
 * gets is checked by the same authenticator as every bearer token (issuer, audience, scopes)
 * and dropped: the browser's session keeps the identity only, with the display name and
 * email of the verified ID token.
 */
export async function createOidcSignIn(opts: OidcSignInOptions) {
  const server = new URL(opts.issuer);
  const config = await discovery(
    server,
    opts.clientId,
    opts.clientSecret ? { client_secret: opts.clientSecret } : undefined,
    opts.clientSecret ? ClientSecretBasic(opts.clientSecret) : None(),
    { execute: server.protocol === 'http:' ? [allowInsecureRequests] : [], timeout: 10 },
  ).catch((err: unknown) => {
    throw new OidcConfigError(
      `cannot discover ${opts.issuer} for the browser sign-in: ${(err as Error).message}`,
    );
  });
  if (!config.serverMetadata().authorization_endpoint) {
    throw new OidcConfigError(
      `${opts.issuer} has no authorization endpoint: people cannot sign in`,
    );
  }
  const now = opts.now ?? Date.now;
  const pending = new Map<string, Pending>();
  const scope = ['openid', 'profile', 'email', ...opts.scopes].join(' ');

  return {
    async start(): Promise<StartedSignIn> {
      for (const [state, p] of pending) if (p.ends <= now()) pending.delete(state);
      const state = randomBytes(24).toString('base64url');
      const verifier = randomPKCECodeVerifier();
      const nonce = randomBytes(16).toString('base64url');
      pending.set(state, { verifier, nonce, ends: now() + PENDING_MS });
      const url = buildAuthorizationUrl(config, {
        redirect_uri: opts.redirectUri(),
        scope,
        state,
        nonce,
        code_challenge: await calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        resource: opts.resource(),
      });
      return { url: url.href, binding: state };
    },

    /** The identity of a finished sign-in; throws SignInError for anything else. */
    async finish(callback: URL, binding: string | undefined): Promise<Identity> {
      const state = callback.searchParams.get('state') ?? '';
      const p = pending.get(state);
      pending.delete(state);
      if (!p || !binding || binding !== state || p.ends <= now()) {
        throw new SignInError('this sign-in was not started here, or it took too long');
      }
      if (callback.searchParams.has('error')) {
        throw new SignInError(`the issuer refused: ${callback.searchParams.get('error')}`);
      }
      // The request's own URL names no host we trust: the code came to our redirect URI.
      const current = new URL(opts.redirectUri());
      current.search = callback.search;
      let tokens;
      try {
        tokens = await authorizationCodeGrant(
          config,
          current,
          {
            pkceCodeVerifier: p.verifier,
            expectedState: state,
            expectedNonce: p.nonce,
            idTokenExpected: true,
          },
          { resource: opts.resource() },
        );
      } catch (err) {
        const e = err as Error & { error?: unknown; error_description?: unknown };
        const why =
          typeof e.error === 'string'
            ? `${e.error}: ${String(e.error_description ?? '')}`
            : e.message;
        throw new SignInError(`the issuer's answer was not accepted (${why})`);
      }
      const identity = await opts.authenticate(tokens.access_token);
      if (!identity) throw new SignInError('the access token is not one for this server');
      const claims = tokens.claims();
      if (
        !claims ||
        `oidc:${config.serverMetadata().issuer}#${claims.sub}` !== identity.principal
      ) {
        throw new SignInError('the ID token and the access token are not the same person');
      }
      const person = identityFromClaims(config.serverMetadata().issuer, claims);
      return {
        ...identity,
        ...(identity.name || !person?.name ? {} : { name: person.name }),
        ...(identity.email || !person?.email ? {} : { email: person.email }),
      };
    },
  };
}

export type OidcSignIn = Awaited<ReturnType<typeof createOidcSignIn>>;
