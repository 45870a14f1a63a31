import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { ensureExtensionBuilt, requireVscodeE2e, root } from '../extension/build-suite.js';
import {
  freePort,
  launchBrowser,
  openWorkbench,
  QUIET_SETTINGS,
  startCodeServer,
  type BrowserSession,
  type CodeServer,
  workbenchState,
  requireCodeServer,
} from '../helpers/code-server.js';
import { startServe, type ServeHandle } from '../helpers/cog-process.js';
import { cogLog, eventually, onFailure, openCog, runCommand } from './trust-harness.js';

// Agent mode in a real VS Code 1.104 (code-server 4.104.0, where the MCP server definition
// provider API is final), driven by playwright-core as a person would: Cog registers its
// runtime, VS Code starts it and lists its tools, and after "Cog: Restart Runtime" (a new
// port and pid) VS Code is running the server again, at the new address, by itself.
//
// The same after a token rotation at a configured server (cog.serverUrl): the address
// stays, only the token changes, so the definition VS Code keeps (which has no token) is
// the same, and Cog restarts VS Code's server itself with the new one.
//
// What was broken: VS Code stops a server whose definition changed and starts it again
// only on demand, so after a restart its MCP list showed Cog as Stopped.

/** Cog's MCP tools (server/mcp/tools/). */
const COG_TOOLS = 10;

/** Every "connected to local runtime (pid N) at URL" in the extension's log, in order. */
function runtimesIn(log: string): { pid: string; origin: string }[] {
  return [
    ...log.matchAll(/connected to local runtime \(pid (\d+)\) at (http:\/\/127\.0\.0\.1:\d+)/g),
  ].map((m) => ({ pid: m[1]!, origin: m[2]! }));
}

/** Every definition VS Code's MCP client resolved (it does so each time it starts the server). */
function resolvedIn(log: string): { url: string; version: string }[] {
  return [
    ...log.matchAll(/VS Code's MCP client is starting Cog's server: (\S+) \(definition (\S+)\)/g),
  ].map((m) => ({ url: m[1]!, version: m[2]! }));
}

/** Cog's row in "MCP: List Servers", once its state reads `state`; the pick is left open. */
async function waitForServerState(page: Page, state: string): Promise<void> {
  await runCommand(page, 'MCP: List Servers');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: /^Cog/ });
  await row.filter({ hasText: state }).first().waitFor({ timeout: 30_000 });
}

/** The text of VS Code's "MCP: Cog" output, through the server's "Show Output" action. */
async function serverOutput(page: Page): Promise<string> {
  await page.locator('.quick-input-list .monaco-list-row', { hasText: /^Cog/ }).first().click();
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: 'Show Output' })
    .first()
    .click();
  const lines = page.locator('.part.panel .view-lines').first();
  await lines.filter({ hasText: 'Discovered' }).waitFor({ timeout: 30_000 });
  // The editor draws spaces as no-break spaces.
  return (await lines.innerText()).replace(/\u00a0/g, ' ');
}

test(
  'agent mode on VS Code 1.104: Cog is listed with its tools, and runs again by itself after Restart Runtime',
  { timeout: 300_000 },
  async (t) => {
    requireVscodeE2e();
    requireCodeServer('4.104.0');
    await ensureExtensionBuilt();
    const { state, folder } = workbenchState('agent');
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      server = await startCodeServer({
        version: '4.104.0',
        state,
        folder,
        exts: [root],
        timeout: 60_000,
      });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);
      await openCog(page);
      await page
        .locator('.statusbar-item', { hasText: 'Cog: offline engine' })
        .waitFor({ timeout: 60_000 });
      assert.match(cogLog(state), /registered the MCP server definition provider "cog\.runtime"/);
      assert.match(cogLog(state), /on VS Code 1\.104\.\d+/);

      // VS Code starts a newly provided server to learn its tools.
      await eventually(
        'VS Code starting Cog\u2019s server',
        () => resolvedIn(cogLog(state)).length >= 1,
      );
      const [first] = runtimesIn(cogLog(state));
      assert.ok(first, 'the first runtime connected');
      assert.equal(resolvedIn(cogLog(state))[0]!.url, `${first.origin}/mcp`);
      await waitForServerState(page, 'Running');
      await page.keyboard.press('Escape');

      // Restart Runtime: a new process on a new port. Nothing else touches MCP until VS Code
      // has started the server again, at the new address, with the new definition.
      let started = Date.now();
      await runCommand(page, 'Cog: Restart Runtime');
      await eventually('a second runtime', () => runtimesIn(cogLog(state)).length >= 2, 60_000);
      const second = runtimesIn(cogLog(state))[1]!;
      assert.notEqual(second.pid, first.pid);
      assert.notEqual(second.origin, first.origin, 'the restarted runtime listens on a new port');
      await eventually(
        'VS Code starting Cog\u2019s server again',
        () => resolvedIn(cogLog(state)).length >= 2,
      );
      const [once, again] = resolvedIn(cogLog(state));
      assert.equal(again!.url, `${second.origin}/mcp`);
      assert.notEqual(again!.version, once!.version, 'VS Code was given a changed definition');
      t.diagnostic(`restart to VS Code starting the server again: ${Date.now() - started} ms`);

      // What a person sees: MCP: List Servers says Running, and its output shows the tools
      // discovered on both runtimes, the second time after the stop for the new definition.
      started = Date.now();
      await waitForServerState(page, 'Running');
      const output = await serverOutput(page);
      const discovered = [...output.matchAll(/Discovered (\d+) tools/g)].map((m) => Number(m[1]));
      assert.deepEqual(discovered, [COG_TOOLS, COG_TOOLS], output);
      const stopped = output.lastIndexOf('Connection state: Stopped');
      assert.ok(stopped > 0 && output.lastIndexOf('Connection state: Running') > stopped, output);
      t.diagnostic(`VS Code's MCP output:\n${output}`);
    } catch (err) {
      await onFailure(t, 'agent-mode.png', browser, server);
      t.diagnostic(`Cog log:\n${cogLog(state).slice(-4000)}`);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      rmSync(state, { recursive: true, force: true });
    }
  },
);

/** "Cog: Set Server Token", typed into its input box as a person would. */
async function setServerToken(page: Page, token: string): Promise<void> {
  await runCommand(page, 'Cog: Set Server Token');
  const input = page.locator('.quick-input-widget input[type="password"]');
  await input.waitFor();
  await input.fill(token);
  await input.press('Enter');
}

test(
  'agent mode on VS Code 1.104: after the server\u2019s token is rotated, VS Code runs Cog again with the new one',
  { timeout: 300_000 },
  async (t) => {
    requireVscodeE2e();
    requireCodeServer('4.104.0');
    await ensureExtensionBuilt();
    const home = mkdtempSync(join(tmpdir(), 'cog-agent-serve-'));
    const port = await freePort();
    const serveArgs = { args: ['--port', String(port)], env: { COG_OFFLINE: '1' } };
    const { state, folder, userSettings } = workbenchState('agent');
    let serve: ServeHandle | undefined;
    let server: CodeServer | undefined;
    let browser: BrowserSession | undefined;
    try {
      serve = await startServe(home, serveArgs);
      const url = serve.url;
      writeFileSync(userSettings, JSON.stringify({ ...QUIET_SETTINGS, 'cog.serverUrl': url }));
      server = await startCodeServer({
        version: '4.104.0',
        state,
        folder,
        exts: [root],
        timeout: 60_000,
      });
      browser = await launchBrowser();
      const { page } = browser;
      await openWorkbench(page, server.url);
      await openCog(page);
      await setServerToken(page, serve.token);
      await eventually(
        'VS Code starting Cog\u2019s server',
        () => resolvedIn(cogLog(state)).length >= 1,
        60_000,
      );
      assert.equal(resolvedIn(cogLog(state))[0]!.url, url);
      await waitForServerState(page, 'Running');
      await page.keyboard.press('Escape');

      // Rotation: the server comes back on the same address with a new token (its old
      // token file removed), and the user sets the new token.
      await serve.serve.stop();
      rmSync(serve.tokenFile);
      const old = serve.token;
      serve = await startServe(home, serveArgs);
      assert.equal(serve.url, url);
      assert.notEqual(serve.token, old);
      // VS Code's MCP client reconnects with the old token first, and on the 401 offers
      // OAuth (which a token server does not do): a person cancels that and sets the token.
      const oauthOffer = page.locator('.monaco-dialog-box', {
        hasText: 'Dynamic Client Registration not supported',
      });
      await oauthOffer.waitFor({ timeout: 60_000 });
      assert.ok((await oauthOffer.innerText()).includes(`'${new URL(url).origin}/'`));
      await oauthOffer.locator('.monaco-button', { hasText: 'Cancel' }).click();
      await oauthOffer.waitFor({ state: 'detached' });
      const started = Date.now();
      await setServerToken(page, serve.token);
      await eventually(
        'VS Code starting Cog\u2019s server with the new token',
        () => resolvedIn(cogLog(state)).length >= 2,
        60_000,
      );
      const [once, again] = resolvedIn(cogLog(state));
      assert.equal(again!.url, url);
      assert.notEqual(again!.version, once!.version);
      t.diagnostic(`new token to VS Code starting the server again: ${Date.now() - started} ms`);
      await waitForServerState(page, 'Running');
      const output = await serverOutput(page);
      const discovered = [...output.matchAll(/Discovered (\d+) tools/g)].map((m) => Number(m[1]));
      assert.deepEqual(discovered, [COG_TOOLS, COG_TOOLS], output);
      assert.ok(
        output.lastIndexOf('Connection state: Running') > output.lastIndexOf('Stopping server Cog'),
        output,
      );
    } catch (err) {
      await onFailure(t, 'agent-mode-token.png', browser, server);
      t.diagnostic(`Cog log:\n${cogLog(state).slice(-4000)}`);
      throw err;
    } finally {
      await browser?.close();
      await server?.stop();
      await serve?.serve.stop();
      rmSync(state, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  },
);
