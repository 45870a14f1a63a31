/**
 * A real VS Code for the extension tests: code-server (installed by test/setup/install.sh;
 * 4.100.3, VS Code 1.100.3, by default, or 4.104.0, VS Code 1.104, where the MCP and
 * language-model provider APIs are final) driven by playwright-core and Debian's Chromium. Start code-server,
 * open its workbench, reach into a webview, or run an extensionTestsPath module in its
 * Node extension host, as `@vscode/test-electron` does with desktop VS Code.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FrameLocator, Page } from 'playwright-core';
import { launchBrowser, type BrowserSession } from './chromium.js';

export { launchBrowser, type BrowserSession };

/** The cache test/setup/install.sh fills: COG_TEST_CACHE or ~/.cache/cog-test. */
export const testCache = resolve(
  process.env.COG_TEST_CACHE || join(homedir(), '.cache', 'cog-test'),
);
/** The code-server versions install.sh installs: VS Code 1.100.3 and VS Code 1.104. */
export const CODE_SERVER_VERSIONS = ['4.100.3', '4.104.0'] as const;
export type CodeServerVersion = (typeof CODE_SERVER_VERSIONS)[number];

/** Where install.sh puts one version's code-server command. */
export function codeServerBinOf(version: CodeServerVersion): string {
  const dir = version === '4.100.3' ? 'code-server' : `code-server-${version}`;
  return join(testCache, dir, 'node_modules', '.bin', 'code-server');
}
/** code-server itself (4.100.3, what most tests use), inside the cache. */
export const codeServerBin = codeServerBinOf('4.100.3');
/**
 * User settings for a quiet workbench (no welcome page, telemetry, updates or trust
 * prompt): what test/setup/code-server-e2e gives every state dir it creates.
 */
export const QUIET_SETTINGS = JSON.parse(
  readFileSync(new URL('../setup/code-server-settings.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** Fails with what to run when code-server `version` is not installed: nothing is skipped. */
export function requireCodeServer(version: CodeServerVersion): void {
  const bin = codeServerBinOf(version);
  if (!existsSync(bin)) {
    throw new Error(`code-server ${version} is not installed at ${bin}: run npm run setup:test`);
  }
}

/**
 * A fresh state dir for one code-server, with an empty folder (`ws`) to open and the
 * user's settings. Under /tmp with a short name: code-server puts unix sockets in it.
 */
export function workbenchState(
  name: string,
  settings: Record<string, unknown> = QUIET_SETTINGS,
): { state: string; folder: string; userSettings: string } {
  const state = mkdtempSync(`/tmp/cog-${name}-`);
  const folder = join(state, 'ws');
  const userSettings = join(state, 'user-data', 'User', 'settings.json');
  mkdirSync(dirname(userSettings), { recursive: true });
  mkdirSync(folder);
  writeFileSync(userSettings, JSON.stringify(settings, null, 2));
  return { state, folder, userSettings };
}

/** Starts code-server from the cache with everything it writes in one state dir. */
export const codeServerE2e = fileURLToPath(new URL('../setup/code-server-e2e', import.meta.url));
/** The command-line face of runExtensionTests(); exits with the extension host's code. */
export const vscodeExtTest = fileURLToPath(
  new URL('../setup/vscode-ext-test.mjs', import.meta.url),
);

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

export interface CodeServerOptions {
  /** Which install to start; default 4.100.3. */
  version?: CodeServerVersion;
  port?: number;
  /** State dir (HOME, user data, extensions); default a new one, deleted by stop(). */
  state?: string;
  /** Extension folders to link into the state's extensions dir. */
  exts?: string[];
  /** More code-server arguments. */
  args?: string[];
  /** The folder to open. */
  folder?: string;
  /** How long code-server may take to answer /healthz. */
  timeout?: number;
}

export interface CodeServer {
  url: string;
  port: number;
  state: string;
  /** Ends code-server and everything it started; deletes the state dir if it made it. */
  stop(): Promise<void>;
  /** code-server's output so far. */
  log(): string;
}

/** Starts code-server through test/setup/code-server-e2e; resolves once it answers. */
export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  const { exts = [], args = [], folder, timeout = 30_000 } = options;
  const port = options.port ?? (await freePort());
  // Short on purpose: code-server puts unix sockets in the state dir (108-byte limit).
  const state = options.state ?? mkdtempSync('/tmp/cog-code-server-');
  const argv = ['--code-server', options.version ?? '4.100.3', '--port', String(port)];
  argv.push('--state', state);
  for (const ext of exts) argv.push('--ext', ext);
  argv.push('--', ...args);
  if (folder) argv.push(folder);
  // Its own process group, so that stop() also ends the extension host and file watcher.
  const child = spawn(codeServerE2e, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let spawnError: Error | undefined;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.on('error', (err) => (spawnError = err));
  const exited = new Promise<void>((resolveExit) => child.once('close', () => resolveExit()));
  const gone = () => child.exitCode !== null || child.signalCode !== null || spawnError;

  const stop = async () => {
    if (!gone() && child.pid) {
      const kill = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), 10_000);
      signalGroup(child.pid, 'SIGTERM');
      await exited;
      clearTimeout(kill);
    }
    if (!options.state) rmSync(state, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (gone()) {
      await stop();
      throw new Error(`code-server exited before it answered:\n${spawnError ?? out}`);
    }
    try {
      if ((await fetch(`${url}healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not answer within ${timeout} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, state, stop, log: () => out };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface WorkbenchOptions {
  folder?: string;
  /** What desktop VS Code takes as --extensionDevelopmentPath (server-side paths). */
  devPaths?: string[];
  /** What desktop VS Code takes as --extensionTestsPath. */
  testsPath?: string;
}

/**
 * The workbench URL. code-server's CLI rejects the extension-development options, but the
 * web workbench takes them in its `payload` query, as vscode-remote URIs.
 */
export function workbenchUrl(
  base: string,
  { folder, devPaths = [], testsPath }: WorkbenchOptions = {},
): string {
  const u = new URL(base);
  const remote = (p: string) => `vscode-remote://${u.host}${resolve(p)}`;
  const payload = devPaths.map((p) => ['extensionDevelopmentPath', remote(p)]);
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  if (folder) u.searchParams.set('folder', resolve(folder));
  if (payload.length) u.searchParams.set('payload', JSON.stringify(payload));
  return u.toString();
}

/** Opens the workbench and waits until it is there. */
export async function openWorkbench(
  page: Page,
  url: string,
  { timeout = 60_000 } = {},
): Promise<void> {
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout });
}

/**
 * The webview whose HTML contains `selector`. Each webview is an `iframe.webview` (VS Code's
 * host page) holding `iframe#active-frame` (the extension's HTML), and a WebviewView's
 * iframe is not inside its view pane, so every one is searched; the match is pinned by the
 * outer iframe's unique name.
 */
export async function webviewFrame(
  page: Page,
  selector: string,
  { timeout = 30_000 } = {},
): Promise<FrameLocator> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const outers = page.locator('iframe.webview.ready');
    for (let i = 0, n = await outers.count(); i < n; i++) {
      const name = await outers
        .nth(i)
        .getAttribute('name', { timeout: 1000 })
        .catch(() => null);
      if (!name) continue;
      const inner = page
        .frameLocator(`iframe.webview[name="${name}"]`)
        .frameLocator('iframe#active-frame');
      if (
        await inner
          .locator(selector)
          .count()
          .catch(() => 0)
      )
        return inner;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no webview contains ${selector} after ${timeout} ms`);
}

export interface ExtensionTestsOptions {
  /** The extension under development. */
  devPath: string;
  /** A CommonJS module exporting `run(): Promise<void>`; it may require('vscode'). */
  testsPath: string;
  /** The folder to open; default devPath. */
  folder?: string;
  timeout?: number;
  /** Receives the extension host's console output. */
  log?: (...args: unknown[]) => void;
}

/**
 * Runs `testsPath` in code-server's extension host with `devPath` loaded. Resolves with the
 * code the extension host reports (0 passed, 1 run() rejected), or 124 on timeout.
 */
export async function runExtensionTests({
  devPath,
  testsPath,
  folder,
  timeout = 120_000,
  log = console.log,
}: ExtensionTestsOptions): Promise<number> {
  const server = await startCodeServer();
  let browser: BrowserSession | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    browser = await launchBrowser();
    let exit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (exit = r));
    // The workbench reports through these when it runs extension tests.
    await browser.page.exposeFunction('codeAutomationLog', (_type: string, args: unknown[]) =>
      log(...args),
    );
    await browser.page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
    await browser.page.goto(
      workbenchUrl(server.url, { folder: folder ?? devPath, devPaths: [devPath], testsPath }),
    );
    const timedOut = new Promise<'timeout'>(
      (r) => (timer = setTimeout(() => r('timeout'), timeout)),
    );
    const code = await Promise.race([exited, timedOut]);
    if (code === 'timeout') {
      log(`extension tests timed out after ${timeout} ms`);
      return 124;
    }
    return code;
  } finally {
    clearTimeout(timer);
    await browser?.close();
    await server.stop();
  }
}
