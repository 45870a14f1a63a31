import { runTests } from '@vscode/test-electron';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSuite, ensureExtensionBuilt, root } from './build-suite.js';

// `npm run test:electron`: the same suite in desktop VS Code, downloaded by
// @vscode/test-electron (needs network access to update.code.visualstudio.com).

await ensureExtensionBuilt();
const suite = await buildSuite();
const folder = mkdtempSync(join(tmpdir(), 'cog-ext-ws-'));
try {
  await runTests({
    version: process.env.VSCODE_TEST_VERSION ?? '1.100.3',
    extensionDevelopmentPath: root,
    extensionTestsPath: suite,
    launchArgs: [folder, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  const offline = /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(message);
  console.error(
    offline
      ? `Desktop VS Code could not be downloaded (${message}). Without network access, \`npm test\` runs the same suite in code-server.`
      : `extension-host tests failed: ${message}`,
  );
  process.exitCode = 1;
} finally {
  rmSync(folder, { recursive: true, force: true });
}
