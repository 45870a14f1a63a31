import { after, before } from 'node:test';
/**
 * Plays the extension host's side of protocol/webview.ts for the chat webview, in real
 * headless Chromium: serves the page from `renderWebviewHtml` (CSP as a header too) over
 * 127.0.0.1, injects a fake `acquireVsCodeApi` that records what the webview posts (each
 * message checked against the host's own zod schema) and keeps `setState` across reloads,
 * and pushes HostToWebview messages the way VS Code delivers them (a `message` event).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, type BrowserSession } from '../helpers/chromium.js';
import type { RuntimeEvent } from '../../protocol/events.js';
import {
  WebviewToHostSchema,
  type HostToWebview,
  type WebviewToHost,
} from '../../protocol/webview.js';
import { renderWebviewHtml, webviewCsp } from '../../protocol/webview-html.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist', 'webview');

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function bundleIsFresh(): boolean {
  let built = 0;
  try {
    built = Math.min(
      statSync(join(DIST, 'main.js')).mtimeMs,
      statSync(join(DIST, 'main.css')).mtimeMs,
    );
  } catch {
    return false;
  }
  return built > Math.max(newest(join(ROOT, 'webview')), newest(join(ROOT, 'protocol')));
}

/** Builds dist/webview (with the project's esbuild.mjs) unless it is newer than its sources. */
export function ensureBundle(): void {
  if (bundleIsFresh()) return;
  // Two test files may get here at once: one builds, the other waits for its lock.
  const lock = join(tmpdir(), 'cog-webview-build.lock');
  for (let i = 0; i < 600; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      spawnSync(process.execPath, ['-e', 'setTimeout(() => {}, 100)']);
    }
  }
  try {
    if (bundleIsFresh()) return;
    const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    // Another bundle in esbuild.mjs may fail; what matters here is the webview's.
    if (r.status !== 0 && !bundleIsFresh())
      throw new Error(`node esbuild.mjs failed:\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Served {
  url: string;
  /** Every path the page asked for, in order. */
  requests: string[];
  /** The CSP header sent with the last page. */
  csp: string;
  close(): Promise<void>;
}

/** The webview page and its bundle on 127.0.0.1; nothing else is served. */
export async function serveWebview(): Promise<Served> {
  const files: Record<string, { type: string; body: Buffer }> = {
    '/webview/main.js': {
      type: 'text/javascript; charset=utf-8',
      body: readFileSync(join(DIST, 'main.js')),
    },
    '/webview/main.css': {
      type: 'text/css; charset=utf-8',
      body: readFileSync(join(DIST, 'main.css')),
    },
  };
  const served: Served = { url: '', requests: [], csp: '', close: async () => undefined };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    served.requests.push(path);
    if (path === '/') {
      const origin = served.url.replace(/\/$/, '');
      const opts = {
        cspSource: origin,
        nonce: randomBytes(18).toString('base64url'),
        scriptUri: `${origin}/webview/main.js`,
        styleUri: `${origin}/webview/main.css`,
      };
      served.csp = webviewCsp(opts);
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': served.csp,
        'cache-control': 'no-store',
      });
      res.end(renderWebviewHtml(opts));
      return;
    }
    const file = files[path];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  served.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return served;
}

export type Browser = BrowserSession;

/** Debian's Chromium, headless, with a fresh profile, at the sidebar's size by default. */
export function launchChromium(viewport = { width: 460, height: 820 }): Promise<Browser> {
  return launchBrowser({ viewport });
}

/** Runs in the page before its scripts: the fake VS Code API, a dark theme, tripwires. */
const INIT = String.raw`(() => {
  const KEY = '__cogState';
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi called twice');
    acquired = true;
    return Object.freeze({
      postMessage: (m) => window.__cogHostReceive(JSON.parse(JSON.stringify(m))),
      getState: () => {
        const s = sessionStorage.getItem(KEY);
        return s ? JSON.parse(s) : undefined;
      },
      setState: (s) => {
        sessionStorage.setItem(KEY, JSON.stringify(s));
        return s;
      },
    });
  };
  window.__cogPush = (m) => window.dispatchEvent(new MessageEvent('message', { data: m }));
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')),
  );
  window.__dialogs = 0;
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    window[name] = () => { window.__dialogs++; };
  }
  const theme = {
    '--vscode-font-family': 'system-ui, sans-serif',
    '--vscode-font-size': '13px',
    '--vscode-foreground': '#cccccc',
    '--vscode-sideBar-background': '#181818',
    '--vscode-editor-background': '#1f1f1f',
    '--vscode-button-background': '#0078d4',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-input-background': '#313131',
    '--vscode-focusBorder': '#0078d4',
  };
  document.addEventListener('DOMContentLoaded', () => {
    for (const [k, v] of Object.entries(theme)) document.documentElement.style.setProperty(k, v);
    document.body.classList.add('vscode-dark');
  });
})();`;

type PageGlobals = {
  __cogPush(m: unknown): void;
  __cspViolations: string[];
  __dialogs: number;
  __xss?: unknown;
};

/** One webview page and the fake host behind it. */
export class FakeHost {
  /** Everything the webview posted, across reloads. */
  readonly posted: WebviewToHost[] = [];
  /** Posted messages the host would have dropped (fails the schema). */
  readonly invalid: unknown[] = [];
  readonly errors: string[] = [];
  private waiters: { pred: (m: WebviewToHost) => boolean; resolve: (m: WebviewToHost) => void }[] =
    [];

  private constructor(
    readonly page: Page,
    readonly served: Served,
  ) {}

  static async open(browser: Browser, served: Served): Promise<FakeHost> {
    const page = await browser.context.newPage();
    const host = new FakeHost(page, served);
    page.on('pageerror', (err) => host.errors.push(String(err)));
    await page.exposeBinding('__cogHostReceive', (_source, raw: unknown) => host.receive(raw));
    await page.addInitScript(INIT);
    return host;
  }

  private receive(raw: unknown): void {
    const parsed = WebviewToHostSchema.safeParse(raw);
    if (!parsed.success) {
      this.invalid.push(raw);
      return;
    }
    this.posted.push(parsed.data);
    for (const w of [...this.waiters]) {
      if (w.pred(parsed.data)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(parsed.data);
      }
    }
  }

  /** The next message (after `since`, an index into `posted`) that matches. */
  waitFor<T extends WebviewToHost['type']>(
    type: T,
    since = this.posted.length,
    timeoutMs = 5000,
  ): Promise<Extract<WebviewToHost, { type: T }>> {
    const pred = (m: WebviewToHost) => m.type === type;
    const seen = this.posted.slice(since).find(pred);
    if (seen) return Promise.resolve(seen as Extract<WebviewToHost, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${type} message in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<WebviewToHost, { type: T }>);
        },
      });
    });
  }

  /** Loads the page and waits for its `ready`. */
  async load(): Promise<Extract<WebviewToHost, { type: 'ready' }>> {
    const since = this.posted.length;
    await this.page.goto(this.served.url);
    return this.waitFor('ready', since);
  }

  async reload(): Promise<Extract<WebviewToHost, { type: 'ready' }>> {
    const since = this.posted.length;
    await this.page.reload();
    return this.waitFor('ready', since);
  }

  /** Delivers a host message; it has been handled when this resolves. */
  async push(msg: HostToWebview): Promise<void> {
    await this.page.evaluate((m) => (globalThis as unknown as PageGlobals).__cogPush(m), msg);
  }

  async events(session: string, events: RuntimeEvent[]): Promise<void> {
    await this.push({ type: 'events', session, events });
  }

  /** Tripwires read back from the page. */
  async tripwires(): Promise<{ dialogs: number; xss: unknown; csp: string[] }> {
    return this.page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { dialogs: g.__dialogs, xss: g.__xss ?? null, csp: [...g.__cspViolations] };
    });
  }
}

/**
 * Registers the browser and page server every webview test file needs (started before its
 * tests, closed after them) and opens a fresh page with a fake host on each `open()`.
 */
export function useWebview(): { open(): Promise<FakeHost>; served(): Served } {
  let browser: Browser | undefined;
  let served: Served | undefined;
  before(async () => {
    ensureBundle();
    served = await serveWebview();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await served?.close();
  });
  const ready = () => {
    if (!browser || !served) throw new Error('useWebview: used outside a test');
    return { browser, served };
  };
  return {
    open: () => FakeHost.open(ready().browser, ready().served),
    served: () => ready().served,
  };
}
