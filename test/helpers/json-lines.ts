import type { Readable } from 'node:stream';

/** A JSON-RPC message as read back in tests: loose on purpose. */
export interface Wire {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
  params?: Record<string, unknown>;
}

/**
 * Collects newline-delimited JSON from a stream. Every line must parse: anything else on
 * the stream is itself a failure (`nonJson`), which is how tests check that stdout
 * carries nothing but protocol.
 */
export class JsonLines {
  readonly messages: unknown[] = [];
  readonly nonJson: string[] = [];
  private rest = '';
  /** Checks re-run after every message; each removes itself once satisfied. */
  private readonly checks = new Set<() => void>();

  /** With `paused`, nothing is read until `resume()` (to test a client that lags). */
  constructor(
    private readonly stream: Readable,
    opts: { paused?: boolean } = {},
  ) {
    if (!opts.paused) this.resume();
  }

  resume(): void {
    this.stream.on('data', (d: Buffer) => {
      this.rest += d.toString();
      let nl: number;
      while ((nl = this.rest.indexOf('\n')) !== -1) {
        const line = this.rest.slice(0, nl);
        this.rest = this.rest.slice(nl + 1);
        let m: unknown;
        try {
          m = JSON.parse(line);
        } catch {
          this.nonJson.push(line);
          continue;
        }
        this.messages.push(m);
        for (const check of this.checks) check();
      }
    });
  }

  /** The first message (already received or still to come) that passes `test`. */
  next<T = Wire>(test: (m: T) => boolean, timeoutMs = 10_000): Promise<T> {
    return this.until(() => this.messages.find((m) => test(m as T)) as T | undefined, timeoutMs);
  }

  /** Resolves once `count` messages have arrived in total. */
  count(count: number, timeoutMs = 10_000): Promise<true> {
    return this.until(
      () => this.messages.length >= count || undefined,
      timeoutMs,
      () => `${this.messages.length}/${count} messages`,
    );
  }

  private until<T>(probe: () => T | undefined, timeoutMs: number, what = () => 'a message') {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found === undefined) return;
        this.checks.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.checks.delete(check);
        reject(new Error(`timed out waiting for ${what()}`));
      }, timeoutMs);
      this.checks.add(check);
      check();
    });
  }
}
