import type { ResourceAuth } from './oauth-discovery.js';
import {
  refreshSignIn,
  RefreshError,
  signIn,
  SignedInSchema,
  type SignedIn,
  type SignInOptions,
} from './oauth-signin.js';

/**
 * Where a sign-in's tokens are kept: a JSON blob per key. The extension gives
 * `context.secrets` (SecretStorage); nothing of it goes to settings, state or logs.
 */
export interface TokenStore {
  get(key: string): PromiseLike<string | undefined>;
  set(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

/** The store key of a sign-in: one per server and issuer, so a new issuer never gets old tokens. */
export function signInKey(serverUrl: URL | string, issuer: string): string {
  return `cog.oauth:${new URL(serverUrl).href} ${issuer}`;
}

/** The user has to sign in (again): there are no tokens, or the issuer revoked them. */
export class SignedOutError extends Error {
  override readonly name = 'SignedOutError';
  readonly code = 'signed_out';
}

export interface OAuthSessionOptions {
  store: TokenStore;
  serverUrl: URL;
  auth: ResourceAuth;
  now?: () => number;
  /** Refresh when less than this is left of the access token. Default 60 s. */
  refreshMarginMs?: number;
  /** The issuer refused a refresh: the tokens are gone, the user must sign in again. */
  onRevoked?(reason: string): void;
}

/**
 * One server's sign-in: reads the stored tokens, hands out a fresh access token per
 * request (refreshing before it expires, one refresh at a time however many requests
 * ask), stores every refresh, and forgets the tokens on sign-out or revocation.
 */
export class OAuthSession {
  readonly key: string;
  private cached: SignedIn | undefined;
  private loaded = false;
  private refreshing: Promise<SignedIn> | undefined;

  constructor(private readonly opts: OAuthSessionOptions) {
    this.key = signInKey(opts.serverUrl, opts.auth.issuer);
  }

  get auth(): ResourceAuth {
    return this.opts.auth;
  }

  /** The stored sign-in, if any (and if it is for this resource). */
  async current(): Promise<SignedIn | undefined> {
    if (this.loaded) return this.cached;
    const raw = await this.opts.store.get(this.key);
    const parsed = raw ? SignedInSchema.safeParse(safeJson(raw)) : undefined;
    const ok = parsed?.success && parsed.data.resource === this.opts.auth.resource;
    this.cached = ok ? parsed.data : undefined;
    this.loaded = true;
    // A blob of another shape or resource is useless and may be stale: drop it.
    if (raw && !ok) await this.opts.store.delete(this.key);
    return this.cached;
  }

  /** Runs the browser sign-in and stores its tokens. */
  async signIn(opts: Omit<SignInOptions, 'auth'>): Promise<SignedIn> {
    const signed = await signIn({ ...opts, auth: this.opts.auth });
    await this.save(signed);
    return signed;
  }

  /**
   * The access token to send now. Refreshes first when it is close to expiry; rejects with
   * SignedOutError when there is no sign-in or the issuer refused the refresh.
   */
  async bearer(): Promise<string> {
    const signed = await this.current();
    if (!signed) throw new SignedOutError(`Not signed in to ${this.opts.serverUrl.origin}.`);
    const now = this.opts.now?.() ?? Date.now();
    if (signed.expiresAt - now > (this.opts.refreshMarginMs ?? 60_000)) return signed.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Refreshes now (joining one already under way). */
  refresh(): Promise<SignedIn> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Forgets the tokens (here and in the store). */
  async signOut(): Promise<void> {
    this.cached = undefined;
    this.loaded = true;
    await this.opts.store.delete(this.key);
  }

  private async doRefresh(): Promise<SignedIn> {
    const signed = await this.current();
    if (!signed) throw new SignedOutError(`Not signed in to ${this.opts.serverUrl.origin}.`);
    try {
      const next = await refreshSignIn(signed, this.opts.now ? { now: this.opts.now } : {});
      await this.save(next);
      return next;
    } catch (err) {
      if ((err as RefreshError).code !== 'sign_in_revoked') throw err;
      await this.signOut();
      const reason = (err as Error).message;
      this.opts.onRevoked?.(reason);
      throw new SignedOutError(`Signed out of ${this.opts.serverUrl.origin}: ${reason}.`);
    }
  }

  private async save(signed: SignedIn): Promise<void> {
    this.cached = signed;
    this.loaded = true;
    await this.opts.store.set(this.key, JSON.stringify(signed));
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
