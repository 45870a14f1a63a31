import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { reply, startFixtureServer, type FixtureServer } from '../fixtures/openai-server.js';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  launchBrowser,
  openWorkbench,
  startCodeServer,
  type BrowserSession,
  type CodeServer,
  workbenchState,
} from '../helpers/code-server.js';
import { cogLog, eventually, onFailure, openCog, runCommand, send } from './trust-harness.js';

// "Models in a minute" in a real VS Code 1.100 (code-server, this repository linked as the
// extension, driven by playwright-core): the panel's first-run banner opens Cog: Choose a
// Model, whose quick picks list the models a real OpenAI-wire server offers; and a key
// alone, stored with Cog: Set API Key, selects its service and default model.

const PICKED = 'picked-model';
const OPENROUTER_KEY = 'sk-or-v1-cog-e2e-0123456789abcdef';

/** A state dir with quiet user settings (no model configured) and an empty folder. */
function setUpState(): {
  state: string;
  folder: string;
  userSettings: () => Record<string, unknown>;
} {
  const { state, folder, userSettings } = workbenchState('models');
  writeFileSync(join(folder, 'README.md'), '# a folder for the model picker test\n');
  return {
    state,
    folder,
    userSettings: () => JSON.parse(readFileSync(userSettings, 'utf8')) as Record<string, unknown>,
  };
}

/** The row of the open quick pick whose text has `text`, once it is listed. */
function quickPickRow(page: Page, text: string) {
  return page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text });
}

/** Runs `body` in a fresh code-server with the extension; cleans up, keeps a screenshot on failure. */
async function inVscode(
  t: TestContext,
  fixture: FixtureServer | undefined,
  body: (page: Page, env: ReturnType<typeof setUpState>) => Promise<void>,
  shot: string,
): Promise<void> {
  requireVscodeE2e();
  await ensureExtensionBuilt();
  const env = setUpState();
  let server: CodeServer | undefined;
  let browser: BrowserSession | undefined;
  try {
    server = await startCodeServer({ state: env.state, folder: env.folder, exts: [root] });
    browser = await launchBrowser();
    await openWorkbench(browser.page, server.url);
    await body(browser.page, env);
  } catch (err) {
    await onFailure(t, shot, browser, server);
    throw err;
  } finally {
    await browser?.close();
    await server?.stop();
    await fixture?.close();
    rmSync(env.state, { recursive: true, force: true });
  }
}

test(
  "Choose a Model from the panel's banner: any OpenAI-compatible URL, a model it lists, then chat with it",
  { timeout: 240_000 },
  async (t) => {
    const fixture = await startFixtureServer({ models: ['fixture-model', PICKED] });
    fixture.script('thinker', [reply.text('Hello from the picked model.')]);
    await inVscode(
      t,
      fixture,
      async (page, { state, userSettings }) => {
        const view = await openCog(page);
        await page.locator('.statusbar-item', { hasText: 'Cog: offline engine' }).waitFor({
          timeout: 60_000,
        });

        // First run: no model, so the panel offers the choice.
        const banner = view.getByRole('region', { name: 'Choose a model' });
        await banner.waitFor({ timeout: 30_000 });
        await banner.getByRole('button', { name: 'Choose a Model' }).click();

        await quickPickRow(page, 'Any OpenAI-compatible URL').click();
        const title = page.locator('.quick-input-widget .quick-input-title');
        await title.filter({ hasText: 'OpenAI-compatible URL' }).waitFor();
        const input = page.locator('.quick-input-widget input.input');
        await input.fill(fixture.url);
        await input.press('Enter');

        // The models come from the fixture's GET /v1/models.
        await quickPickRow(page, PICKED).waitFor({ timeout: 30_000 });
        // Each shown row's label (its first label-name; the detail line has one too).
        const labels = await page
          .locator('.quick-input-widget .quick-input-list .monaco-list-row:visible')
          .evaluateAll((rows) =>
            rows.map((r) => r.querySelector('.label-name')?.textContent?.trim() ?? ''),
          );
        assert.deepEqual(labels.sort(), ['fixture-model', PICKED]);
        const starts = () => cogLog(state).match(/starting the runtime: .*/g) ?? [];
        const before = starts().length;
        await quickPickRow(page, PICKED).click();
        await page
          .locator('.notifications-toasts', { hasText: `Cog now uses ${PICKED}` })
          .waitFor({ timeout: 10_000 });

        // The user's settings hold both; the runtime restarted on them.
        const settings = userSettings();
        assert.equal(settings['cog.baseUrl'], fixture.url);
        assert.equal(settings['cog.model'], PICKED);
        await eventually('the runtime restarted on the chosen model', () =>
          starts()
            .slice(before)
            .some((l) => l.includes(`engine ${fixture.url}, model ${PICKED}`)),
        );
        await banner.waitFor({ state: 'hidden', timeout: 30_000 });

        // A message gets the fixture's reply, asked of the chosen model.
        await send(view, 'hello');
        await view
          .locator('.msg.assistant', { hasText: 'Hello from the picked model.' })
          .waitFor({ timeout: 60_000 });
        await page.locator('.statusbar-item', { hasText: `Cog: ${PICKED}` }).waitFor({
          timeout: 30_000,
        });
        const chats = fixture.requests.filter((r) => r.path === '/v1/chat/completions');
        assert.ok(chats.length > 0, 'the chat went to the chosen server');
        assert.deepEqual([...new Set(chats.map((r) => r.body.model))], [PICKED]);
        assert.equal(fixture.requests[0]?.path, '/v1/models', 'listed before it was used');
      },
      'model-picker-url-failure.png',
    );
  },
);

test(
  'a key alone: Set API Key with an OpenRouter key selects OpenRouter and its default model',
  { timeout: 240_000 },
  async (t) => {
    await inVscode(
      t,
      undefined,
      async (page, { state, userSettings }) => {
        const view = await openCog(page);
        await page.locator('.statusbar-item', { hasText: 'Cog: offline engine' }).waitFor({
          timeout: 60_000,
        });
        const starts = () => cogLog(state).match(/starting the runtime: .*/g) ?? [];
        const before = starts().length;

        await runCommand(page, 'Cog: Set API Key');
        const box = page.locator('.quick-input-widget input[type="password"]');
        await box.waitFor();
        await box.fill(OPENROUTER_KEY);
        await box.press('Enter');
        await page
          .locator('.notifications-toasts', {
            hasText: 'Cog now uses OpenRouter with google/gemini-2.5-flash',
          })
          .waitFor({ timeout: 10_000 });

        const settings = userSettings();
        assert.equal(settings['cog.baseUrl'], 'https://openrouter.ai/api/v1');
        assert.equal(settings['cog.model'], 'google/gemini-2.5-flash');
        await eventually('the runtime restarted on OpenRouter with the key', () =>
          starts()
            .slice(before)
            .some((l) =>
              /engine https:\/\/openrouter\.ai\/api\/v1, model google\/gemini-2\.5-flash, .*api key set/.test(
                l,
              ),
            ),
        );
        // The panel and the status bar show the model (nothing is sent: no real OpenRouter).
        await view
          .locator('.model-badge', { hasText: 'google/gemini-2.5-flash' })
          .waitFor({ timeout: 60_000 });
        await page
          .locator('.statusbar-item', { hasText: 'Cog: google/gemini-2.5-flash' })
          .waitFor({ timeout: 30_000 });
        await view.getByRole('region', { name: 'Choose a model' }).waitFor({ state: 'hidden' });
        assert.ok(!cogLog(state).includes(OPENROUTER_KEY), 'the key is not in the log');
        assert.ok(
          !JSON.stringify(userSettings()).includes(OPENROUTER_KEY),
          'the key is not in the settings',
        );
      },
      'model-picker-key-failure.png',
    );
  },
);
