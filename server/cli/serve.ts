import {
  anyOf,
  parseScopes,
  verifierAuthenticator,
  type Authenticator,
  type Scope,
} from '../auth/identity.js';
import { serviceTokenAuthenticator, serviceTokensFile } from '../auth/service-tokens.js';
import { localPrincipal, localTokenVerifier, loadOrCreateLocalToken } from '../auth/tokens.js';
import { existsSync } from 'node:fs';
import type { CogConfig, OidcSettings } from '../config.js';
import { isLoopbackHost } from '../mcp/http/guards.js';
import { metadataUrl } from '../mcp/http/oauth.js';
import { startHttpServer, type HttpAuth } from '../mcp/http/server.js';
import { createRuntime } from '../runtime/runtime.js';
import { engineLabel, keepStdoutForProtocol, untilSignal } from './mcp.js';
import { serveWeb } from './serve-web.js';

export interface ServeOptions {
  host: string;
  port: number;
  auth: boolean;
  /** Stop when stdin closes: a parent that holds stdin open dies, and so does this. */
  exitWithStdin?: boolean;
  /** Serve the chat page at `/` (default true; VS Code's own runtime needs none). */
  web?: boolean;
  /** Accept OAuth access tokens of this issuer (wins over COG_OIDC_ISSUER / config). */
  issuer?: string | undefined;
  /** The resource URL tokens must name; default the server's `/mcp` URL. */
  audience?: string | undefined;
  /** The scopes advertised as supported, space- or comma-separated; default all. */
  scopes?: string | undefined;
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
 * `cog serve`: Streamable HTTP MCP until SIGINT/SIGTERM. stderr gets the URL and where the
 * token is (never the token: `cog token local` prints a client configuration with it);
 * stdout gets one JSON line `{"url", "tokenFile"}` for a parent process.
 */
export async function runServe(config: CogConfig, opts: ServeOptions): Promise<number> {
  if (!opts.auth && !isLoopbackHost(opts.host)) {
    throw new UsageError(
      `refusing --no-auth on ${opts.host}: without a token anyone who can reach it could drive Cog. ` +
        'Use --no-auth only with a loopback --host (127.0.0.1, ::1, localhost), or drop --no-auth.',
    );
  }
  const oidc = oidcSettings(config, opts);
  if (oidc && !opts.auth) {
    throw new UsageError('--no-auth and an issuer contradict each other: drop one of them');
  }
  const scopes = opts.scopes === undefined ? undefined : scopesFlag(opts.scopes);
  keepStdoutForProtocol();
  const err = (line: string) => process.stderr.write(`${line}\n`);
  const token = opts.auth ? loadOrCreateLocalToken(config.home) : undefined;
  // The audience defaults to the URL the server ends up on (a free port): read per token.
  let resource = '';
  // The local token is the local user's (every scope); service tokens (`cog token`) are
  // machines', with the scopes they were made with.
  const services = token ? await serviceTokens(config, err) : undefined;
  const local =
    token && services
      ? anyOf(verifierAuthenticator(localTokenVerifier(token.token)), services.authenticate)
      : undefined;
  const auth: HttpAuth = !local
    ? { none: true, principal: localPrincipal() }
    : oidc
      ? await oidcAuth(oidc, local, scopes, () => resource)
      : { authenticate: local };
  let url = '';
  const browser = await serveWeb({
    enabled: opts.web !== false,
    ...(oidc ? { oidc } : {}),
    ...('authenticate' in auth ? { authenticate: auth.authenticate } : {}),
    localPrincipal: localPrincipal(),
    approval: config.approval,
    resource: () => resource || url,
    err,
  });

  // Code output never shows the local token nor the introspection client's secret.
  const secrets = [token?.token, oidc?.clientSecret].filter((s): s is string => !!s);
  let runtime;
  try {
    runtime = await createRuntime(config, { secrets: () => secrets });
  } catch (e) {
    await services?.close();
    throw e;
  }
  let server;
  try {
    server = await startHttpServer(runtime, {
      requestsPerMinute: config.perPrincipal.requestsPerMinute,
      host: opts.host,
      port: opts.port,
      auth,
      ...(browser.web ? { web: browser.web } : {}),
      log: (line) => err(`cog serve: ${line}`),
    });
  } catch (e) {
    await runtime.close();
    await services?.close();
    throw e;
  }

  resource = server.resource ?? '';
  url = server.url;
  err(`cog serve: MCP on ${server.url} · ${engineLabel(runtime)}`);
  if (oidc && server.resource) {
    err(
      `cog serve: OAuth resource ${server.resource} of issuer ${oidc.issuer}; metadata at ${metadataUrl(server.resource)}`,
    );
  }
  if (token) {
    // Not the token itself: stderr is often a log (systemd, a CI job, a terminal recorder).
    err(`cog serve: bearer token in ${token.file} (mode 0600${token.created ? ', new' : ''})`);
    err(`cog serve: for a client configuration with it, run: cog token local --url ${server.url}`);
  } else {
    err('cog serve: WARNING: --no-auth: any program on this machine can use this runtime');
    err(JSON.stringify({ mcpServers: { cog: { type: 'http', url: server.url } } }, null, 2));
  }
  browser.announce();
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
  await services?.close();
  // A parent's stdin kept open would otherwise keep this process alive after a signal.
  if (opts.exitWithStdin) process.stdin.destroy();
  return 0;
}

/**
 * Where service tokens are checked: with a database, its `cog_service_tokens` (shared by
 * every instance on it); without, `<COG_HOME>/service-tokens.json`. A file left in the home
 * while a database is configured is not read: merging it in would let a token revoked in
 * the database live on in one instance's home, so it is said once and left alone.
 */
async function serviceTokens(
  config: CogConfig,
  err: (line: string) => void,
): Promise<{ authenticate: Authenticator; close(): Promise<void> }> {
  if (!config.databaseUrl) {
    return { authenticate: serviceTokenAuthenticator(config.home), close: async () => {} };
  }
  const file = serviceTokensFile(config.home);
  if (existsSync(file)) {
    err(
      `cog serve: ${file} is not used: with a database the service tokens are in it (cog token list --database URL); recreate them there and delete the file`,
    );
  }
  const { openPgServiceTokens } = await import('../auth/service-tokens-pg.js');
  const tokens = await openPgServiceTokens({ url: config.databaseUrl });
  try {
    return {
      authenticate: await tokens.authenticator({ warn: (m) => err(`cog serve: ${m}`) }),
      close: () => tokens.close(),
    };
  } catch (e) {
    await tokens.close();
    throw e;
  }
}

/** The issuer settings: flags win over COG_OIDC_* and config.json. */
function oidcSettings(config: CogConfig, opts: ServeOptions): OidcSettings | undefined {
  const issuer = opts.issuer ?? config.oidc?.issuer;
  if (!issuer) {
    if (opts.audience !== undefined || opts.scopes !== undefined) {
      throw new UsageError('--audience and --scopes need --issuer (or COG_OIDC_ISSUER)');
    }
    return undefined;
  }
  for (const [flag, value] of [
    ['--issuer', opts.issuer],
    ['--audience', opts.audience],
  ] as const) {
    if (value !== undefined && !URL.canParse(value)) {
      throw new UsageError(`${flag} ${value} is not a URL: use e.g. https://login.example.com`);
    }
  }
  const audience = opts.audience ?? config.oidc?.audience;
  return {
    ...config.oidc,
    issuer,
    ...(audience ? { audience } : {}),
  };
}

/**
 * OAuth access tokens of the issuer, beside the local and service tokens (the local one
 * stays the local user's, with every scope). Discovery happens now: an unreachable or wrong issuer stops start-up.
 */
async function oidcAuth(
  oidc: OidcSettings,
  local: Authenticator,
  scopes: Scope[] | undefined,
  ownUrl: () => string,
): Promise<HttpAuth> {
  const { createOidcAuthenticator } = await import('../auth/oidc.js');
  const tokens = await createOidcAuthenticator({
    issuer: oidc.issuer,
    audience: oidc.audience ?? ownUrl,
    ...(oidc.clientId && oidc.clientSecret
      ? { introspection: { clientId: oidc.clientId, clientSecret: oidc.clientSecret } }
      : {}),
  });
  return {
    authenticate: anyOf(local, tokens),
    oauth: {
      authorizationServers: [oidc.issuer],
      ...(scopes ? { scopesSupported: scopes } : {}),
      ...(oidc.audience ? { resource: oidc.audience } : {}),
    },
  };
}

/** Parses `--scopes`: at least one, each a Cog scope. */
function scopesFlag(text: string): Scope[] {
  let scopes: Scope[];
  try {
    scopes = parseScopes(text);
  } catch (e) {
    throw new UsageError(`--scopes: ${(e as Error).message}`);
  }
  if (scopes.length === 0) throw new UsageError('--scopes: name at least one scope');
  return scopes;
}

/** How long closing streams, children and the store may take before the process exits. */
const SHUTDOWN_MS = 2_000;
