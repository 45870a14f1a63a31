import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { probeServer } from '../../extension/oauth-discovery.js';
import { startLoopback } from '../../extension/oauth-loopback.js';
import { OAuthSession, signInKey, type TokenStore } from '../../extension/oauth-session.js';
import { SignedInSchema } from '../../extension/oauth-signin.js';
import { RuntimeConnection } from '../../extension/runtime-connection.js';
import { SignInController } from '../../extension/sign-in.js';
import { startServe, type ServeHandle } from '../helpers/cog-process.js';
import { signInHeadless, startTestIssuer, type TestIssuer } from '../helpers/oidc-provider.js';
import { newChat, recordingLog, useHomes } from './harness.js';
import { initializeRequest } from '../helpers/mcp-raw.js';

// The extension's sign-in (extension/sign-in.ts and the oauth-* modules beneath it) in
// plain Node, against the real test OpenID provider and a real `cog serve --issuer`. The
// browser is signInHeadless, which does what a person at the dev login page would, and
// then fetches the redirect the way the browser would follow it to the loopback server.

const home = useHomes('cog-ext-oauth-');
let issuer: TestIssuer;
let serve: ServeHandle;
let serverUrl: URL;

before(async () => {
  issuer = await startTestIssuer({ interactive: true });
  serve = await startServe(home(), {
    args: ['--issuer', issuer.issuer],
    env: { COG_OFFLINE: '1' },
  });
  serverUrl = new URL(serve.url);
});
after(async () => {
  await serve?.serve.stop();
  await issuer?.close();
});

/** A TokenStore that is a Map, and remembers every value written to it. */
function memoryStore() {
  const map = new Map<string, string>();
  const written: string[] = [];
  const store: TokenStore = {
    get: async (k) => map.get(k),
    set: async (k, v) => {
      written.push(v);
      map.set(k, v);
    },
    delete: async (k) => void map.delete(k),
  };
  return { map, written, store };
}

/** The browser: signs `login` in at the issuer and follows the redirect to the loopback. */
function browserAs(
  login: string,
  seen: { pages: string[]; urls: URL[] } = { pages: [], urls: [] },
) {
  return {
    seen,
    openBrowser: async (url: URL) => {
      seen.urls.push(url);
      const back = await signInHeadless(url.href, login);
      const res = await fetch(back);
      seen.pages.push(`${res.status} ${await res.text()}`);
      return true;
    },
  };
}

function controller(
  store: TokenStore,
  more: Partial<ConstructorParameters<typeof SignInController>[0]> = {},
) {
  const { log, lines } = recordingLog();
  const restarts: string[] = [];
  const offers: string[] = [];
  const signIn = new SignInController({
    store,
    log,
    openBrowser: browserAs('ada').openBrowser,
    settings: () => ({ serverUrl: serverUrl.href, oauthClientId: '' }),
    restart: (r) => void restarts.push(r),
    offerSignIn: (m) => void offers.push(m),
    ...more,
  });
  return { signIn, lines, restarts, offers };
}

test('the server asks for OAuth: the 401 names its metadata, which names resource and issuer', async () => {
  const auth = await probeServer(serverUrl);
  assert.deepEqual(auth, {
    resource: serve.url,
    issuer: issuer.issuer,
    scopes: ['cog:read', 'cog:chat', 'cog:approve'],
  });
});

test('sign-in via dynamic registration, then a chat round trip as the signed-in principal', async () => {
  const { store, map, written } = memoryStore();
  const { signIn, lines, restarts, offers } = controller(store);
  // Before signing in: the launch fails with what to do, and offers the command once.
  await assert.rejects(signIn.launch(serverUrl), {
    message: `Sign in to ${serverUrl.origin}: run "Cog: Sign In".`,
  });
  await assert.rejects(signIn.launch(serverUrl), /Sign in to/);
  assert.equal(signIn.state.status, 'signed-out');
  assert.equal(offers.length, 1, 'the notification is offered once, not on every reconnect');

  const registrations = issuer.hits.get('/reg') ?? 0;
  const signed = await signIn.signIn();
  assert.equal(issuer.hits.get('/reg'), registrations + 1, 'Cog registered itself');
  assert.deepEqual(signed.account, { sub: 'ada', name: 'Ada', email: 'ada@example.com' });
  assert.deepEqual(signed.scope?.split(' ').sort(), ['cog:approve', 'cog:chat', 'cog:read']);
  assert.ok(signed.refreshToken, 'offline_access gave a refresh token');
  assert.deepEqual(signIn.state, {
    status: 'signed-in',
    origin: serverUrl.origin,
    account: signed.account,
  });
  assert.deepEqual(restarts, ['signed in']);

  // The tokens are in the store given, under the server's and issuer's key, and nowhere
  // the test can see besides: not in the log, not in the server's stderr.
  assert.deepEqual([...map.keys()], [signInKey(serverUrl, issuer.issuer)]);
  assert.deepEqual(SignedInSchema.parse(JSON.parse(written[0]!)), signed);
  const secrets = [signed.accessToken, signed.refreshToken];
  for (const s of secrets) {
    assert.ok(!lines.join('\n').includes(s), 'no token in the log');
    assert.ok(!serve.serve.stderr().includes(s), 'no token in the server log');
  }
  assert.ok(lines.some((l) => l.includes('signed in to') && l.includes('Ada <ada@example.com>')));

  // Connect as the extension does (the launcher's OAuth branch) and chat.
  const { log } = recordingLog();
  const connection = new RuntimeConnection({
    log,
    clientVersion: 'test',
    launch: async (signal) => {
      const oauth = await signIn.launch(serverUrl, signal);
      assert.ok(oauth, 'the server takes the sign-in');
      return { url: serverUrl, label: `server ${serverUrl.origin}`, ...oauth };
    },
  });
  const { chat } = newChat(connection, log, 'ask');
  try {
    connection.start();
    await connection.whenConnected(15_000);
    assert.equal(connection.endpoint?.token, undefined, 'no fixed token to copy anywhere');
    const turn = await chat.sendText('hello');
    assert.equal(turn.status, 'ok');
    const events = await chat.trace(chat.session!);
    const created = events.find((e) => e.type === 'session.created');
    assert.equal(
      created?.type === 'session.created' && created.owner,
      `oidc:${issuer.issuer}#ada`,
      'the session belongs to the signed-in person',
    );
  } finally {
    chat.dispose();
    await connection.dispose();
  }

  // Sign-out: the tokens are gone and the next launch asks to sign in, without a notification.
  await signIn.signOut();
  assert.equal(map.size, 0);
  assert.equal(signIn.state.status, 'signed-out');
  assert.equal(await signIn.stored(), false);
  await assert.rejects(signIn.launch(serverUrl), /Sign in to/);
  assert.equal(offers.length, 1, 'no notification after the user signed out themselves');
  assert.equal(restarts.at(-1), 'signed out');
});

test('a configured client id (cog.oauthClientId): no registration', async () => {
  // The "configured" client: registered here as an administrator would, once.
  const reg = await fetch(`${issuer.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }),
  });
  const { client_id: clientId } = (await reg.json()) as { client_id: string };
  assert.ok(clientId);
  const { store } = memoryStore();
  const auth = (await probeServer(serverUrl))!;
  const session = new OAuthSession({ store, serverUrl, auth });
  const registrations = issuer.hits.get('/reg') ?? 0;
  const signed = await session.signIn({ clientId, register: false, ...browserAs('grace') });
  assert.equal(issuer.hits.get('/reg'), registrations, 'nothing registered');
  assert.equal(signed.clientId, clientId);
  assert.equal(signed.account.name, 'Grace');

  // Without a client id and told not to register, it says what to set.
  await assert.rejects(
    session.signIn({ register: false, ...browserAs('grace') }),
    /cog\.oauthClientId/,
  );
});

test('the loopback takes only the callback with its state, once; the page says what happened', async () => {
  const { store } = memoryStore();
  const auth = (await probeServer(serverUrl))!;
  const session = new OAuthSession({ store, serverUrl, auth });
  const answers: string[] = [];
  let callback: URL | undefined;
  const signed = await session.signIn({
    openBrowser: async (url) => {
      const back = await signInHeadless(url.href, 'ada');
      callback = back;
      // Someone else's link to the same port: another state, and no state at all.
      const forged = new URL(back);
      forged.searchParams.set('state', 'not-the-one');
      for (const u of [forged, new URL('/callback?code=x', back), new URL('/elsewhere', back)]) {
        const res = await fetch(u);
        answers.push(`${res.status} ${(await res.text()).trim()}`);
      }
      const res = await fetch(back);
      answers.push(`${res.status} ${(await res.text()).trim()}`);
      return true;
    },
  });
  assert.equal(signed.account.name, 'Ada');
  assert.match(answers[0]!, /^400 This is not the sign-in VS Code started/);
  assert.match(answers[1]!, /^400 /);
  assert.match(answers[2]!, /^404 /);
  assert.equal(answers[3], '200 Signed in, you can close this tab.');
  // The server is gone once it has its answer.
  await assert.rejects(fetch(callback!));
});

test('the loopback gives up after its timeout, and on cancel', async () => {
  const slow = await startLoopback({ timeoutMs: 200 });
  await assert.rejects(slow.callback('s'), { code: 'sign_in_timeout' });
  const stop = new AbortController();
  const cancelled = await startLoopback({ signal: stop.signal });
  const waiting = cancelled.callback('s');
  stop.abort();
  await assert.rejects(waiting, { code: 'sign_in_cancelled' });
  await assert.rejects(fetch(cancelled.redirectUri), 'closed after a cancel');
});

test('refreshed before expiry, one refresh for many requests, stored; a refused refresh signs out', async () => {
  const { store, map } = memoryStore();
  let now = Date.now();
  const { signIn, restarts, offers } = controller(store, { now: () => now });
  const signed = await signIn.signIn();
  const oauth = (await signIn.launch(serverUrl))!;
  assert.equal(await oauth.bearer!(), signed.accessToken, 'fresh: no refresh');

  // 30 s before expiry (inside the 60 s margin): five requests at once, one refresh.
  now = signed.expiresAt - 30_000;
  const refreshes = issuer.hits.get('/token') ?? 0;
  const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => oauth.bearer!()));
  assert.equal(issuer.hits.get('/token'), refreshes + 1, 'one refresh');
  assert.equal(new Set(tokens).size, 1);
  assert.notEqual(tokens[0], signed.accessToken, 'a new access token');
  const stored = SignedInSchema.parse(JSON.parse([...map.values()][0]!));
  assert.equal(stored.accessToken, tokens[0]);
  assert.notEqual(stored.refreshToken, signed.refreshToken, 'the rotated refresh token is kept');
  assert.ok(stored.expiresAt > now + 60_000);

  // The refreshed token is one the server takes.
  const res = await fetch(serverUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tokens[0]}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify(initializeRequest(1, 't', '2025-06-18')),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();

  // The issuer refuses the refresh (revoked): the tokens are dropped, the user is told.
  const key = [...map.keys()][0]!;
  map.set(key, JSON.stringify({ ...stored, refreshToken: 'revoked-refresh-token' }));
  const revoked = new SignInController({
    store,
    log: recordingLog().log,
    openBrowser: async () => false,
    settings: () => ({ serverUrl: serverUrl.href, oauthClientId: '' }),
    restart: (r) => void restarts.push(r),
    offerSignIn: (m) => void offers.push(m),
    now: () => stored.expiresAt,
  });
  const stale = (await revoked.launch(serverUrl))!;
  await assert.rejects(stale.bearer!(), { code: 'signed_out', message: /Signed out of/ });
  assert.equal(map.size, 0, 'the refused tokens are gone');
  assert.equal(revoked.state.status, 'signed-out');
  assert.equal(restarts.at(-1), 'the sign-in was refused by the issuer');
  assert.match(offers.at(-1)!, /invalid_grant/);
});

test('a declined browser and a server without OAuth say what happened', async () => {
  const { store } = memoryStore();
  const { signIn } = controller(store, { openBrowser: async () => false });
  await assert.rejects(signIn.signIn(), /was not opened/);
  assert.equal(signIn.state.status, 'signed-out');
  const plain = await startServe(home(), { env: { COG_OFFLINE: '1' } });
  try {
    assert.equal(await probeServer(new URL(plain.url)), undefined, 'a fixed-token server');
    const other = controller(store, {
      settings: () => ({ serverUrl: plain.url, oauthClientId: '' }),
    });
    await assert.rejects(other.signIn.signIn(), /does not ask for a sign-in/);
    assert.equal(await other.signIn.launch(new URL(plain.url)), undefined);
    assert.equal(other.signIn.state.status, 'none');
  } finally {
    await plain.serve.stop();
  }
});
