/**
 * Throw-away PostgreSQL servers for tests: Debian's PostgreSQL (test/setup/install.sh
 * installs it), a fresh cluster in its own temp dir per startPostgres(), on 127.0.0.1 and a
 * free port, password (SCRAM) authentication, fsync left on: the store's durability is
 * what gets tested, so the server must not be faster than a real one by lying about it.
 * The system cluster the Debian package may have started is never touched.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './code-server.js';

const run = promisify(execFile);

export interface PgServer {
  /** postgres://cog:<password>@127.0.0.1:<port>/<name>: the database made at start. */
  url: string;
  host: string;
  port: number;
  /** The temp dir: data/ (the cluster), the socket, server.log; deleted by stop(). */
  dir: string;
  /** Creates a new, empty database on this server; its URL. Lets tests share one server. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast`, then deletes the dir. Safe to call twice. */
  stop(): Promise<void>;
  /** The server's log so far (kept after stop()). */
  log(): string;
}

/** The directory with initdb, pg_ctl and postgres: pg_config's, else the newest Debian one. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // no pg_config (it comes with libpq-dev): look where Debian puts the server
  }
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+$/.test(v));
    for (const v of versions.sort((a, b) => Number(b) - Number(a)))
      candidates.push(join(base, v, 'bin'));
  }
  const found = candidates.find((d) =>
    ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(d, b))),
  );
  if (!found) {
    throw new Error(
      `PostgreSQL's server (initdb, pg_ctl, postgres) is not installed (looked in ${candidates.join(', ') || base}); run: npm run setup:test`,
    );
  }
  return found;
}

/** uid and gid of the `postgres` system user the Debian package creates. */
function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root but there is no `postgres` user; run: npm run setup:test');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

const DB_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** sh -c: waits for pid $1 to end, runs the stop command ($3...), deletes dir $2. */
const WATCHDOG =
  'p=$1; d=$2; shift 2; while kill -0 "$p" 2>/dev/null; do sleep 1; done; "$@" >/dev/null 2>&1; rm -rf "$d"';

/**
 * Starts a PostgreSQL server in a new temp dir and creates the database `opts.name`
 * (default `cog`) that `url` names. PostgreSQL refuses to run as root, so as root the dir
 * is given to the `postgres` user and every command runs through `runuser -u postgres`.
 * Throws (never skips) when the binaries are missing, with the server log when it fails.
 */
export async function startPostgres(opts: { name?: string } = {}): Promise<PgServer> {
  const name = opts.name ?? 'cog';
  if (!DB_NAME.test(name)) throw new Error(`not a plain database name: ${name}`);
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : undefined;
  const as = (cmd: string) =>
    asRoot ? ['runuser', '-u', 'postgres', '--', join(bin, cmd)] : [join(bin, cmd)];

  // A unique dir per server: a test killed before stop() leaves its dir behind, never in the way.
  const dir = mkdtempSync(join(tmpdir(), 'cog-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const password = randomBytes(18).toString('hex');
  writeFileSync(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(join(dir, 'pwfile'), owner.uid, owner.gid);
  }
  const exec = async (argv: string[], what: string): Promise<void> => {
    const [file = '', ...args] = argv;
    try {
      // cwd is the dir: the postgres user may not be allowed into the caller's cwd.
      await run(file, args, { cwd: dir, timeout: 60_000 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(
        `${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n${readLog()}`,
      );
    }
  };
  let lastLog = '';
  const readLog = (): string => {
    try {
      lastLog = readFileSync(logFile, 'utf8');
    } catch {
      // not written yet, or the dir is gone: the last one read
    }
    return lastLog;
  };

  // If this process dies without stop() (a SIGKILLed test run), a watchdog stops the server
  // and deletes the dir, so no orphaned postmaster outlives the run.
  const stopCmd = [...as('pg_ctl'), 'stop', '-D', data, '-m', 'fast', '-w', '-s'];
  const guard = spawn('sh', ['-c', WATCHDOG, 'sh', String(process.pid), dir, ...stopCmd], {
    detached: true,
    stdio: 'ignore',
  });
  guard.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      guard.kill();
      if (existsSync(join(data, 'postmaster.pid'))) await exec(stopCmd, 'pg_ctl stop');
      readLog();
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    // --no-sync only spares initdb's own flushes; the server itself runs with fsync on.
    const initdb = '-U cog --auth=scram-sha-256 --no-sync -E UTF8 --locale=C'.split(' ');
    await exec(
      [...as('initdb'), '-D', data, ...initdb, `--pwfile=${join(dir, 'pwfile')}`],
      'initdb',
    );
    // A free port can be taken between the probe and the bind (other tests probe too): retry.
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      appendFileSync(
        join(data, 'postgresql.conf'),
        `\n# startPostgres (test/helpers/postgres.ts)\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\n`,
      );
      try {
        await exec(
          [...as('pg_ctl'), 'start', '-D', data, '-l', logFile, '-w', '-t', '30', '-s'],
          'pg_ctl start',
        );
        break;
      } catch (err) {
        if (attempt >= 3 || !/could not bind|already in use/i.test(readLog())) throw err;
      }
    }
    const urlOf = (db: string) => `postgres://cog:${password}@127.0.0.1:${port}/${db}`;
    await waitForConnections(urlOf('postgres'), readLog);
    const createDatabase = async (db: string): Promise<string> => {
      if (!DB_NAME.test(db)) throw new Error(`not a plain database name: ${db}`);
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`create database "${db}"`);
      } finally {
        await client.end();
      }
      return urlOf(db);
    };
    const url = await createDatabase(name);
    return { url, host: '127.0.0.1', port, dir, createDatabase, stop, log: readLog };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/** Polls `select 1` until the server takes password logins over TCP, for up to 30 s. */
async function waitForConnections(
  url: string,
  log: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(
          `PostgreSQL did not accept connections within ${timeoutMs} ms: ${String(err)}\n${log()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
