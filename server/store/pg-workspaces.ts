import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import type { WorkspaceSync } from './types.js';

/** Per session, by default: what a code run may leave behind for the next one. */
export const DEFAULT_WORKSPACE_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_WORKSPACE_MAX_FILES = 2000;

/**
 * The version of the database's copy the directory holds. Never stored nor synced itself;
 * the code can overwrite it, which at worst costs its own session one needless full pull.
 */
export const WORKSPACE_MARKER = '.cog-workspace-version';

/** Directories deeper than this are not walked: a cap on work, not on disk space. */
const MAX_DEPTH = 32;
/** Raw bytes one INSERT carries at most (they travel hex-encoded, twice that). */
const BATCH_BYTES = 4 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A regular file found in the workspace: its relative POSIX path and what it holds. */
interface LocalFile {
  path: string;
  abs: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

/** What a walk found; `refused` when the totals are over the caps (nothing was read then). */
interface Walk {
  files: Map<string, LocalFile>;
  bytes: number;
  /** Symlinks, FIFOs, sockets, devices, non-UTF-8 names: never stored. */
  skipped: string[];
  refused?: string;
}

/** True for a relative POSIX path with no empty, `.` or `..` segment (and no NUL). */
export function isSafeWorkspacePath(path: string): boolean {
  if (!path || path.startsWith('/') || path.includes('\0')) return false;
  if (path === WORKSPACE_MARKER) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/**
 * A session's workspace kept in PostgreSQL, so a code run on any instance sees the files
 * the previous run left, with no filesystem shared between instances.
 *
 * **Whole versions.** `push` replaces the stored copy with the directory's regular files
 * in one transaction and moves the session's version to a new value from a sequence
 * (never reused, so a directory left from a deleted session that had the same key can
 * never pass for up to date). `pull` reads one version in a REPEATABLE READ snapshot.
 *
 * **Capped.** Over `maxBytes` or `maxFiles`, `push` stores nothing new and says why: the
 * previous version stays whole. Sizes come from lstat before any byte is read, so a 1 GB
 * file costs a stat, not a read.
 *
 * **Hostile contents.** The directory was written by model code. Only regular files are
 * stored: symlinks, FIFOs, sockets and devices are skipped without being opened (files
 * are opened O_NOFOLLOW|O_NONBLOCK and checked to be the file lstat saw), and `pull`
 * removes anything the database does not hold, replacing a symlinked parent directory by
 * a real one before writing under it, so nothing outside `dir` is read or written.
 *
 * Calls for one directory run one at a time (parallel code runs of one turn).
 */
export function createPgWorkspaces(
  pool: pg.Pool,
  opts: { maxBytes?: number; maxFiles?: number } = {},
): WorkspaceSync {
  const maxBytes = opts.maxBytes ?? DEFAULT_WORKSPACE_MAX_BYTES;
  const maxFiles = opts.maxFiles ?? DEFAULT_WORKSPACE_MAX_FILES;
  const locks = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier call for `dir` settled. */
  function serial<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(dir) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    locks.set(dir, tail);
    void tail.then(() => {
      if (locks.get(dir) === tail) locks.delete(dir);
    });
    return next;
  }

  async function pull(key: string, dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows: ws } = await client.query<{ version: string }>(
        'SELECT version FROM cog_workspaces WHERE session_key = $1',
        [key],
      );
      const version = ws[0]?.version ?? '0';
      if ((await readMarker(dir)) === version) {
        await client.query('COMMIT');
        return;
      }
      // An interrupted pull must not leave a directory that claims to be up to date.
      await rm(join(dir, WORKSPACE_MARKER), { force: true, recursive: true });
      const { rows } = await client.query<{
        path: string;
        sha256: string;
        size: number;
        mode: number;
        mtime_ms: string;
      }>(
        `SELECT path, sha256, octet_length(content) AS size, mode, mtime_ms
           FROM cog_workspace_files WHERE session_key = $1`,
        [key],
      );
      const wanted = new Map(
        rows.filter((r) => isSafeWorkspacePath(r.path)).map((r) => [r.path, r]),
      );
      // No caps on the way in: what is stored was under them when it was pushed.
      const local = await walk(dir, Infinity, Infinity);
      await removeUnwanted(dir, local, new Set(wanted.keys()));
      const stale: string[] = [];
      await eachLimit([...wanted], async ([path, row]) => {
        const have = local.files.get(path);
        if (have && have.size === row.size && (await hashOf(have)) === row.sha256) {
          if ((have.mode & 0o777) !== row.mode) await chmod(have.abs, row.mode);
          return;
        }
        stale.push(path);
      });
      for (let i = 0; i < stale.length; i += 100) {
        const { rows: contents } = await client.query<{
          path: string;
          content: Buffer;
          mode: number;
          mtime_ms: string;
        }>(
          `SELECT path, content, mode, mtime_ms FROM cog_workspace_files
            WHERE session_key = $1 AND path = ANY($2)`,
          [key, stale.slice(i, i + 100)],
        );
        await eachLimit(contents, (c) =>
          writeInside(dir, c.path, c.content, c.mode, Number(c.mtime_ms)),
        );
      }
      await client.query('COMMIT');
      await writeMarker(dir, version);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async function push(
    key: string,
    dir: string,
  ): Promise<{ files: number; bytes: number; refused?: string }> {
    await mkdir(dir, { recursive: true });
    const local = await walk(dir, maxFiles, maxBytes);
    if (local.refused)
      return { files: local.files.size, bytes: local.bytes, refused: local.refused };
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO cog_workspaces (session_key) VALUES ($1) ON CONFLICT (session_key) DO NOTHING`,
        [key],
      );
      // The row lock makes pushes of one session, from any instance, take turns.
      const { rows: ws } = await client.query<{ version: string }>(
        'SELECT version FROM cog_workspaces WHERE session_key = $1 FOR UPDATE',
        [key],
      );
      const { rows } = await client.query<{ path: string; sha256: string; mode: number }>(
        'SELECT path, sha256, mode FROM cog_workspace_files WHERE session_key = $1',
        [key],
      );
      const stored = new Map(rows.map((r) => [r.path, r]));
      const gone = rows.filter((r) => !local.files.has(r.path)).map((r) => r.path);
      const changed: Array<{ f: LocalFile; content: Buffer; sha: string }> = [];
      let bytes = 0;
      // The walk's sizes were under the cap; a file that grew since is not read past
      // its walked size (not stored: its previous row, if any, stays).
      await eachLimit([...local.files.values()], async (f) => {
        const content = await readRegular(f, f.size);
        if (content === undefined) return; // replaced or grew since the walk
        bytes += content.length;
        const sha = createHash('sha256').update(content).digest('hex');
        const old = stored.get(f.path);
        if (old?.sha256 === sha && old.mode === (f.mode & 0o777)) return;
        changed.push({ f, content, sha });
      });
      const files = local.files.size;
      if (!changed.length && !gone.length) {
        await client.query('COMMIT');
        await writeMarker(dir, ws[0]?.version ?? '0');
        return { files, bytes };
      }
      if (gone.length) {
        await client.query(
          'DELETE FROM cog_workspace_files WHERE session_key = $1 AND path = ANY($2)',
          [key, gone],
        );
      }
      // Batches of at most BATCH_BYTES (or one bigger file), so no statement is huge.
      const batches: Array<typeof changed> = [];
      let size = Infinity;
      for (const c of changed) {
        if (size + c.content.length > BATCH_BYTES) {
          batches.push([]);
          size = 0;
        }
        batches.at(-1)?.push(c);
        size += c.content.length;
      }
      for (const batch of batches) {
        await client.query(
          `INSERT INTO cog_workspace_files (session_key, path, content, mode, mtime_ms, sha256)
           SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::integer[], $5::bigint[], $6::text[])
           ON CONFLICT (session_key, path) DO UPDATE SET content = EXCLUDED.content,
             mode = EXCLUDED.mode, mtime_ms = EXCLUDED.mtime_ms, sha256 = EXCLUDED.sha256`,
          [
            key,
            batch.map((c) => c.f.path),
            batch.map((c) => c.content),
            batch.map((c) => c.f.mode & 0o777),
            batch.map((c) => Math.trunc(c.f.mtimeMs)),
            batch.map((c) => c.sha),
          ],
        );
      }
      const { rows: next } = await client.query<{ version: string }>(
        `UPDATE cog_workspaces SET version = nextval('cog_workspace_versions'),
           files = (SELECT count(*) FROM cog_workspace_files WHERE session_key = $1),
           bytes = (SELECT coalesce(sum(octet_length(content)), 0) FROM cog_workspace_files WHERE session_key = $1)
         WHERE session_key = $1 RETURNING version`,
        [key],
      );
      await client.query('COMMIT');
      await writeMarker(dir, next[0]?.version ?? '0');
      return { files, bytes };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  return {
    pull: (key, dir) => serial(dir, () => pull(key, dir)),
    push: (key, dir) => serial(dir, () => push(key, dir)),
  };
}

/** Runs `fn` on every item, at most 16 at once: file system calls overlap, not pile up. */
async function eachLimit<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(16, items.length) }, worker));
}

/**
 * Every regular file under `dir`, by lstat only (nothing is opened). Stops early, with
 * `refused`, once the files or their bytes pass the caps, or the entries seen pass ten
 * times the file cap (a million empty directories would otherwise cost a long walk).
 */
async function walk(dir: string, maxFiles: number, maxBytes: number): Promise<Walk> {
  const out: Walk = { files: new Map(), bytes: 0, skipped: [] };
  let entries = 0;
  const over = (why: string) =>
    `The workspace was not saved: ${why}. The previous files are kept; delete some files so that the next run can save.`;
  async function visit(abs: Buffer, rel: string, depth: number): Promise<boolean> {
    let names: Buffer[];
    try {
      names = await readdir(abs, { encoding: 'buffer' });
    } catch {
      return true; // gone or unreadable since: nothing to store from it
    }
    for (const raw of names) {
      if (++entries > maxFiles * 10) {
        out.refused = over(`it has more than ${maxFiles * 10} entries`);
        return false;
      }
      let name: string;
      try {
        name = utf8.decode(raw);
      } catch {
        out.skipped.push(`${rel}<non-UTF-8 name>`);
        continue;
      }
      const path = rel + name;
      if (path === WORKSPACE_MARKER) continue;
      const child = Buffer.concat([abs, Buffer.from('/'), raw]);
      let st;
      try {
        st = await lstat(child);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth >= MAX_DEPTH) {
          out.skipped.push(path + '/');
          continue;
        }
        if (!(await visit(child, path + '/', depth + 1))) return false;
      } else if (st.isFile()) {
        out.files.set(path, {
          path,
          abs: child.toString('utf8'),
          size: st.size,
          mode: st.mode,
          mtimeMs: st.mtimeMs,
        });
        out.bytes += st.size;
        if (out.files.size > maxFiles) {
          out.refused = over(`it has more than ${maxFiles} files (the limit)`);
          return false;
        }
        if (out.bytes > maxBytes) {
          out.refused = over(
            `its files hold more than ${maxBytes} bytes (the limit${st.size > maxBytes ? `; ${path} alone has ${st.size}` : ''})`,
          );
          return false;
        }
      } else {
        out.skipped.push(path); // symlink, FIFO, socket, device: never followed nor opened
      }
    }
    return true;
  }
  await visit(Buffer.from(dir), '', 0);
  return out;
}

/**
 * The file's bytes, if it is still the regular file the walk saw and holds at most
 * `limit` bytes; undefined otherwise. O_NOFOLLOW: a symlink swapped in is not followed;
 * O_NONBLOCK: a FIFO swapped in does not block the open.
 */
async function readRegular(f: LocalFile, limit: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(f.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > limit) return undefined;
    // Read at most limit+1 bytes: a file growing as we read cannot take more than that.
    const buf = Buffer.alloc(Math.min(st.size, limit) + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got > limit ? undefined : buf.subarray(0, got);
  } finally {
    await handle.close();
  }
}

async function hashOf(f: LocalFile): Promise<string | undefined> {
  const content = await readRegular(f, f.size);
  return content && createHash('sha256').update(content).digest('hex');
}

/** Removes every entry that is neither a wanted file nor a directory on the way to one. */
async function removeUnwanted(dir: string, local: Walk, wanted: Set<string>): Promise<void> {
  const keepDirs = new Set<string>();
  for (const p of wanted) {
    const segs = p.split('/');
    for (let i = 1; i < segs.length; i++) keepDirs.add(segs.slice(0, i).join('/'));
  }
  async function sweep(abs: Buffer, rel: string): Promise<void> {
    let names: Buffer[];
    try {
      names = await readdir(abs, { encoding: 'buffer' });
    } catch {
      return;
    }
    for (const raw of names) {
      const child = Buffer.concat([abs, Buffer.from('/'), raw]);
      let name: string | undefined;
      try {
        name = utf8.decode(raw);
      } catch {
        name = undefined; // a name the database cannot hold: never wanted
      }
      const path = name === undefined ? undefined : rel + name;
      if (path === WORKSPACE_MARKER) continue;
      const st = await lstat(child).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory() && path !== undefined && keepDirs.has(path)) {
        await sweep(child, path + '/');
      } else if (!(
        st.isFile() &&
        path !== undefined &&
        wanted.has(path) &&
        local.files.has(path)
      )) {
        // rm does not follow symlinks: a link to /etc goes, /etc stays.
        await rm(child, { recursive: true, force: true });
      }
    }
  }
  await sweep(Buffer.from(dir), '');
}

/**
 * Writes `content` at `rel` under `dir` via a temp file and a rename, making each parent
 * a real directory first (a symlink or file in the way is removed), so the write cannot
 * land outside `dir`.
 */
async function writeInside(
  dir: string,
  rel: string,
  content: Buffer,
  mode: number,
  mtimeMs: number,
): Promise<void> {
  if (!isSafeWorkspacePath(rel)) return;
  const segs = rel.split('/');
  let parent = dir;
  for (const seg of segs.slice(0, -1)) {
    parent = join(parent, seg);
    const st = await lstat(parent).catch(() => undefined);
    if (st && !st.isDirectory()) await rm(parent, { force: true, recursive: true });
    if (!st || !st.isDirectory()) {
      // Parallel writes may make the same parent: EEXIST is the other one's mkdir.
      await mkdir(parent).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }
  const target = join(parent, segs[segs.length - 1] ?? '');
  const st = await lstat(target).catch(() => undefined);
  if (st?.isDirectory()) await rm(target, { recursive: true, force: true });
  const tmp = join(parent, `.cog-tmp-${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, content, { flag: 'wx', mode: mode & 0o777 });
  await chmod(tmp, mode & 0o777);
  const when = new Date(mtimeMs);
  await utimes(tmp, when, when);
  await rename(tmp, target);
}

/** The marker's version, if it is a small regular file (never followed or blocked on). */
async function readMarker(dir: string): Promise<string | undefined> {
  const abs = join(dir, WORKSPACE_MARKER);
  const st = await lstat(abs).catch(() => undefined);
  if (!st?.isFile() || st.size > 64) return undefined;
  const content = await readRegular(
    { path: WORKSPACE_MARKER, abs, size: st.size, mode: st.mode, mtimeMs: st.mtimeMs },
    64,
  );
  const text = content?.toString('utf8').trim();
  return text && /^\d+$/.test(text) ? text : undefined;
}

async function writeMarker(dir: string, version: string): Promise<void> {
  const abs = join(dir, WORKSPACE_MARKER);
  const st = await lstat(abs).catch(() => undefined);
  if (st?.isDirectory()) await rmdir(abs).catch(() => rm(abs, { recursive: true, force: true }));
  const tmp = join(dir, `.cog-tmp-${randomBytes(6).toString('hex')}`);
  await writeFile(tmp, `${version}\n`, { flag: 'wx' });
  await rename(tmp, abs);
}
