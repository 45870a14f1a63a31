import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  launchBrowser,
  openWorkbench,
  QUIET_SETTINGS,
  startCodeServer,
  type BrowserSession,
  type CodeServer,
  workbenchState,
} from '../helpers/code-server.js';
import { startServe, type ServeHandle } from '../helpers/cog-process.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-provider.js';
import { cogLog, onFailure, openCog, runCommand, send } from './trust-harness.js';

// The extension's sign-in in a real VS Code 1.100 (code-server, this repository linked as
// the extension, driven by playwright-core), as a person does it: cog.serverUrl points at
// a real `cog serve --issuer`; "Cog: Sign In" opens the issuer (the real test OpenID
// provider) in the browser; the person signs in there; the browser comes back to the
// extension's loopback; the status bar says who is signed in; they chat; they sign out.
//
// The issuer listens on 127.0.0.2: code-server rewrites a page an extension opens on
// localhost or 127.0.0.1 into its own port proxy (which drops the path and query).

/** Every file under `dir` whose bytes contain `needle`, by path under `dir`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
    } catch {
      continue; // gone since the listing
    }
    if (isFile && readFileSync(path).includes(needle)) found.push(name);
  }
  return found;
}

/** The issuer's login and consent pages, as a person fills them; resolves back at Cog's loopback. */
async function signInAt(page: Page, issuer: string, login: string): Promise<string> {
  await page.waitForLoadState();
  assert.ok(page.url().startsWith(`${issuer}/`), `the issuer's page opened: ${page.url()}`);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  // A native client is asked for consent; then the issuer redirects to the loopback.
  const consent = page.locator('input[name="prompt"][value="consent"]');
  let consented = false;
  for (const deadline = Date.now() + 15_000; ; await page.waitForTimeout(100)) {
    if (new URL(page.url()).hostname === '127.0.0.1') break;
    assert.ok(Date.now() < deadline, `stuck at ${page.url()}`);
    if (!consented && (await consent.count())) {
      consented = true;
      await page.locator('button[type="submit"]').click();
    }
  }
  await page.waitForLoadState();
  return `${new URL(page.url()).pathname} ${await page.locator('body').innerText()}`;
}

test(
  'Cog: Sign In from VS Code: browser, loopback, status bar, chat, sign out',
  { timeout: 240_000 },
  async (t) => {
    requireVscodeE2e();
    await ensureExtensionBuilt();
    const issuer: TestIssuer = await startTestIssuer({ interactive: true, host: '127.0.0.2' });
    const home = mkdtempSync(join(tmpdir(), 'cog-signin-home-'));
    const { state, folder, userSettings } = workbenchState('signin');
    let serve: ServeHandle | undefined;
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      serve = await startServe(home, {
        args: ['--issuer', issuer.issuer],
        env: { COG_OFFLINE: '1' },
      });
      const origin = new URL(serve.url).origin;
      writeFileSync(
        userSettings,
        JSON.stringify({
          ...QUIET_SETTINGS,
          'security.workspace.trust.enabled': false,
          'cog.serverUrl': serve.url,
        }),
      );
      server = await startCodeServer({ state, folder, exts: [root] });
      browser = await launchBrowser();
      const { page, context } = browser;
      await openWorkbench(page, server.url);
      const view = await openCog(page);

      // Nobody is signed in: the status bar and a notification say what to do.
      const signInItem = page.locator('.statusbar-item', { hasText: 'Cog: sign in' });
      await signInItem.waitFor({ timeout: 30_000 });
      await page
        .locator('.notifications-toasts', { hasText: `Sign in to ${origin}` })
        .waitFor({ timeout: 30_000 });

      // Cog: Sign In. VS Code asks before it opens a site off its trusted list: Open.
      let started = Date.now();
      const opened = context.waitForEvent('page', { timeout: 30_000 });
      await runCommand(page, 'Cog: Sign In');
      const ask = page.locator('.monaco-dialog-box', { hasText: 'open the external website' });
      await ask.waitFor({ timeout: 30_000 });
      assert.match(
        await ask.innerText(),
        new RegExp(`${issuer.issuer.replace(/\./g, '\\.')}/auth`),
      );
      await ask.locator('.monaco-button', { hasText: /^Open$/ }).click();
      const popup = await opened;
      const landed = await signInAt(popup, issuer.issuer, 'ada');
      assert.match(landed, /^\/callback /, 'the browser came back to the loopback');
      await page.locator('.statusbar-item', { hasText: /Cog: .*Ada/ }).waitFor({ timeout: 30_000 });
      await page
        .locator('.notifications-toasts', { hasText: 'signed in as Ada <ada@example.com>' })
        .waitFor({ timeout: 10_000 });
      t.diagnostic(`Sign In to connected: ${Date.now() - started} ms`);

      // The chat works, as Ada: her verified name reached the Memorizer (the State panel).
      await send(view, 'hello from the editor');
      await view.locator('.msg.assistant').first().waitFor({ timeout: 30_000 });
      await view.locator('summary', { hasText: 'State' }).click();
      await view.locator('.memory .kv', { hasText: 'Ada' }).waitFor({ timeout: 30_000 });

      // Tokens live in SecretStorage only: no access token (a JWT) in VS Code's files or
      // the extension's log, and none in what cog serve printed.
      for (const dir of ['user-data', 'home']) {
        const leaked = filesContaining(join(state, dir), 'eyJhbGci');
        assert.deepEqual(leaked, [], `no token in VS Code's ${dir} on disk`);
      }
      assert.match(cogLog(state), /signed in to .* as Ada/);
      assert.doesNotMatch(serve.serve.stderr(), /eyJhbGci/);

      // Sign out: back to "sign in", and the panel no longer reaches the server.
      started = Date.now();
      await runCommand(page, 'Cog: Sign Out');
      await signInItem.waitFor({ timeout: 30_000 });
      await page
        .locator('.notifications-toasts', { hasText: 'signed out' })
        .waitFor({ timeout: 10_000 });
      t.diagnostic(`Sign Out to signed out: ${Date.now() - started} ms`);
    } catch (err) {
      await onFailure(t, 'vscode-sign-in.png', browser, server);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      await serve?.serve.stop();
      await issuer.close();
      rmSync(state, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  },
);
