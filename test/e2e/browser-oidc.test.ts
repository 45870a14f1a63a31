// The chat in a browser with an issuer: people sign in with it (authorization code + PKCE,
// run by cog serve; the browser only ever holds its session cookie), in real Chromium
// against a real OpenID provider. Two people, two browsers: each sees only their own.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, type BrowserSession } from '../helpers/chromium.js';
import { startServe, type ServeHandle } from '../helpers/cog-process.js';
import { approveRun, lastReply, say, watchCsp } from '../helpers/browser-chat.js';
import { startTestIssuer, type TestIssuer } from '../helpers/oidc-provider.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Cog's confidential client at the issuer, registered as an operator would. */
async function registerCog(issuer: string, redirect: string) {
  const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    registration_endpoint: string;
  };
  const res = await fetch(meta.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Cog',
      redirect_uris: [redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  assert.equal(res.status, 201);
  return (await res.json()) as { client_id: string; client_secret: string };
}

/** Signs `login` in from the sign-in page, through the issuer's login and consent pages. */
async function signIn(b: BrowserSession, origin: string, login: string): Promise<void> {
  const { page } = b;
  await page.goto(`${origin}/`);
  await page.locator('a.sign-in').click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  // The consent page (the issuer asks once per client), or straight back to the chat.
  const consent = page.locator('input[name="prompt"][value="consent"]');
  await page
    .locator('input[name="prompt"][value="consent"], .web-who')
    .first()
    .waitFor()
    .catch(async (err: Error) => {
      throw new Error(
        `${err.message}\nat ${page.url()}:\n${(await page.content()).slice(0, 3000)}`,
      );
    });
  if (await consent.count()) await page.locator('button[type="submit"]').click();
  await page.locator('.web-who').waitFor();
}

/** A tool call made by the page's own fetch (its cookie), as any script on it could. */
function callFromPage(b: BrowserSession, tool: string, args: object): Promise<string> {
  return b.page.evaluate<string>(`(async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
    const post = (body, sid) => fetch('/mcp', { method: 'POST', headers: sid ? { ...headers, 'mcp-session-id': sid } : headers, body: JSON.stringify(body) });
    const init = await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'probe', version: '1' } } });
    const sid = init.headers.get('mcp-session-id');
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sid);
    const res = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: ${JSON.stringify(tool)}, arguments: ${JSON.stringify(args)} } }, sid);
    return res.text();
  })()`);
}

describe('the chat page of cog serve, signed in with the issuer', () => {
  let issuer: TestIssuer;
  let home: string;
  let served: ServeHandle;
  let origin: string;
  let ada: BrowserSession;
  let bob: BrowserSession;

  before(async () => {
    issuer = await startTestIssuer({ interactive: true });
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    const cog = await registerCog(issuer.issuer, `${origin}/auth/callback`);
    home = mkdtempSync(join(tmpdir(), 'cog-browser-oidc-'));
    served = await startServe(home, {
      args: ['--port', String(port)],
      env: {
        COG_OIDC_ISSUER: issuer.issuer,
        COG_APPROVAL: 'ask',
        COG_OIDC_CLIENT_ID: cog.client_id,
        COG_OIDC_CLIENT_SECRET: cog.client_secret,
      },
    });
    assert.equal(new URL(served.url).origin, origin);
    ada = await launchBrowser({ viewport: { width: 900, height: 800 } });
    bob = await launchBrowser({ viewport: { width: 900, height: 800 } });
  });
  after(async () => {
    await ada?.close();
    await bob?.close();
    await served?.serve.stop();
    await issuer?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses a callback this server did not start, setting no session', async () => {
    for (const query of ['code=x&state=forged', 'error=access_denied&state=forged', '']) {
      const res = await fetch(`${origin}/auth/callback?${query}`, {
        headers: { cookie: 'cog_signin=forged' },
        redirect: 'manual',
      });
      assert.equal(res.status, 400, query);
      assert.ok(!(res.headers.get('set-cookie') ?? '').includes('cog_session='), query);
      assert.match(await res.text(), /Signing in did not work/);
    }
  });

  it('signs Ada in with the issuer; she chats and approves a run as herself', async () => {
    const violations = await watchCsp(ada.page);
    await signIn(ada, origin, 'ada');
    assert.equal(
      await ada.page.locator('.web-who').textContent(),
      'signed in as Ada <ada@example.com>',
    );
    assert.equal(
      await ada.page.locator('.web-who').getAttribute('title'),
      `oidc:${issuer.issuer}#ada`,
    );
    await say(ada.page, 'what is 6*7?');
    await approveRun(ada.page, /console\.log\(6\s*\*\s*7\)/);
    assert.match(await lastReply(ada.page), /42/);
    // The verified name reached the Memorizer, which the State panel shows.
    const memory = ada.page.locator('.memory .kv');
    for (let i = 0; !((await memory.textContent()) ?? '').includes('Ada'); i++) {
      assert.ok(i < 200, `the memory shows Ada: ${await memory.textContent()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await violations(), []);
    // Cookies are per host, not per port: the issuer's (on 127.0.0.1 too) are left out.
    const cookies = (await ada.context.cookies(origin)).filter((c) => c.name.startsWith('cog_'));
    assert.deepEqual(
      cookies.map((c) => [c.name, c.httpOnly, c.sameSite]),
      [['cog_session', true, 'Strict']],
      'one cookie, the session; the sign-in binding is gone',
    );
  });

  it("shows Bob none of Ada's sessions, and refuses him hers by id", async () => {
    const adaSession = await ada.page.evaluate<string>('document.body.dataset.session');
    assert.ok(adaSession);
    await signIn(bob, origin, 'bob');
    assert.equal(
      await bob.page.locator('.web-who').textContent(),
      'signed in as Bob <bob@example.com>',
    );
    await bob.page.locator('.composer-input').waitFor();
    const options = await bob.page.locator('.session-select option').allTextContents();
    assert.ok(!options.some((o) => o.includes(adaSession)), `Bob's list: ${options.join(', ')}`);
    assert.equal(await bob.page.locator('.turn').count(), 0, 'none of her turns');
    assert.ok(!(await bob.page.locator('#app').innerText()).includes('6*7'), 'none of her text');
    for (const [tool, args] of [
      ['state', { session: adaSession }],
      ['trace', { session: adaSession }],
      ['send', { session: adaSession, text: 'hello from bob' }],
    ] as const) {
      const answer = await callFromPage(bob, tool, args);
      assert.match(answer, /not found|no session/i, `${tool}: ${answer.slice(0, 300)}`);
      assert.ok(!answer.includes('6*7'), tool);
    }
    // Her chat is as she left it.
    assert.equal(await ada.page.locator('.turn').count(), 1);
  });

  it('signs Ada out; her browser is back at the sign-in page', async () => {
    const [session] = (await ada.context.cookies(origin)).filter((c) => c.name === 'cog_session');
    await ada.page.locator('.web-sign-out').click();
    await ada.page.locator('a.sign-in').waitFor();
    const left = (await ada.context.cookies(origin)).filter((c) => c.name.startsWith('cog_'));
    assert.deepEqual(left, [], 'the session cookie is deleted');
    const replay = await fetch(`${origin}/auth/me`, {
      headers: { cookie: `cog_session=${session?.value}`, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(replay.status, 401, 'the old cookie opens nothing');
  });
});
