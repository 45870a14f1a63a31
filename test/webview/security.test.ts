import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderWebviewHtml, webviewCsp } from '../../protocol/webview-html.js';
import { Events } from './events.js';
import { useWebview } from './harness.js';
import { hostileEvents, XSS_PAYLOADS } from './xss-payloads.js';

const web = useWebview();

type Dom = {
  document: {
    querySelectorAll(s: string): ArrayLike<{
      tagName: string;
      attributes: ArrayLike<{ name: string; value: string }>;
      closest(s: string): unknown;
    }>;
    body: { innerText: string };
  };
};

describe('security', () => {
  it(`renders ${XSS_PAYLOADS.length} XSS payloads inert in every surface`, async () => {
    assert.ok(XSS_PAYLOADS.length >= 50);
    const ev = new Events();
    const host = await web.open();
    const dialogs: string[] = [];
    host.page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const outside: string[] = [];
    host.page.on('request', (r) => {
      if (!r.url().startsWith(web.served().url)) outside.push(r.url());
    });
    await host.load();
    const before = web.served().requests.length;
    await host.push(ev.snapshot(hostileEvents(ev)));
    await host.push({
      type: 'sessions',
      sessions: XSS_PAYLOADS.map((x, i) => ({
        id: `s${i}`,
        title: x,
        createdAt: x,
        turns: i,
        lastSeq: i,
        busy: false,
      })),
    });
    for (const x of XSS_PAYLOADS.slice(0, 8)) {
      await host.push({ type: 'notice', level: 'error', message: x });
      await host.push({ type: 'connection', status: 'error', detail: x });
    }
    // Hand the page every chance to run something: open every drawer, hover, click, sort.
    const { page } = host;
    await page.locator('.hud-state > summary').click();
    await page.locator('.trace > summary').click();
    await page.locator('.trace-list li').first().waitFor();
    await page.evaluate(() => {
      const all = (
        globalThis as unknown as {
          document: { querySelectorAll(s: string): ArrayLike<{ open: boolean }> };
        }
      ).document.querySelectorAll('details');
      for (let i = 0; i < all.length; i++) all[i].open = true;
    });
    await page.locator('.cog-table').first().locator('.sort-button').nth(0).click();
    await page.locator('.cog-table').first().locator('.pager-next').click();
    await page.mouse.move(10, 10);
    await page.mouse.move(300, 500, { steps: 10 });
    const since = host.posted.length;
    const buttons = page.locator('.cog-control-button');
    for (let i = 0; i < 10; i++) await buttons.nth(i).click();
    await page.waitForTimeout(300);

    // The button clicks posted plain actions, nothing else.
    const clicks = host.posted.slice(since);
    assert.equal(clicks.length, 10);
    assert.ok(clicks.every((m) => m.type === 'action'));

    // The payloads are on screen as text.
    const text = await page.evaluate(() => (globalThis as unknown as Dom).document.body.innerText);
    assert.ok(text.includes('<img src=x onerror="window.__xss=2">'));
    assert.ok(text.includes('<script>window.__xss=1</script>'));

    // Nothing ran, nothing loaded, nothing was even attempted (the CSP saw no violation).
    const wires = await host.tripwires();
    assert.equal(wires.xss, null, 'window.__xss was set');
    assert.equal(wires.dialogs, 0);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(wires.csp, []);
    assert.deepEqual(outside, []);
    assert.deepEqual(web.served().requests.slice(before), []);
    assert.deepEqual(host.errors, []);
    assert.deepEqual(host.invalid, []);

    // And nothing planted that could run later.
    const planted = await page.evaluate(() => {
      const doc = (globalThis as unknown as Dom).document;
      const bad: string[] = [];
      const app = doc.querySelectorAll('#app *');
      for (let i = 0; i < app.length; i++) {
        const el = app[i];
        const tag = el.tagName.toLowerCase();
        // The app's own: the composer (a form with a textarea, sized by script) and gauges.
        const own = el.closest('.composer') !== null || el.closest('.gauge') !== null;
        if (
          /^(script|iframe|object|embed|svg|math|img|form|style|link|meta|base|portal|video|audio|template|input|textarea)$/.test(
            tag,
          )
        ) {
          if (!own) bad.push(`<${tag}>`);
        }
        for (let j = 0; j < el.attributes.length; j++) {
          const { name, value } = el.attributes[j];
          if (/^on/i.test(name)) bad.push(`${tag}[${name}]`);
          if (/^style$/i.test(name) && !own) bad.push(`${tag}[${name}]`);
          if (/^(srcdoc|formaction|xlink:href|id|name)$/i.test(name)) bad.push(`${tag}[${name}]`);
          if (/^(href|src|action|data)$/i.test(name) && !/^(https?:|mailto:)/i.test(value.trim()))
            bad.push(`${tag}[${name}=${value}]`);
        }
      }
      return bad;
    });
    assert.deepEqual(planted, []);
    // The code blocks' own toolbars (added after sanitising) are the only buttons in replies.
    assert.equal(
      await page.locator('.md .cog-btn:not(.code-actions > .code-action)').count(),
      0,
      'markdown cannot borrow app classes',
    );
    assert.equal(
      await page.locator('.md .code-actions:not(.code-block > .code-actions)').count(),
      0,
    );
    await page.close();
  });

  it('serves a strict CSP as header and meta; an injected inline script does not run', async () => {
    const host = await web.open();
    const response = await host.page.goto(web.served().url);
    await host.waitFor('ready', 0);
    const header = response?.headers()['content-security-policy'] ?? '';
    const meta = await host.page
      .locator('meta[http-equiv="Content-Security-Policy"]')
      .getAttribute('content');
    assert.equal(meta, header);
    assert.equal(header, web.served().csp);
    const directives = new Map(
      header.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')] as const;
      }),
    );
    const origin = web.served().url.replace(/\/$/, '');
    assert.equal(directives.get('default-src'), "'none'");
    assert.match(directives.get('script-src') ?? '', /^'nonce-[A-Za-z0-9_-]{16,}'$/);
    assert.equal(directives.get('style-src'), origin);
    assert.equal(directives.get('img-src'), `${origin} data:`);
    assert.equal(directives.get('font-src'), origin);
    assert.doesNotMatch(header, /unsafe-|https?:\/\/(?!127\.0\.0\.1)|\*/);
    const nonce = (directives.get('script-src') ?? '').slice("'nonce-".length, -1);
    assert.equal(
      await host.page.locator('script').getAttribute('nonce'),
      '',
      'nonce hidden from the DOM',
    );
    assert.equal(await host.page.locator('script').count(), 1);
    assert.equal(
      await host.page.locator('script').getAttribute('src'),
      `${web.served().url}webview/main.js`,
    );
    assert.notEqual(nonce, '');

    // A script element put into the DOM (what an injection would do) does not run, and the
    // string forms of eval are refused too.
    const result = await host.page.evaluate(async () => {
      const g = globalThis as unknown as {
        document: {
          createElement(t: string): {
            textContent: string;
            setAttribute(n: string, v: string): void;
          };
          body: { append(n: unknown): void };
        };
        setTimeout(code: string, ms: number): void;
        __inline?: number;
        __timer?: number;
        __handler?: number;
      };
      const s = g.document.createElement('script');
      s.textContent = 'window.__inline = 1';
      g.document.body.append(s);
      const d = g.document.createElement('div');
      d.setAttribute('onclick', 'window.__handler = 1');
      g.document.body.append(d);
      (d as unknown as { click(): void }).click();
      try {
        g.setTimeout('window.__timer = 1', 0);
      } catch {
        // refused synchronously in some engines
      }
      await new Promise((r) =>
        (globalThis as unknown as { setTimeout(f: () => void, ms: number): void }).setTimeout(
          () => r(null),
          50,
        ),
      );
      return { inline: g.__inline ?? null, timer: g.__timer ?? null, handler: g.__handler ?? null };
    });
    assert.deepEqual(result, { inline: null, timer: null, handler: null });
    const wires = await host.tripwires();
    assert.ok(
      wires.csp.some((v) => v.startsWith('script-src')),
      `violations: ${wires.csp.join(' | ')}`,
    );
    await host.page.close();
  });

  it('refuses a nonce or source that would break out of the policy', () => {
    const ok = {
      cspSource: 'https://*.vscode-cdn.net',
      nonce: 'a'.repeat(24),
      scriptUri: 'x',
      styleUri: 'y',
    };
    assert.match(webviewCsp(ok), /script-src 'nonce-a{24}'/);
    assert.ok(
      renderWebviewHtml(ok).includes(`content="${webviewCsp(ok).replaceAll("'", '&#39;')}"`),
    );
    assert.throws(() => renderWebviewHtml({ ...ok, nonce: "x' 'unsafe-inline" }));
    assert.throws(() => renderWebviewHtml({ ...ok, nonce: 'short' }));
    assert.throws(() =>
      renderWebviewHtml({ ...ok, cspSource: "https://a; script-src 'unsafe-eval'" }),
    );
    const html = renderWebviewHtml({ ...ok, scriptUri: '"><script>alert(1)</script>' });
    assert.ok(!html.includes('"><script>alert(1)'));
  });
});
