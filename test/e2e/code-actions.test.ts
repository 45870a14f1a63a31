import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
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
import { onFailure, openCog, send } from './trust-harness.js';

// The chat's code-block buttons in a real VS Code 1.100 (code-server, this repository linked
// as the extension, driven by playwright-core): the fixture model answers with a fenced
// Python block, and Insert puts it at the cursor of the file the user was editing, New File
// opens it as an untitled Python document.

const CODE = 'def double(n):\n    return n * 2';
const ANSWER = `Here it is:\n\n\`\`\`python\n${CODE}\n\`\`\`\n\nCall it with a number.`;

/** The text of the editor group's active editor, as Monaco renders it. */
async function editorText(page: Page): Promise<string> {
  const lines = page.locator('.editor-group-container.active .monaco-editor .view-lines');
  return ((await lines.innerText()) ?? '').replace(/\u00a0/g, ' ');
}

test(
  'a reply’s code block: Insert at Cursor writes into the open editor, New File opens it',
  { timeout: 240_000 },
  async (t) => {
    requireVscodeE2e();
    await ensureExtensionBuilt();
    const fixture = await startFixtureServer();
    // Every reply of the Thinker (which writes the answer in the fast pipeline) is the block.
    const answer = () => reply.text(ANSWER);
    fixture.script('thinker', [answer, answer, answer]);
    // The endpoint comes from the user's settings, the only place Cog reads it from.
    const { state, folder } = workbenchState('code', {
      ...QUIET_SETTINGS,
      'cog.baseUrl': fixture.url,
      'cog.model': FIXTURE_MODEL,
    });
    writeFileSync(join(folder, 'notes.py'), '# notes\n');
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      server = await startCodeServer({ state, folder, exts: [root] });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);

      // The user is editing notes.py, cursor at the end of its last line.
      await page.keyboard.press('Control+P');
      const quickOpen = page.locator('.quick-input-widget input.input');
      await quickOpen.waitFor();
      await quickOpen.fill('notes.py');
      await page
        .locator('.quick-input-list .monaco-list-row', { hasText: 'notes.py' })
        .first()
        .waitFor();
      await quickOpen.press('Enter');
      const editor = page.locator('.editor-group-container.active .monaco-editor textarea');
      await editor.waitFor();
      await editor.focus();
      await page.keyboard.press('Control+End');
      assert.equal((await editorText(page)).trim(), '# notes');

      const view = await openCog(page);
      await page
        .locator('.statusbar-item', { hasText: FIXTURE_MODEL })
        .first()
        .waitFor({ timeout: 30_000 });
      await send(view, 'a function that doubles a number');
      const block = view.locator('.msg.assistant .code-block').last();
      await block.locator('.code-actions').waitFor({ timeout: 60_000 });
      assert.equal(
        await block.locator('code.language-python .hljs-keyword').first().textContent(),
        'def',
      );

      // Insert: into notes.py at the cursor; the panel had the focus, the editor gets it back.
      await block.getByRole('button', { name: 'Insert', exact: true }).click();
      await page.waitForFunction(
        (code) => {
          const doc = (
            globalThis as unknown as {
              document: { querySelector(s: string): { innerText: string } | null };
            }
          ).document;
          const text =
            doc.querySelector('.editor-group-container.active .monaco-editor .view-lines')
              ?.innerText ?? '';
          return text.replace(/\u00a0/g, ' ').includes(code);
        },
        CODE.split('\n')[1],
        { timeout: 30_000 },
      );
      assert.equal((await editorText(page)).trim(), `# notes\n${CODE}`);
      const tab = page.locator('.tabs-container .tab.active');
      assert.match((await tab.innerText()) ?? '', /notes\.py/);

      // New File: an untitled Python document holding exactly the code.
      await block.getByRole('button', { name: 'New File', exact: true }).click();
      await page
        .locator('.tabs-container .tab.active', { hasText: /Untitled/ })
        .waitFor({ timeout: 30_000 });
      assert.equal((await editorText(page)).trim(), CODE);
      await page
        .locator('.statusbar-item', { hasText: /^Python$/ })
        .first()
        .waitFor({ timeout: 10_000 });
    } catch (err) {
      await onFailure(t, 'code-actions-failure.png', browser, server);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      await fixture.close();
      rmSync(state, { recursive: true, force: true });
    }
  },
);
