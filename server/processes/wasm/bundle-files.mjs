// Puts the files code runs need beside a bundle, where runners.ts and plan.ts look first:
// the SQL runner with sql.js, and the wasm sandbox's host scripts, Pyodide's runtime and
// QuickJS. Used by esbuild.mjs and by the bundle tests, so all of them ship exactly the
// same set. Build-time only; never copied into dist itself.

import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Everything Pyodide's loader reads; no package wheels (packages are never fetched). */
export const PYODIDE_FILES = [
  'pyodide.mjs',
  'pyodide.asm.mjs',
  'pyodide.asm.wasm',
  'python_stdlib.zip',
  'pyodide-lock.json',
];
const QUICKJS_VARIANT_FILES = ['ffi.mjs', 'emscripten-module.mjs', 'emscripten-module.wasm'];

// Run by Pyodide itself (so the bytecode matches its CPython exactly): adds an
// unchecked-hash .pyc beside every .py of the standard library zip. Python then imports
// the bytecode instead of compiling the modules it loads at start-up on every run, which
// took most of Pyodide's cold start (about 6.5 s down to 2 s here). The sources stay,
// for tracebacks.
const COMPILE_STDLIB_PY = `
import importlib.util, marshal, sys, zipfile
prefix = "/lib/python%d%d.zip/" % sys.version_info[:2]
src = zipfile.ZipFile(prefix[:-1])
out = zipfile.ZipFile("/tmp/stdlib.zip", "w", zipfile.ZIP_DEFLATED)
for info in src.infolist():
    data = src.read(info.filename)
    out.writestr(info, data, zipfile.ZIP_DEFLATED)
    if info.filename.endswith(".py"):
        code = compile(data, prefix + info.filename, "exec", dont_inherit=True)
        header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + bytes(8)
        out.writestr(info.filename + "c", header + marshal.dumps(code), zipfile.ZIP_DEFLATED)
out.close()
`;

/**
 * Writes `<outDir>/python_stdlib.zip` with bytecode added, unless the copy there was made
 * from this same Pyodide version (a stamp file records it).
 */
function compileStdlib(pyodideDir, outDir) {
  const version = JSON.parse(readFileSync(join(pyodideDir, 'package.json'), 'utf8')).version;
  const target = join(outDir, 'python_stdlib.zip');
  const stamp = join(outDir, 'python_stdlib.zip.version');
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === version) return;
  const script = `
    const { loadPyodide } = await import(${JSON.stringify(pathToFileURL(join(pyodideDir, 'pyodide.mjs')).href)});
    const { writeFileSync } = await import('node:fs');
    const py = await loadPyodide({ indexURL: ${JSON.stringify(pyodideDir + '/')} });
    py.runPython(${JSON.stringify(COMPILE_STDLIB_PY)});
    writeFileSync(${JSON.stringify(target)}, py.FS.readFile('/tmp/stdlib.zip'));
  `;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
  writeFileSync(stamp, version);
}

/** The host's own modules: wasm-host.mjs and the host-*.mjs it imports. */
export function hostFiles() {
  return readdirSync(here).filter((f) => f === 'wasm-host.mjs' || /^host-.*\.mjs$/.test(f));
}

/**
 * SQL runs in its own Node process: its runner and sql.js's pure-JS build go beside the
 * bundle (runners.ts finds them there). `.cjs` because dist/ sits under a
 * `"type": "module"` package.json.
 * @param {string} outDir the bundle's folder (dist/)
 */
export function copySqlRunner(outDir) {
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(here, '..', 'sql-runner.mjs'), join(outDir, 'sql-runner.mjs'));
  copyFileSync(require.resolve('sql.js/dist/sql-asm.js'), join(outDir, 'sql-asm.cjs'));
}

/**
 * Writes `<outDir>/wasm/`: the host, `pyodide/` and `quickjs/`. QuickJS' core is bundled
 * into one ESM file because the host imports it by path and the bundle has no
 * node_modules to resolve its own imports from.
 * @param {string} outDir the bundle's folder (dist/)
 */
export async function copyWasmRuntime(outDir) {
  const wasm = join(outDir, 'wasm');
  const pyodideOut = join(wasm, 'pyodide');
  const quickjsOut = join(wasm, 'quickjs');
  mkdirSync(pyodideOut, { recursive: true });
  mkdirSync(quickjsOut, { recursive: true });
  for (const f of hostFiles()) copyFileSync(join(here, f), join(wasm, f));

  const pyodide = dirname(require.resolve('pyodide/package.json'));
  compileStdlib(pyodide, pyodideOut);
  for (const f of PYODIDE_FILES.filter((f) => f !== 'python_stdlib.zip')) {
    copyFileSync(join(pyodide, f), join(pyodideOut, f));
  }

  const fromQuickjs = createRequire(require.resolve('quickjs-emscripten/package.json'));
  const variant = dirname(fromQuickjs.resolve('@jitl/quickjs-wasmfile-release-sync/package.json'));
  for (const f of QUICKJS_VARIANT_FILES) {
    copyFileSync(join(variant, 'dist', f), join(quickjsOut, f));
  }
  const coreEntry = join(dirname(fromQuickjs.resolve('quickjs-emscripten-core')), 'index.mjs');
  await build({
    entryPoints: [coreEntry],
    outfile: join(quickjsOut, 'quickjs-core.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
}
