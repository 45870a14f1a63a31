import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureExtensionBuilt, root } from './build-suite.js';
import { packageScriptArgs, packageVsix } from '../helpers/vsix.js';

// The .vsix a release would publish, packaged exactly as `npm run package` does: vsce must
// not warn, and the package must hold what the marketplace shows and nothing it should not.

/** A .vsix is a zip; `unzip -Z1` lists its entries one per line. */
function entries(vsix: string): string[] {
  return execFileSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function unzipText(vsix: string, entry: string): string {
  return execFileSync('unzip', ['-p', vsix, entry], { encoding: 'utf8' });
}

test('npm run package: no hiding flags, no warnings, a marketplace-ready .vsix', async (t) => {
  const flags = packageScriptArgs();
  for (const hiding of ['--allow-missing-repository', '--skip-license', '--allow-star-activation'])
    assert.ok(!flags.includes(hiding), `the package script passes ${hiding}`);

  await ensureExtensionBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'cog-vsix-'));
  try {
    const vsix = join(dir, 'cog.vsix');
    const output = await packageVsix(vsix);
    assert.doesNotMatch(output, /WARNING/i, `vsce warned:\n${output}`);
    t.diagnostic(`vsix: ${(statSync(vsix).size / 1e6).toFixed(2)} MB`);

    const files = entries(vsix);
    for (const f of [
      'extension/package.json',
      'extension/readme.md',
      'extension/changelog.md',
      'extension/LICENSE.txt',
      'extension/media/icon.png',
      'extension/dist/extension.cjs',
      'extension/dist/cog.mjs',
      'extension/dist/webview/main.js',
    ]) {
      assert.ok(
        files.some((e) => e.toLowerCase() === f.toLowerCase()),
        `${f} is in the package`,
      );
    }
    const leaks = files.filter((e) => /\.(map|ts)$|node_modules\/|\/test\/|\.env$/.test(e));
    assert.deepEqual(leaks, [], 'no source maps, sources, tests or node_modules in the package');

    const readme = unzipText(
      vsix,
      files.find((e) => e.toLowerCase() === 'extension/readme.md')!,
    );
    assert.match(readme, /^# Cog for VS Code/, 'the marketplace README, not the developer one');
    assert.match(readme, /Privacy: what leaves your machine/);
    // The README shows the panel in the four default themes: the PNGs ship in the package,
    // and vsce points the README at them in the repository, over https, for the marketplace.
    for (const theme of ['dark', 'light', 'hc-dark', 'hc-light']) {
      const png = `media/screenshots/panel-${theme}.png`;
      assert.match(
        readme,
        new RegExp(`\\]\\(https://[^)\\s]+/${png.replace(/\./g, '\\.')}\\)`),
        png,
      );
      const bytes = statSync(join(root, png)).size;
      assert.ok(bytes < 150 * 1024, `${png} is ${bytes} bytes`);
      assert.ok(files.includes(`extension/${png}`), `${png} is in the package`);
    }

    const manifest = JSON.parse(unzipText(vsix, 'extension/package.json')) as {
      repository?: { url?: string };
      icon?: string;
    };
    assert.match(manifest.repository?.url ?? '', /^https:\/\//);
    assert.equal(manifest.icon, 'media/icon.png');

    // Minified: the extension host compiles all of it at activation.
    const bundle = readFileSync(join(root, 'dist', 'extension.cjs'), 'utf8');
    const perLine = bundle.length / bundle.split('\n').length;
    assert.ok(
      perLine > 1000,
      `dist/extension.cjs is minified (${perLine.toFixed(0)} chars a line)`,
    );
    t.diagnostic(`dist/extension.cjs: ${(bundle.length / 1e3).toFixed(0)} KB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
