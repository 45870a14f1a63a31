// Pyodide inside the wasm host: load the interpreter under a memory cap with the shims
// its loader needs, and close its ways out to JavaScript and the host. Running programs
// and mirroring the workspace is host-python.mjs.
/* global WebAssembly */

import { constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { writeAll } from './host-io.mjs';

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

/**
 * Loads Pyodide from `pyodideDir` with its linear memory capped at `memoryBytes`, `home`
 * as HOME, no packages, no stdin, and stdout and stderr written straight to fds 1 and 2.
 * Not yet locked down: call lockDownPyodide before running user code.
 */
export async function loadPyodideCapped({ pyodideDir, memoryBytes, home }) {
  const py = await withLoadShims(memoryBytes, async () => {
    const { loadPyodide } = await import(pathToFileURL(join(pyodideDir, 'pyodide.mjs')).href);
    return loadPyodide({
      indexURL: pyodideDir + '/',
      // The `js` module: an empty object with no prototype instead of globalThis.
      jsglobals: Object.create(null),
      env: { HOME: home, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
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
  return py;
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
 * Closes Pyodide's ways out of the interpreter; called once the host has taken what it
 * needs from it and before any user code runs. First LOCKDOWN_PY on the Python side, then
 * removes from Pyodide's API and Emscripten's module everything that reaches outside the
 * interpreter, since Python can get hold of both objects:
 * - useNodeSockFS / initializeNodeSockFS: real TCP sockets through node:net;
 * - SOCKFS' WebSocket peers: `socket.connect` would dial out through the `ws` package;
 * - loadPackage and friends: fetch() of arbitrary URLs;
 * - NODEFS and mountNodeFS: the host file system (the permission model bounds it anyway).
 */
export function lockDownPyodide(py) {
  py.runPython(LOCKDOWN_PY);
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
