// Python on Pyodide inside the wasm host: load the interpreter, close its ways out to
// JavaScript, mirror the workspace into its in-memory file system, run, and copy back.
/* global WebAssembly */

import { constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { writeAll } from './host-io.mjs';
import {
  digest,
  listWorkspace,
  makeWorkspaceDir,
  readWorkspaceFile,
  removeWorkspaceDir,
  removeWorkspaceFile,
  WORKSPACE_LIMIT_BYTES,
  writeWorkspaceFile,
} from './host-workspace.mjs';

/** Where the workspace appears inside Pyodide; also the program's cwd and HOME. */
const MOUNT = '/workspace';
const WASM_PAGE = 64 * 1024;
/** Pyodide's own minimum (480 pages); a smaller cap could not even start it. */
const MIN_MEMORY_BYTES = 64 * 1024 * 1024;

// Runs in the interpreter before the user's code, after Pyodide's own start-up. Pyodide
// registers two JavaScript modules, `js` (the globals handed to loadPyodide, here an
// empty object) and `pyodide_js` (its API). The modules that need them at run time are
// imported first so they keep their references; then both names are unregistered, so
// `import js` and `import pyodide_js` fail. This is only the outer layer: Python can still
// reach JavaScript objects, and what keeps it in is that the JavaScript realm it reaches
// has nothing dangerous left (host-lockdown.mjs and lockDownPyodide below).
const LOCKDOWN_PY = `
import sys
import pyodide.webloop, pyodide.ffi, pyodide.code
from _pyodide._importhook import jsfinder
jsfinder.jsproxies.clear()
for name in ("js", "pyodide_js"):
    sys.modules.pop(name, None)
del name, jsfinder
`;

// Runs the program as __main__ from "<stdin>" and turns its end into an exit status:
// SystemExit's code, 1 with a traceback for any other exception. The runner's own frame is
// dropped from tracebacks, so they start at the user's code as with `python3 -`.
const RUNNER_PY = `
def __cog_run(source):
    import linecache, sys, traceback
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "__file__": "<stdin>"}
    # Lets tracebacks quote the program's own lines.
    linecache.cache["<stdin>"] = (len(source), None, source.splitlines(True), "<stdin>")
    try:
        exec(compile(source, "<stdin>", "exec", dont_inherit=True), namespace)
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(code, file=sys.stderr)
        return 1
    except BaseException as e:
        tb = e.__traceback__
        traceback.print_exception(type(e), e, tb.tb_next if tb is not None else None)
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
    return 0
__cog_run
`;

/**
 * Loads Pyodide from `pyodideDir` with its linear memory capped at `memoryBytes`.
 * @returns {Promise<{ run(code: string, workspace: string): number }>}
 */
export async function loadPython({ pyodideDir, memoryBytes }) {
  const py = await withLoadShims(memoryBytes, async () => {
    const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, 'pyodide.mjs')).href);
    return loadPyodide({
      indexURL: pyodideDir + '/',
      // The `js` module: an empty object with no prototype instead of globalThis.
      jsglobals: Object.create(null),
      env: { HOME: MOUNT, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
      args: [],
      packages: [],
      stdin: () => null,
      stdout: (line) => writeAll(1, line + '\n'),
      stderr: (line) => writeAll(2, line + '\n'),
    });
  });
  // Raw byte sinks: output leaves as Python flushes it, not a line at a time.
  py.setStdout({ write: (bytes) => (writeAll(1, bytes), bytes.length), isatty: false });
  py.setStderr({ write: (bytes) => (writeAll(2, bytes), bytes.length), isatty: false });
  py.setStdin({ stdin: () => null });
  const runner = py.runPython(RUNNER_PY);
  py.runPython(LOCKDOWN_PY);
  const fs = captureFs(py.FS);
  lockDownPyodide(py);
  return {
    run(code, workspace) {
      const before = copyIn(fs, workspace);
      let status;
      try {
        status = runner(code);
      } catch (err) {
        // os._exit(n) ends the interpreter with Pyodide's Exit error; files still count.
        if (err?.name !== 'Exit' || typeof err.status !== 'number') throw err;
        status = err.status & 0xff;
      }
      const saved = copyOut(fs, workspace, before);
      return status === 0 && !saved ? 1 : status;
    },
  };
}

/**
 * Pyodide's loader needs three things the sandbox denies, only while it loads:
 * - it polyfills `require` with child_process and the `ws` package unless one exists;
 * - Emscripten's NODEFS reads fs constants through process.binding, which the permission
 *   model forbids;
 * - and its wasm memory may grow to 4 GiB: the module's declared maximum is lowered to the
 *   cap, so every grow beyond it fails inside wasm and Python raises MemoryError.
 */
async function withLoadShims(memoryBytes, load) {
  const realBinding = process.binding;
  const realInstantiate = WebAssembly.instantiate;
  const maxPages = Math.max(MIN_MEMORY_BYTES, memoryBytes) / WASM_PAGE;
  globalThis.require = () => {
    throw new Error('require is not available in the sandbox');
  };
  process.binding = (name) => {
    if (name === 'constants') return { fs: fsConstants };
    throw new Error(`process.binding('${name}') is not available in the sandbox`);
  };
  WebAssembly.instantiate = (source, imports) =>
    realInstantiate(
      ArrayBuffer.isView(source) || source instanceof ArrayBuffer
        ? capMemoryMaximum(source, Math.floor(maxPages))
        : source,
      imports,
    );
  try {
    return await load();
  } finally {
    WebAssembly.instantiate = realInstantiate;
    process.binding = realBinding;
    delete globalThis.require;
  }
}

/**
 * Removes from Pyodide's API and Emscripten's module everything that reaches outside the
 * interpreter, since Python can get hold of both objects:
 * - useNodeSockFS / initializeNodeSockFS: real TCP sockets through node:net;
 * - SOCKFS' WebSocket peers: `socket.connect` would dial out through the `ws` package;
 * - loadPackage and friends: fetch() of arbitrary URLs;
 * - NODEFS and mountNodeFS: the host file system (the permission model bounds it anyway).
 */
function lockDownPyodide(py) {
  const api = py._api;
  const mod = py._module;
  for (const name of [
    'useNodeSockFS',
    'loadPackage',
    'loadPackagesFromImports',
    'mountNodeFS',
    'mountNativeFS',
    'registerComlink',
  ]) {
    Reflect.deleteProperty(py, name);
  }
  for (const name of ['initializeNodeSockFS', '_nodeSock', 'loadBinaryFile']) {
    Reflect.deleteProperty(api, name);
  }
  Reflect.deleteProperty(mod, 'NODEFS');
  Reflect.deleteProperty(mod.FS.filesystems, 'NODEFS');
  const sockOps = mod.SOCKFS?.websocket_sock_ops;
  if (sockOps) {
    const unreachable = () => {
      throw new mod.FS.ErrnoError(mod.ERRNO_CODES.ENETUNREACH);
    };
    sockOps.createPeer = unreachable;
    sockOps.listen = unreachable;
    sockOps.connect = unreachable;
  }
  for (const [owner, name] of [
    [py, 'useNodeSockFS'],
    [api, 'initializeNodeSockFS'],
    [mod.FS.filesystems, 'NODEFS'],
  ]) {
    if (owner[name] !== undefined) throw new Error(`the sandbox could not remove ${name}`);
  }
}

/**
 * The MEMFS calls the host makes after the program ran, taken before it runs: Python can
 * reach the FS object and replace its methods, but not these references.
 */
function captureFs(FS) {
  const bind = (name) => FS[name].bind(FS);
  return {
    mkdirTree: bind('mkdirTree'),
    writeFile: bind('writeFile'),
    readFile: bind('readFile'),
    readdir: bind('readdir'),
    lstat: bind('lstat'),
    isDir: bind('isDir'),
    isFile: bind('isFile'),
  };
}

/**
 * Copies the workspace into MEMFS at MOUNT, up to WORKSPACE_LIMIT_BYTES (what does not fit
 * is left out with a warning). Returns the digests of what was copied.
 * @returns {Map<string, string>} file name → sha-256, and directory names → ''
 */
function copyIn(fs, workspace) {
  const before = new Map();
  const { files, dirs } = listWorkspace(workspace);
  fs.mkdirTree(MOUNT);
  for (const dir of dirs) {
    fs.mkdirTree(`${MOUNT}/${dir}`);
    before.set(dir + '/', '');
  }
  let total = 0;
  const skipped = [];
  for (const { name, size } of files) {
    if (total + size > WORKSPACE_LIMIT_BYTES) {
      skipped.push(name);
      continue;
    }
    let bytes;
    try {
      bytes = readWorkspaceFile(workspace, name, WORKSPACE_LIMIT_BYTES - total);
    } catch {
      skipped.push(name);
      continue;
    }
    total += bytes.length;
    fs.writeFile(`${MOUNT}/${name}`, bytes);
    before.set(name, digest(bytes));
  }
  if (skipped.length > 0) {
    writeAll(
      2,
      `cog: ${skipped.length} workspace file(s) over the ${mib(WORKSPACE_LIMIT_BYTES)} MiB ` +
        `limit were not made visible to Python: ${skipped.slice(0, 5).join(', ')}` +
        `${skipped.length > 5 ? ', ...' : ''}\n`,
    );
  }
  return before;
}

/**
 * Writes files the program created or changed under MOUNT back to the workspace and
 * deletes the ones it removed. All or nothing on size: if the changed files add up to
 * more than WORKSPACE_LIMIT_BYTES, nothing is saved and the run fails with a message.
 * @returns {boolean} whether everything was saved
 */
function copyOut(fs, workspace, before) {
  const changed = [];
  const seen = new Set();
  let total = 0;
  let overLimit = false;
  const walk = (dir, prefix, depth) => {
    if (depth > 32) return;
    let names;
    try {
      names = fs.readdir(dir);
    } catch {
      return;
    }
    for (const entry of names) {
      if (entry === '.' || entry === '..') continue;
      const name = prefix + entry;
      const path = `${dir}/${entry}`;
      const { mode, size } = fs.lstat(path);
      if (fs.isDir(mode)) {
        seen.add(name + '/');
        if (!before.has(name + '/')) changed.push({ name, dir: true });
        walk(path, name + '/', depth + 1);
      } else if (fs.isFile(mode)) {
        seen.add(name);
        if (overLimit) continue;
        // A new file over the limit is refused by its size, without copying it out of wasm.
        if (!before.has(name) && total + size > WORKSPACE_LIMIT_BYTES) {
          overLimit = true;
          continue;
        }
        const bytes = fs.readFile(path);
        if (before.get(name) === digest(bytes)) continue;
        total += bytes.length;
        if (total > WORKSPACE_LIMIT_BYTES) overLimit = true;
        else changed.push({ name, bytes });
      }
      // Links and devices made inside Pyodide are not carried out of it.
    }
  };
  walk(MOUNT, '', 0);
  if (overLimit) {
    writeAll(
      2,
      `cog: not saved: the files this run wrote add up to more than the ` +
        `${mib(WORKSPACE_LIMIT_BYTES)} MiB a run may save to the workspace; ` +
        `write less, or delete files, and run again\n`,
    );
    return false;
  }
  let ok = true;
  const report = (name, err) => {
    ok = false;
    writeAll(2, `cog: could not save ${name} to the workspace: ${err.message}\n`);
  };
  for (const item of changed) {
    try {
      if (item.dir) makeWorkspaceDir(workspace, item.name);
      else writeWorkspaceFile(workspace, item.name, item.bytes);
    } catch (err) {
      report(item.name, err);
    }
  }
  // Deletions: deepest first, so directories are empty by the time they are removed.
  const gone = [...before.keys()].filter((name) => !seen.has(name)).reverse();
  for (const name of gone) {
    try {
      if (name.endsWith('/')) removeWorkspaceDir(workspace, name.slice(0, -1));
      else removeWorkspaceFile(workspace, name);
    } catch (err) {
      report(name, err);
    }
  }
  return ok;
}

function mib(bytes) {
  return Math.round(bytes / (1024 * 1024));
}

/**
 * Returns `bytes` with its memory section's maximum lowered to `maxPages` (or set, if the
 * module declared none). Throws on a module it cannot parse, so a cap is never skipped.
 * @param {ArrayBuffer | ArrayBufferView} source
 * @param {number} maxPages
 */
export function capMemoryMaximum(source, maxPages) {
  const bytes =
    source instanceof ArrayBuffer
      ? new Uint8Array(source)
      : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  let i = 8;
  const leb = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++];
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return result;
    }
  };
  while (i < bytes.length) {
    const start = i;
    const id = bytes[i++];
    const size = leb();
    const body = i;
    if (id === 5) {
      const count = leb();
      const flags = bytes[i++];
      if (count !== 1 || (flags & ~1) !== 0) {
        throw new Error('unexpected wasm memory section: cannot cap its size');
      }
      const min = leb();
      const max = flags & 1 ? leb() : Infinity;
      if (i !== body + size) throw new Error('unexpected wasm memory section length');
      const newMax = Math.max(min, Math.min(max, maxPages));
      const payload = [...uleb(1), 0x01, ...uleb(min), ...uleb(newMax)];
      const header = [5, ...uleb(payload.length)];
      const rest = bytes.subarray(body + size);
      const out = new Uint8Array(start + header.length + payload.length + rest.length);
      out.set(bytes.subarray(0, start), 0);
      out.set(header, start);
      out.set(payload, start + header.length);
      out.set(rest, start + header.length + payload.length);
      return out;
    }
    i = body + size;
  }
  throw new Error('the wasm module declares no memory: cannot cap its size');
}

function uleb(value) {
  const out = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}
