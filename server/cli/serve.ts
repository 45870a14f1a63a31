import { localPrincipal, localTokenVerifier, loadOrCreateLocalToken } from '../auth/tokens.js';
import type { CogConfig } from '../config.js';
import { isLoopbackHost } from '../mcp/http/guards.js';
import { startHttpServer, type HttpAuth } from '../mcp/http/server.js';
import { createRuntime } from '../runtime/runtime.js';
import { engineLabel, keepStdoutForProtocol, untilSignal } from './mcp.js';

export interface ServeOptions {
  host: string;
  port: number;
  auth: boolean;
  /** Stop when stdin closes: a parent that holds stdin open dies, and so does this. */
  exitWithStdin?: boolean;
}

/** A user error in the flags: exit code 2, message says what to do. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

/** Parses `--port`: an integer 0..65535 (0 picks a free port). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new UsageError(`--port ${value} is not a port: use 0..65535 (0 picks a free one)`);
  }
  return port;
}

/**
 * `cog serve`: Streamable HTTP MCP until SIGINT/SIGTERM. stderr gets the URL and a
 * client configuration to paste (with the token: that is the user's own terminal);
 * stdout gets one JSON line `{"url", "tokenFile"}` for a parent process.
 */
export async function runServe(config: CogConfig, opts: ServeOptions): Promise<number> {
  if (!opts.auth && !isLoopbackHost(opts.host)) {
    throw new UsageError(
      `refusing --no-auth on ${opts.host}: without a token anyone who can reach it could drive Cog. ` +
        'Use --no-auth only with a loopback --host (127.0.0.1, ::1, localhost), or drop --no-auth.',
    );
  }
  keepStdoutForProtocol();
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const token = opts.auth ? loadOrCreateLocalToken(config.home) : undefined;
  const auth: HttpAuth = token
    ? { verify: localTokenVerifier(token.token) }
    : { none: true, principal: localPrincipal() };

  const runtime = await createRuntime(config, { secrets: () => (token ? [token.token] : []) });
  let server;
  try {
    server = await startHttpServer(runtime, {
      host: opts.host,
      port: opts.port,
      auth,
      log: (line) => err(`cog serve: ${line}`),
    });
  } catch (e) {
    await runtime.close();
    throw e;
  }

  err(`cog serve: MCP on ${server.url} · ${engineLabel(runtime)}`);
  if (token) {
    err(`cog serve: bearer token in ${token.file} (mode 0600${token.created ? ', new' : ''})`);
    const client = {
      mcpServers: {
        cog: { type: 'http', url: server.url, headers: { Authorization: `Bearer ${token.token}` } },
      },
    };
    err(
      `MCP client configuration (contains the token; keep it private):\n${JSON.stringify(client, null, 2)}`,
    );
  } else {
    err('cog serve: WARNING: --no-auth: any program on this machine can use this runtime');
    err(JSON.stringify({ mcpServers: { cog: { type: 'http', url: server.url } } }, null, 2));
  }
  process.stdout.write(`${JSON.stringify({ url: server.url, tokenFile: token?.file ?? null })}\n`);

  const stdinClosed = new Promise<string>((resolve) => {
    if (!opts.exitWithStdin) return;
    process.stdin.on('end', () => resolve('stdin closed'));
    process.stdin.on('close', () => resolve('stdin closed'));
    process.stdin.resume();
  });
  const reason = await Promise.race([untilSignal(), stdinClosed]);
  err(`cog serve: ${reason}, closing`);
  // Shutdown is bounded: a parent restarting Cog waits for this exit.
  const deadline = setTimeout(() => {
    err(`cog serve: shutdown took over ${SHUTDOWN_MS} ms, exiting anyway`);
    process.exit(1);
  }, SHUTDOWN_MS);
  deadline.unref();
  await server.close();
  await runtime.close();
  // A parent's stdin kept open would otherwise keep this process alive after a signal.
  if (opts.exitWithStdin) process.stdin.destroy();
  return 0;
}

/** How long closing streams, children and the store may take before the process exits. */
const SHUTDOWN_MS = 2_000;
