// The wasm host: runs one program in a WebAssembly interpreter inside this Node process,
// then exits. Started by plan.ts under Node's permission model (reads: this folder, the
// runtime's files, the workspace; writes: the workspace; no child processes, workers or
// addons) with code generation from strings disabled and an empty environment.
//
//   node <flags> wasm-host.mjs python --workspace=DIR --memory=BYTES --pyodide=DIR
//   node <flags> wasm-host.mjs javascript --workspace=DIR --memory=BYTES --timeout-ms=MS
//        --quickjs-core=FILE --quickjs-ffi=FILE --quickjs-module=FILE
//   either with --shared=DIR: files the user shared, read-only at shared/ (readable only)
//
// The program arrives on stdin. The runtime loads and the realm is locked down before
// stdin is read, so a host could be started ahead of time and handed code later.
// Exit status: the program's own; 2 when the host itself failed.

import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { readStdin, writeAll } from './host-io.mjs';
import { freezeIntrinsics, stripGlobals } from './host-lockdown.mjs';

const HOST_FAILED = 2;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      workspace: { type: 'string' },
      memory: { type: 'string' },
      'timeout-ms': { type: 'string' },
      pyodide: { type: 'string' },
      'quickjs-core': { type: 'string' },
      'quickjs-ffi': { type: 'string' },
      'quickjs-module': { type: 'string' },
      shared: { type: 'string' },
    },
  });
  const language = positionals[0];
  const workspace = required(values.workspace, 'workspace');
  const memoryBytes = Number(required(values.memory, 'memory'));
  if (!Number.isFinite(memoryBytes) || memoryBytes <= 0) throw new Error('bad --memory');

  let runtime;
  let deadline = Infinity;
  if (language === 'python') {
    const { loadPython } = await import('./host-python.mjs');
    runtime = await loadPython({
      pyodideDir: required(values.pyodide, 'pyodide'),
      memoryBytes,
      shared: values.shared,
    });
  } else if (language === 'javascript') {
    const { loadJavaScript } = await import('./host-quickjs.mjs');
    runtime = await loadJavaScript({
      core: required(values['quickjs-core'], 'quickjs-core'),
      ffi: required(values['quickjs-ffi'], 'quickjs-ffi'),
      module: required(values['quickjs-module'], 'quickjs-module'),
      memoryBytes,
      shared: values.shared,
    });
    // Counted from the process' start, like the parent's timer, not from the end of loading.
    const timeoutMs = Number(values['timeout-ms'] ?? NaN);
    if (Number.isFinite(timeoutMs)) deadline = performance.timeOrigin + timeoutMs;
  } else {
    throw new Error(`unknown language: ${String(language)}`);
  }
  stripGlobals();
  freezeIntrinsics();
  const code = readStdin();
  const status = runtime.run(code, workspace, deadline);
  // Exit at once: nothing the program scheduled (timers, promise callbacks) runs after
  // its files were saved.
  process.exit(status);
}

function required(value, name) {
  if (value === undefined || value === '') throw new Error(`--${name} is required`);
  return value;
}

main().catch((err) => {
  writeAll(2, `cog: the wasm sandbox failed: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(HOST_FAILED);
});
