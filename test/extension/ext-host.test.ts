import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { vscodeExtTest } from '../helpers/code-server.js';
import { buildSuite, ensureExtensionBuilt, requireVscodeE2e, root } from './build-suite.js';

// The extension-host suite (suite.ts) in a real VS Code 1.100: code-server's Node
// extension host, driven by test/setup/vscode-ext-test.mjs. The repository is the extension
// under development, as with @vscode/test-electron (`npm run test:electron`).

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('extension-host suite in code-server', { timeout: 240_000 }, async () => {
  requireVscodeE2e();
  await ensureExtensionBuilt();
  const suite = await buildSuite();
  const folder = mkdtempSync(join(tmpdir(), 'cog-ext-ws-'));
  try {
    const started = Date.now();
    const child = spawn(
      vscodeExtTest,
      ['--dev', root, '--tests', suite, '--folder', folder, '--timeout', '180000'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const suiteLines = out.split('\n').filter((l) => l.includes('[cog-suite]'));
    process.stdout.write(
      `# ${suiteLines.join('\n# ')}\n# vscode-ext-test: ${Date.now() - started} ms\n`,
    );
    assert.equal(code, 0, `the extension-host suite failed (exit ${code}):\n${out.slice(-8000)}`);

    // After VS Code is gone, no runtime it started may be left behind.
    const pids = JSON.parse(
      readFileSync(join(folder, 'cog-runtime-pids.json'), 'utf8'),
    ) as number[];
    assert.ok(pids.length >= 2, 'the suite saw the first and the restarted runtime');
    for (const pid of pids) assert.ok(!alive(pid), `runtime ${pid} is gone`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
