import type { IncomingMessage } from 'node:http';

/** One cookie's value from the request's Cookie header(s), or undefined. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

export interface CookieOptions {
  path?: string;
  sameSite: 'Strict' | 'Lax';
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  /** Only over https (set when the server's public URL is https). */
  secure: boolean;
}

/** A Set-Cookie value: always HttpOnly, so no script (the page's own included) reads it. */
export function setCookie(name: string, value: string, opts: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${opts.path ?? '/'}`,
    'HttpOnly',
    `SameSite=${opts.sameSite}`,
    `Max-Age=${opts.maxAge}`,
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ');
}

/**
 * True for a request the page itself made (fetch from this origin). A cookie alone is not
 * proof: another site's page or another local server on a different port (the same
 * "site" as far as SameSite goes) could make the browser send it. Fetch metadata says
 * where the request came from; an older browser without it must send a matching Origin.
 */
export function fromOwnPage(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = req.headers.origin;
  if (!origin || !URL.canParse(origin)) return false;
  return new URL(origin).host === req.headers.host?.toLowerCase();
}
