/**
 * A round-robin HTTP reverse proxy for multi-instance tests: every REQUEST (not every TCP
 * connection) goes to the next backend, like a load balancer without sticky sessions, so a
 * client of one MCP session ends up talking to every `cog serve` behind it in turn.
 * node:http only; both directions are streamed as they come (an SSE response stays open
 * for as long as the backend keeps it open).
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A running proxy; see startRoundRobinProxy. */
export interface RoundRobinProxy {
  /** `http://127.0.0.1:<port>`: no path; the backends' paths (/mcp) are passed through. */
  url: string;
  port: number;
  /** Requests each backend was sent (counted once its connection was made), by index. */
  hits: number[];
  /** Takes backend `i` out of (or back into) the rotation without touching it. */
  setDown(i: number, down: boolean): void;
  /** Stops listening and cuts every open connection, upstream ones included. */
  close(): Promise<void>;
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the message: each
 * side of the proxy sets its own. Everything else (Authorization, Mcp-Session-Id,
 * Last-Event-ID, Origin, Content-Type, …) is passed through as it came.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Connection errors that mean "nothing is listening there": the next backend is tried. */
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** rawHeaders without hop-by-hop ones (and without those `drop` names), as a flat list. */
function passHeaders(raw: string[], drop: Set<string> = new Set()): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower)) continue;
    out.push(name, raw[i + 1] ?? '');
  }
  return out;
}

/**
 * Starts the proxy on 127.0.0.1 and a free port over `backends` (base URLs such as
 * `http://127.0.0.1:1234`). Each request goes to the backend after the one the previous
 * request went to; a backend set down, or one that refuses the connection, is skipped for
 * that request and the next tried; when none takes it the answer is a 502 with a short text.
 *
 * Host is rewritten to the backend's own `host:port`: Cog answers only to a Host it
 * listens as (server/mcp/http/guards.ts, allowedHosts: 127.0.0.1, localhost or [::1] with
 * its port), which is what a backend URL from `cog serve` names. Origin is left as the
 * client sent it; Cog accepts a loopback one (which the proxy's own origin is) and none.
 *
 * A request is only retried on another backend when its connection was refused, i.e.
 * before any of its body was read; once sent, a failure is the client's 502 (or a cut
 * response), never a second delivery. A client that goes away aborts the upstream request.
 */
export async function startRoundRobinProxy(backends: string[]): Promise<RoundRobinProxy> {
  if (backends.length === 0) throw new Error('startRoundRobinProxy needs at least one backend');
  const targets = backends.map((b) => {
    const u = new URL(b);
    if (u.protocol !== 'http:') throw new Error(`not an http:// backend: ${b}`);
    return {
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 80),
      host: u.host,
    };
  });
  const hits = targets.map(() => 0);
  const down = targets.map(() => false);
  let next = 0;
  // A fresh connection per request: a kept-alive socket to an instance that was killed
  // would fail with ECONNRESET after the body went out, which is not safely retryable.
  const agent = new Agent({ keepAlive: false });
  const upstreams = new Set<ClientRequest>();
  const sockets = new Set<Socket>();

  const fail = (res: ServerResponse, text: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end(`${text}\n`);
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    // This request's turn: the backend after the last one chosen, then around from there.
    const order = targets.map((_, k) => (next + k) % targets.length).filter((i) => !down[i]);
    let clientGone = false;
    res.on('close', () => {
      clientGone = true;
    });

    const attempt = (k: number): void => {
      const i = order[k];
      if (i === undefined) return fail(res, 'round-robin proxy: no backend is up');
      if (clientGone) return;
      const target = targets[i];
      if (!target) return fail(res, 'round-robin proxy: no such backend');
      const headers = passHeaders(req.rawHeaders, new Set(['host']));
      headers.push('Host', target.host);
      const up = httpRequest({
        agent,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // A flat [name, value, …] list keeps names, order and duplicates as they came.
        headers: headers as unknown as OutgoingHttpHeaders,
      });
      upstreams.add(up);
      let connected = false;
      const onConnected = () => {
        connected = true;
        next = (i + 1) % targets.length;
        hits[i] = (hits[i] ?? 0) + 1;
        // The body is only read once a backend took the connection: until then it waits
        // in `req`, so a refused attempt leaves it whole for the next backend.
        req.pipe(up);
      };
      up.on('socket', (s: Socket) => {
        if (s.connecting) s.once('connect', onConnected);
        else onConnected();
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        upstreams.delete(up);
        if (!connected && REFUSED.has(err.code ?? '')) return attempt(k + 1);
        if (clientGone) return;
        fail(res, `round-robin proxy: backend ${i} failed: ${err.code ?? err.message}`);
      });
      up.on('response', (upRes: IncomingMessage) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, passHeaders(upRes.rawHeaders));
        // An SSE stream may say nothing for a while: the client should have its headers now.
        res.flushHeaders();
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
        upRes.on('end', () => upstreams.delete(up));
      });
      // The client went away (or the proxy closed it): the backend should notice too, as it
      // would if the client had been talking to it directly.
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
        upstreams.delete(up);
      });
    };
    attempt(0);
  };

  const server = createServer({ requireHostHeader: false }, forward);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    setDown(i, isDown) {
      if (i < 0 || i >= targets.length) throw new RangeError(`no backend ${i}`);
      down[i] = isDown;
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const up of upstreams) up.destroy();
        for (const s of sockets) s.destroy();
        agent.destroy();
      })),
  };
}
