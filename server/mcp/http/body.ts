import type { IncomingMessage } from 'node:http';

/** Default bound on a POST body, the same as the SDK's own (4 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export type BodyResult =
  { ok: true; value: unknown } | { ok: false; status: 400 | 413; code: number; message: string };

/**
 * Reads and parses a JSON request body of at most `limit` bytes. A declared
 * Content-Length over the limit is refused before reading anything; otherwise reading
 * stops (the request is paused, nothing more is buffered) as soon as the limit is passed.
 * The caller answers with `Connection: close` so the rest is never read.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const tooLarge: BodyResult = {
    ok: false,
    status: 413,
    code: -32000,
    message: `Payload Too Large: the body must not exceed ${limit} bytes`,
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(tooLarge);

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        chunks.length = 0;
        finish(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const text = Buffer.concat(chunks, size).toString('utf8');
      try {
        finish({ ok: true, value: JSON.parse(text) as unknown });
      } catch {
        finish({
          ok: false,
          status: 400,
          code: -32700,
          message: 'Parse error: the body is not valid JSON',
        });
      }
    };
    const onError = () =>
      finish({ ok: false, status: 400, code: -32000, message: 'Bad Request: body not received' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
