import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The setup's cache (`../shared/vscode-e2e/setup.sh`): VSCODE_E2E_DIR or ~/.cache/vscode-e2e. */
export const e2eDir = process.env.VSCODE_E2E_DIR || join(homedir(), '.cache', 'vscode-e2e');

/** Fails with what to do when code-server is not installed; nothing is skipped silently. */
export function requireVscodeE2e(): void {
  const needed = ['bin/vscode-ext-test', 'bin/code-server-e2e', 'tools/vscode-e2e.mjs'];
  const missing = needed.filter((p) => !existsSync(join(e2eDir, p)));
  if (missing.length) {
    throw new Error(
      `code-server for the VS Code tests is not installed (${missing.join(', ')} missing in ${e2eDir}). ` +
        'Run `bash ../shared/vscode-e2e/setup.sh` (about 2 minutes; set VSCODE_E2E_DIR if you gave it another cache dir).',
    );
  }
}
