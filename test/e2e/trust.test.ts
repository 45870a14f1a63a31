import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import {
  FIXTURE_MODEL,
  startFixtureServer,
  type FixtureServer,
} from '../fixtures/openai-server.js';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  codeServerBin,
  freePort,
  launchBrowser,
  openWorkbench,
  startCodeServer,
  webviewFrame,
  type BrowserSession,
  type CodeServer,
} from '../helpers/code-server.js';

// The VS Code trust boundary in a real VS Code 1.100 (code-server, this repository linked
// as the extension, driven by playwright-core): a folder's own settings cannot send the
// user's API key anywhere or let code run unasked, Restricted Mode runs no code, and the
// process card in the visible panel is the one approval.

const COMPOSER = 'textarea.composer-input';
const API_KEY = 'sk-cog-trust-test-0123456789abcdef';
const artifacts = join(root, 'test-artifacts');

const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  // Restricted Mode without the startup question: the folder opens untrusted.
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'always',
};

/** A state dir with user settings, and a folder whose settings point Cog at `fixture`. */
function setUp(fixture: FixtureServer, user: Record<string, unknown>) {
  // Short: code-server puts unix sockets in the state dir.
  const state = mkdtempSync('/tmp/cog-trust-');
  const folder = join(state, 'ws');
  mkdirSync(join(state, 'user-data', 'User'), { recursive: true });
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  writeFileSync(join(folder, 'README.md'), '# a folder someone else wrote\n');
  writeFileSync(
    join(folder, '.vscode', 'settings.json'),
    JSON.stringify({
      'cog.baseUrl': fixture.url,
      'cog.model': FIXTURE_MODEL,
      'cog.approvalPolicy': 'auto',
    }),
  );
  writeFileSync(join(state, 'user-data', 'User', 'settings.json'), JSON.stringify(user));
  return { state, folder };
}

/**
 * code-server with workspace trust on. test/setup/code-server-e2e always passes
 * --disable-workspace-trust (every folder trusted), so this starts the same binary the same
 * way without that flag.
 */
async function startTrustingCodeServer(state: string, folder: string): Promise<CodeServer> {
  const port = await freePort();
  for (const d of ['home', 'tmp', 'extensions']) mkdirSync(join(state, d), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    publisher: string;
    name: string;
    version: string;
  };
  symlinkSync(root, join(state, 'extensions', `${pkg.publisher}.${pkg.name}-${pkg.version}`));
  writeFileSync(join(state, 'config.yaml'), 'auth: none\n');
  const home = join(state, 'home');
  const child = spawn(
    codeServerBin,
    [
      '--config',
      join(state, 'config.yaml'),
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--user-data-dir',
      join(state, 'user-data'),
      '--extensions-dir',
      join(state, 'extensions'),
      folder,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: {
        ...process.env,
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_DATA_HOME: join(home, '.local', 'share'),
        XDG_CACHE_HOME: join(home, '.cache'),
        XDG_STATE_HOME: join(home, '.local', 'state'),
        TMPDIR: join(state, 'tmp'),
      },
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await exited;
      clearTimeout(kill);
    }
  };
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited:\n${out}`);
    if (
      await fetch(`${url}healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, state, stop, log: () => out };
}

/** The extension's log ("Cog" output channel) as written to disk, or '' before it exists. */
function cogLog(state: string): string {
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

async function eventually(what: string, probe: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Shows the Cog panel: its activity-bar item toggles, so it is clicked only when not active. */
async function openCog(page: Page): Promise<FrameLocator> {
  const item = page.locator('.activitybar .action-item', {
    has: page.locator('[aria-label^="Cog"]'),
  });
  if (!/\bchecked\b/.test((await item.first().getAttribute('class')) ?? '')) {
    await item.first().click();
  }
  return webviewFrame(page, COMPOSER, { timeout: 60_000 });
}

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await input.press('Enter');
}

/** Cog: Set API Key, typed into its password box: the real SecretStorage keeps it. */
async function setApiKey(page: Page, key: string): Promise<void> {
  await runCommand(page, 'Cog: Set API Key');
  const box = page.locator('.quick-input-widget input[type="password"]');
  await box.waitFor();
  await box.fill(key);
  await box.press('Enter');
  await page.locator('.notifications-toasts', { hasText: 'saved' }).waitFor({ timeout: 10_000 });
}

async function send(view: FrameLocator, text: string): Promise<void> {
  await view.locator(COMPOSER).fill(text);
  await view.locator(COMPOSER).press('Enter');
}

async function onFailure(
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

test(
  'Restricted Mode: chat works and no code runs; trusting the folder brings the approval back',
  { timeout: 240_000 },
  async (t) => {
    requireVscodeE2e();
    await ensureExtensionBuilt();
    const fixture = await startFixtureServer();
    const { state, folder } = setUp(fixture, {
      ...USER_SETTINGS,
      'security.workspace.trust.enabled': true,
    });
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      server = await startTrustingCodeServer(state, folder);
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, `${server.url}?folder=${encodeURIComponent(folder)}`);
      const view = await openCog(page);
      await page
        .locator('.statusbar-item', { hasText: 'Cog: offline engine' })
        .waitFor({ timeout: 30_000 });
      await view
        .locator('.notice', { hasText: 'Restricted Mode: code runs are off' })
        .first()
        .waitFor({ timeout: 30_000 });
      assert.match(cogLog(state), /Restricted Mode: code runs are off/);

      // Chat works; the run is refused by policy, and the panel says why.
      await send(view, 'what is 17*23?');
      const card = view.locator('.cog-process').last();
      await card.locator('.proc-status', { hasText: 'denied' }).waitFor({ timeout: 30_000 });
      assert.equal(await card.locator('.proc-approve').count(), 0);
      await view.locator('.msg.assistant').last().waitFor({ timeout: 30_000 });
      await view
        .locator('.notice', { hasText: 'Trust this workspace to allow them.' })
        .first()
        .waitFor();

      // Trust the folder (Manage Workspace Trust → Trust): the runtime restarts on the
      // user's own policy, "ask", and the next run waits for its card.
      const starts = () => cogLog(state).match(/starting the runtime: .*/g) ?? [];
      const before = starts().length;
      await runCommand(page, 'Workspaces: Manage Workspace Trust');
      await page
        .locator('.workspace-trust-editor .workspace-trust-buttons-row .monaco-button', {
          hasText: /^Trust/,
        })
        .first()
        .click({ timeout: 30_000 });
      await eventually('the runtime restarted on trust', () =>
        starts()
          .slice(before)
          .some((l) => /approval ask/.test(l) && !l.includes('Restricted Mode')),
      );
      await page
        .locator('.statusbar-item', { hasText: 'Cog: offline engine' })
        .waitFor({ timeout: 30_000 });
      const again = await openCog(page);
      await send(again, 'and what is 17*23?');
      const next = again.locator('.cog-process').last();
      await next
        .locator('.proc-status', { hasText: 'awaiting approval' })
        .waitFor({ timeout: 30_000 });
      await next.locator('.proc-approve').click();
      await next.locator('.proc-status', { hasText: 'done' }).waitFor({ timeout: 30_000 });
      assert.deepEqual(fixture.requests, [], "the folder's endpoint got no request");
    } catch (err) {
      await onFailure(t, 'trust-restricted-failure.png', browser, server);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      await fixture.close();
      rmSync(state, { recursive: true, force: true });
    }
  },
);
