import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeServerBin, codeServerE2e, vscodeExtTest } from '../helpers/code-server.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The bundled suite; under dist/test/, which .vscodeignore keeps out of the .vsix. */
export const suiteBundle = join(root, 'dist', 'test', 'extension-suite.cjs');

/** Bundles suite.ts to the CommonJS module VS Code's test runners load. */
export async function buildSuite(): Promise<string> {
  await build({
    entryPoints: [join(root, 'test', 'extension', 'suite.ts')],
    outfile: suiteBundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return suiteBundle;
}

/** Builds dist/ (the extension bundle included) unless it is there already. */
export async function ensureExtensionBuilt(): Promise<void> {
  if (existsSync(join(root, 'dist', 'extension.cjs')) && existsSync(join(root, 'dist', 'cog.mjs')))
    return;
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(root, 'esbuild.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`node esbuild.mjs exited with ${r.status}`);
}

/** Fails with what to do when code-server is not installed; nothing is skipped silently. */
export function requireVscodeE2e(): void {
  const needed = [codeServerBin, codeServerE2e, vscodeExtTest];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length) {
    throw new Error(
      `code-server for the VS Code tests is not installed (missing: ${missing.join(', ')}). ` +
        'Run `npm run setup:test` (about 2 minutes the first time; `npm test` runs it first).',
    );
  }
}
