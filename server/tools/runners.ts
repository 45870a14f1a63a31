import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Language } from '../../protocol/events.js';
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
  command: Command;
  /** The program text, piped in so it never appears in argv (visible to `ps`). */
  stdin: string;
  /** RLIMIT_AS for the command. */
  addressSpaceBytes: number;
  /** Paths the command needs to reach inside the sandbox. */
  keep: string[];
  /** Variables added to the scrubbed environment. */
  env: Record<string, string>;
}

/** Why a run could not even start, in words for the user. */
export interface RunnerUnavailable {
  error: string;
}

/**
 * Plans a run of `code`: `python3 -I` (isolated: ignores PYTHON* variables, user site and
 * the working directory on sys.path), the running Node binary for JavaScript, and the
 * sql.js runner for SQL. `pathEnv` is the child's PATH; interpreters are resolved on it.
 */
export function planRun(
  language: Language,
  code: string,
  opts: {
    workspace: string;
    pathEnv: string;
    memoryBytes: number;
    /** Whether this process is Electron (inside VS Code); defaults to the running one. */
    electron?: boolean;
  },
): RunnerPlan | RunnerUnavailable {
  const node = nodeBinary(opts.pathEnv, opts.electron ?? Boolean(process.versions.electron));
  switch (language) {
    case 'python': {
      const python = findExecutable('python3', opts.pathEnv);
      if (!python) return { error: 'python3 is not installed: install Python 3 or use javascript' };
      return {
        command: { file: python, args: ['-I', '-u', '-B', '-'] },
        stdin: code,
        addressSpaceBytes: opts.memoryBytes,
        keep: [python],
        env: {},
      };
    }
    case 'javascript':
      return nodePlan(node, ['-'], code, opts.memoryBytes, []);
    case 'sql': {
      const runner = besideThisModule('sql-runner.mjs');
      const sqlAsm = locateSqlAsm();
      const db = join(opts.workspace, SQL_DATABASE_FILE);
      return nodePlan(node, [runner, sqlAsm, db], code, opts.memoryBytes, [runner, sqlAsm]);
    }
    default: {
      const never: never = language;
      return { error: `unsupported language: ${String(never)}` };
    }
  }
}

interface NodeBinary {
  file: string;
  reserved: number;
}

/**
 * The Node that runs JavaScript and SQL: the running one, except inside Electron, where a
 * plain `node` on PATH is preferred because the address-space cap then really holds.
 */
function nodeBinary(pathEnv: string, electron: boolean): NodeBinary {
  if (!electron) return { file: process.execPath, reserved: NODE_RESERVED_BYTES };
  const node = findExecutable('node', pathEnv);
  return node
    ? { file: node, reserved: NODE_RESERVED_BYTES }
    : { file: process.execPath, reserved: ELECTRON_RESERVED_BYTES };
}

function nodePlan(
  node: NodeBinary,
  args: string[],
  stdin: string,
  memoryBytes: number,
  keep: string[],
): RunnerPlan {
  const heapMiB = Math.max(16, Math.floor(memoryBytes / (1024 * 1024)));
  return {
    command: { file: node.file, args: [`--max-old-space-size=${heapMiB}`, ...args] },
    stdin,
    addressSpaceBytes: memoryBytes + node.reserved,
    keep: [node.file, ...keep],
    // Inside VS Code process.execPath is Electron; this makes it behave as plain Node.
    env: { ELECTRON_RUN_AS_NODE: '1' },
  };
}

/**
 * A file shipped next to this module: server/tools/ when running from source, dist/ in
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
