import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import { FIXTURE_MODEL, type FixtureServer } from '../fixtures/openai-server.js';
import { root } from '../extension/build-suite.js';
import {
  QUIET_SETTINGS,
  webviewFrame,
  type BrowserSession,
  type CodeServer,
  workbenchState,
} from '../helpers/code-server.js';

/**
 * Shared set-up of the trust tests (trust-settings, trust-restricted): a state dir and a
 * folder whose own settings point Cog at the fixture server, and ways to drive the
 * workbench and read the extension's log.
 */

const COMPOSER = 'textarea.composer-input';
const artifacts = join(root, 'test-artifacts');

/** User settings for a quiet workbench; each test adds whether workspace trust is on. */
export const USER_SETTINGS = {
  ...QUIET_SETTINGS,
  // Restricted Mode without the startup question: the folder opens untrusted.
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'always',
};

/** A state dir with user settings, and a folder whose settings point Cog at `fixture`. */
export function setUp(fixture: FixtureServer, user: Record<string, unknown>) {
  const { state, folder } = workbenchState('trust', user);
  mkdirSync(join(folder, '.vscode'));
  writeFileSync(join(folder, 'README.md'), '# a folder someone else wrote\n');
  writeFileSync(
    join(folder, '.vscode', 'settings.json'),
    JSON.stringify({
      'cog.baseUrl': fixture.url,
      'cog.model': FIXTURE_MODEL,
      'cog.approvalPolicy': 'auto',
    }),
  );
  return { state, folder };
}

/** The extension's log ("Cog" output channel) as written to disk, or '' before it exists. */
export function cogLog(state: string): string {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'Cog.log' || /^\d+-Cog\.log$/.test(e.name)) found.push(p);
    }
  };
  const logs = join(state, 'user-data', 'logs');
  if (existsSync(logs)) walk(logs);
  return found.map((f) => readFileSync(f, 'utf8')).join('\n');
}

/** Waits for `probe` to hold, checking every 200 ms; fails naming `what` after the timeout. */
export async function eventually(what: string, probe: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Shows the Cog panel: its activity-bar item toggles, so it is clicked only when not active. */
export async function openCog(page: Page): Promise<FrameLocator> {
  const item = page.locator('.activitybar .action-item', {
    has: page.locator('[aria-label^="Cog"]'),
  });
  if (!/\bchecked\b/.test((await item.first().getAttribute('class')) ?? '')) {
    await item.first().click();
  }
  return webviewFrame(page, COMPOSER, { timeout: 60_000 });
}

/** Runs a command by its title from the command palette. */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  // A key press can land while the workbench moves focus (a notification, a view that
  // just opened, a webview): then the palette does not open, and a person presses again.
  for (const key of ['F1', 'Control+Shift+P', 'F1']) {
    await page.keyboard.press(key);
    const opened = await input
      .waitFor({ timeout: 10_000 })
      .then(() => true)
      .catch(() => false);
    if (opened) break;
    await page.keyboard.press('Escape');
  }
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await input.press('Enter');
}

/** Types `text` into the panel's composer and sends it. */
export async function send(view: FrameLocator, text: string): Promise<void> {
  await view.locator(COMPOSER).fill(text);
  await view.locator(COMPOSER).press('Enter');
}

/** Saves a screenshot as test-artifacts/`name` and adds code-server's log to the test's output. */
export async function onFailure(
  t: TestContext,
  name: string,
  browser?: BrowserSession,
  server?: CodeServer,
) {
  mkdirSync(artifacts, { recursive: true });
  await browser?.page.screenshot({ path: join(artifacts, name) }).catch(() => undefined);
  const log = server?.log().slice(-3000);
  if (log) t.diagnostic(`code-server log:\n${log}`);
}
