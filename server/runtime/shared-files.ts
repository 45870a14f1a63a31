import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  SHARED_FILES_LIMIT,
  sharedPathProblem,
  type AttachedItem,
} from '../../protocol/attached.js';
import { RuntimeError } from './errors.js';

/**
 * Files the user shared with a session's code runs: copies of what they attached (the
 * content travelled in the `send` call; the runtime never reads the user's own paths),
 * kept in a directory of the session's outside its workspace. Runs see it read-only at
 * shared/ in their working directory (a read-only bind in the Linux tiers, a read-only
 * view in the wasm hosts), so nothing a run does reaches these copies, let alone the
 * originals. Deleted with the session.
 */

/** The attached files `items` asks to share, by path. */
export function sharedItems(items: readonly AttachedItem[] | undefined): AttachedItem[] {
  return (items ?? []).filter((i) => i.share && i.kind === 'file');
}

/** The shared files' paths under `dir`, sorted; none when it does not exist. */
export async function listShared(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (at: string, prefix: string, depth: number): Promise<void> => {
    if (depth > 32) return;
    let entries;
    try {
      entries = await readdir(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.cog-')) continue;
      if (e.isDirectory()) await walk(join(at, e.name), `${prefix}${e.name}/`, depth + 1);
      else if (e.isFile()) out.push(`${prefix}${e.name}`);
    }
  };
  await walk(dir, '', 0);
  return out.sort();
}

/** Refuses a share that would break the path rules or the session's cap, before any write. */
export async function checkShare(dir: string, items: readonly AttachedItem[]): Promise<void> {
  const wanted = sharedItems(items);
  if (!wanted.length) return;
  for (const item of wanted) {
    const problem = sharedPathProblem(item.label);
    if (problem) throw new RuntimeError('invalid_input', problem);
  }
  const held = new Set(await listShared(dir));
  const added = new Set(wanted.map((i) => i.label).filter((l) => !held.has(l)));
  if (held.size + added.size > SHARED_FILES_LIMIT) {
    throw new RuntimeError(
      'invalid_input',
      `This session's code runs may read at most ${SHARED_FILES_LIMIT} files; ${held.size} are shared already.`,
    );
  }
}

/**
 * Writes the shared files (a later share of the same path replaces it): through a
 * temporary file and a rename, 0644 in 0755 directories, readable by a sandbox's own uid.
 * A path whose parts exist as something else (a file where a directory must be) fails.
 */
export async function writeShared(dir: string, items: readonly AttachedItem[]): Promise<void> {
  for (const item of sharedItems(items)) {
    const target = join(dir, ...item.label.split('/'));
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    const existing = await lstat(target).catch(() => undefined);
    if (existing && !existing.isFile()) {
      throw new RuntimeError('invalid_input', `${item.label} cannot be shared: it is a folder.`);
    }
    const tmp = join(dirname(target), `.cog-${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, item.text, { mode: 0o644 });
    await rename(tmp, target);
  }
}
