import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import { packageVsix, vsixIsFresh } from '../helpers/vsix.js';
import {
  codeServerE2e,
  launchBrowser,
  openWorkbench,
  startCodeServer,
  webviewFrame,
  type BrowserSession,
  type CodeServer,
  workbenchState,
} from '../helpers/code-server.js';

// Sessions in a real VS Code (code-server) with the packaged .vsix, the way a person uses
// them: the panel's session bar shows the first message as title; Clear asks (Cancel keeps
// the history, Clear clears it); Rename asks for a title in VS Code's input box and the bar
// shows it, as does Switch Session; Delete asks in a modal naming the title, and then the
// session is gone and a fresh one is shown.

const vsix = join(root, 'dist', 'cog.vsix');
const artifacts = join(root, 'test-artifacts');
const COMPOSER = 'textarea.composer-input';

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}:\n${out}`)),
    );
  });
}

/** The options of the session bar's picker, as the user reads them. */
const options = (view: FrameLocator) => view.locator('.session-select option').allTextContents();

/** Waits until the bar's picker options satisfy `check`. */
async function untilOptions(
  view: FrameLocator,
  check: (texts: string[]) => boolean,
  what: string,
): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  let last: string[] = [];
  while (Date.now() < deadline) {
    last = await options(view);
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: the session bar shows ${JSON.stringify(last)}`);
}

/** VS Code's modal dialog containing `text`, once it is shown. */
async function dialog(page: Page, text: string) {
  const box = page.locator('.monaco-dialog-box', { hasText: text });
  await box.waitFor({ timeout: 30_000 });
  return box;
}

async function press(box: ReturnType<Page['locator']>, label: string) {
  await box.locator('.dialog-buttons .monaco-button', { hasText: label }).click();
  await box.waitFor({ state: 'detached', timeout: 30_000 });
}

test(
  'sessions in VS Code: titled, Clear confirmed, renamed and deleted through the UI',
  { timeout: 300_000 },
  async (t) => {
    requireVscodeE2e();
    await ensureExtensionBuilt();
    if (!vsixIsFresh(vsix)) await packageVsix(vsix);

    const { state, folder } = workbenchState('e2e-sess');
    writeFileSync(join(folder, 'README.md'), '# sessions end-to-end\n');
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      await run(codeServerE2e, ['--state', state, '--', '--install-extension', vsix]);
      server = await startCodeServer({ state, folder });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);
      await page.locator('.activitybar [aria-label^="Cog"]').first().click();
      const view = await webviewFrame(page, COMPOSER, { timeout: 60_000 });
      await page
        .locator('.statusbar-item', { hasText: 'Cog: offline engine' })
        .waitFor({ timeout: 30_000 });

      // The first message titles the session: the bar shows it, not an id.
      await view.locator(COMPOSER).fill('hello there, plan my week');
      await view.locator(COMPOSER).press('Enter');
      await view.locator('.msg.assistant').first().waitFor({ timeout: 30_000 });
      await untilOptions(
        view,
        (o) => o.some((x) => x.startsWith('hello there, plan my week')),
        'titled from the first message',
      );
      assert.equal(
        (await view.locator('.session-select').getAttribute('title'))?.split('\n')[0],
        'hello there, plan my week',
      );

      // Clear asks first: Cancel keeps the history; Clear clears it.
      await view.getByRole('button', { name: 'Clear' }).click();
      let box = await dialog(page, 'Clear the conversation of');
      assert.match(await box.innerText(), /hello there, plan my week/, 'names the session');
      await press(box, 'Cancel');
      // A clear would come before the next turn's reply: after it, both messages are there.
      await view.locator(COMPOSER).fill('still here?');
      await view.locator(COMPOSER).press('Enter');
      await view.locator('.msg.assistant').nth(1).waitFor({ timeout: 30_000 });
      assert.equal(await view.locator('.msg.user').count(), 2, 'cancel keeps the history');
      assert.equal(await view.locator('.cleared').count(), 0);
      await view.getByRole('button', { name: 'Clear' }).click();
      box = await dialog(page, 'Clear the conversation of');
      await press(box, 'Clear');
      await view.locator('.cleared').waitFor({ timeout: 30_000 });
      assert.equal(await view.locator('.msg').count(), 0, 'confirmed: cleared');

      // Rename in the panel: VS Code's input box, prefilled with the title.
      await view.getByRole('button', { name: 'Rename' }).click();
      const input = page.locator('.quick-input-widget input.input');
      await input.waitFor({ timeout: 30_000 });
      assert.equal(await input.inputValue(), 'hello there, plan my week');
      await input.fill('Weekly plan');
      await input.press('Enter');
      await untilOptions(view, (o) => o.some((x) => x === 'Weekly plan · 2 turns'), 'renamed');

      // Switch Session lists it by title, its id and turns below.
      await page.keyboard.press('F1');
      const palette = page.locator('.quick-input-widget input.input');
      await palette.fill('>Cog: Switch Session');
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'Cog: Switch Session' })
        .first()
        .waitFor();
      await palette.press('Enter');
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Weekly plan' });
      await row.first().waitFor({ timeout: 30_000 });
      assert.match(await row.first().innerText(), /s-[0-9a-f]+ · 2 turns/);
      await page.keyboard.press('Escape');

      // Delete asks in a modal naming the title; then the session is gone, a new one shown.
      await view.getByRole('button', { name: 'Delete' }).click();
      box = await dialog(page, 'Delete the Cog session');
      assert.match(await box.innerText(), /Weekly plan/);
      await press(box, 'Delete');
      const after = await untilOptions(
        view,
        (o) => o.length > 0 && !o.some((x) => x.startsWith('Weekly plan')),
        'deleted',
      );
      assert.equal(after.length, 1, `one fresh session: ${JSON.stringify(after)}`);
      assert.match(after[0] ?? '', /^Session s-[0-9a-f]+$/);
      assert.equal(await view.locator('.msg').count(), 0);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'vscode-sessions-e2e.png') });
    } catch (err) {
      if (browser) {
        mkdirSync(artifacts, { recursive: true });
        await browser.page
          .screenshot({ path: join(artifacts, 'vscode-sessions-e2e-failure.png') })
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
