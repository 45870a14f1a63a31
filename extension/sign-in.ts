import { Emitter, type Disposable, type Logger } from './emitter.js';
import { probeServer, type ResourceAuth } from './oauth-discovery.js';
import { OAuthSession, type TokenStore } from './oauth-session.js';
import type { SignedIn } from './oauth-signin.js';
import type { Launched } from './runtime-connection.js';

/** Whether the configured server signs people in, and who is signed in. */
export type SignInState =
  /** No configured server, a fixed server token, or a server that does not use OAuth. */
  | { status: 'none' }
  | { status: 'signed-out'; origin: string; detail?: string }
  | { status: 'signing-in'; origin: string }
  | { status: 'signed-in'; origin: string; account: SignedIn['account'] };

export interface SignInDeps {
  store: TokenStore;
  log: Logger;
  /** Opens the authorization page in the user's browser; false when they declined. */
  openBrowser(url: URL): Promise<boolean>;
  /** `cog.serverUrl` and `cog.oauthClientId` as they are now (user settings only). */
  settings(): { serverUrl: string; oauthClientId: string };
  /** Restarts the runtime connection (after a sign-in, sign-out or revocation). */
  restart(reason: string): void;
  /** Offers to sign in (a notification with a button), once each time it becomes needed. */
  offerSignIn?(message: string): void;
  now?: () => number;
  refreshMarginMs?: number;
  /** How long the browser part may take. Default 5 minutes. */
  timeoutMs?: number;
}

/** The words of the launch failure and the notification when nobody is signed in. */
export function signInNeeded(origin: string): string {
  return `Sign in to ${origin}: run "Cog: Sign In".`;
}

/**
 * The sign-in of the extension, vscode-free (the host gives it SecretStorage, the browser
 * and the notification). The launcher asks it for a bearer when the configured server has
 * no fixed token; commands sign in and out. It never opens the browser by itself: a
 * reconnect without tokens fails with "Sign in to …" and offers the command instead.
 */
export class SignInController implements Disposable {
  private readonly emitter = new Emitter<SignInState>();
  readonly onDidChangeState = this.emitter.event;
  private currentState: SignInState = { status: 'none' };
  private session: OAuthSession | undefined;
  private running: Promise<SignedIn> | undefined;

  constructor(private readonly deps: SignInDeps) {}

  get state(): SignInState {
    return this.currentState;
  }

  /**
   * For a launch of `serverUrl` without a fixed token: the bearer of the stored sign-in,
   * or undefined when the server does not ask for OAuth. Rejects with "Sign in to …" when
   * nobody is signed in.
   */
  async launch(
    serverUrl: URL,
    signal?: AbortSignal,
  ): Promise<Pick<Launched, 'bearer' | 'authHint'> | undefined> {
    const auth = await probeServer(serverUrl, signal);
    if (!auth) {
      this.noSignIn();
      return undefined;
    }
    const session = this.sessionFor(serverUrl, auth);
    const signed = await session.current();
    if (!signed) {
      // A sign-in under way keeps its state; the next launch after it finds the tokens.
      if (this.currentState.status !== 'signing-in') this.signedOut(serverUrl.origin);
      throw new Error(signInNeeded(serverUrl.origin));
    }
    this.setState({ status: 'signed-in', origin: serverUrl.origin, account: signed.account });
    return {
      bearer: () => session.bearer(),
      authHint: 'Sign in again with "Cog: Sign In".',
    };
  }

  /** The server takes a fixed token (or is not configured): no sign-in state to show. */
  noSignIn(): void {
    if (this.currentState.status !== 'none') this.setState({ status: 'none' });
  }

  /**
   * Signs in to the configured server in the browser, stores the tokens, reconnects. A
   * second call while one runs joins it; `signal` cancels the wait for the browser.
   */
  signIn(signal?: AbortSignal): Promise<SignedIn> {
    this.running ??= this.runSignIn(signal).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Forgets the configured server's tokens and reconnects (signed out). */
  async signOut(): Promise<void> {
    const serverUrl = this.serverUrl();
    const session =
      this.session && this.sameServer(serverUrl)
        ? this.session
        : await this.probeSession(serverUrl);
    await session.signOut();
    this.setState({ status: 'signed-out', origin: serverUrl.origin });
    this.deps.log.info(`signed out of ${serverUrl.origin}`);
    this.deps.restart('signed out');
  }

  /** Whether tokens for the configured server are in the store (never the tokens themselves). */
  async stored(): Promise<boolean> {
    return Boolean(await this.session?.current());
  }

  dispose(): void {
    this.emitter.dispose();
  }

  private async runSignIn(signal: AbortSignal | undefined): Promise<SignedIn> {
    const serverUrl = this.serverUrl();
    const session = await this.probeSession(serverUrl);
    const { origin } = serverUrl;
    const before = this.currentState;
    this.setState({ status: 'signing-in', origin });
    this.deps.log.info(`signing in to ${origin} at ${session.auth.issuer}`);
    try {
      const clientId = this.deps.settings().oauthClientId;
      const signed = await session.signIn({
        ...(clientId ? { clientId } : {}),
        openBrowser: (url) => this.deps.openBrowser(url),
        ...(this.deps.timeoutMs !== undefined ? { timeoutMs: this.deps.timeoutMs } : {}),
        ...(signal ? { signal } : {}),
      });
      this.setState({ status: 'signed-in', origin, account: signed.account });
      this.deps.log.info(`signed in to ${origin} as ${describeAccount(signed.account)}`);
      this.deps.restart('signed in');
      return signed;
    } catch (err) {
      const detail = (err as Error).message;
      this.setState(
        before.status === 'signed-in' ? before : { status: 'signed-out', origin, detail },
      );
      throw err;
    }
  }

  private serverUrl(): URL {
    const raw = this.deps.settings().serverUrl;
    if (!raw) {
      throw new Error(
        'No server to sign in to: set cog.serverUrl to a `cog serve` that asks for sign-in.',
      );
    }
    if (!URL.canParse(raw))
      throw new Error(`cog.serverUrl "${raw}" is not a URL: fix it in Settings.`);
    return new URL(raw);
  }

  private async probeSession(serverUrl: URL): Promise<OAuthSession> {
    const auth = await probeServer(serverUrl);
    if (!auth) {
      throw new Error(
        `${serverUrl.origin} does not ask for a sign-in: it takes a token set with "Cog: Set Server Token".`,
      );
    }
    return this.sessionFor(serverUrl, auth);
  }

  /** The session of this server and issuer, kept while they stay the same. */
  private sessionFor(serverUrl: URL, auth: ResourceAuth): OAuthSession {
    const s = this.session;
    if (s && this.sameServer(serverUrl) && s.auth.issuer === auth.issuer) {
      if (s.auth.resource === auth.resource) return s;
    }
    this.session = new OAuthSession({
      store: this.deps.store,
      serverUrl,
      auth,
      ...(this.deps.now ? { now: this.deps.now } : {}),
      ...(this.deps.refreshMarginMs !== undefined
        ? { refreshMarginMs: this.deps.refreshMarginMs }
        : {}),
      onRevoked: (reason) => {
        this.deps.log.warn(`signed out of ${serverUrl.origin}: ${reason}`);
        this.signedOut(serverUrl.origin, reason);
        this.deps.restart('the sign-in was refused by the issuer');
      },
    });
    this.sessionUrl = serverUrl.href;
    return this.session;
  }

  private sessionUrl: string | undefined;

  private sameServer(serverUrl: URL): boolean {
    return this.sessionUrl === serverUrl.href;
  }

  private signedOut(origin: string, detail?: string): void {
    const was = this.currentState;
    this.setState({ status: 'signed-out', origin, ...(detail ? { detail } : {}) });
    if (was.status !== 'signed-out' || was.origin !== origin) {
      this.deps.offerSignIn?.(
        detail ? `${signInNeeded(origin)} (${detail})` : signInNeeded(origin),
      );
    }
  }

  private setState(state: SignInState): void {
    if (JSON.stringify(state) === JSON.stringify(this.currentState)) return;
    this.currentState = state;
    this.emitter.fire(state);
  }
}

/** "Ada <ada@example.com>", or whichever of the two is known, or "an account without a name". */
export function describeAccount(account: SignedIn['account']): string {
  if (account.name && account.email) return `${account.name} <${account.email}>`;
  return account.name ?? account.email ?? account.sub ?? 'an account without a name';
}
