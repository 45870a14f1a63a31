import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Language } from '../../../protocol/events.js';
import {
  ELECTRON_RESERVED_BYTES,
  SQL_DATABASE_FILE,
  type RunnerPlan,
  type RunnerUnavailable,
} from '../runners.js';

/**
 * Address space the wasm host needs beyond its memory budget (the plan's RLIMIT_AS is
 * budget + this). Measured on Node 20.20 x64 with `--disable-wasm-trap-handler` and an
 * empty environment: whatever the budget, the host does not start below about 1.25 GiB
 * (Node's own ~700 MiB, see NODE_RESERVED_BYTES in runners.ts, plus glibc's malloc arenas
 * for V8's threads and Pyodide's compiled code); with a 1 GiB budget, budget + 0.75 GiB
 * was enough. MALLOC_ARENA_MAX=2 lowers the floor to about 1 GiB. With the trap handler
 * V8 reserves 10 GiB per wasm memory and no useful limit could be set at all.
 */
export const WASM_HOST_RESERVED_BYTES = 1536 * 1024 * 1024;

/** V8's JavaScript heap for the host; the rest of the budget is wasm linear memory. */
const MIN_HEAP_MIB = 64;
const MAX_HEAP_MIB = 256;
/** The host stops QuickJS this long before the parent's kill, so it can say why. */
const DEADLINE_MARGIN_MS = 500;
const DEFAULT_TIMEOUT_MS = 10_000;

/** Options of {@link planWasmRun}. */
export interface WasmPlanOptions {
  /** The session's workspace, an absolute path (the plan uses its real path). */
  workspace: string;
  /** The run's memory budget: V8 heap plus wasm linear memory. */
  memoryBytes: number;
  /**
   * The Node to run the host with; defaults to the running one. Inside VS Code that is
   * Electron: a plain `node` from PATH, where there is one, gives a real RLIMIT_AS.
   */
  nodeBinary?: string;
  /** The parent's wall-clock limit; QuickJS is interrupted just before it. */
  timeoutMs?: number;
  /**
   * Files the user shared with the session's runs (a directory): readable by the host,
   * never writable, and shown to Python and JavaScript read-only at shared/.
   */
  shared?: string;
}

/**
 * Plans a run in the wasm tier: Python on Pyodide, JavaScript on QuickJS, SQL on sql.js,
 * each in its own Node process under the permission model.
 *
 * The command must be spawned with exactly `plan.env` as its environment (it is empty,
 * or `ELECTRON_RUN_AS_NODE=1` for Electron): the host needs no variable, and Pyodide's
 * `os.environ` is its own, so nothing of the parent's reaches the code even by mistake.
 *
 * Node flags, and why:
 * - `--permission` (`--experimental-permission` before Node 22.13) with `--allow-fs-read`
 *   limited to the host, the runtime's files and the workspace, `--allow-fs-write` to the
 *   workspace, and no `--allow-child-process`, `--allow-worker`, `--allow-addons` or
 *   `--allow-wasi`: file access outside those paths, processes, threads and native code
 *   are refused by Node itself. (Node 25 adds `--allow-net`; not passing it denies the
 *   network too. Before that the permission model has no network rule, which is why the
 *   host also strips every network-capable global and API; see host-lockdown.mjs.)
 * - `--disallow-code-generation-from-strings`: eval, `Function(...)` and their async and
 *   generator cousins throw, so an object reached from Python or QuickJS cannot be turned
 *   into new host code (the `.constructor.constructor('return process')()` escape).
 * - `--max-old-space-size`: bounds V8's heap; wasm memory is capped by the host itself.
 * - `--disable-wasm-trap-handler` (Node 20.15+, 22.2+): explicit bounds checks instead of
 *   a 10 GiB reservation per wasm memory, so RLIMIT_AS can hold the host (about 10% slower).
 * - `--no-warnings`: the permission model's experimental warning is not program output.
 */
export function planWasmRun(
  language: Language,
  code: string,
  opts: WasmPlanOptions,
): RunnerPlan | RunnerUnavailable {
  const files = locateWasmRuntime();
  const missing = missingFiles(language, files);
  if (missing) return { error: missing };
  const node = describeNode(opts.nodeBinary ?? process.execPath);
  if ('error' in node) return node;
  if (!node.permissionFlag) {
    return {
      error: `Node ${node.version} has no permission model: the wasm sandbox needs Node 20 or later`,
    };
  }
  const heapMiB = Math.min(
    MAX_HEAP_MIB,
    Math.max(MIN_HEAP_MIB, Math.floor(opts.memoryBytes / (4 * 1024 * 1024))),
  );
  const wasmBytes = Math.max(64 * 1024 * 1024, opts.memoryBytes - heapMiB * 1024 * 1024);
  const workspace = real(opts.workspace);
  const shared = opts.shared ? real(opts.shared) : undefined;
  const sharedArg = shared ? [`--shared=${shared}`] : [];

  let reads: string[];
  let script: string[];
  switch (language) {
    case 'python':
      reads = [files.hostDir, files.pyodideDir];
      script = [
        files.host,
        'python',
        `--workspace=${workspace}`,
        `--memory=${wasmBytes}`,
        `--pyodide=${files.pyodideDir}`,
        ...sharedArg,
      ];
      break;
    case 'javascript': {
      const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      reads = [files.hostDir, ...files.quickjs.dirs];
      script = [
        files.host,
        'javascript',
        `--workspace=${workspace}`,
        `--memory=${wasmBytes}`,
        `--timeout-ms=${Math.max(100, timeoutMs - DEADLINE_MARGIN_MS)}`,
        `--quickjs-core=${files.quickjs.core}`,
        `--quickjs-ffi=${files.quickjs.ffi}`,
        `--quickjs-module=${files.quickjs.module}`,
        ...sharedArg,
      ];
      break;
    }
    case 'sql':
      reads = [files.sqlRunner, files.sqlAsm];
      script = [files.sqlRunner, files.sqlAsm, join(workspace, SQL_DATABASE_FILE)];
      break;
    default: {
      const never: never = language;
      return { error: `unsupported language: ${String(never)}` };
    }
  }

  const args = [
    node.permissionFlag,
    // SQL has no file API beyond its database: it is not given the shared files.
    ...[...reads, workspace, ...(shared && language !== 'sql' ? [shared] : [])].map(
      (p) => `--allow-fs-read=${p}`,
    ),
    `--allow-fs-write=${workspace}`,
    '--disallow-code-generation-from-strings',
    `--max-old-space-size=${heapMiB}`,
    ...(node.trapHandlerFlag ? [node.trapHandlerFlag] : []),
    '--no-warnings',
    ...script,
  ];
  return {
    command: { file: node.file, args },
    stdin: code,
    // Electron reserves its V8 sandbox up front: only its heap and wasm caps bound it then.
    addressSpaceBytes:
      opts.memoryBytes + (node.electron ? ELECTRON_RESERVED_BYTES : WASM_HOST_RESERVED_BYTES),
    // For a Linux sandbox around the host, if one is added: everything at its own path.
    prefixes: [dirname(dirname(node.file)), ...reads],
    files: [],
    env: node.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {},
  };
}

/**
 * Whether the wasm tier can run `language` here: its runtime's files are present (next
 * to the bundle, or in node_modules) and the Node that would run it has a permission model.
 */
export function wasmAvailable(
  language: Language,
  opts: { nodeBinary?: string } = {},
): { ok: true } | { ok: false; why: string } {
  const missing = missingFiles(language, locateWasmRuntime());
  if (missing) return { ok: false, why: missing };
  const node = describeNode(opts.nodeBinary ?? process.execPath);
  if ('error' in node) return { ok: false, why: node.error };
  if (!node.permissionFlag) {
    return { ok: false, why: `Node ${node.version} has no permission model (Node 20+ needed)` };
  }
  return { ok: true };
}

/** Where the host and the three runtimes' files are. */
export interface WasmRuntimeFiles {
  /** The folder holding wasm-host.mjs and its modules; all of it is readable by the host. */
  hostDir: string;
  host: string;
  pyodideDir: string;
  quickjs: { core: string; ffi: string; module: string; dirs: string[] };
  sqlRunner: string;
  sqlAsm: string;
}

const PYODIDE_FILES = [
  'pyodide.mjs',
  'pyodide.asm.mjs',
  'pyodide.asm.wasm',
  'python_stdlib.zip',
  'pyodide-lock.json',
];

let located: WasmRuntimeFiles | undefined;

/**
 * The bundle's copies (dist/wasm/, written by esbuild.mjs) when this code runs from
 * dist/cog.mjs, else the sources: this folder and the packages in node_modules.
 */
export function locateWasmRuntime(): WasmRuntimeFiles {
  if (located) return located;
  const bundled = real(fileURLToPath(new URL('./wasm/', import.meta.url)));
  if (existsSync(join(bundled, 'wasm-host.mjs'))) {
    const qjs = join(bundled, 'quickjs');
    located = {
      hostDir: bundled,
      host: join(bundled, 'wasm-host.mjs'),
      pyodideDir: join(bundled, 'pyodide'),
      quickjs: {
        core: join(qjs, 'quickjs-core.mjs'),
        ffi: join(qjs, 'ffi.mjs'),
        module: join(qjs, 'emscripten-module.mjs'),
        dirs: [qjs],
      },
      sqlRunner: real(fileURLToPath(new URL('./sql-runner.mjs', import.meta.url))),
      sqlAsm: real(fileURLToPath(new URL('./sql-asm.cjs', import.meta.url))),
    };
    return located;
  }
  const here = real(dirname(fileURLToPath(import.meta.url)));
  const require = createRequire(import.meta.url);
  const packageDir = (req: NodeJS.Require, name: string): string => {
    try {
      return real(dirname(req.resolve(`${name}/package.json`)));
    } catch {
      // Packages whose exports hide package.json: from the main entry, dist/ → package.
      try {
        return real(dirname(dirname(req.resolve(name))));
      } catch {
        return join(here, 'missing', name);
      }
    }
  };
  const quickjsPkg = packageDir(require, 'quickjs-emscripten');
  const fromQuickjs = createRequire(join(quickjsPkg, 'package.json'));
  const core = packageDir(fromQuickjs, 'quickjs-emscripten-core');
  const ffiTypes = packageDir(createRequire(join(core, 'package.json')), FFI_TYPES);
  const variant = packageDir(fromQuickjs, '@jitl/quickjs-wasmfile-release-sync');
  const sqlJs = packageDir(require, 'sql.js');
  located = {
    hostDir: here,
    host: join(here, 'wasm-host.mjs'),
    pyodideDir: packageDir(require, 'pyodide'),
    quickjs: {
      core: join(core, 'dist', 'index.mjs'),
      ffi: join(variant, 'dist', 'ffi.mjs'),
      module: join(variant, 'dist', 'emscripten-module.mjs'),
      dirs: [core, ffiTypes, variant, ...resolutionProbes(join(core, 'dist'), ffiTypes)],
    },
    sqlRunner: real(join(here, '..', 'sql-runner.mjs')),
    sqlAsm: join(sqlJs, 'dist', 'sql-asm.js'),
  };
  return located;
}

/**
 * The real path: Node's permission model compares the paths it is granted with the real
 * paths it opens, so a grant through a symbolic link (a linked checkout, a linked
 * extension folder) would deny the very files it names.
 */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The one bare import QuickJS' core makes (the bundle inlines it). */
const FFI_TYPES = '@jitl/quickjs-ffi-types';

/**
 * The paths Node's ESM resolver looks at, from `fromDir` up, before it finds `pkgDir`
 * (node_modules/@jitl/quickjs-ffi-types for an import from QuickJS' core). Some Node
 * versions (22.12) stat them under the permission model and fail on a denied one instead
 * of moving on, so they are allowed too; none of them exists.
 */
function resolutionProbes(fromDir: string, pkgDir: string): string[] {
  const probes: string[] = [];
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', FFI_TYPES);
    if (candidate === pkgDir || dirname(dir) === dir) break;
    probes.push(candidate);
  }
  return probes;
}

function missingFiles(language: Language, files: WasmRuntimeFiles): string | undefined {
  let needed: string[];
  let what: string;
  switch (language) {
    case 'python':
      needed = [files.host, ...PYODIDE_FILES.map((f) => join(files.pyodideDir, f))];
      what = 'Pyodide (the pyodide package)';
      break;
    case 'javascript':
      needed = [files.host, files.quickjs.core, files.quickjs.ffi, files.quickjs.module];
      what = 'QuickJS (the quickjs-emscripten package)';
      break;
    case 'sql':
      needed = [files.sqlRunner, files.sqlAsm];
      what = 'sql.js';
      break;
    default: {
      const never: never = language;
      return `unsupported language: ${String(never)}`;
    }
  }
  const absent = needed.find((f) => !existsSync(f));
  return absent
    ? `the wasm sandbox for ${language} is not installed: ${what} is missing (${absent}); reinstall Cog`
    : undefined;
}

interface NodeInfo {
  file: string;
  version: string;
  electron: boolean;
  /** `--permission` or `--experimental-permission`; undefined without a permission model. */
  permissionFlag: string | undefined;
  trapHandlerFlag: string | undefined;
}

const nodes = new Map<string, NodeInfo | RunnerUnavailable>();

/**
 * The version of the Node that will run the host, which decides the flags' spelling. The
 * running binary answers from process.versions; another one is asked once and cached.
 */
function describeNode(file: string): NodeInfo | RunnerUnavailable {
  const cached = nodes.get(file);
  if (cached) return cached;
  let version: string;
  let electron: boolean;
  if (file === process.execPath) {
    version = process.versions.node;
    electron = Boolean(process.versions.electron);
  } else {
    const probe = spawnSync(
      file,
      ['-p', 'JSON.stringify([process.versions.node, Boolean(process.versions.electron)])'],
      { env: { ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8', timeout: 10_000 },
    );
    try {
      [version, electron] = JSON.parse(probe.stdout) as [string, boolean];
    } catch {
      const info = { error: `cannot run ${file} to check its Node version` };
      nodes.set(file, info);
      return info;
    }
  }
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const info: NodeInfo = {
    file,
    version,
    electron,
    permissionFlag: permissionFlag(major, minor),
    trapHandlerFlag:
      major > 22 || (major === 22 && minor >= 2) || (major === 20 && minor >= 15)
        ? '--disable-wasm-trap-handler'
        : undefined,
  };
  nodes.set(file, info);
  return info;
}

/** The permission model's flag: experimental in 20-22.12 and 23.0-23.4, stable since. */
function permissionFlag(major: number, minor: number): string | undefined {
  if (major < 20) return undefined;
  if (major >= 24 || (major === 23 && minor >= 5) || (major === 22 && minor >= 13)) {
    return '--permission';
  }
  return '--experimental-permission';
}
