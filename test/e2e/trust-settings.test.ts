import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { startFixtureServer } from '../fixtures/openai-server.js';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  launchBrowser,
  openWorkbench,
  startCodeServer,
  type BrowserSession,
  type CodeServer,
} from '../helpers/code-server.js';
import {
  cogLog,
  eventually,
  onFailure,
  openCog,
  runCommand,
  send,
  setUp,
  USER_SETTINGS,
} from './trust-harness.js';

// The VS Code trust boundary in a real VS Code 1.100 (code-server, this repository linked
// as the extension, driven by playwright-core): a folder's own settings cannot send the
// user's API key anywhere or let code run unasked, and the process card in the visible
// panel is the one approval. Restricted Mode: trust-restricted.test.ts.

// Of no known service's shape: an sk-or-/sk- key alone would select OpenRouter or OpenAI
// (test/e2e/model-picker.test.ts), and this test is about the folder's endpoint.
const API_KEY = 'cog-trust-test-0123456789abcdef';

/** Cog: Set API Key, typed into its password box: the real SecretStorage keeps it. */
async function setApiKey(page: Page, key: string): Promise<void> {
  await runCommand(page, 'Cog: Set API Key');
  const box = page.locator('.quick-input-widget input[type="password"]');
  await box.waitFor();
  await box.fill(key);
  await box.press('Enter');
  await page.locator('.notifications-toasts', { hasText: 'saved' }).waitFor({ timeout: 10_000 });
}

test(
  "a folder's settings cannot send the user's key to its endpoint, nor run code unasked",
  { timeout: 240_000 },
  async (t) => {
    requireVscodeE2e();
    await ensureExtensionBuilt();
    const fixture = await startFixtureServer();
    // Workspace trust is off here (every folder trusted): what stands between the folder
    // and the key is the settings' scope, not Restricted Mode.
    const { state, folder } = setUp(fixture, {
      ...USER_SETTINGS,
      'security.workspace.trust.enabled': false,
    });
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      server = await startCodeServer({ state, folder, exts: [root] });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);
      const view = await openCog(page);
      const statusBar = page.locator('.statusbar-item', { hasText: 'Cog: offline engine' });
      await statusBar.waitFor({ timeout: 30_000 });

      // The user stores a key; the runtime restarts with it, and still with no endpoint.
      const starts = () => cogLog(state).match(/starting the runtime: .*/g) ?? [];
      const before = starts().length;
      await setApiKey(page, API_KEY);
      await eventually('the runtime restarted with the key', () =>
        starts()
          .slice(before)
          .some((l) => l.includes('api key set')),
      );
      const restarted = starts().slice(before).join('\n');
      assert.match(restarted, /engine offline engine/);
      assert.match(restarted, /approval ask/);
      assert.doesNotMatch(restarted, /127\.0\.0\.1|fixture-model/);
      await statusBar.waitFor({ timeout: 30_000 });

      // A message that makes code: its card waits for the person, nothing ran unasked.
      await send(view, 'what is 17*23?');
      const card = view.locator('.cog-process').last();
      await card
        .locator('.proc-status', { hasText: 'awaiting approval' })
        .waitFor({ timeout: 30_000 });
      await card.locator('.proc-isolation').waitFor();
      assert.match((await card.locator('.proc-isolation').textContent()) ?? '', /sandboxed/);
      assert.match((await card.locator('.proc-code code').textContent()) ?? '', /17\s*\*\s*23/);
      assert.doesNotMatch(await card.innerText(), /\bp-[0-9a-f]{6,}\b/, 'no internal id');
      // The panel is on screen, so the card is the approval: no dialog, and still waiting.
      await page.waitForTimeout(2000);
      assert.equal(await page.locator('.monaco-dialog-box').count(), 0, 'no modal dialog');
      assert.equal(await card.locator('.proc-status').textContent(), 'awaiting approval');

      // Approve on the card: the host names the code's SHA-256 and the runtime runs it.
      await card.locator('.proc-approve').click();
      await card.locator('.proc-status', { hasText: 'done' }).waitFor({ timeout: 30_000 });
      await view.locator('.msg.assistant', { hasText: '391' }).first().waitFor({ timeout: 30_000 });

      // With the panel hidden, VS Code's dialog asks instead: the tier and the code in it,
      // Deny focused, so Enter denies; Run runs it, by the same SHA-256.
      const dialog = page.locator('.monaco-dialog-box', { hasText: 'Cog wants to run' });
      const askWithPanelHidden = async (text: string) => {
        const shown = await openCog(page);
        await send(shown, text);
        await shown
          .locator('.cog-process')
          .last()
          .locator('.proc-status', { hasText: 'awaiting approval' })
          .waitFor({ timeout: 30_000 });
        await page.locator('.activitybar [aria-label^="Explorer"]').first().click();
        await dialog.waitFor({ timeout: 30_000 });
        const words = (await dialog.innerText()) ?? '';
        assert.match(words, /sandboxed/);
        assert.match(words, /17\s*\*\s*23/);
        assert.doesNotMatch(words, /\bp-[0-9a-f]{6,}\b/, 'no internal id');
        const buttons = await dialog.locator('.dialog-buttons .monaco-button').allInnerTexts();
        assert.ok(buttons.includes('Run') && buttons.includes('Deny'), buttons.join(', '));
        // The default button (VS Code's first item) has the focus: Deny, not Run.
        const focused = await dialog.locator('.monaco-button:focus').allInnerTexts();
        assert.deepEqual(focused, ['Deny'], `focused: ${focused.join(', ')}`);
      };
      await askWithPanelHidden('what is 17*23 now?');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      let shown = await openCog(page);
      await shown
        .locator('.cog-process')
        .last()
        .locator('.proc-status', { hasText: 'denied' })
        .waitFor({ timeout: 30_000 });

      await askWithPanelHidden('and 17*23 once more?');
      await dialog.locator('.monaco-button', { hasText: /^Run$/ }).click();
      await dialog.waitFor({ state: 'detached' });
      shown = await openCog(page);
      await shown
        .locator('.cog-process')
        .last()
        .locator('.proc-status', { hasText: 'done' })
        .waitFor({ timeout: 30_000 });

      await page.locator('.statusbar-item', { hasText: 'Cog: offline engine' }).waitFor();
      assert.deepEqual(
        fixture.requests.map((r) => `${r.method} ${r.path}`),
        [],
        'the endpoint the folder named got no request: the key never left',
      );
      assert.ok(!cogLog(state).includes(API_KEY), 'the key is not in the log');
    } catch (err) {
      await onFailure(t, 'trust-settings-failure.png', browser, server);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      await fixture.close();
      rmSync(state, { recursive: true, force: true });
    }
  },
);
