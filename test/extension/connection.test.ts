import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RuntimeConnection, type ConnectionState } from '../../extension/runtime-connection.js';
import { alive } from '../../extension/runtime-lease.js';
import { startLocalRuntime, RuntimeStartError } from '../../extension/runtime-process.js';
import { cogBin, spawnCog } from '../helpers/cog-process.js';
import { env, freePort, localConnection, recordingLog, until, useHomes } from './harness.js';

// The extension's runtime connection against a real `cog serve` child, started the way
// the extension starts it: launch, restart with backoff, remote servers, bad tokens.

const home = useHomes('cog-ext-');
const { log } = recordingLog();

test('startLocalRuntime: reads the serve line and the token; stop() ends the child', async () => {
  const r = await startLocalRuntime({
    execPath: process.execPath,
    bundle: cogBin,
    env: env(home()),
    log,
  });
  assert.equal(r.url.hostname, '127.0.0.1');
  assert.match(r.token, /^[A-Za-z0-9_-]{43,}$/);
  assert.ok(alive(r.pid));
  const unauthorized = await fetch(r.url, { method: 'POST', body: '{}' });
  assert.equal(unauthorized.status, 401, 'the runtime wants the bearer token');
  await r.stop();
  assert.ok(!alive(r.pid));
});

test('startLocalRuntime: a runtime that refuses to start reports its own reason', async () => {
  await assert.rejects(
    startLocalRuntime({
      execPath: process.execPath,
      bundle: cogBin,
      env: { ...env(home()), COG_PIPELINE: 'sideways' },
      log,
    }),
    (err: Error) =>
      err instanceof RuntimeStartError && /COG_PIPELINE=sideways is not valid/.test(err.message),
  );
});

test('RuntimeConnection: connects, restarts a killed runtime with backoff, stops it on dispose', async () => {
  const conn = localConnection(home(), log);
  const states: ConnectionState['status'][] = [];
  conn.onDidChangeState((s) => states.push(s.status));
  conn.start();
  const client = await conn.whenConnected(20_000);
  await client.ping();
  const first = conn.endpoint!;
  assert.ok(first.pid && alive(first.pid));

  process.kill(first.pid, 'SIGKILL');
  await until(conn.onDidChangeState, (s) => s.status === 'reconnecting');
  await until(conn.onDidChangeState, (s) => s.status === 'connected', 20_000);
  const second = conn.endpoint!;
  assert.notEqual(second.pid, first.pid, 'a new runtime was started');
  assert.equal(second.token, first.token, 'the token file in COG_HOME is reused');
  await conn.client!.ping();

  await conn.dispose();
  assert.equal(conn.state.status, 'stopped');
  assert.ok(!alive(second.pid!), 'dispose stopped the runtime');
  assert.deepEqual(states.slice(0, 2), ['starting', 'connected']);
});

test('RuntimeConnection: a runtime that cannot start shows an error and keeps retrying', async (t) => {
  // Not a settings problem: another runtime holds the home (it may go away, so retrying helps).
  const dir = home();
  const holder = spawnCog(['mcp'], env(dir) as Record<string, string>);
  t.after(() => holder.child.kill('SIGKILL'));
  for (let i = 0; i < 200 && !holder.stderr().includes('serving MCP on stdio'); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const conn = localConnection(dir, log);
  conn.start();
  const s = await until(conn.onDidChangeState, (st) => st.status === 'error');
  assert.match(s.detail ?? '', /retrying in/);
  assert.ok(!s.needsSetup);
  await until(conn.onDidChangeState, (st) => st.status === 'reconnecting');
  await until(conn.onDidChangeState, (st) => st.status === 'error');
  await conn.dispose();
  assert.equal(conn.state.status, 'stopped');
});

test('RuntimeConnection: bad settings are a setup error, not retried until they change', async () => {
  // A base URL without a model: cog exits with EX_CONFIG, naming the setting to fix.
  const conn = localConnection(home(), log, {
    COG_LLM_BASE_URL: 'http://127.0.0.1:9/v1',
    COG_SURFACE: 'vscode',
  });
  const seen: ConnectionState[] = [];
  conn.onDidChangeState((s) => seen.push(s));
  conn.start();
  const s = await until(conn.onDidChangeState, (st) => st.status === 'error', 20_000);
  assert.ok(s.needsSetup, 'marked as needing setup');
  assert.match(s.detail ?? '', /No model named for the \w+ node: set Cog: Model \(cog\.model\)/);
  assert.doesNotMatch(s.detail ?? '', /COG_MODEL|retrying/, 'no environment variable, no retry');
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(
    seen.filter((st) => st.status === 'starting' || st.status === 'reconnecting').length,
    1,
    'started once, then waited',
  );
  conn.restart('settings changed');
  await until(conn.onDidChangeState, (st) => st.status === 'reconnecting');
  await until(conn.onDidChangeState, (st) => st.status === 'error' && st.needsSetup === true);
  await conn.dispose();
  assert.equal(conn.state.status, 'stopped');
});

/** A webview stand-in: applies events the way webview/event-log.ts does (drops seq ≤ last). */
test('RuntimeConnection to a server (cog.serverUrl): a server that goes away is noticed and rejoined', async () => {
  const dir = home();
  const port = await freePort();
  const serveEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env(dir))) if (v !== undefined) serveEnv[k] = v;
  const serve = () => spawnCog(['serve', '--port', String(port)], serveEnv);
  const waitLine = async (p: ReturnType<typeof serve>) => {
    for (let i = 0; i < 200 && !p.stderr().includes('MCP on'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let server = serve();
  await waitLine(server);
  const token = readFileSync(join(dir, 'token'), 'utf8').trim();
  const conn = new RuntimeConnection({
    log,
    clientVersion: 'test',
    backoff: { baseMs: 100, maxMs: 300 },
    pingIntervalMs: 200,
    launch: async () => ({ url: new URL(`http://127.0.0.1:${port}/mcp`), token, label: 'server' }),
  });
  try {
    conn.start();
    await conn.whenConnected(10_000);
    assert.equal(conn.endpoint?.pid, undefined, 'nothing of ours to stop');
    await server.stop();
    await until(conn.onDidChangeState, (s) => s.status !== 'connected', 10_000);
    server = serve();
    await until(conn.onDidChangeState, (s) => s.status === 'connected', 20_000);
    await conn.client!.ping();
  } finally {
    await conn.dispose();
    await server.stop();
  }
});

test('RuntimeConnection to a server with a wrong token says so', async () => {
  const dir = home();
  const runtime = await startLocalRuntime({
    execPath: process.execPath,
    bundle: cogBin,
    env: env(dir),
    log,
  });
  const conn = new RuntimeConnection({
    log,
    clientVersion: 'test',
    backoff: { baseMs: 100, maxMs: 300 },
    launch: async () => ({
      url: runtime.url,
      token: 'not-the-token',
      label: 'server',
      authHint: 'Check the token.',
    }),
  });
  try {
    conn.start();
    const s = await until(conn.onDidChangeState, (st) => st.status === 'error');
    assert.match(
      s.detail ?? '',
      /^cannot connect to server: Unauthorized: a valid bearer token is required Check the token\. \(retrying in 0 s\)$/,
    );
    assert.doesNotMatch(s.detail ?? '', /not-the-token/);
  } finally {
    await conn.dispose();
    await runtime.stop();
  }
});
