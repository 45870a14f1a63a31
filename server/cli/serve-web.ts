import { localIdentity, SCOPES, type Authenticator } from '../auth/identity.js';
import type { OidcSettings } from '../config.js';
import type { ApprovalPolicy } from '../../protocol/names.js';
import { LoginLinks } from '../web/login-links.js';
import { createWebRoutes, type WebRoutes } from '../web/routes.js';

export interface ServeWebOptions {
  /** False: no page, no sign-in links (`--no-web`). */
  enabled: boolean;
  /** With an issuer and Cog's client there, people sign in with it. */
  oidc?: OidcSettings;
  /** Checks the access token of a sign-in as any bearer token is checked. */
  authenticate?: Authenticator;
  /** The local user, whom a one-time link signs in when there is no issuer. */
  localPrincipal: string;
  approval: ApprovalPolicy;
  /** The resource URL (the `/mcp` URL clients reach), known once listening. */
  resource: () => string;
  err: (line: string) => void;
}

/**
 * The chat page of `cog serve` and how browsers sign in to it: the issuer's sign-in when
 * one is configured with Cog's client (COG_OIDC_CLIENT_ID/SECRET), else one-time links
 * printed here. `announce` prints the first link once the server listens.
 */
export async function serveWeb(
  opts: ServeWebOptions,
): Promise<{ web?: WebRoutes; announce(): void }> {
  const { err } = opts;
  if (!opts.enabled) return { announce: () => {} };
  const base = () => new URL('/', opts.resource());
  const secure = () => base().protocol === 'https:';
  if (opts.oidc) {
    const { issuer, clientId, clientSecret } = opts.oidc;
    if (!clientId || !opts.authenticate) {
      return {
        announce: () =>
          err(
            'cog serve: no chat page: with an issuer, browsers sign in through Cog\u2019s client there (set COG_OIDC_CLIENT_ID and COG_OIDC_CLIENT_SECRET, redirect URI <server>/auth/callback)',
          ),
      };
    }
    const { createOidcSignIn } = await import('../web/oidc-sign-in.js');
    const oidc = await createOidcSignIn({
      issuer,
      clientId,
      ...(clientSecret ? { clientSecret } : {}),
      redirectUri: () => new URL('/auth/callback', base()).href,
      resource: opts.resource,
      authenticate: opts.authenticate,
      scopes: SCOPES,
    });
    return {
      web: createWebRoutes({ signIn: { oidc }, approval: opts.approval, secure, log }),
      announce: () =>
        err(`cog serve: chat in a browser at ${base().href} (sign in with ${issuer})`),
    };
  }
  const links = new LoginLinks();
  const print = () =>
    err(
      `cog serve: chat in a browser: ${new URL(`/login?code=${links.issue()}`, base()).href} (signs in once, within 15 minutes)`,
    );
  return {
    web: createWebRoutes({
      signIn: { links, identity: localIdentity(opts.localPrincipal), used: print },
      approval: opts.approval,
      secure,
      log,
    }),
    announce: print,
  };

  function log(line: string) {
    err(`cog serve: ${line}`);
  }
}
