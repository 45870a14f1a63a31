import {
  closeSync,
  fsyncSync,
  fstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { META_FILE, QUARANTINE_INDEX, fsyncDir, isErrno } from './layout.js';
import { TITLE_SOURCES, type TitleSource } from '../../protocol/names.js';
import type { SessionMeta } from './types.js';

/** Small synchronous file helpers of the file store: bounded reads, atomic writes, meta.json. */

export function readRange(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export function readFrom(path: string, offset: number): Buffer {
  const size = sizeOf(path);
  return size > offset ? readRange(path, offset, size - offset) : Buffer.alloc(0);
}

export function sizeOf(path: string): number {
  try {
    const fd = openSync(path, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
}

export function countQuarantined(dir: string): number {
  try {
    const fd = openSync(join(dir, QUARANTINE_INDEX), 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, 0);
      return buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim()).length;
    } finally {
      closeSync(fd);
    }
  } catch {
    return 0;
  }
}

/** Write to a temporary name, then rename over `name`: readers see the old or the new. */
export function writeAtomically(sdir: string, name: string, body: string, durable: boolean): void {
  const tmp = join(sdir, `${name}.tmp`);
  writeFileSync(tmp, body, { mode: 0o600 });
  if (durable) {
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  try {
    renameSync(tmp, join(sdir, name));
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  if (durable) fsyncDir(sdir);
}

export function parseMeta(text: string, session: string): SessionMeta {
  const v = JSON.parse(text) as Partial<SessionMeta>;
  const key = typeof v.key === 'string' ? v.key : v.id;
  if (
    typeof v.id !== 'string' ||
    key !== session ||
    typeof v.owner !== 'string' ||
    typeof v.createdAt !== 'string'
  ) {
    throw new Error(`${META_FILE} does not describe session ${session}`);
  }
  return {
    id: v.id,
    ...(key !== v.id ? { key } : {}),
    owner: v.owner,
    ...(typeof v.title === 'string' ? { title: v.title } : {}),
    ...(TITLE_SOURCES.includes(v.titleSource as TitleSource) ? { titleSource: v.titleSource } : {}),
    createdAt: v.createdAt,
  };
}
