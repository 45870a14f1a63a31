import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** True for addresses and names that never leave the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** True for "listen on every interface" addresses. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** `host` as it appears in a URL or Host header: IPv6 in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * The Host header values the server answers to. Loopback names always; the bound host
 * when it is a name or address of its own; for a wildcard bind, this machine's name and
 * interface addresses. Anything else is a DNS-rebinding attempt or a misdirected request.
 */
export function allowedHosts(bindHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (isWildcardHost(bindHost)) {
    names.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.add(urlHost(a.address.replace(/%.*$/, '')).toLowerCase());
    }
  } else {
    names.add(urlHost(bindHost).toLowerCase());
  }
  return new Set([...names].map((n) => `${n}:${port}`));
}

/**
 * An Origin a browser page on this machine (or a VS Code webview) would send. Any other
 * origin is a web page somewhere else trying to reach a local server: refused even when
 * its Host header looks right (DNS rebinding sends the right Host).
 */
export function isAllowedOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes the opaque origin "null"
  }
  if (url.protocol === 'vscode-webview:') return true;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return isLoopbackHost(url.hostname);
}

/** Rejects a request whose Host or Origin is not allowed; true when it may go on. */
export function checkHostAndOrigin(
  req: IncomingMessage,
  res: ServerResponse,
  hosts: ReadonlySet<string>,
  /** Origins allowed besides this machine's: the configured public URL's. */
  origins: ReadonlySet<string> = new Set(),
): boolean {
  const host = req.headers.host?.toLowerCase();
  if (!host || !hosts.has(host)) {
    sendJsonError(res, 403, -32000, 'Forbidden: Host header not allowed');
    return false;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !isAllowedOrigin(origin) && !origins.has(origin.toLowerCase())) {
    sendJsonError(res, 403, -32000, 'Forbidden: Origin not allowed');
    return false;
  }
  return true;
}

/** True when Content-Type's media type is exactly application/json (parameters allowed). */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header || header.includes(',')) return false; // joined duplicate headers: ambiguous
  return (header.split(';', 1)[0] ?? '').trim().toLowerCase() === 'application/json';
}

/**
 * Every error the HTTP layer writes: a JSON-RPC error object, `id: null` unless the
 * request's own id could be read. Messages are fixed strings: no stack, no path, nothing
 * the client sent but that id. When the request
 * body has not fully arrived (refused before or while reading it), the connection is
 * closed after the answer, so the rest is never read.
 */
export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
  id: string | number | null = null,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id });
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...(res.req.complete ? {} : { Connection: 'close' }),
    ...headers,
  });
  res.end(body);
}
