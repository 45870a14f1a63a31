import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Bytes of the request the client got onto the wire before the exchange ended. */
  sentBytes: number;
}

export interface RawRequest {
  method?: string;
  path?: string;
  /** Exactly these headers; `host: undefined` sends no Host header at all. */
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
  /** Send the body in pieces of this size, chunked (no Content-Length). */
  chunked?: number;
}

/**
 * One HTTP request with full control over Host and framing, which `fetch` does not give.
 * Resolves on the response even if the server closes the connection while the body is
 * still being sent (the 413 case).
 */
export function rawRequest(port: number, req: RawRequest): Promise<RawResponse> {
  const merged: Record<string, string | undefined> = {
    host: `127.0.0.1:${port}`,
    ...req.headers,
  };
  const headers = Object.fromEntries(
    Object.entries(merged).filter((kv): kv is [string, string] => kv[1] !== undefined),
  );
  return new Promise((resolve, reject) => {
    let responded = false;
    const r = request(
      {
        host: '127.0.0.1',
        port,
        method: req.method ?? 'POST',
        path: req.path ?? '/mcp',
        headers,
        setHost: false, // Host is exactly what `headers` says, or absent
        agent: false,
      },
      (res) => {
        responded = true;
        let body = '';
        const done = () => {
          const out = { status: res.statusCode ?? 0, headers: res.headers, body };
          // Wait for the request side too, so sentBytes is final.
          if (r.closed) resolve({ ...out, sentBytes: r.socket?.bytesWritten ?? 0 });
          else r.once('close', () => resolve({ ...out, sentBytes: r.socket?.bytesWritten ?? 0 }));
        };
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', done);
        res.on('error', done);
      },
    );
    r.on('error', (e) => {
      if (!responded) reject(e); // no response at all; after one, the response decides
    });
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    if (body && req.chunked) {
      let i = 0;
      const pump = () => {
        while (i < body.length) {
          const piece = body.subarray(i, (i += req.chunked!));
          if (!r.write(piece)) return void r.once('drain', pump);
        }
        r.end();
      };
      pump();
    } else {
      r.end(body);
    }
  });
}

/** What every error body must look like: a JSON-RPC error, no stack, no path, no HTML. */
export function assertJsonRpcErrorBody(
  res: RawResponse,
  fail: (message: string) => never,
): { code: number; message: string } {
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) fail(`content-type ${type}: ${res.body}`);
  let parsed: { jsonrpc?: string; id?: unknown; error?: { code: number; message: string } };
  try {
    parsed = JSON.parse(res.body) as typeof parsed;
  } catch {
    return fail(`not JSON: ${res.body}`);
  }
  const idOk = parsed.id === null || ['string', 'number'].includes(typeof parsed.id);
  if (parsed.jsonrpc !== '2.0' || !idOk || !parsed.error) {
    fail(`not a JSON-RPC error: ${res.body}`);
  }
  if (
    /\bat \S+ \(|\/[\w.-]+\/[\w.-]+\.(ts|js|mjs)\b|<html|node_modules|\/tmp\/|\/home\//i.test(
      res.body,
    )
  ) {
    fail(`leaks internals: ${res.body}`);
  }
  return parsed.error;
}
