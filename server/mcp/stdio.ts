import type { Readable, Writable } from 'node:stream';
import { localPrincipal } from '../auth/tokens.js';
import type { Runtime } from '../runtime/runtime.js';
import { createMcpServer } from './server.js';
import { LineTransport } from './stdio-transport.js';

export interface StdioOptions {
  input?: Readable;
  output?: Writable;
  /** Who the client acts as; default `local:<os username>`, as `cog chat` uses. */
  principal?: string;
  maxLineBytes?: number;
  /** Where transport-level trouble is reported; never the protocol's stream. */
  log?: (line: string) => void;
}

export interface StdioHandle {
  /** Resolves once the connection is over (input ended, or `close()`). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves one MCP client over a pair of streams (stdin/stdout by default). The runtime is
 * the caller's: closing the connection closes the MCP server, not the runtime.
 */
export async function serveStdio(runtime: Runtime, opts: StdioOptions = {}): Promise<StdioHandle> {
  const transport = new LineTransport({
    input: opts.input ?? process.stdin,
    output: opts.output ?? process.stdout,
    ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const mcp = createMcpServer(runtime, {
    principal: opts.principal ?? localPrincipal(),
    channel: 'mcp-stdio',
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= mcp.close().finally(resolveClosed));
  // Set before connect(): the SDK chains its own handler after whatever is here.
  transport.onclose = () => void close();
  await mcp.server.connect(transport);
  return { closed, close };
}
