import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import {
  classifyLine,
  errorReply,
  INVALID_REQUEST,
  type TransportErrorReply,
} from './stdio-messages.js';

/** Lines longer than this are answered with an error and discarded while they stream in. */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;
/** After stdin ends, how long requests still running may take to answer. */
const DEFAULT_END_GRACE_MS = 5000;

export interface LineTransportOptions {
  input: Readable;
  output: Writable;
  maxLineBytes?: number;
  endGraceMs?: number;
  /** Transport-level trouble (a failing output stream); never protocol content. */
  log?: (line: string) => void;
}

/**
 * Newline-delimited JSON-RPC over a pair of streams, for `cog mcp`.
 *
 * Unlike the SDK's StdioServerTransport, which drops what it cannot parse, every line
 * gets an answer: -32700 for bytes that are not JSON, -32600 (with the request's id when
 * one can be read) for JSON that is not a JSON-RPC message, and a -32600 for a line over
 * `maxLineBytes`, which is discarded as it streams in rather than buffered whole.
 * A JSON array (a JSON-RPC batch) is answered -32600 whatever the protocol version, and
 * nothing in it runs: one message per line.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly input: Readable;
  private readonly output: Writable;
  private readonly maxLineBytes: number;
  private readonly endGraceMs: number;
  private readonly log: (line: string) => void;
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;
  private started = false;
  private closed = false;
  private ended = false;
  /** Requests handed to the server and not yet answered, by id (ids may repeat). */
  private readonly pending = new Map<RequestId, number>();
  /** Set while the output is congested; resolves on its 'drain'. */
  private drained: Promise<void> | undefined;

  constructor(opts: LineTransportOptions) {
    this.input = opts.input;
    this.output = opts.output;
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.endGraceMs = opts.endGraceMs ?? DEFAULT_END_GRACE_MS;
    this.log = opts.log ?? (() => {});
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('LineTransport already started');
    this.started = true;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('close', this.onEnd);
    this.input.on('error', this.onInputError);
    this.output.on('error', this.onOutputError);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const answer = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);
    if (answer && message.id !== undefined) this.settle(message.id);
    await this.write(message);
    if (answer) this.maybeFinish();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.off('error', this.onInputError);
    // The output error listener stays: a write still in flight may fail (EPIPE) after
    // close, and an 'error' with no listener would crash the process.
    this.input.pause();
    this.parts = [];
    this.onclose?.();
  }

  private readonly onData = (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start <= data.length) {
      const nl = data.indexOf(0x0a, start);
      const end = nl === -1 ? data.length : nl;
      if (this.discarding) {
        if (nl !== -1) this.discarding = false;
      } else if (this.size + (end - start) > this.maxLineBytes) {
        this.parts = [];
        this.size = 0;
        this.discarding = nl === -1;
        this.reply(
          errorReply(
            null,
            INVALID_REQUEST,
            `Invalid Request: message longer than ${this.maxLineBytes} bytes; discarded`,
          ),
        );
      } else if (end > start) {
        this.parts.push(data.subarray(start, end));
        this.size += end - start;
      }
      if (nl === -1) break;
      if (!this.discarding) this.takeLine();
      start = nl + 1;
    }
  };

  private takeLine() {
    const line = Buffer.concat(this.parts, this.size).toString('utf8').replace(/\r$/, '');
    this.parts = [];
    this.size = 0;
    this.handleLine(line);
  }

  private handleLine(line: string) {
    const c = classifyLine(line);
    switch (c.kind) {
      case 'empty':
        return;
      case 'error':
        return this.reply(c.reply);
      case 'message':
        return this.dispatch(c.message);
      default: {
        const never: never = c;
        return never;
      }
    }
  }

  private dispatch(message: JSONRPCMessage) {
    if (isJSONRPCRequest(message)) {
      this.pending.set(message.id, (this.pending.get(message.id) ?? 0) + 1);
    } else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      // A cancelled request is never answered: stop waiting for it.
      const id = message.params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') this.settle(id);
      this.maybeFinish();
    }
    try {
      this.onmessage?.(message);
    } catch (err) {
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private settle(id: RequestId) {
    const n = this.pending.get(id);
    if (n === undefined) return;
    if (n <= 1) this.pending.delete(id);
    else this.pending.set(id, n - 1);
  }

  private reply(reply: TransportErrorReply) {
    void this.write(reply);
  }

  /**
   * Writes one line. While the output is congested, input is paused: a client that
   * floods requests without reading the answers cannot make us buffer without bound.
   */
  private write(value: JSONRPCMessage | TransportErrorReply): Promise<void> {
    if (this.closed || this.output.destroyed || !this.output.writable) return Promise.resolve();
    if (this.output.write(`${JSON.stringify(value)}\n`)) return Promise.resolve();
    this.drained ??= new Promise((resolve) => {
      this.input.pause();
      this.output.once('drain', () => {
        this.drained = undefined;
        if (!this.closed) this.input.resume();
        resolve();
      });
    });
    return this.drained;
  }

  /** Stdin ended: answer what is still running (within the grace period), then close. */
  private readonly onEnd = () => {
    if (this.ended) return;
    this.ended = true;
    if (!this.discarding && this.size > 0) this.takeLine();
    if (this.pending.size === 0) {
      void this.close();
      return;
    }
    setTimeout(() => void this.close(), this.endGraceMs).unref();
  };

  private maybeFinish() {
    if (this.ended && this.pending.size === 0) void this.close();
  }

  private readonly onInputError = (err: Error) => {
    this.onerror?.(err);
    void this.close();
  };

  private readonly onOutputError = (err: Error) => {
    // A client that went away (EPIPE) leaves nobody to answer: stop.
    if (this.closed) return;
    this.log(
      `output stream failed (${(err as NodeJS.ErrnoException).code ?? err.message}); closing`,
    );
    void this.close();
  };
}
