import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { HostToWebview } from '../../protocol/webview.js';
import { ChatController } from '../../extension/chat-controller.js';
import type { Logger } from '../../extension/emitter.js';
import {
  RuntimeConnection,
  type ConnectionOptions,
  type ConnectionState,
} from '../../extension/runtime-connection.js';
import { runtimeEnv, type CogSettings } from '../../extension/runtime-env.js';
import { startLocalRuntime, RuntimeStartError } from '../../extension/runtime-process.js';
import { cogBin, ensureBuilt, spawnCog } from '../helpers/cog-process.js';

// The extension's connection and relay are plain Node: here they run against a real
// `cog serve` child, started the way the extension starts it.

const homes: string[] = [];
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cog-ext-'));
  homes.push(dir);
  return dir;
}
after(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));
before(() => ensureBuilt());

const logged: string[] = [];
const log: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: (m) => logged.push(m),
  warn: (m) => logged.push(m),
  error: (m) => logged.push(m),
};

const settings: CogSettings = {
  baseUrl: '',
  model: '',
  models: { input: '', thinker: '', output: '', memorizer: '' },
  pipeline: 'fast',
  approvalPolicy: 'auto',
  serverUrl: '',
};

/** What the extension would give the child, with `extra` on top (to break it on purpose). */
function env(dir: string, extra: NodeJS.ProcessEnv = {}) {
  return {
    ...runtimeEnv({ PATH: process.env.PATH, HOME: dir }, settings, dir, undefined),
    ...extra,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function localConnection(
  dir: string,
  extra: NodeJS.ProcessEnv = {},
  more: Partial<ConnectionOptions> = {},
) {
  return new RuntimeConnection({
    ...more,
    log,
    clientVersion: 'test',
    backoff: { baseMs: 100, maxMs: 400 },
    launch: async (signal) => {
      const r = await startLocalRuntime({
        execPath: process.execPath,
        bundle: cogBin,
        env: env(dir, extra),
        log,
        signal,
      });
      return { ...r, label: `local runtime (pid ${r.pid})`, stop: () => r.stop() };
    },
  });
}

function until<T>(
  subscribe: (listener: (v: T) => void) => { dispose(): void },
  pred: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = subscribe((v) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(v);
    });
  });
}

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
  const conn = localConnection(home());
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

test('RuntimeConnection: a runtime that cannot start shows an error and keeps retrying', async () => {
  const conn = localConnection(home(), { COG_PIPELINE: 'sideways' });
  const seen: ConnectionState[] = [];
  conn.onDidChangeState((s) => seen.push(s));
  conn.start();
  const s = await until(conn.onDidChangeState, (st) => st.status === 'error');
  assert.match(s.detail ?? '', /COG_PIPELINE=sideways is not valid.*retrying in/);
  await until(conn.onDidChangeState, (st) => st.status === 'reconnecting');
  await until(conn.onDidChangeState, (st) => st.status === 'error');
  await conn.dispose();
  assert.equal(conn.state.status, 'stopped');
});

/** A webview stand-in: applies events the way webview/event-log.ts does (drops seq ≤ last). */
function fakeWebview() {
  const messages: HostToWebview[] = [];
  let lastSeq = 0;
  let session: string | undefined;
  const applied: RuntimeEvent[] = [];
  const problems: string[] = [];
  const apply = (events: RuntimeEvent[]) => {
    for (const e of events) {
      if (e.seq <= lastSeq) continue;
      if (e.seq !== lastSeq + 1 && applied.length) problems.push(`gap ${lastSeq} → ${e.seq}`);
      lastSeq = e.seq;
      applied.push(e);
    }
  };
  const post = (m: HostToWebview) => {
    messages.push(m);
    if (m.type === 'snapshot') {
      if (!m.resumed) {
        applied.length = 0;
        lastSeq = 0;
      }
      session = m.session;
      apply(m.events);
    } else if (m.type === 'events') {
      if (m.session === session) apply(m.events);
    }
  };
  return {
    post,
    messages,
    applied,
    problems,
    get lastSeq() {
      return lastSeq;
    },
    get session() {
      return session;
    },
  };
}

test('ChatController: snapshot, a streamed turn in seq order, resume after a runtime crash', async () => {
  const conn = localConnection(home());
  let remembered: string | undefined;
  const chat = new ChatController({
    connection: conn,
    log,
    approval: () => 'auto',
    memory: { get: () => remembered, set: (s) => (remembered = s) },
  });
  conn.start();
  const view = fakeWebview();
  const attached = chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const snap = view.messages.find((m) => m.type === 'snapshot');
  assert.ok(snap && snap.type === 'snapshot');
  assert.equal(snap.resumed, false);
  assert.equal(snap.model.offline, true);
  assert.equal(snap.session, remembered);

  const turn = await chat.sendText('hello');
  assert.equal(turn.status, 'ok');
  await chat.settled();
  const types = view.applied.map((e) => e.type);
  for (const t of [
    'user.message',
    'turn.started',
    'output.delta',
    'assistant.message',
    'turn.done',
  ]) {
    assert.ok(types.includes(t as never), `the webview got ${t}: ${types.join(' ')}`);
  }
  assert.deepEqual(view.problems, [], 'every seq arrived, in order');

  // Crash: the runtime restarts, the session (same COG_HOME) continues from the cursor.
  const before = view.lastSeq;
  process.kill(conn.endpoint!.pid!, 'SIGKILL');
  await until(conn.onDidChangeState, (s) => s.status === 'connected', 20_000);
  const math = await chat.sendText('what is 17*23?');
  assert.match(math.text, /391/);
  await chat.settled();
  assert.deepEqual(view.problems, []);
  assert.ok(view.lastSeq > before);
  const proc = view.applied.find(
    (e) => e.type === 'process.updated' && e.process.status === 'done',
  );
  assert.ok(proc, 'the process finished and the webview saw it');

  // A re-shown view: `ready` with its lastSeq gets only what follows.
  attached.dispose();
  const again = fakeWebview();
  chat.attach(again.post);
  await chat.handle({ type: 'ready', session: remembered, lastSeq: before });
  const resumed = again.messages.find((m) => m.type === 'snapshot');
  assert.ok(resumed && resumed.type === 'snapshot' && resumed.resumed);
  assert.ok(resumed.events.every((e) => e.seq > before));
  assert.equal(resumed.events[0]?.seq, before + 1);

  chat.dispose();
  await conn.dispose();
});

test('ChatController: Cancel Turn stops a turn whose run waits for approval', async () => {
  const asked: string[] = [];
  // The user has not answered yet: the question stays open until the server withdraws it.
  const conn = localConnection(
    home(),
    { COG_APPROVAL: 'ask' },
    {
      onElicit: (q, signal) => {
        asked.push(q.message);
        return new Promise((resolve) =>
          signal.addEventListener('abort', () => resolve({ action: 'cancel' })),
        );
      },
    },
  );
  let remembered: string | undefined;
  const chat = new ChatController({
    connection: conn,
    log,
    approval: () => 'ask',
    memory: { get: () => remembered, set: (s) => (remembered = s) },
  });
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const turn = chat.sendText('what is 17*23?');
  turn.catch(() => undefined);
  const deadline = Date.now() + 15_000;
  while (!asked.length) {
    assert.ok(Date.now() < deadline, 'the approval question arrives');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(asked[0]!, /Cog wants to run javascript code[\s\S]*17\s*\*\s*23/);
  assert.equal(chat.cancelTurn(), true);
  await assert.rejects(turn, /abort/i);
  const events = await chat.trace(remembered!);
  const done = events.filter((e) => e.type === 'turn.done').at(-1);
  assert.equal(done?.type === 'turn.done' && done.status, 'cancelled');
  const last = events.filter((e) => e.type === 'process.updated').at(-1);
  assert.ok(last?.type === 'process.updated' && last.process.status !== 'pending-approval');
  await chat.settled();
  assert.deepEqual(view.problems, []);
  chat.dispose();
  await conn.dispose();
});

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

test('ChatController: a remembered session the runtime does not have is replaced, a bad switch is a notice', async () => {
  const conn = localConnection(home());
  let remembered: string | undefined = 'gone-1';
  const chat = new ChatController({
    connection: conn,
    log,
    approval: () => 'auto',
    memory: { get: () => remembered, set: (s) => (remembered = s) },
  });
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready', session: 'gone-1', lastSeq: 40 });
  const snap = view.messages.find((m) => m.type === 'snapshot');
  assert.ok(snap?.type === 'snapshot');
  assert.notEqual(snap.session, 'gone-1');
  assert.equal(snap.resumed, false, 'a new session starts from scratch');
  assert.equal(remembered, snap.session);

  await chat.handle({ type: 'switchSession', session: 'nope' });
  const notice = view.messages.find((m) => m.type === 'notice');
  assert.ok(notice?.type === 'notice' && /no session nope/i.test(notice.message));
  assert.equal(remembered, snap.session, 'the shown session stays');
  chat.dispose();
  await conn.dispose();
});
