import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Maps a bearer token to the principal it authenticates, or `undefined` when it is not
 * valid. The local token file, a fixed table (tests) and OIDC later all fit this shape.
 */
export type TokenVerifier = (token: string) => string | undefined | Promise<string | undefined>;

/** The principal of whoever runs this process: `local:<os username>`, as `cog chat` uses. */
export function localPrincipal(): string {
  return `local:${userInfo().username}`;
}

/**
 * Constant-time string comparison. Both sides are hashed first so that neither the
 * length nor the position of the first difference shows in the timing.
 */
export function tokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * A verifier over a fixed table token → principal. Every entry is compared, so the time
 * taken does not say which entry (if any) matched.
 */
export function tokenTableVerifier(table: Record<string, string>): TokenVerifier {
  const entries = Object.entries(table);
  return (token) => {
    let found: string | undefined;
    for (const [candidate, principal] of entries) {
      if (tokensEqual(token, candidate) && found === undefined) found = principal;
    }
    return found;
  };
}

/** A generated local token: 32 random bytes, base64url. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43,}$/;

export interface LocalToken {
  token: string;
  file: string;
  /** True when the file was (re)written now, false when an existing one was reused. */
  created: boolean;
}

/**
 * The local bearer token in `<home>/token`. An existing file is reused only when it is
 * ours, readable by us alone (mode 0600) and well-formed; anything else is replaced by a
 * fresh token, written to a 0600 temp file and renamed over it so that no other user can
 * ever read a token through a wider mode.
 */
export function loadOrCreateLocalToken(home: string): LocalToken {
  const file = join(home, 'token');
  const existing = readIfPrivate(file);
  if (existing !== undefined) return { token: existing, file, created: false };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const token = generateToken();
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(temp, 0o600); // a umask can only narrow the mode, but say it explicitly
  renameSync(temp, file);
  return { token, file, created: true };
}

function readIfPrivate(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (st.mode & 0o077) !== 0) return undefined;
    if (uid !== undefined && st.uid !== uid) return undefined;
    const token = readFileSync(fd, 'utf8').trim();
    return TOKEN_SHAPE.test(token) ? token : undefined;
  } finally {
    closeSync(fd);
  }
}

/** The default verifier: the local token authenticates the local user. */
export function localTokenVerifier(token: string, principal = localPrincipal()): TokenVerifier {
  return tokenTableVerifier({ [token]: principal });
}
