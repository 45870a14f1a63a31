import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Frame, Locator, Page } from 'playwright-core';
import { format } from 'prettier';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  QUIET_SETTINGS,
  launchBrowser,
  openWorkbench,
  startCodeServer,
  webviewFrame,
  type BrowserSession,
  type CodeServer,
  workbenchState,
} from '../helpers/code-server.js';
import { THEMES, THEMES_FILE, type ThemeFixture } from '../fixtures/vscode-themes.js';
import { axeViolations, describeProblems, overflowProblems } from '../webview/layout-check.js';

// The Cog panel in a real VS Code 1.100 (code-server) at the sidebar's default width, in the
// four default themes: nothing cut off or spilling out, text contrast at least 4.5:1 (axe),
// and the fixture the Chromium tests theme their pages with is what VS Code really sets.
// COG_UPDATE_SCREENSHOTS=1 also writes media/screenshots/panel-*.png and that fixture.

const UPDATE = process.env.COG_UPDATE_SCREENSHOTS === '1';
const SIDEBAR_PX = 300;
const COMPOSER = 'textarea.composer-input';
const artifacts = join(root, 'test-artifacts');
const shots = join(root, 'media', 'screenshots');

const settingsFor = (theme: string) => ({
  ...QUIET_SETTINGS,
  'cog.approvalPolicy': 'ask',
  'workbench.colorTheme': theme,
  // The screenshots show the panel, not a blinking cursor or a hover.
  'editor.cursorBlinking': 'solid',
});

/** The `--vscode-*` variables VS Code put on the webview's root, and its body classes. */
function themeOf(frame: Frame): Promise<ThemeFixture> {
  return frame.evaluate(String.raw`(() => {
    const vars = {};
    const style = document.documentElement.style;
    for (let i = 0; i < style.length; i++) {
      const name = style.item(i);
      if (name.startsWith('--vscode-')) vars[name] = style.getPropertyValue(name).trim();
    }
    return { bodyClasses: [...document.body.classList].filter((c) => c.startsWith('vscode-')), vars };
  })()`) as Promise<ThemeFixture>;
}

/**
 * Waits until `expression` is true in the frame. Playwright's waitForFunction compiles its
 * predicate with eval, which the webview's CSP (rightly) refuses; evaluate does not.
 */
async function until(frame: Frame, expression: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await frame.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`not true after ${timeoutMs} ms: ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Besides the variables webview/ names, the fixture keeps these families (of VS Code's ~700),
 * so a new rule that reads, say, a token colour is themed in the Chromium tests at once.
 */
const KEPT_PREFIXES = [
  'font',
  'editor-font',
  'editor-background',
  'editor-foreground',
  'editor-findMatch',
  'textPreformat',
  'textCodeBlock',
  'textLink',
  'textBlockQuote',
  'textSeparator',
  'debugTokenExpression',
  'symbolIcon',
  'terminal-ansi',
  'charts-',
  'badge',
  'button',
  'input',
  'list-',
  'widget',
  'panel-',
  'sideBar',
  'keybindingLabel',
  'descriptionForeground',
  'disabledForeground',
  'errorForeground',
  'icon-',
  'toolbar-',
  'checkbox-',
  'dropdown-',
  'inputValidation',
  'focusBorder',
  'contrast',
  'foreground',
  'selection',
  'scrollbar',
  'progressBar',
  'editorWidget',
  'editorWarning',
  'editorError',
  'editorInfo',
  'editorHoverWidget',
  'testing-icon',
  'statusBarItem',
  'notifications',
];

/** The `--vscode-*` names anywhere in webview/ (styles and code). */
function sourceVars(): string[] {
  const dir = join(root, 'webview');
  const names = new Set<string>();
  for (const f of readdirSync(dir, { recursive: true })) {
    if (!/\.(css|ts)$/.test(String(f))) continue;
    for (const m of readFileSync(join(dir, String(f)), 'utf8').match(/--vscode-[\w-]+/g) ?? [])
      names.add(m);
  }
  return [...names];
}

/** The `--vscode-*` names the webview's stylesheet reads. */
function cssVars(): string[] {
  const css = readFileSync(join(root, 'dist', 'webview', 'main.css'), 'utf8');
  return [...new Set(css.match(/--vscode-[\w-]+/g) ?? [])].sort();
}

interface Panel {
  page: Page;
  frame: Frame;
  sidebar: Locator;
}

/**
 * VS Code with Cog in `theme`, from a fresh profile: the sidebar dragged to 300 px, and a
 * session with a reply, an approved process card and a table, the State panel open.
 */
async function openPanel(
  theme: (typeof THEMES)[number],
  opened: { server?: CodeServer; browser?: BrowserSession; state?: string },
): Promise<Panel> {
  const { state, folder } = workbenchState('themes', settingsFor(theme.vscodeName));
  opened.state = state;
  writeFileSync(join(folder, 'README.md'), '# a workspace for the Cog theme test\n');
  const server = (opened.server = await startCodeServer({ state, folder, exts: [root] }));
  const browser = (opened.browser = await launchBrowser({
    viewport: { width: 1100, height: 760 },
  }));
  const { page } = browser;
  await openWorkbench(page, server.url);
  await page.locator('.activitybar [aria-label^="Cog"]').first().click();
  const view = await webviewFrame(page, COMPOSER, { timeout: 60_000 });
  const frame = await (await view.locator('html').elementHandle())?.ownerFrame();
  assert.ok(frame, 'the webview frame');

  // The sidebar at 300 px: its sash dragged there, as a person would.
  const sidebar = page.locator('.part.sidebar');
  const box = await sidebar.boundingBox();
  assert.ok(box);
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width - 1, y);
  await page.mouse.down();
  await page.mouse.move(box.x + SIDEBAR_PX, y, { steps: 8 });
  await page.mouse.up();
  await page.mouse.move(box.x + SIDEBAR_PX + 200, y);
  const width = (await sidebar.boundingBox())?.width ?? 0;
  assert.ok(Math.abs(width - SIDEBAR_PX) <= 2, `sidebar is ${width} px wide`);

  const send = async (text: string) => {
    await view.locator(COMPOSER).fill(text);
    await view.locator(COMPOSER).press('Enter');
  };
  await send('hello');
  await view.locator('.msg.assistant').first().waitFor({ timeout: 30_000 });
  await send('what is 17*23?');
  const card = view.locator('.cog-process').last();
  await card.locator('.proc-approve').click({ timeout: 30_000 });
  await card.locator('.proc-status', { hasText: /done/i }).waitFor({ timeout: 30_000 });
  await send('show me a table');
  await view.locator('.cog-table table').last().waitFor({ timeout: 30_000 });
  await view.locator('details.hud-state > summary').click();
  await view.locator('details.trace > summary').click();
  await view.locator('.trace-list li').first().waitFor();
  await view.locator(COMPOSER).blur();
  // High contrast light bodies carry vscode-high-contrast as well.
  await until(
    frame,
    `document.body.classList.contains(${JSON.stringify(theme.bodyClass)}) && ${
      theme.id === 'hc-light' ? '' : '!'
    }document.body.classList.contains('vscode-high-contrast-light')`,
  );
  // A frame for the restyle, another for the paint.
  await frame.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  return { page, frame, sidebar };
}

test(
  'the Cog panel at 300 px in VS Code’s four default themes: nothing clipped, contrast ≥ 4.5:1',
  { timeout: 480_000 },
  async (t) => {
    requireVscodeE2e();
    await ensureExtensionBuilt();
    const live: Record<string, ThemeFixture> = {};
    const failures: string[] = [];
    for (const theme of THEMES) {
      const opened: { server?: CodeServer; browser?: BrowserSession; state?: string } = {};
      try {
        const { page, frame, sidebar } = await openPanel(theme, opened);
        live[theme.id] = await themeOf(frame);
        const viewWidth = await frame.evaluate('document.documentElement.clientWidth');
        t.diagnostic(`${theme.id}: webview ${viewWidth} px wide`);

        const overflow = await overflowProblems(frame);
        if (overflow.length)
          failures.push(`${theme.id}: clipped or spilling\n${describeProblems(overflow)}`);
        const axe = await axeViolations(frame);
        if (axe.length) t.diagnostic(`${theme.id}: axe findings\n${describeProblems(axe)}`);
        const contrast = axe.filter((v) => v.id === 'color-contrast');
        if (contrast.length) failures.push(`${theme.id}: contrast\n${describeProblems(contrast)}`);
        const serious = axe.filter(
          (v) => v.id !== 'color-contrast' && (v.impact === 'serious' || v.impact === 'critical'),
        );
        if (serious.length)
          failures.push(`${theme.id}: serious axe findings\n${describeProblems(serious)}`);

        if (UPDATE) {
          // The picture shows the conversation: HUD folded, the run's card and the table.
          await frame.evaluate(`(() => {
            for (const d of document.querySelectorAll('.hud details')) d.open = false;
            getSelection().removeAllRanges();
            document.querySelectorAll('.cog-process')[0].scrollIntoView({ block: 'start' });
          })()`);
          await frame.evaluate(
            'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))',
          );
          mkdirSync(shots, { recursive: true });
          const file = join(shots, `panel-${theme.id}.png`);
          await page.screenshot({ path: file, clip: (await sidebar.boundingBox()) ?? undefined });
          t.diagnostic(`${file}: ${(statSync(file).size / 1024).toFixed(0)} KB`);
        }
      } catch (err) {
        if (opened.browser) {
          mkdirSync(artifacts, { recursive: true });
          await opened.browser.page
            .screenshot({ path: join(artifacts, `panel-${theme.id}-failure.png`) })
            .catch(() => undefined);
        }
        const log = opened.server?.log().slice(-4000);
        if (log) t.diagnostic(`code-server log:\n${log}`);
        throw err;
      } finally {
        await opened.browser?.close();
        await opened.server?.stop();
        if (opened.state) rmSync(opened.state, { recursive: true, force: true });
      }
    }

    if (UPDATE) {
      const keep = (name: string) =>
        webviewVars.has(name) || KEPT_PREFIXES.some((p) => name.startsWith(`--vscode-${p}`));
      const webviewVars = new Set(sourceVars());
      const fixture = Object.fromEntries(
        THEMES.map((th) => [
          th.id,
          {
            bodyClasses: live[th.id].bodyClasses,
            vars: Object.fromEntries(Object.entries(live[th.id].vars).filter(([n]) => keep(n))),
          },
        ]),
      );
      // As Prettier writes it, so `npm run lint` passes after an update.
      writeFileSync(THEMES_FILE, await format(JSON.stringify(fixture), { parser: 'json' }));
    }
    // The Chromium tests' themes are VS Code's, for every variable the stylesheet reads.
    const fixture = JSON.parse(readFileSync(THEMES_FILE, 'utf8')) as Record<string, ThemeFixture>;
    for (const theme of THEMES) {
      assert.deepEqual(fixture[theme.id].bodyClasses, live[theme.id].bodyClasses, theme.id);
      for (const name of cssVars())
        assert.equal(
          fixture[theme.id].vars[name],
          live[theme.id].vars[name],
          `${theme.id} ${name}`,
        );
    }
    assert.deepEqual(failures, [], failures.join('\n\n'));
  },
);
