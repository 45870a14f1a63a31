import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { runChat } from './cli/chat.js';
import { helpText, VERSION } from './cli/help.js';

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
    process.exitCode = (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1;
  },
);
