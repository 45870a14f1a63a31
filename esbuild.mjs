// One build script. The server bundle is the `cog` command; extension and webview
// entries join it as those layers land.
import { build } from 'esbuild';
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { copySqlRunner, copyWasmRuntime } from './server/processes/wasm/bundle-files.mjs';

/** The server bundle's chunks are dist/cog-<name>-<hash>.mjs. */
const CHUNK_PREFIX = 'cog-';

/** Deletes chunks (and their maps) an earlier build left that this one did not write. */
function removeStaleChunks(metafile) {
  const written = new Set(Object.keys(metafile.outputs).map((f) => basename(f)));
  for (const f of readdirSync('dist')) {
    if (f.startsWith(CHUNK_PREFIX) && /\.mjs(\.map)?$/.test(f) && !written.has(f)) {
      rmSync(`dist/${f}`);
    }
  }
}

// Split into chunks: dist/cog.mjs holds the command line alone and each command, the
// tokenizer's tables and the HTTP server arrive by dynamic import() when first used, so a
// start compiles only what it runs. Chunks sit beside cog.mjs, not in a folder, because
// code in them finds its companion files (sql-runner.mjs, wasm/) by import.meta.url.
const server = await build({
  entryPoints: { cog: 'server/cli.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: `${CHUNK_PREFIX}[name]-[hash]`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Less to read and compile at every start; identifiers stay, so stack traces and
  // profiles keep their names (renaming them bought no measurable start-up time).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  metafile: true,
  banner: {
    // The bundle is ESM but some dependencies call require(); give every chunk one.
    js: "#!/usr/bin/env node\nimport { createRequire as __cogRequire } from 'node:module';\nconst require = __cogRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
removeStaleChunks(server.metafile);
chmodSync('dist/cog.mjs', 0o755);
// Beside the bundle: the SQL runner and sql.js, and the wasm sandbox's host scripts,
// Pyodide and QuickJS in dist/wasm/ (server/processes/wasm/bundle-files.mjs).
copySqlRunner('dist');
await copyWasmRuntime('dist');

// The chat webview: browser code loaded by the webview's HTML (extension/webview-html.ts).
// Importing its stylesheet from the entry makes esbuild write dist/webview/main.css too.
await build({
  entryPoints: ['webview/main.ts'],
  outfile: 'dist/webview/main.js',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome120'],
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The same panel in a browser, as `cog serve` serves it at `/` (server/web/): the webview
// app with a host in the page (web/browser-host.ts) that talks MCP to that server.
await build({
  entryPoints: ['web/main.ts'],
  outfile: 'dist/web/main.js',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: ['chrome120', 'firefox120', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The VS Code extension host: CommonJS, as VS Code loads it; `vscode` is provided at run time.
await build({
  entryPoints: ['extension/extension.ts'],
  outfile: 'dist/extension.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  // Minified: the extension host reads and compiles all of it at activation. The map stays
  // beside it for debugging and is left out of the .vsix (.vscodeignore lists what goes in).
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});
