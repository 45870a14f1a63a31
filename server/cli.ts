import * as nodeModule from 'node:module';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { VERSION } from './cli/version.js';
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from './mcp/http/defaults.js';

// Everything else is imported by the command that needs it: the bundle is split into
// chunks (esbuild.mjs), so `cog --version` compiles only this file and `cog mcp` never
// the HTTP server.
/**
 * The exit code of a configuration error (sysexits' EX_CONFIG): a parent that starts Cog
 * (the VS Code extension) tells it from a crash, and asks for the setting instead of
 * starting it again and again.
 */
export const EXIT_CONFIG = 78;

const loadConfig = async (env: NodeJS.ProcessEnv = process.env) =>
  (await import('./config.js')).loadConfig(env);

/**
 * The environment `cog serve` (and `cog token`, with no issuer) reads its configuration
 * from: `--issuer` stands in for
 * COG_OIDC_ISSUER, so the client settings beside it (COG_OIDC_CLIENT_ID, config.json's
 * oidc) go with the flag's issuer, and `--database` for COG_DATABASE_URL. An issuer that
 * is not a URL is left to runServe, which names the flag; --audience is applied there.
 */
function serveEnv(issuer: string | undefined, database: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (issuer !== undefined && URL.canParse(issuer)) env.COG_OIDC_ISSUER = issuer;
  if (database !== undefined) env.COG_DATABASE_URL = database;
  return env;
}
const helpText = async () => (await import('./cli/help.js')).helpText();
/** One command's help, or the overview for a name that is not a command. */
const commandHelp = async (name: string) =>
  (await import('./cli/help.js')).commandHelpText(name) ?? (await helpText());

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true }>
>['values'];

/** Parses a subcommand's options strictly (plus -h/--help, which prints the help). */
async function subcommand<O extends Options>(
  name: string,
  args: string[],
  options: O,
  run: (values: Values<O>) => Promise<number>,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...options, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
  });
  if ((values as { help?: boolean }).help) {
    process.stdout.write(await commandHelp(name));
    return 0;
  }
  return run(values as Values<O>);
}

/** The `cog` command. Only wiring: each subcommand lives in server/cli/. */
async function main(argv: string[]): Promise<number> {
  // Node ≥ 22.1 keeps the compiled code of the chunks imported below on disk between runs
  // (in the OS temp folder; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Older Node lacks it.
  (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  const [command, ...rest] = argv;
  if (command === 'help' && rest[0]) {
    process.stdout.write(await commandHelp(rest[0]));
    return 0;
  }
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(await helpText());
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  switch (command) {
    case 'chat':
      return subcommand(
        'chat',
        rest,
        {
          session: { type: 'string' },
          create: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
        async (v) =>
          (await import('./cli/chat.js')).runChat(await loadConfig(), {
            session: v.session,
            create: v.create,
            json: v.json,
          }),
      );
    case 'mcp':
      return subcommand('mcp', rest, {}, async () =>
        (await import('./cli/mcp.js')).runMcp(await loadConfig()),
      );
    case 'sessions': {
      const [action = 'list', ...ids] = rest.filter((a) => !a.startsWith('-'));
      if (action !== 'list' && action !== 'delete') {
        process.stderr.write(`cog: unknown sessions action "${action}". Run cog --help.\n`);
        return Promise.resolve(2);
      }
      return subcommand(
        'sessions',
        rest.filter((a) => a.startsWith('-')),
        { json: { type: 'boolean', default: false } },
        async (v) =>
          (await import('./cli/sessions.js')).runSessions(await loadConfig(), {
            action,
            ids,
            json: v.json,
          }),
      );
    }
    case 'doctor':
      return subcommand('doctor', rest, { json: { type: 'boolean', default: false } }, async (v) =>
        (await import('./cli/doctor.js')).runDoctor(await loadConfig(), { json: v.json }),
      );
    case 'token':
      // Its own parser: NAME is a positional among the options, and -h is handled there.
      return (await import('./cli/token.js')).runToken(rest, (database) =>
        loadConfig(serveEnv(undefined, database)),
      );
    case 'serve': {
      const { parsePort, runServe } = await import('./cli/serve.js');
      return subcommand(
        'serve',
        rest,
        {
          host: { type: 'string', default: DEFAULT_HTTP_HOST },
          port: { type: 'string', default: String(DEFAULT_HTTP_PORT) },
          'no-auth': { type: 'boolean', default: false },
          'exit-with-stdin': { type: 'boolean', default: false },
          'no-web': { type: 'boolean', default: false },
          issuer: { type: 'string' },
          audience: { type: 'string' },
          scopes: { type: 'string' },
          database: { type: 'string' },
        },
        async (v) =>
          runServe(await loadConfig(serveEnv(v.issuer, v.database)), {
            host: v.host,
            port: parsePort(v.port),
            auth: !v['no-auth'],
            exitWithStdin: v['exit-with-stdin'],
            web: !v['no-web'],
            issuer: v.issuer,
            audience: v.audience,
            scopes: v.scopes,
          }),
      );
    }
  }
  process.stderr.write(`cog: unknown command "${command}". Run cog --help.\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // User-facing: what happened and what to do, never a stack trace.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`cog: ${message}\n`);
    const code = String((err as { code?: unknown } | undefined)?.code);
    process.exitCode =
      code.startsWith('ERR_PARSE_ARGS_') || code === 'usage'
        ? 2
        : code === 'config_invalid'
          ? EXIT_CONFIG
          : 1;
  },
);
