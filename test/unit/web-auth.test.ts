import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { localIdentity } from '../../server/auth/identity.js';
import { BrowserSessions } from '../../server/web/browser-sessions.js';
import { fromOwnPage, readCookie, setCookie } from '../../server/web/cookies.js';
import { LoginLinks } from '../../server/web/login-links.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('BrowserSessions: a session ends at its lifetime, when idle, when evicted, on sign-out', () => {
  let now = 0;
  const s = new BrowserSessions({ lifetimeMs: 1000, idleMs: 300, max: 2, now: () => now });
  const ada = localIdentity('oidc:x#ada');
  const a = s.create(ada);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(s.identity(a), ada);
  assert.equal(s.identity(`${a}x`), undefined, 'a changed id is no one');
  now = 250;
  assert.equal(s.identity(a), ada, 'use keeps it alive');
  now = 560;
  assert.equal(s.identity(a), undefined, 'idle for 300 ms: ended');
  const b = s.create(ada);
  for (now = 700; now < 1700; now += 200) assert.equal(s.identity(b), ada);
  now = 1700 + 1; // past the lifetime from 560
  assert.equal(s.identity(b), undefined, 'lifetime over');
  const [c, d] = [s.create(ada), s.create(ada)];
  s.identity(c); // c used last: d is the least recently used
  s.create(ada);
  assert.equal(s.identity(d), undefined, 'evicted past max');
  assert.equal(s.identity(c), ada);
  assert.equal(s.end(c), true);
  assert.equal(s.identity(c), undefined);
  assert.equal(s.end(undefined), false);
});

test('LoginLinks: each code works once, only in time, and only as issued', () => {
  let now = 0;
  const links = new LoginLinks(1000, () => now);
  const code = links.issue();
  assert.equal(links.redeem(`${code}A`), false);
  assert.equal(links.redeem(code), true);
  assert.equal(links.redeem(code), false, 'used up');
  const late = links.issue();
  now = 1000;
  assert.equal(links.redeem(late), false, 'expired');
  assert.equal(links.redeem(null), false);
  assert.equal(links.redeem('x'.repeat(500)), false);
});

test('cookies: read by exact name; set HttpOnly with SameSite; own page by fetch metadata', () => {
  const r = req({ cookie: 'other=1; cog_session=abc; xcog_session=evil' });
  assert.equal(readCookie(r, 'cog_session'), 'abc');
  assert.equal(readCookie(req({}), 'cog_session'), undefined);
  assert.equal(
    setCookie('cog_session', 'v', { sameSite: 'Strict', maxAge: 60, secure: true }),
    'cog_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure',
  );
  const host = { host: '127.0.0.1:7411' };
  assert.equal(fromOwnPage(req({ ...host, 'sec-fetch-site': 'same-origin' })), true);
  for (const site of ['same-site', 'cross-site', 'none']) {
    assert.equal(fromOwnPage(req({ ...host, 'sec-fetch-site': site })), false, site);
  }
  assert.equal(fromOwnPage(req({ ...host, origin: 'http://127.0.0.1:7411' })), true);
  assert.equal(fromOwnPage(req({ ...host, origin: 'http://127.0.0.1:3000' })), false);
  assert.equal(fromOwnPage(req({ ...host, origin: 'null' })), false);
  assert.equal(fromOwnPage(req(host)), false, 'neither: not proven');
});
