import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Language } from '../../protocol/events.js';
import { buildChildEnv } from './env.js';
import { findExecutable } from './find-executable.js';
import type { Command } from './sandbox.js';

/** The database file each session's SQL runs against. */
export const SQL_DATABASE_FILE = 'session.sqlite';

/**
 * Address space a Node child needs before running any code. Measured on Node 20 x64:
 * V8 reserves a 512 MiB code range up front and the process does not start below about
 * 700 MiB of RLIMIT_AS (it dies with SIGTRAP, or hangs, under 512 MiB); loading sql.js
 * peaks near 790 MiB of address space with MALLOC_ARENA_MAX=2, while committing ~50 MiB.
 * These reservations are never committed, so this is added to the cap instead of counted
 * against it, and `--max-old-space-size` bounds the JS heap by the limit itself.
 */
export const NODE_RESERVED_BYTES = 768 * 1024 * 1024;

/**
 * Electron's V8 (VS Code's runtime, run as Node) reserves a pointer-compression cage and
 * the V8 sandbox, about a terabyte of address space, before running any code; under an
 * address-space cap sized for Node it cannot start. Only its JS heap is bounded then.
 */
export const ELECTRON_RESERVED_BYTES = 2 * 1024 ** 4;

/** How to run one piece of code: the command, what it reads on stdin, and its cap. */
export interface RunnerPlan {
  /** Paths as the code sees them: inside the sandbox for the Linux tiers. */
  command: Command;
  /** The program text, piped in so it never appears in argv (visible to `ps`). */
  stdin: string;
  /** RLIMIT_AS for the command. */
  addressSpaceBytes: number;
  /** Host directories a Linux sandbox shows read-only at their own path (interpreter installs). */
  prefixes: string[];
  /** Host files a Linux sandbox shows read-only at an inner path (Cog's runner scripts). */
  files: { src: string; dst: string }[];
  /** Variables added to the scrubbed environment. */
  env: Record<string, string>;
}

/** Why a run could not even start, in words for the user. */
export interface RunnerUnavailable {
  error: string;
}

/** The interpreter a language runs on outside WebAssembly, and its install prefix. */
export interface Interpreter {
  file: string;
  prefix: string;
  /** Address space it reserves before running anything (added to the cap). */
  reserved: number;
  /** Set when the binary is Electron rather than Node. */
  electron?: boolean;
}

const interpreters = new Map<string, Interpreter | RunnerUnavailable>();

/**
 * The real interpreter for `language` on `pathEnv`, cached. python3 on PATH may be a
 * shim (pyenv) that needs half the home directory to run, so Python is asked where it
 * really is; the sandboxes then run that binary and show only its prefix.
 */
export function interpreterFor(
  language: Language,
  pathEnv: string,
  electron = Boolean(process.versions.electron),
): Interpreter | RunnerUnavailable {
  const key = `${language}\0${pathEnv}\0${electron}`;
  let found = interpreters.get(key);
  if (!found) {
    found = language === 'python' ? findPython(pathEnv) : nodeBinary(pathEnv, electron);
    interpreters.set(key, found);
  }
  return found;
}

function findPython(pathEnv: string): Interpreter | RunnerUnavailable {
  const shim = findExecutable('python3', pathEnv);
  if (!shim) return { error: 'python3 is not installed (Debian/Ubuntu: apt-get install python3)' };
  const r = spawnSync(
    shim,
    ['-I', '-c', 'import sys, json; print(json.dumps([sys.executable, sys.base_prefix]))'],
    { encoding: 'utf8', timeout: 10_000, env: buildChildEnv(tmpdir(), process.env, pathEnv) },
  );
  try {
    const [file, prefix] = JSON.parse(r.stdout) as [string, string];
    if (typeof file === 'string' && file && typeof prefix === 'string' && prefix) {
      return { file: realpathSync(file), prefix: realpathSync(prefix), reserved: 0 };
    }
  } catch {
    // Reported below.
  }
  return {
    error: `python3 (${shim}) does not start: ${(r.stderr || r.error?.message || '').trim().slice(0, 200)}`,
  };
}

/**
 * The Node that runs JavaScript and SQL: the running one, except inside Electron, where a
 * plain `node` on PATH is preferred because the address-space cap then really holds.
 */
function nodeBinary(pathEnv: string, electron: boolean): Interpreter {
  const onPath = electron ? findExecutable('node', pathEnv) : undefined;
  const file = realpathSync(onPath ?? process.execPath);
  const isElectron = electron && !onPath;
  return {
    file,
    prefix: dirname(dirname(file)),
    reserved: isElectron ? ELECTRON_RESERVED_BYTES : NODE_RESERVED_BYTES,
    ...(isElectron && { electron: true }),
  };
}

/** Where a plan's paths point: the host's own, or the inside of a Linux sandbox. */
export interface PlanPlace {
  /** The workspace as the code sees it. */
  workspace: string;
  /** Where Cog's runner files are, as the code sees them (undefined: their host paths). */
  runners?: string;
}

/**
 * Plans a run of `code` outside WebAssembly: `python3 -I` (isolated: ignores PYTHON*
 * variables, user site and the working directory on sys.path), Node for JavaScript, and
 * the sql.js runner for SQL.
 */
export function planRun(
  language: Language,
  code: string,
  opts: {
    place: PlanPlace;
    pathEnv: string;
    memoryBytes: number;
    /** Whether this process is Electron (inside VS Code); defaults to the running one. */
    electron?: boolean;
  },
): RunnerPlan | RunnerUnavailable {
  const interp = interpreterFor(language, opts.pathEnv, opts.electron);
  if ('error' in interp) return interp;
  switch (language) {
    case 'python':
      return {
        command: { file: interp.file, args: ['-I', '-u', '-B', '-'] },
        stdin: code,
        addressSpaceBytes: opts.memoryBytes,
        prefixes: [interp.prefix],
        files: [],
        env: {},
      };
    case 'javascript':
      return nodePlan(interp, ['-'], code, opts.memoryBytes, []);
    case 'sql': {
      const files = [besideThisModule('sql-runner.mjs'), locateSqlAsm()];
      const inner = files.map((f) =>
        opts.place.runners ? join(opts.place.runners, basename(f)) : f,
      );
      const db = join(opts.place.workspace, SQL_DATABASE_FILE);
      const mounts = files.map((src, i) => ({ src, dst: inner[i] as string }));
      return nodePlan(
        interp,
        [...inner, db],
        code,
        opts.memoryBytes,
        opts.place.runners ? mounts : [],
      );
    }
    default: {
      const never: never = language;
      return { error: `unsupported language: ${String(never)}` };
    }
  }
}

function nodePlan(
  node: Interpreter,
  args: string[],
  stdin: string,
  memoryBytes: number,
  files: { src: string; dst: string }[],
): RunnerPlan {
  const heapMiB = Math.max(16, Math.floor(memoryBytes / (1024 * 1024)));
  return {
    command: { file: node.file, args: [`--max-old-space-size=${heapMiB}`, ...args] },
    stdin,
    addressSpaceBytes: memoryBytes + node.reserved,
    prefixes: [node.prefix],
    files,
    // Inside VS Code process.execPath is Electron; this makes it behave as plain Node.
    env: { ELECTRON_RUN_AS_NODE: '1' },
  };
}

/**
 * A file shipped next to this module: server/processes/ when running from source, dist/ in
 * the bundle (esbuild.mjs copies it there).
 */
function besideThisModule(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

let sqlAsmPath: string | undefined;

/**
 * sql.js's pure-JS build: beside the bundle when built, else from node_modules. The
 * bundle's copy is named .cjs because dist/ sits under a `"type": "module"` package.json.
 */
function locateSqlAsm(): string {
  if (sqlAsmPath === undefined) {
    const local = besideThisModule('sql-asm.cjs');
    sqlAsmPath = existsSync(local)
      ? local
      : createRequire(import.meta.url).resolve('sql.js/dist/sql-asm.js');
  }
  return sqlAsmPath;
}
