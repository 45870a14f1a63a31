import { ENV_DOCS } from '../config-docs.js';
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from '../mcp/http/defaults.js';
import { VERSION } from './version.js';

/** One command's help: its usage lines (as in the overview) and what it does, with options. */
interface CommandHelp {
  usage: string;
  text: string;
  /** It starts a runtime, so the configuration variables apply to it. */
  readsConfig: boolean;
}

export const COMMAND_HELP: Record<string, CommandHelp> = {
  chat: {
    usage: `  cog chat [--session ID [--create]] [--json]
                                     chat in the terminal`,
    text: `  On a terminal: replies stream above a prompt that is always redrawn, with a
  compact HUD line per node (sensor changes too) and each code run's output live.
  What you type while a reply streams is queued and sent after it. With approval
  "ask" each code run shows its code and asks y/N. Ctrl-C cancels the running turn,
  or denies the run waiting for approval; at an empty prompt, twice leaves. Colours
  only on a terminal, and never with NO_COLOR set.
  Commands (Tab completes them): /help, /sessions, /session ID, /new, /clear,
  /approve, /deny, /trace [N], /state, /action NAME [JSON], /quit (or /exit, Ctrl-D).

  With stdin not a terminal: one message per input line, each reply printed on its own
  (JSONL events instead with --json); runs that need approval are denied, so set
  COG_APPROVAL=auto to let piped chats run code. The exit code is 1 when any turn
  failed (the reason is on stderr), 2 for a usage error.

  --session ID   talk in your session ID; an unknown ID is an error (exit 2)
  --create       with --session: create the session under that ID if it does not exist
  --json         print every runtime event as one JSON object per line
  -h, --help     this text`,
    readsConfig: true,
  },
  mcp: {
    usage: `  cog mcp                            serve MCP on stdin/stdout (for agents that spawn it)`,
    text: `  One MCP client on stdin/stdout, acting as local:<your username> (the sessions of
  cog chat). Only JSON-RPC goes to stdout; logs go to stderr. A malformed line gets a
  JSON-RPC error. Exits when stdin closes, once pending memory updates are stored
  (at most 10 s); on SIGINT or SIGTERM at once.

  -h, --help     this text`,
    readsConfig: true,
  },
  serve: {
    usage: `  cog serve [--host H] [--port N] [--no-auth] [--exit-with-stdin] [--no-web]
            [--issuer URL [--audience URL] [--scopes S]] [--database URL]
                                     serve MCP over Streamable HTTP at /mcp, and the
                                     chat in a browser at /`,
    text: `  Streamable HTTP MCP at http://HOST:PORT/mcp for any number of clients, sharing one
  runtime; each client's sessions are its principal's own. Requires a bearer token:
  generated once into <COG_HOME>/token (mode 0600) and reused. On start it prints the
  URL and where the token is to stderr (never the token: its stderr is often a log;
  cog token local prints a client configuration with it), and one line
  {"url": ..., "tokenFile": ...} to stdout. Requests with a Host or Origin that is
  not this machine's are refused (403). Ctrl-C (SIGINT) or SIGTERM stops it.

  With --issuer it is also an OAuth 2.1 protected resource (MCP authorization): it
  accepts access tokens of that issuer for its audience, as principal
  oidc:<issuer>#<sub>, each holding only the scopes its token grants (cog:read:
  state, history, trace, process-list, resources; cog:chat: send, action, clear,
  sessions create/delete; cog:approve: process-approve, process-cancel). A call
  without its scope is refused (403 insufficient_scope) before it runs. Its metadata
  is at /.well-known/oauth-protected-resource/mcp; every 401 points there. Opaque
  tokens are introspected when COG_OIDC_CLIENT_ID and COG_OIDC_CLIENT_SECRET are set.
  The local token keeps working for the local user. A token in the URL is refused.

  The chat runs in a browser too, at http://HOST:PORT/: the panel of the VS Code
  extension, with the same sanitising and Content-Security-Policy. Without --issuer,
  cog serve prints a sign-in link for the local user that works once, within 15
  minutes (a new one is printed when it is used); with --issuer and Cog's client there
  (COG_OIDC_CLIENT_ID and COG_OIDC_CLIENT_SECRET, redirect URI <server>/auth/callback)
  people sign in with the issuer (authorization code + PKCE) as oidc:<issuer>#<sub>.
  Either way the browser gets an HttpOnly, SameSite=Strict session cookie (12 hours,
  2 idle), never a token; Sign out ends it.

  With --database postgres://… (or COG_DATABASE_URL) the sessions live in PostgreSQL
  instead of <COG_HOME>/sessions: Cog creates and migrates its cog_* tables itself, and
  any number of cog serve instances can use one database. Its service tokens are then
  the database's too (see cog token).

  --host H       address to listen on (default ${DEFAULT_HTTP_HOST}); a non-loopback address
                 needs auth (it is refused with --no-auth)
  --port N       port (default ${DEFAULT_HTTP_PORT}); 0 picks a free one
  --no-auth      no token, for local tools that cannot send headers; loopback only,
                 with a warning: any program on this machine can then use Cog
  --exit-with-stdin
                 stop when stdin closes (for a parent process that keeps it open,
                 so the runtime never outlives it)
  --no-web       no chat page at / and no sign-in link
  --issuer URL   accept OAuth access tokens of this OpenID Connect / OAuth issuer
                 (default COG_OIDC_ISSUER); discovered at start, https or loopback http
  --audience URL the resource URL tokens must name as their audience (default
                 COG_OIDC_AUDIENCE, else this server's /mcp URL as printed; set it to
                 the public URL behind a proxy: its Host and Origin are then accepted)
  --database URL sessions (and service tokens, MCP sessions, workspaces) in this
                 PostgreSQL database, shared with other cog serve instances (default
                 COG_DATABASE_URL)
  --scopes S     the scopes advertised as supported (default: cog:read cog:chat
                 cog:approve)
  -h, --help     this text`,
    readsConfig: true,
  },
  sessions: {
    usage: `  cog sessions [list] [--json]       your sessions on this COG_HOME
  cog sessions delete ID...          delete sessions: their log, snapshot and workspace`,
    text: `  Lists the sessions of local:<your username> (those of cog chat and cog mcp), or
  deletes some: the event log, the snapshot and the code runs' workspace are removed.
  It opens COG_HOME itself, so it refuses while cog serve or cog chat runs on it; a
  client of that runtime deletes with the MCP sessions tool (action "delete").

  --json         list as one JSON object
  -h, --help     this text`,
    readsConfig: true,
  },
  doctor: {
    usage: `  cog doctor [--json]                which isolation tiers work here, and what each language gets`,
    text: `  Probes the isolation tiers model-written code can run in, strongest first:
  bubblewrap (Linux, bwrap installed), namespaces (Linux: util-linux unshare with user,
  mount, pid and network namespaces), wasm (any OS: Python on Pyodide, JavaScript on
  QuickJS, SQL on sql.js; pure-Python standard library only), and none (no sandbox).
  Says which tier each language gets and, for tiers that do not work, why and what to
  install. Exits 1 when some language would get no sandbox.

  --json         the same as one JSON object
  -h, --help     this text`,
    readsConfig: false,
  },
  token: {
    usage: `  cog token create NAME [--scopes S] [--expires T] [--json] [--database URL]
                                     a service token for a machine, shown once
  cog token list [--json] [--database URL]
                                     the service tokens (never the tokens themselves)
  cog token revoke NAME [--database URL]
                                     revoke a service token
  cog token local [--url URL]        an MCP client configuration with the local token`,
    text: `  Service tokens let a program (CI, a bot, another server) call cog serve as principal
  service:NAME, apart from the local user and holding only the scopes it is given.
  create prints the token on stdout once; only its SHA-256 hash is kept, in
  <COG_HOME>/service-tokens.json (mode 0600). list shows name, scopes, creation,
  expiry and whether it has expired. revoke removes it; a running cog serve refuses it
  from its next request. The local token (<COG_HOME>/token) stays the local user's:
  local prints an MCP client configuration holding it (stdout only, for pasting into
  a client), for cog serve at URL (default http://${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}/mcp).

  With a database (--database postgres://…, COG_DATABASE_URL or databaseUrl) the
  tokens live in its cog_service_tokens table instead, shared by every cog serve on
  that database: a token made once works on all of them, and a revoke is refused by
  all within 0.5 s. A service-tokens.json left in COG_HOME is then not used (it is
  said on stderr): create its tokens again in the database.

  NAME           1 to 64 letters, digits, "_", "." or "-"
  --scopes S     space- or comma-separated, of cog:read, cog:chat, cog:approve
                 (default: all three)
  --expires T    a duration from now (30d, 12h, 90m) or an ISO date or date-time
                 (2027-01-31, 2027-01-31T12:00:00Z); default: never
  --json         create, list and revoke print one JSON object
  --url URL      local: the cog serve MCP URL the configuration names
  --database URL the PostgreSQL database whose tokens these are (default
                 COG_DATABASE_URL, else config.json's databaseUrl, else the file)
  -h, --help     this text`,
    readsConfig: false,
  },
};

const envTable = () => ENV_DOCS.map(([name, what]) => `  ${name.padEnd(20)} ${what}`).join('\n');

const CONFIG_INTRO = `Configuration comes from the environment and <COG_HOME>/config.json (the environment
wins):`;

const EXIT_STATUS = `Exit status: 0 done; 1 something failed (said on stderr); 2 a usage error (a bad
command, flag or argument); 78 the configuration is invalid (a bad variable or
config.json), which retrying will not fix.`;

/** The usage lines of every command (the README's "Commands" section is this, verbatim). */
export function usageText(): string {
  return `${Object.values(COMMAND_HELP)
    .map((c) => c.usage)
    .join('\n')}
  cog COMMAND --help                 one command's help
  cog --help | --version`;
}

/** \`cog --help\`: every command, then every configuration variable. */
export function helpText(): string {
  const commands = Object.entries(COMMAND_HELP);
  return `cog ${VERSION}: a cognitive agent runtime

Usage:
${usageText()}

${commands.map(([name, c]) => `cog ${name}\n${c.text}`).join('\n\n')}

With no model configured, Cog answers with its offline engine (deterministic, no
network). ${CONFIG_INTRO}
${envTable()}

${EXIT_STATUS}
`;
}

/** \`cog COMMAND --help\`: that command alone (and the variables, if it reads them). */
export function commandHelpText(name: string): string | undefined {
  const c = COMMAND_HELP[name];
  if (!c) return undefined;
  const config = c.readsConfig ? `\n${CONFIG_INTRO}\n${envTable()}\n\n${EXIT_STATUS}\n` : '';
  return `Usage:\n${c.usage}\n\n${c.text}\n${config}\ncog --help lists every command.\n`;
}
