import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../auth/identity.js';
import type { ApprovalPolicy } from '../../protocol/names.js';
import { BrowserSessions, SESSION_COOKIE } from './browser-sessions.js';
import { fromOwnPage, readCookie, setCookie } from './cookies.js';
import type { LoginLinks } from './login-links.js';
import { SignInError, type OidcSignIn } from './oidc-sign-in.js';
import { send, sendAsset, sendChatPage, sendSignInPage } from './page.js';

/** Binds an issuer's callback to the browser that started the sign-in (the state). */
const SIGN_IN_COOKIE = 'cog_signin';

export interface WebRoutesOptions {
  sessions?: BrowserSessions;
  /** How a browser signs in: the issuer's sign-in, or (no issuer) one-time links. */
  signIn:
    | { oidc: OidcSignIn }
    | {
        links: LoginLinks;
        /** Who a link signs in: the local user. */
        identity: Identity;
        /** A link was used: a fresh one for the next browser (printed by `cog serve`). */
        used(): void;
      };
  approval: ApprovalPolicy;
  /** Cookies only over https (the server's public URL is https); read once listening. */
  secure: () => boolean;
  log: (line: string) => void;
}

export interface WebRoutes {
  /** Answers a request for the page, its files or sign-in; false when it is none of them. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** The identity of a signed-in browser's own request (see fromOwnPage), or undefined. */
  identity(req: IncomingMessage): Identity | undefined;
}

/**
 * The chat in a browser, beside `/mcp`: `/` the panel (or the sign-in page), `/app/*` its
 * bundle, and sign-in: `/login?code=` (a one-time link), `/auth/login` and `/auth/callback`
 * (the issuer's authorization code + PKCE), `/auth/me`, `POST /auth/logout`. A signed-in
 * browser holds an HttpOnly, SameSite=Strict cookie naming its server-side session; the
 * bearer token, and the issuer's tokens, never reach the page.
 */
export function createWebRoutes(opts: WebRoutesOptions): WebRoutes {
  const sessions = opts.sessions ?? new BrowserSessions();
  const signIn = opts.signIn;
  const oidc = 'oidc' in signIn;
  const cookie = (value: string, maxAge: number) =>
    setCookie(SESSION_COOKIE, value, { sameSite: 'Strict', maxAge, secure: opts.secure() });
  const signedIn = (req: IncomingMessage) => sessions.identity(readCookie(req, SESSION_COOKIE));

  /** Starts a browser session and sends the browser to the panel. */
  const enter = (res: ServerResponse, identity: Identity, extra: string[] = []) => {
    const id = sessions.create(identity);
    opts.log(`browser signed in as ${identity.principal}`);
    res.writeHead(303, {
      Location: '/',
      'Set-Cookie': [...extra, cookie(id, sessions.maxAgeSec)],
      'Cache-Control': 'no-store',
      'Content-Length': 0,
    });
    res.end();
  };

  const refused = (res: ServerResponse, status: number, problem: string) =>
    sendSignInPage(res, { oidc, problem }, status);

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => unknown> = {
    '/': (req, res) => (signedIn(req) ? sendChatPage(res) : sendSignInPage(res, { oidc })),
    '/login': (_req, res, url) => {
      if (!('links' in signIn)) return refused(res, 404, 'Sign in with your account instead.');
      if (!signIn.links.redeem(url.searchParams.get('code'))) {
        return refused(res, 403, 'This sign-in link was used already or has expired.');
      }
      signIn.used();
      return enter(res, signIn.identity);
    },
    '/auth/login': async (_req, res) => {
      if (!('oidc' in signIn)) return refused(res, 404, 'Use the link cog serve printed.');
      const started = await signIn.oidc.start();
      const binding = setCookie(SIGN_IN_COOKIE, started.binding, {
        path: '/auth/callback',
        // The issuer's redirect back is a cross-site navigation: Strict would not send it.
        sameSite: 'Lax',
        maxAge: 600,
        secure: opts.secure(),
      });
      res.writeHead(303, { Location: started.url, 'Set-Cookie': binding, 'Content-Length': 0 });
      res.end();
    },
    '/auth/callback': async (req, res, url) => {
      if (!('oidc' in signIn)) return refused(res, 404, 'There is no issuer to sign in with.');
      const gone = setCookie(SIGN_IN_COOKIE, '', {
        path: '/auth/callback',
        sameSite: 'Lax',
        maxAge: 0,
        secure: opts.secure(),
      });
      try {
        const identity = await signIn.oidc.finish(url, readCookie(req, SIGN_IN_COOKIE));
        return enter(res, identity, [gone]);
      } catch (err) {
        if (!(err instanceof SignInError)) throw err;
        opts.log(`a browser sign-in failed: ${err.message}`);
        return refused(res, 400, `Signing in did not work (${err.message}). Try again.`);
      }
    },
    '/auth/me': (req, res) => {
      const identity = signedIn(req);
      if (!identity) return json(res, 401, { error: 'signed out' });
      const { principal, name, email } = identity;
      return json(res, 200, { principal, name, email, approval: opts.approval });
    },
  };

  return {
    async handle(req, res, path) {
      if (await sendAsset(res, path)) return true;
      if (path === '/auth/logout') {
        if (req.method !== 'POST') return (json(res, 405, { error: 'POST to sign out' }), true);
        if (!fromOwnPage(req)) return (json(res, 403, { error: 'not from this page' }), true);
        const id = readCookie(req, SESSION_COOKIE);
        const who = sessions.identity(id);
        if (sessions.end(id) && who) opts.log(`browser signed out (${who.principal})`);
        res.writeHead(204, { 'Set-Cookie': cookie('', 0), 'Cache-Control': 'no-store' });
        res.end();
        return true;
      }
      const route = routes[path];
      if (!route) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return (json(res, 405, { error: 'Method Not Allowed' }), true);
      }
      await route(req, res, new URL(req.url ?? '/', 'http://cog.invalid'));
      return true;
    },
    identity: (req) => (fromOwnPage(req) ? signedIn(req) : undefined),
  };
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}
