import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURE_MODEL, reply, startFixtureServer } from '../fixtures/openai-server.js';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  QUIET_SETTINGS,
  launchBrowser,
  openWorkbench,
  startCodeServer,
  type BrowserSession,
  type CodeServer,
  workbenchState,
} from '../helpers/code-server.js';
import { onFailure, openCog, runCommand, send } from './trust-harness.js';

// Editor context in a real VS Code 1.100 (code-server, this repository linked as the
// extension, driven by playwright-core): lines selected in an editor and added with
// "Cog: Add Selection to Chat" show as a chip in the Cog panel, go with the next message,
// and are in the prompt the model (the OpenAI-wire fixture) is sent.

const SOURCE = [
  'export function celsius(f: number): number {',
  '  return ((f - 32) * 5) / 9; // SELECTED-LINE-7781',
  '}',
  'export const NOT_SELECTED_3319 = 1;',
  '',
].join('\n');

test(
  'VS Code: select lines, Cog: Add Selection to Chat, the chip shows, the model gets the text',
  { timeout: 240_000 },
  async (t) => {
    requireVscodeE2e();
    await ensureExtensionBuilt();
    const fixture = await startFixtureServer();
    // The endpoint from the user's settings: a folder's could not route anything.
    const { state, folder } = workbenchState('ctx', {
      ...QUIET_SETTINGS,
      'cog.baseUrl': fixture.url,
      'cog.model': FIXTURE_MODEL,
      'cog.approvalPolicy': 'auto',
    });
    mkdirSync(join(folder, 'src'));
    writeFileSync(join(folder, 'src', 'temp.ts'), SOURCE);
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      server = await startCodeServer({ state, folder, exts: [root] });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);
      let view = await openCog(page);

      // Open src/temp.ts (Quick Open) and select its first two lines with the keyboard.
      await page.keyboard.press('Control+P');
      const quick = page.locator('.quick-input-widget input.input');
      await quick.waitFor();
      await quick.fill('temp.ts');
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'temp.ts' })
        .first()
        .waitFor();
      await quick.press('Enter');
      const editor = page.locator('.editor-instance .monaco-editor').first();
      await editor.locator('.view-line', { hasText: 'SELECTED-LINE-7781' }).waitFor();
      await editor.locator('.view-lines').click();
      await page.keyboard.press('Control+Home');
      await page.keyboard.press('Shift+ArrowDown');
      await page.keyboard.press('Shift+End');

      await runCommand(page, 'Cog: Add Selection to Chat');
      view = await openCog(page);
      const chip = view.locator('.composer-chips .chip');
      await chip.first().waitFor({ timeout: 30_000 });
      assert.equal(await chip.count(), 1);
      assert.equal(await chip.locator('.chip-label').textContent(), 'temp.ts:1-2');
      assert.equal(await chip.getAttribute('title'), 'src/temp.ts:1-2');

      fixture.script('thinker', [reply.text('It converts Fahrenheit to Celsius.')]);
      await send(view, 'what does this do?');
      await view
        .locator('.msg.assistant', { hasText: 'Fahrenheit to Celsius' })
        .first()
        .waitFor({ timeout: 60_000 });
      const req = fixture.requests.find((r) => r.node === 'thinker');
      const prompt = (req?.body.messages ?? []).map((m) => String(m.content)).join('\n');
      assert.ok(prompt.includes('return ((f - 32) * 5) / 9; // SELECTED-LINE-7781'), prompt);
      assert.ok(prompt.includes('export function celsius'), 'the whole selection');
      assert.ok(!prompt.includes('NOT_SELECTED_3319'), 'only the selection');
      assert.match(prompt, /selection "src\/temp\.ts:1-2"/);
      // The bubble shows what went; the composer's chips are gone with it.
      await view.locator('.msg.user .msg-chips .chip', { hasText: 'temp.ts:1-2' }).waitFor();
      await view.locator('.composer-chips').waitFor({ state: 'hidden' });

      // The keybinding (ctrl+alt+l with a selection) adds the fourth line; Cog: Add File
      // to Chat the whole file, read when the message goes.
      await editor.locator('.view-lines').click();
      await page.keyboard.press('Control+End');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Home');
      await page.keyboard.press('Shift+End');
      await page.keyboard.press('Control+Alt+L');
      await view.locator('.composer-chips .chip', { hasText: 'temp.ts:4-4' }).waitFor({
        timeout: 30_000,
      });
      await runCommand(page, 'Cog: Add File to Chat');
      view = await openCog(page);
      await view.locator('.composer-chips .chip-label', { hasText: /^temp\.ts$/ }).waitFor();
      fixture.reset();
      fixture.script('thinker', [reply.text('A constant and a function.')]);
      await send(view, 'and these?');
      // A file goes with it: the first time in this session, VS Code asks whether its code
      // runs may read it.
      const dialog = page.locator('.monaco-dialog-box', {
        hasText: 'Let code runs in this session read this file?',
      });
      await dialog.waitFor({ timeout: 30_000 });
      assert.match(await dialog.innerText(), /src\/temp\.ts/);
      await dialog.locator('.monaco-button', { hasText: /^Allow$/ }).click();
      await dialog.waitFor({ state: 'detached' });
      await view
        .locator('.msg.assistant', { hasText: 'A constant and a function' })
        .first()
        .waitFor({ timeout: 60_000 });
      const second = (fixture.requests.find((r) => r.node === 'thinker')?.body.messages ?? [])
        .map((m) => String(m.content))
        .join('\n');
      assert.match(
        second,
        /selection "src\/temp\.ts:4-4"\]\nexport const NOT_SELECTED_3319 = 1;\n/,
      );
      assert.match(second, /file "src\/temp\.ts"\]\nexport function celsius/);
      assert.match(
        second,
        /read-only, at these paths relative to the run's working directory: shared\/src\/temp\.ts/,
      );
    } catch (err) {
      await onFailure(t, 'vscode-editor-context-failure.png', browser, server);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      await fixture.close();
      rmSync(state, { recursive: true, force: true });
    }
  },
);
