import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFixtureServer } from '../fixtures/openai-server.js';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  codeServerBin,
  freePort,
  launchBrowser,
  openWorkbench,
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
// as the extension, driven by playwright-core): Restricted Mode runs no code, and trusting
// the folder brings back the user's own approval policy. A folder's settings and the
// user's key: trust-settings.test.ts.

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
