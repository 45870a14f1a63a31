import { ENV_DOCS } from '../config.js';

export const VERSION = '0.1.0';

export function helpText(): string {
  const env = ENV_DOCS.map(([name, what]) => `  ${name.padEnd(20)} ${what}`).join('\n');
  return `cog ${VERSION}: a cognitive agent runtime

Usage:
  cog chat [--session ID] [--json]   chat in the terminal
  cog --help | --version

cog chat
  On a terminal: streamed replies with compact HUD lines; Ctrl-C cancels a running
  turn, Ctrl-D (or /exit) quits. With approval "ask" each code run asks y/n first.
  With stdin not a terminal: one message per input line, each reply printed on its own
  (JSONL events instead with --json); runs that need approval are denied, so set
  COG_APPROVAL=auto to let piped chats run code.

  --session ID   resume session ID (or create it with that id); default: a new session
  --json         print every runtime event as one JSON object per line
  -h, --help     this text

With no model configured, Cog answers with its offline engine (deterministic, no
network). Configuration comes from the environment and <COG_HOME>/config.json
(the environment wins):
${env}
`;
}
