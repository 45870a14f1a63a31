import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import { packageVsix, vsixIsFresh } from '../helpers/vsix.js';
import {
  codeServerE2e,
  QUIET_SETTINGS,
  launchBrowser,
  openWorkbench,
  startCodeServer,
  webviewFrame,
  type BrowserSession,
  type CodeServer,
  workbenchState,
} from '../helpers/code-server.js';

// End to end in a real VS Code 1.100 (code-server) driven by playwright-core and Debian's
// Chromium: the packaged .vsix is installed into a fresh profile, the Cog view is opened
// from the activity bar, and the chat is used the way a person would, on the offline engine.

const vsix = join(root, 'dist', 'cog.vsix');
const artifacts = join(root, 'test-artifacts');
const shot = join(artifacts, 'vscode-e2e.png');
/** Something only the Cog chat's HTML has (webview/chat/composer.ts). */
const COMPOSER = 'textarea.composer-input';

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`)),
    );
  });
}

const USER_SETTINGS = {
  ...QUIET_SETTINGS,
  // "ask" on purpose: the run waits until the user approves it on its card.
  'cog.approvalPolicy': 'ask',
};

test(
  'the packaged extension in VS Code: chat, HUD, process card, table control',
  { timeout: 240_000 },
  async (t) => {
    requireVscodeE2e();

    let started = Date.now();
    // vsce alone, not `npm run package`: rebuilding dist/ here would rewrite bundles that
    // tests running alongside are loading. `npm test` has just built them.
    await ensureExtensionBuilt();
    if (!vsixIsFresh(vsix)) await packageVsix(vsix);
    t.diagnostic(`vsix: ${Date.now() - started} ms`);

    const { state, folder } = workbenchState('e2e', USER_SETTINGS);
    writeFileSync(join(folder, 'README.md'), '# a workspace for the Cog end-to-end test\n');
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      started = Date.now();
      await run(codeServerE2e, ['--state', state, '--', '--install-extension', vsix]);
      const installed = readdirSync(join(state, 'extensions')).find((d) =>
        d.startsWith('cog-dev.cog-'),
      );
      assert.ok(installed, 'the .vsix is installed');
      assert.ok(
        !lstatSync(join(state, 'extensions', installed)).isSymbolicLink(),
        'installed, not linked',
      );
      t.diagnostic(`install: ${Date.now() - started} ms`);

      started = Date.now();
      server = await startCodeServer({ state, folder });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);
      t.diagnostic(`workbench: ${Date.now() - started} ms`);

      started = Date.now();
      await page.locator('.activitybar [aria-label^="Cog"]').first().click();
      const view = await webviewFrame(page, COMPOSER, { timeout: 60_000 });
      t.diagnostic(`Cog view: ${Date.now() - started} ms`);
      await page
        .locator('.statusbar-item', { hasText: 'Cog: offline engine' })
        .waitFor({ timeout: 30_000 });

      const send = async (text: string) => {
        await view.locator(COMPOSER).fill(text);
        await view.locator(COMPOSER).press('Enter');
      };
      const assistant = view.locator('.msg.assistant');

      // A plain message: the reply streams in, labelled as the offline engine, the HUD lights up.
      started = Date.now();
      await send('hello');
      await view.locator('.msg.user', { hasText: 'hello' }).waitFor();
      await assistant.first().waitFor({ timeout: 30_000 });
      await assistant.first().locator('.offline-tag').waitFor();
      await view.locator('.pipeline .node[data-node="thinker"][data-status="done"]').waitFor();
      await view.locator('.pipeline .node[data-node="output"][data-status="done"]').waitFor();
      await view.locator('.pipeline .node .tokens').first().filter({ hasText: '/' }).waitFor();
      await view.locator('details.trace > summary').click();
      await view
        .locator('.trace-list .type', { hasText: /output\.delta ×\d+/ })
        .first()
        .waitFor();
      await view.locator('details.trace > summary').click();
      t.diagnostic(`hello: ${Date.now() - started} ms`);

      // Arithmetic: the run waits for approval on its card; Approve lets it go; the card
      // shows it done and the reply has 391.
      started = Date.now();
      await send('what is 17*23?');
      const card = view.locator('.cog-process').last();
      await card.locator('.proc-approve').click({ timeout: 30_000 });
      await card.locator('.proc-status', { hasText: /done/i }).waitFor({ timeout: 30_000 });
      await assistant.filter({ hasText: '391' }).first().waitFor({ timeout: 30_000 });
      t.diagnostic(`17*23: ${Date.now() - started} ms`);

      // A table with a button: clicking it sends the action back; its answer arrives.
      started = Date.now();
      await send('show me a table');
      await view.locator('.cog-table table').last().waitFor({ timeout: 30_000 });
      const more = view.locator('.cog-control-button', { hasText: 'Tell me more' }).last();
      await more.click();
      await view
        .locator('.msg-action .action-name', { hasText: 'more' })
        .waitFor({ timeout: 30_000 });
      await assistant
        .filter({ hasText: 'Each message goes through Input' })
        .first()
        .waitFor({ timeout: 30_000 });
      t.diagnostic(`table + action: ${Date.now() - started} ms`);

      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: shot });
    } catch (err) {
      if (browser) {
        mkdirSync(artifacts, { recursive: true });
        await browser.page
          .screenshot({ path: join(artifacts, 'vscode-e2e-failure.png') })
          .catch(() => undefined);
      }
      const log = server?.log().slice(-4000);
      if (log) t.diagnostic(`code-server log:\n${log}`);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      rmSync(state, { recursive: true, force: true });
    }
  },
);
