// The chat in a browser, as `cog serve` serves it at `/` (no issuer: one-time sign-in
// links), in real headless Chromium: sign in with the printed link, chat, approve a run on
// its card, sign out; the link works once, the token never reaches the page, and the
// cookie is good only for the page's own requests while signed in.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, type BrowserSession } from '../helpers/chromium.js';
import { startServe, type ServeHandle } from '../helpers/cog-process.js';
import { approveRun, lastReply, loginLink, say, watchCsp } from '../helpers/browser-chat.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

describe('the chat page of cog serve, signed in with a one-time link', () => {
  let home: string;
  let served: ServeHandle;
  let origin: string;
  let browser: BrowserSession;
  const requests: { url: string; headers: Record<string, string> }[] = [];

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'cog-browser-'));
    served = await startServe(home, { env: { COG_APPROVAL: 'ask' } });
    origin = new URL(served.url).origin;
    browser = await launchBrowser({ viewport: { width: 900, height: 800 } });
    browser.page.on('request', (r) => requests.push({ url: r.url(), headers: r.headers() }));
  });
  after(async () => {
    await browser?.close();
    await served?.serve.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('shows a sign-in page, no chat, to a browser that is not signed in', async () => {
    const res = await fetch(`${origin}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /sign-in link that <code>cog serve<\/code> printed/);
    assert.doesNotMatch(html, /<script/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const me = await fetch(`${origin}/auth/me`);
    assert.equal(me.status, 401);
  });

  it('signs in with the link, chats, and approves a run on its card', async () => {
    const { page } = browser;
    const violations = await watchCsp(page);
    const link = await loginLink(served.serve);
    await page.goto(link);
    assert.equal(page.url(), `${origin}/`, 'the code is gone from the address bar');
    await page.locator('.web-who').waitFor();
    assert.match((await page.locator('.web-who').textContent()) ?? '', /signed in as local:/);

    const [cookie] = await browser.context.cookies(origin);
    assert.equal(cookie?.name, 'cog_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');

    await say(page, 'what is 17*23?');
    await approveRun(page, /console\.log\(17\s*\*\s*23\)/);
    assert.match(await lastReply(page), /391/);
    // The card says where the code ran.
    assert.match(
      (await page.locator('.turn').last().locator('.proc-isolation').textContent()) ?? '',
      /\S/,
    );
    assert.deepEqual(await violations(), [], 'no CSP violations');

    // The bearer token is nowhere the page can reach: not in its HTML, storage, cookies
    // readable by script, or any request it made.
    const seen = await page.evaluate<Record<string, string>>(`({
      html: document.documentElement.outerHTML,
      cookie: document.cookie,
      storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    })`);
    for (const [where, text] of Object.entries(seen)) {
      assert.ok(!text.includes(served.token), `the token is not in the page's ${where}`);
    }
    assert.equal(seen.cookie, '', 'the session cookie is HttpOnly');
    assert.ok(requests.length > 5);
    for (const r of requests) {
      assert.ok(!r.url.includes(served.token), `no token in ${r.url}`);
      assert.equal(r.headers.authorization, undefined, `no Authorization header on ${r.url}`);
    }
  });

  it('accepts the cookie only from its own page, and a link only once', async () => {
    const [cookie] = await browser.context.cookies(origin);
    const jar = `cog_session=${cookie?.value}`;
    const init = (site: string) => ({
      method: 'POST',
      headers: {
        cookie: jar,
        'sec-fetch-site': site,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(initializeRequest()),
    });
    assert.equal((await fetch(`${origin}/mcp`, init('same-origin'))).status, 200);
    for (const site of ['cross-site', 'same-site', 'none']) {
      assert.equal((await fetch(`${origin}/mcp`, init(site))).status, 401, site);
    }
    // The first link was used; a fresh one was printed for the next browser.
    const used = await loginLink(served.serve);
    const again = await fetch(used, { redirect: 'manual' });
    assert.equal(again.status, 403);
    assert.equal(again.headers.get('set-cookie'), null);
    const fresh = await loginLink(served.serve, served.serve.stderr().indexOf(used) + used.length);
    assert.notEqual(fresh, used);
  });

  it('signs out: the sign-in page again, and the old cookie opens nothing', async () => {
    const { page } = browser;
    const [cookie] = await browser.context.cookies(origin);
    await page.locator('.web-sign-out').click();
    await page.waitForURL(`${origin}/`);
    await page.locator('.sign-in-page').waitFor();
    assert.equal((await browser.context.cookies(origin)).length, 0, 'the cookie is deleted');
    const replay = await fetch(`${origin}/auth/me`, {
      headers: { cookie: `cog_session=${cookie?.value}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(replay.status, 401, 'the session ended on the server too');
  });
});
