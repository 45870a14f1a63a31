// JavaScript on QuickJS (compiled to wasm) inside the wasm host. The program sees only
// what is installed here: `console` and a small `workspace` object. No Node API, no
// module loader (so `import()` rejects), no timers; the host functions take and return
// strings only, so no host object ever crosses into the QuickJS heap.
/* global WebAssembly */

import { Buffer } from 'node:buffer';
import { pathToFileURL } from 'node:url';
import { writeAll } from './host-io.mjs';
import {
  listWorkspace,
  readWorkspaceFile,
  WORKSPACE_LIMIT_BYTES,
  WorkspaceError,
  writeWorkspaceFile,
} from './host-workspace.mjs';

const WASM_PAGE = 64 * 1024;
/** What the variant's module declares: 16 MiB to start, at most 2 GiB. */
const VARIANT_INITIAL_PAGES = 256;
const VARIANT_MAX_PAGES = 32768;
/** Linear memory QuickJS needs beyond its own heap (C stack, static data). */
const WASM_OVERHEAD_BYTES = 32 * 1024 * 1024;
const MIN_HEAP_BYTES = 16 * 1024 * 1024;
/**
 * QuickJS' own stack bound. Its interpreter also recurses on V8's native stack, which
 * overflows (killing the host with a V8 RangeError) near 512 KiB: at 256 KiB deep
 * recursion (about 1,500 frames) ends as QuickJS' own "stack overflow" error.
 */
const MAX_STACK_BYTES = 256 * 1024;

// Evaluated once in the fresh context with the four host functions as arguments; they stay
// private to the closures it creates, so the program cannot call them except through
// `console` and `workspace`. Returns the error formatter the host uses for uncaught errors.
const BOOTSTRAP_JS = `(function (write, list, read, save) {
  'use strict';
  const formatError = (e) => {
    if (e === null || typeof e !== 'object') return 'Uncaught ' + String(e);
    const head = String(e.name || 'Error') + ': ' + String(e.message);
    if (!e.stack) return head;
    const lines = String(e.stack).replace(/\\n$/, '').split('\\n');
    const shown = lines.length > 20 ? lines.slice(0, 20).concat(['    ... ' + (lines.length - 20) + ' more']) : lines;
    return head + '\\n' + shown.join('\\n');
  };
  const format = (v) => {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return formatError(v);
    if (typeof v === 'object' && v !== null) {
      try {
        const s = JSON.stringify(v);
        if (s !== undefined) return s;
      } catch (_) {}
    }
    return String(v);
  };
  const printer = (fd) => (...args) => { write(fd, args.map(format).join(' ') + '\\n'); };
  globalThis.console = Object.freeze({
    log: printer(1), info: printer(1), debug: printer(1), warn: printer(2), error: printer(2),
  });
  globalThis.workspace = Object.freeze({
    list: () => JSON.parse(list()),
    read: (name) => read(String(name)),
    write: (name, text) => { save(String(name), String(text)); },
  });
  return formatError;
})`;

/**
 * Loads QuickJS' sync wasm variant from the given files, its linear memory capped at
 * `memoryBytes` (the declared 2 GiB maximum is lowered to that).
 * @returns {Promise<{ run(code: string, workspace: string, deadline: number): number }>}
 */
export async function loadJavaScript({ core, ffi, module, memoryBytes, shared }) {
  const { newQuickJSWASMModuleFromVariant, newVariant } = await import(pathToFileURL(core).href);
  const base = {
    type: 'sync',
    importFFI: () => import(pathToFileURL(ffi).href).then((m) => m.QuickJSFFI),
    importModuleLoader: () => import(pathToFileURL(module).href).then((m) => m.default),
  };
  const maxPages = Math.min(
    VARIANT_MAX_PAGES,
    Math.max(VARIANT_INITIAL_PAGES, Math.floor(memoryBytes / WASM_PAGE)),
  );
  const wasmMemory = new WebAssembly.Memory({
    initial: VARIANT_INITIAL_PAGES,
    maximum: maxPages,
  });
  const QuickJS = await newQuickJSWASMModuleFromVariant(newVariant(base, { wasmMemory }));
  const heapBytes = Math.max(MIN_HEAP_BYTES, maxPages * WASM_PAGE - WASM_OVERHEAD_BYTES);
  return {
    run: (code, workspace, deadline) => run(QuickJS, heapBytes, code, workspace, deadline, shared),
  };
}

function run(QuickJS, heapBytes, code, workspace, deadline, shared) {
  const runtime = QuickJS.newRuntime();
  runtime.setMemoryLimit(heapBytes);
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  let timedOut = false;
  runtime.setInterruptHandler(() => {
    if (Date.now() < deadline) return false;
    timedOut = true;
    return true;
  });
  const vm = runtime.newContext();
  const formatError = installGlobals(vm, workspace, shared);
  const report = (errorHandle) => {
    if (timedOut) {
      writeAll(2, 'cog: the program was stopped: it ran past its time limit\n');
      return 1;
    }
    let text;
    try {
      const formatted = vm.callFunction(formatError, vm.undefined, errorHandle);
      text = formatted.error ? fallbackText(vm, errorHandle) : vm.getString(formatted.value);
      (formatted.error ?? formatted.value).dispose();
    } catch {
      text = fallbackText(vm, errorHandle);
    }
    writeAll(2, text + '\n');
    return 1;
  };

  const result = vm.evalCode(code, '<stdin>', { type: 'global' });
  if (result.error) {
    const status = report(result.error);
    result.error.dispose();
    return status;
  }
  result.value.dispose();
  // Promise reactions run here; they end when the queue is empty or the deadline passes.
  while (runtime.hasPendingJob()) {
    const jobs = runtime.executePendingJobs();
    if (jobs.error) {
      const status = report(jobs.error);
      jobs.error.dispose();
      return status;
    }
  }
  // The runtime is not disposed: the process exits next, which frees everything, and a
  // program that leaked handles cannot make the dispose assertion abort the host.
  return 0;
}

function fallbackText(vm, errorHandle) {
  try {
    const dumped = vm.dump(errorHandle);
    if (dumped && typeof dumped === 'object') {
      return `${dumped.name ?? 'Error'}: ${dumped.message ?? JSON.stringify(dumped)}`;
    }
    return `Uncaught ${String(dumped)}`;
  } catch {
    return 'Uncaught error (it could not be printed)';
  }
}

/**
 * Names under shared/ when files were shared: read from the shared directory, never
 * written (the workspace's own shared/, if any, is hidden then, as in the Linux tiers).
 */
const SHARED_PREFIX = 'shared/';

/** Installs `console` and `workspace`; returns the QuickJS error formatter's handle. */
function installGlobals(vm, root, shared) {
  const isShared = (name) =>
    shared !== undefined && (name === 'shared' || name.startsWith(SHARED_PREFIX));
  let written = 0;
  const guard = (name, fn) => {
    try {
      return fn();
    } catch (err) {
      // Node's messages name the real path; the program gets workspace-relative ones.
      if (err instanceof WorkspaceError) throw new Error(err.message);
      throw new Error(`${name}: ${err.code ?? 'failed'}`);
    }
  };
  const hostFns = [
    vm.newFunction('write', (fd, text) => {
      writeAll(vm.getNumber(fd) === 2 ? 2 : 1, vm.getString(text));
    }),
    vm.newFunction('list', () =>
      vm.newString(
        JSON.stringify(
          guard('list', () => [
            ...listWorkspace(root)
              .files.map((f) => f.name)
              .filter((n) => !isShared(n)),
            ...(shared ? listWorkspace(shared).files.map((f) => SHARED_PREFIX + f.name) : []),
          ]),
        ),
      ),
    ),
    vm.newFunction('read', (nameHandle) => {
      const name = vm.getString(nameHandle);
      const bytes = isShared(name)
        ? guard(name, () =>
            readWorkspaceFile(shared, name.slice(SHARED_PREFIX.length), WORKSPACE_LIMIT_BYTES),
          )
        : guard(name, () => readWorkspaceFile(root, name, WORKSPACE_LIMIT_BYTES));
      return vm.newString(Buffer.from(bytes).toString('utf8'));
    }),
    vm.newFunction('save', (nameHandle, textHandle) => {
      const name = vm.getString(nameHandle);
      if (isShared(name)) {
        throw new Error(`${name}: read-only: the files the user shared cannot be written`);
      }
      const bytes = Buffer.from(vm.getString(textHandle), 'utf8');
      if (written + bytes.length > WORKSPACE_LIMIT_BYTES) {
        throw new Error(
          `${name}: not saved: a run may write at most ${WORKSPACE_LIMIT_BYTES / (1024 * 1024)} MiB to the workspace`,
        );
      }
      guard(name, () => writeWorkspaceFile(root, name, bytes));
      written += bytes.length;
    }),
  ];
  const bootstrap = vm.unwrapResult(vm.evalCode(BOOTSTRAP_JS, '<cog>', { type: 'global' }));
  const formatError = vm.unwrapResult(vm.callFunction(bootstrap, vm.undefined, ...hostFns));
  bootstrap.dispose();
  for (const fn of hostFns) fn.dispose();
  return formatError;
}
