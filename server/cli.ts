import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { runChat } from './cli/chat.js';
import { runDoctor } from './cli/doctor.js';
import { helpText, VERSION } from './cli/help.js';
import { runMcp } from './cli/mcp.js';
import { parsePort, runServe } from './cli/serve.js';
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from './mcp/http/server.js';

/** The `cog` command. Only wiring: each subcommand lives in server/cli/. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(helpText());
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'chat') {
    const { values } = parseArgs({
      args: rest,
      options: {
        session: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(helpText());
      return 0;
    }
    return runChat(loadConfig(), { session: values.session, json: values.json });
  }
  if (command === 'mcp') {
    const { values } = parseArgs({
      args: rest,
      options: { help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(helpText());
      return 0;
    }
    return runMcp(loadConfig());
  }
  if (command === 'doctor') {
    const { values } = parseArgs({
      args: rest,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(helpText());
      return 0;
    }
    return runDoctor(loadConfig(), { json: values.json });
  }
  if (command === 'serve') {
    const { values } = parseArgs({
      args: rest,
      options: {
        host: { type: 'string', default: DEFAULT_HTTP_HOST },
        port: { type: 'string', default: String(DEFAULT_HTTP_PORT) },
        'no-auth': { type: 'boolean', default: false },
        'exit-with-stdin': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(helpText());
      return 0;
    }
    return runServe(loadConfig(), {
      host: values.host,
      port: parsePort(values.port),
      auth: !values['no-auth'],
      exitWithStdin: values['exit-with-stdin'],
    });
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
    process.exitCode = code.startsWith('ERR_PARSE_ARGS_') || code === 'usage' ? 2 : 1;
  },
);
