import {
  chmodSync,
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Authenticator } from './identity.js';
import {
  checkServiceTokenName,
  compileServiceTokens,
  describeServiceToken,
  matchServiceToken,
  mintServiceToken,
  ServiceTokenEntrySchema,
  ServiceTokenError,
  tokenExists,
  tokenNotFound,
  type CompiledServiceToken,
  type CreateOptions,
  type ServiceTokenEntry,
  type ServiceTokenInfo,
} from './service-token-core.js';

export {
  checkServiceTokenName,
  SERVICE_TOKEN_NAME,
  SERVICE_TOKEN_PREFIX,
  ServiceTokenError,
  type CreateOptions,
  type ServiceTokenErrorCode,
  type ServiceTokenInfo,
} from './service-token-core.js';

/**
 * Service tokens in a file, for a Cog without a database (with one they live in
 * PostgreSQL: service-tokens-pg.ts; what both share is in service-token-core.ts). Bearer
 * tokens for machines, each standing for principal `service:NAME`.
 * `<COG_HOME>/service-tokens.json` holds one entry per token with its SHA-256 and never the
 * token itself, so the file can leak without letting anyone in. A token is shown once, when
 * it is created.
 */

/** The file's name in COG_HOME. */
export const SERVICE_TOKENS_FILE = 'service-tokens.json';

type Entry = ServiceTokenEntry;

const FileSchema = z.strictObject({
  version: z.literal(1),
  tokens: z.array(ServiceTokenEntrySchema),
});

/** What create returns: the token (its only appearance), what is listed, and where. */
export interface CreatedServiceToken {
  /** The token itself. Shown to the user once; nothing keeps it. */
  token: string;
  info: ServiceTokenInfo;
  file: string;
}

/** `<home>/service-tokens.json`. */
export function serviceTokensFile(home: string): string {
  return join(home, SERVICE_TOKENS_FILE);
}

/**
 * Creates the token `name` stands for, stores its hash and returns it: the only time the
 * token exists outside the caller. The random part is independent of the name, so nothing
 * about one token says anything about another.
 */
export function createServiceToken(
  home: string,
  name: string,
  opts: CreateOptions,
): CreatedServiceToken {
  const { token, entry, now } = mintServiceToken(name, opts);
  const file = updateStore(home, (entries) => {
    if (entries.some((e) => e.name === name)) throw tokenExists(name);
    return [...entries, entry];
  });
  return { token, info: describeServiceToken(entry, now), file };
}

/** Every service token, oldest first, without hashes. A missing file means none. */
export function listServiceTokens(
  home: string,
  opts: { now?: () => number } = {},
): ServiceTokenInfo[] {
  const now = (opts.now ?? Date.now)();
  return readStore(serviceTokensFile(home)).entries.map((e) => describeServiceToken(e, now));
}

/** Removes the token `name`; a running authenticator refuses it from its next request. */
export function revokeServiceToken(home: string, name: string): ServiceTokenInfo {
  checkServiceTokenName(name);
  const removed: Entry[] = [];
  updateStore(home, (entries) => {
    removed.push(...entries.filter((e) => e.name === name));
    if (removed.length === 0) throw tokenNotFound(name);
    return entries.filter((e) => e.name !== name);
  });
  return describeServiceToken(removed[0] as Entry, Date.now());
}

export interface AuthenticatorOptions {
  /** The clock, in ms since the epoch (tests inject one). */
  now?: () => number;
  /** Where a file that turned bad while serving is reported; default stderr. */
  warn?: (message: string) => void;
}

interface Loaded {
  /** The file's identity (inode, size, change times); a new one means read it again. */
  version: string;
  entries: CompiledServiceToken[];
}

/**
 * Authenticates service tokens from `<home>/service-tokens.json`. The file is read now, and
 * a malformed or unsafe one throws here (at startup) rather than meaning "no tokens". Each
 * call checks the file's stat and reads it again when it changed, so `cog token create` and
 * `revoke` take effect on a running server at its next request. Should the file turn bad
 * while serving, every service token is refused (and it says so) until it is fixed.
 */
export function serviceTokenAuthenticator(
  home: string,
  opts: AuthenticatorOptions = {},
): Authenticator {
  const file = serviceTokensFile(home);
  const now = opts.now ?? Date.now;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`cog: ${m}\n`));
  const load = (): Loaded => {
    const { version, entries } = readStore(file);
    return { version, entries: compileServiceTokens(entries) };
  };
  let loaded = load();
  let failedVersion: string | undefined;

  const current = (): Loaded['entries'] => {
    const version = fileVersion(file);
    if (version === loaded.version) return loaded.entries;
    if (version === failedVersion) return [];
    try {
      loaded = load();
      failedVersion = undefined;
    } catch (err) {
      // Fail closed: a file we cannot read might be hiding a revocation.
      failedVersion = version;
      loaded = { version: '', entries: [] };
      warn(`${(err as Error).message}; refusing every service token until it is fixed`);
      return [];
    }
    return loaded.entries;
  };

  return async (token) => matchServiceToken(current(), token, now());
}

/** A string that changes whenever the file is replaced or written; `absent` when missing. */
function fileVersion(file: string): string {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return 'absent';
  }
}

function invalid(file: string, why: string, cause?: unknown): ServiceTokenError {
  return new ServiceTokenError(
    'service_token_file_invalid',
    `${file} ${why}: fix it, or delete it to revoke every service token`,
    { cause },
  );
}

/**
 * Reads and validates the store. It must be a regular file of ours that no one else can
 * read or write (anyone who could write it could let themselves in).
 */
function readStore(file: string): { version: string; entries: Entry[] } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 'absent', entries: [] };
    throw invalid(file, `cannot be read (${(err as Error).message})`, err);
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    const uid = process.getuid?.();
    if (!st.isFile()) throw invalid(file, 'is not a regular file');
    if (uid !== undefined && Number(st.uid) !== uid) throw invalid(file, 'belongs to another user');
    if ((Number(st.mode) & 0o077) !== 0) {
      const mode = (Number(st.mode) & 0o777).toString(8);
      throw invalid(file, `is open to other users (mode ${mode}; run chmod 600 on it)`);
    }
    // Stat of the open file, so the version belongs to the text read with it.
    const version = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    return { version, entries: parseStore(file, readFileSync(fd, 'utf8')) };
  } finally {
    closeSync(fd);
  }
}

function parseStore(file: string, text: string): Entry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(file, `is not valid JSON (${(err as Error).message})`, err);
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw invalid(file, `is not a service token file (${issue?.message}${at})`);
  }
  const names = new Set<string>();
  for (const e of parsed.data.tokens) {
    if (names.has(e.name)) throw invalid(file, `names "${e.name}" twice`);
    names.add(e.name);
  }
  return parsed.data.tokens;
}

/** A writer that held the temp file this long has died; its leftover may be removed. */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

/**
 * Read, change, write back. `<file>.tmp`, created exclusively, is both the lock and the
 * temp file: two `cog token` commands at once cannot lose each other's change (a lost
 * revoke would bring a token back), and renaming it over the file both publishes the new
 * contents atomically and releases the lock.
 */
function updateStore(home: string, change: (entries: Entry[]) => Entry[]): string {
  const file = serviceTokensFile(home);
  const temp = `${file}.tmp`;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const fd = acquire(temp);
  let renamed = false;
  try {
    const next = change(readStore(file).entries);
    writeSync(fd, `${JSON.stringify({ version: 1, tokens: next }, null, 2)}\n`);
    fsyncSync(fd);
    chmodSync(temp, 0o600); // a umask can only narrow the mode, but say it explicitly
    renameSync(temp, file);
    renamed = true;
    return file;
  } finally {
    closeSync(fd);
    if (!renamed) unlinkSync(temp);
  }
}

function acquire(temp: string): number {
  const deadline = Date.now() + LOCK_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return openSync(temp, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      if (Date.now() - statSync(temp).mtimeMs > STALE_LOCK_MS) unlinkSync(temp);
    } catch {
      // gone already: the other writer finished
    }
    if (Date.now() > deadline) {
      throw new ServiceTokenError(
        'service_token_busy',
        `another cog token command is changing the service tokens (${temp} exists): try again, or delete that file if none is running`,
      );
    }
    Atomics.wait(pause, 0, 0, 20);
  }
}
