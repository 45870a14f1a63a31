import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  launchBrowser,
  openWorkbench,
  startCodeServer,
  type BrowserSession,
  type CodeServer,
  workbenchState,
  requireCodeServer,
} from '../helpers/code-server.js';
import { cogLog, eventually, onFailure, openCog, runCommand, send } from './trust-harness.js';

// The editor's own language models as Cog's engine, in a real VS Code 1.104 (code-server
// 4.104.0, where vscode.lm.registerLanguageModelChatProvider is final): a test extension
// (test/fixtures/lm-provider-extension) provides a model the way Copilot does, asking the
// user's consent. "Cog: Use a VS Code Language Model" lists it; picking it restarts the
// runtime on Cog's bridge; a message typed in the Cog panel meets VS Code's own consent
// dialog: refused, the panel says so in words; allowed, the provider's streamed reply
// arrives in the panel through runtime → bridge → vscode.lm → provider and back; Stop
// cancels the vscode.lm request.

const FIXTURE_EXT = join(root, 'test', 'fixtures', 'lm-provider-extension');
/** The fixture's `publisher.name`: its consent needs the chatProvider proposal enabled. */
const FIXTURE_ID = 'cog-test.lm-fixture';
const CONSENT = "The extension 'Cog' wants to access the language models provided by LM Fixture.";

/** The fixture provider's own log ("LM Fixture" output channel) as written to disk. */
function fixtureLog(state: string): string {
  const logs = join(state, 'user-data', 'logs');
  if (!existsSync(logs)) return '';
  return (readdirSync(logs, { recursive: true }) as string[])
    .filter((name) => name.endsWith('LM Fixture.log'))
    .map((name) => readFileSync(join(logs, name), 'utf8'))
    .join('\n');
}

/** VS Code's consent dialog for Cog and the fixture's model, answered with `button`. */
async function answerConsent(page: Page, button: 'Allow' | 'Cancel'): Promise<void> {
  const dialog = page.locator('.monaco-dialog-box', { hasText: CONSENT });
  await dialog.waitFor({ timeout: 30_000 });
  assert.match(await dialog.innerText(), /Justification: Cog sends the messages you type/);
  await dialog.locator('.monaco-button', { hasText: button }).click();
  await dialog.waitFor({ state: 'detached' });
}

test(
  'a VS Code language model as Cog\u2019s engine: pick it, consent refused then allowed, its reply in the panel',
  { timeout: 300_000 },
  async (t) => {
    requireVscodeE2e();
    requireCodeServer('4.104.0');
    await ensureExtensionBuilt();
    const { state, folder, userSettings } = workbenchState('lm');
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      server = await startCodeServer({
        version: '4.104.0',
        state,
        folder,
        exts: [root, FIXTURE_EXT],
        args: ['--enable-proposed-api', FIXTURE_ID],
        timeout: 60_000,
      });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);
      const view = await openCog(page);
      await page
        .locator('.statusbar-item', { hasText: 'Cog: offline engine' })
        .waitFor({ timeout: 60_000 });

      // Cog: Choose a Model offers the editor's own models as one of its sources, and
      // lists what vscode.lm.selectChatModels() offers: the fixture's model.
      let started = Date.now();
      await runCommand(page, 'Cog: Choose a Model');
      await page
        .locator('.quick-input-list .monaco-list-row', {
          hasText: "The editor's own language models",
        })
        .click();
      const row = page.locator('.quick-input-list .monaco-list-row', {
        hasText: 'LM Fixture Echo',
      });
      await row.waitFor({ timeout: 30_000 });
      assert.match(await row.innerText(), /cog-fixture · fixture/);
      await row.click();
      // The choice goes to the user's settings, and the runtime restarts on the bridge.
      await eventually('cog.languageModel in the user settings', () =>
        /"cog\.languageModel":\s*"cog-fixture\/echo"/.test(readFileSync(userSettings, 'utf8')),
      );
      const bridgeLine =
        /the runtime answers with the VS Code language model "LM Fixture Echo" \(cog-fixture\/echo\) through Cog's bridge at (http:\/\/127\.0\.0\.1:\d+\/v1)/;
      await eventually('the runtime on the bridge', () => bridgeLine.test(cogLog(state)), 60_000);
      const bridgeUrl = bridgeLine.exec(cogLog(state))![1]!;
      await eventually('the runtime connected after the switch', () =>
        cogLog(state)
          .slice(cogLog(state).search(bridgeLine))
          .includes('connected to local runtime'),
      );
      assert.match(
        cogLog(state),
        new RegExp(`cog serve: MCP on \\S+ · ${bridgeUrl.replace(/[./]/g, '\\$&')}`),
      );
      await view.locator('body', { hasText: 'cog-fixture/echo' }).waitFor({ timeout: 30_000 });
      t.diagnostic(`pick to runtime on the bridge: ${Date.now() - started} ms`);

      // The first message: VS Code asks whether Cog may use the model. Refused: the panel
      // says what happened and what to do, in words that name no environment variable.
      started = Date.now();
      await send(view, 'first try');
      await answerConsent(page, 'Cancel');
      const notice = view.locator('.banner.notice.error', { hasText: 'VS Code did not allow Cog' });
      await notice.waitFor({ timeout: 30_000 });
      assert.match(
        await notice.innerText(),
        /did not allow Cog to use the language model "LM Fixture Echo"\. To allow it, send a message again and choose Allow/,
      );
      await view.locator('.msg.assistant', { hasText: '403' }).first().waitFor({ timeout: 30_000 });
      const panelText = await view.locator('body').innerText();
      assert.doesNotMatch(panelText, /\bCOG_[A-Z_]+|OPENAI_API_KEY|OPENROUTER_API_KEY/, panelText);
      assert.doesNotMatch(panelText, /lm-fixture:/, 'the refused model was not used');
      t.diagnostic(`refusal: ${Date.now() - started} ms`);

      // Again, allowed: the provider's reply streams into the panel.
      started = Date.now();
      await send(view, 'hello through the bridge');
      await answerConsent(page, 'Allow');
      const reply = view.locator('.msg.assistant', {
        hasText: 'lm-fixture: hello through the bridge',
      });
      await reply.first().waitFor({ timeout: 60_000 });
      await view
        .locator('.pipeline .node[data-node="thinker"][data-status="done"]')
        .waitFor({ timeout: 30_000 });
      t.diagnostic(`allowed reply: ${Date.now() - started} ms`);

      // Consent is remembered: the next message needs no dialog.
      await send(view, 'and once more');
      await view
        .locator('.msg.assistant', { hasText: 'lm-fixture: and once more' })
        .first()
        .waitFor({ timeout: 60_000 });
      assert.equal(await page.locator('.monaco-dialog-box').count(), 0);

      // Stop midway: the runtime drops its HTTP request and the bridge cancels the
      // vscode.lm request's CancellationToken. (VS Code 1.104 does not pass a cancel that
      // comes after the first part on to the provider's token: the workbench's
      // $tryStartChatRequest has returned by then; the bridge stops reading regardless.)
      started = Date.now();
      await send(view, 'count slowly to 150');
      const counting = view.locator('.msg.assistant', { hasText: 'lm-fixture: 1 2 3' }).last();
      await counting.waitFor({ timeout: 60_000 });
      await view.locator('button.stop').click();
      await eventually('the bridge cancelling the model request', () =>
        cogLog(state).includes(
          'the runtime dropped its request to "LM Fixture Echo": cancelling it',
        ),
      );
      await view.locator('.msg.assistant', { hasText: 'Cancelled' }).last().waitFor();
      assert.doesNotMatch(await counting.innerText(), /\b150\b/, 'the reply stopped midway');
      assert.match(fixtureLog(state), /request from cog-dev\.cog: \d+ messages, 2 tools/);
      t.diagnostic(`stop to cancelled: ${Date.now() - started} ms`);

      // Cog: Use a VS Code Language Model lists the same models, marks the one in use, and
      // can stop using it: the setting goes and the runtime is back on the offline engine.
      await runCommand(page, 'Cog: Use a VS Code Language Model');
      const inUse = page.locator('.quick-input-list .monaco-list-row', {
        hasText: 'LM Fixture Echo',
      });
      await inUse.waitFor({ timeout: 30_000 });
      assert.match(await inUse.innerText(), /\(in use\)/);
      await page
        .locator('.quick-input-list .monaco-list-row', {
          hasText: 'Stop using a VS Code language model',
        })
        .click();
      await eventually(
        'cog.languageModel gone from the user settings',
        () => !readFileSync(userSettings, 'utf8').includes('cog.languageModel'),
      );
      await page
        .locator('.statusbar-item', { hasText: 'Cog: offline engine' })
        .waitFor({ timeout: 60_000 });
    } catch (err) {
      await onFailure(t, 'vscode-lm.png', browser, server);
      t.diagnostic(`Cog log:\n${cogLog(state).slice(-4000)}`);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      rmSync(state, { recursive: true, force: true });
    }
  },
);
