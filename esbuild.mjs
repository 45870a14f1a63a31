// One build script. The server bundle is the `cog` command; extension and webview
// entries join it as those layers land.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import { copySqlRunner, copyWasmRuntime } from './server/processes/wasm/bundle-files.mjs';

await build({
  entryPoints: ['server/cli.ts'],
  outfile: 'dist/cog.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  banner: {
    // The bundle is ESM but some dependencies call require(); give them one.
    js: "#!/usr/bin/env node\nimport { createRequire as __cogRequire } from 'node:module';\nconst require = __cogRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
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

// The VS Code extension host: CommonJS, as VS Code loads it; `vscode` is provided at run time.
await build({
  entryPoints: ['extension/extension.ts'],
  outfile: 'dist/extension.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
