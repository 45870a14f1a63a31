import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The redirect target of a native app's sign-in (RFC 8252 §7.3): an HTTP server on
 * 127.0.0.1, on a port the system picks, for one authorization response. vscode-free.
 */
export interface Loopback {
  /** `http://127.0.0.1:<port>/callback`. */
  readonly redirectUri: string;
  /**
   * Resolves with the full callback URL (code, state, iss) of the first request that
   * carries `state`; rejects when the authorization server sent an error, on timeout or
   * abort. The server is closed either way.
   */
  callback(state: string): Promise<URL>;
  close(): Promise<void>;
}

export class SignInError extends Error {
  override readonly name = 'SignInError';
  constructor(
    readonly code: 'sign_in_timeout' | 'sign_in_cancelled' | 'sign_in_refused' | 'sign_in_failed',
    message: string,
  ) {
    super(message);
  }
}

const CALLBACK_PATH = '/callback';
/** How long the user has to finish in the browser. */
export const SIGN_IN_TIMEOUT_MS = 5 * 60_000;

/** Starts the loopback server; nothing is accepted until `callback(state)` is called. */
export async function startLoopback(
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<Loopback> {
  const sockets = new Set<Socket>();
  let expected: string | undefined;
  let settle: { resolve(url: URL): void; reject(err: Error): void } | undefined;
  let done = false;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) return page(res, 404, NOT_HERE);
    // Any other page can link here: only the answer to the request we made is taken.
    if (done || !expected || url.searchParams.get('state') !== expected) {
      return page(res, 400, WRONG_STATE);
    }
    done = true;
    const error = url.searchParams.get('error');
    if (error) {
      page(res, 200, FAILED);
      const why = url.searchParams.get('error_description');
      settle?.reject(
        new SignInError(
          error === 'access_denied' ? 'sign_in_refused' : 'sign_in_failed',
          `the authorization server answered ${error}${why ? `: ${why}` : ''}`,
        ),
      );
    } else {
      page(res, 200, SIGNED_IN);
      settle?.resolve(url);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`;

  let closed: Promise<void> | undefined;
  const shutdown = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // The browser keeps its connection alive; the answer has been sent already.
      setTimeout(() => sockets.forEach((s) => s.destroy()), 100).unref();
    }));
  const close = () => {
    // A wait still pending ends with the server, not with its timer.
    settle?.reject(new SignInError('sign_in_cancelled', 'sign-in was cancelled'));
    return shutdown();
  };

  return {
    redirectUri,
    close,
    callback(state) {
      expected = state;
      return new Promise<URL>((resolve, reject) => {
        const timeoutMs = opts.timeoutMs ?? SIGN_IN_TIMEOUT_MS;
        const timer = setTimeout(
          () =>
            fail(
              new SignInError(
                'sign_in_timeout',
                `nobody finished signing in within ${timeoutMs >= 60_000 ? `${Math.round(timeoutMs / 60_000)} min` : `${Math.ceil(timeoutMs / 1000)} s`}: run "Cog: Sign In" again`,
              ),
            ),
          timeoutMs,
        );
        const onAbort = () => fail(new SignInError('sign_in_cancelled', 'sign-in was cancelled'));
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        const finish = () => {
          done = true;
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          settle = undefined;
          void shutdown();
        };
        const fail = (err: Error) => {
          finish();
          reject(err);
        };
        settle = {
          resolve: (url) => {
            finish();
            resolve(url);
          },
          reject: fail,
        };
        if (opts.signal?.aborted) onAbort();
      });
    },
  };
}

const SIGNED_IN = 'Signed in, you can close this tab.';
const FAILED = 'Sign-in did not complete: see VS Code for what happened. You can close this tab.';
const WRONG_STATE =
  'This is not the sign-in VS Code started (or it was used already). Start again with "Cog: Sign In".';
const NOT_HERE = 'Not found.';

/** A plain-text page: nothing from the request is echoed back. */
function page(res: ServerResponse<IncomingMessage>, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
  res.end(`${text}\n`);
}
