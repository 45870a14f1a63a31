import assert from 'node:assert/strict';
import { sendTool as send } from '../helpers/mcp-send.js';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { MIGRATIONS } from '../../server/store/pg-migrations.js';
import { cogEnv, firstJsonLine, spawnCog } from '../helpers/cog-process.js';
import { tempHome } from '../helpers/runtime.js';
import { startCogCluster, type CogCluster, type CogInstance } from '../helpers/cog-cluster.js';
import { initializeRequest } from '../helpers/mcp-raw.js';
import { readSse } from '../helpers/sse.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { startRoundRobinProxy } from '../helpers/round-robin-proxy.js';

// The multi-instance harness itself (a round-robin proxy, three `cog serve --database`
// processes), and sessions handed between instances. Losing an instance mid-turn:
// cog-cluster-failover.test.ts; leases and live events in one process: runtime-cluster.

let server: PgServer;
/** Every instance pid any test started (restarts included): none may outlive the file. */
const pids = new Set<number>();

before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
  const alive = [...pids].filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false; // ESRCH: gone
    }
  });
  assert.deepEqual(alive, [], 'no cog serve process is left running');
});

async function cluster(db: string): Promise<CogCluster> {
  const c = await startCogCluster({
    n: 3,
    databaseUrl: await server.createDatabase(db),
    env: { COG_OFFLINE: '1' },
  });
  for (const inst of c.instances) pids.add(inst.pid);
  return c;
}

/** POST initialize through `url` with `token`: what a fresh MCP client sends first. */
function initialize(url: string, token: string, origin?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      ...(origin ? { Origin: origin } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'cluster-probe', version: '1.0.0' },
      },
    }),
  });
}

async function listed(client: Client): Promise<{ id: string; turns: number }[]> {
  const r = await client.callTool({ name: 'sessions', arguments: { action: 'list' } });
  return (r.structuredContent as { sessions: { id: string; turns: number }[] }).sessions;
}

test('the proxy sends each request to the next instance, token and body through, Host as Cog wants it', async () => {
  const c = await cluster('cluster_spread');
  try {
    const mcp = `${c.proxy.url}/mcp`;
    const sessionIds = new Set<string>();
    for (let k = 0; k < 9; k++) {
      // A loopback Origin, the proxy's own: Cog accepts it, and the proxy passes it on as is.
      const res = await initialize(mcp, c.token, c.proxy.url);
      const body = await res.text();
      assert.equal(res.status, 200, body);
      assert.match(body, /"serverInfo"/);
      const sid = res.headers.get('mcp-session-id');
      assert.ok(sid, 'Mcp-Session-Id comes back through the proxy');
      sessionIds.add(sid);
    }
    assert.deepEqual(c.proxy.hits, [3, 3, 3]);
    assert.equal(sessionIds.size, 9);

    // Unauthenticated, Cog's own 401 and its challenge come back unchanged.
    const anon = await fetch(mcp);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.deepEqual(c.proxy.hits, [4, 3, 3]);

    // Why Host is rewritten: an instance refuses any Host but its own address, the
    // proxy's included (fetch will not send a Host of its choosing: node:http does).
    const direct = new URL(c.instances[0]?.url ?? '');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        {
          host: direct.hostname,
          port: direct.port,
          path: '/mcp',
          headers: { Host: `127.0.0.1:${c.proxy.port}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403);
  } finally {
    await c.stop();
  }
});

test('a session made through instance 0 is listed and continued by instance 2, running all along', async () => {
  const c = await cluster('cluster_handover');
  try {
    const zero = await c.client(0);
    const first = await send(zero, { text: 'hello' });
    assert.equal(first.status, 'ok');
    assert.match(first.text, /offline engine/);

    // Instance 2 was running all along: it heard of the session (and reads it) at once.
    const two = await c.client(2);
    // Its turn count comes with the writer's snapshot, once instance 0 let the session go.
    for (let i = 0; ; i++) {
      const sessions = await listed(two);
      const shown = sessions.map((s) => [s.id, s.turns]);
      if (shown.length === 1 && shown[0]?.[1] === 1) break;
      assert.ok(i < 100, `instance 2 lists the session with its turn: ${JSON.stringify(shown)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const trace = await two.callTool({
      name: 'trace',
      arguments: { session: first.session, limit: 1000 },
    });
    const events = (trace.structuredContent as { events: { seq: number; type: string }[] }).events;
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: events.length }, (_, i) => i + 1),
    );
    assert.equal(events.filter((e) => e.type === 'turn.done').length, 1);

    // One writer at a time works: instance 2 goes on where instance 0 stopped.
    const second = await send(two, { session: first.session, text: 'what is 6*7?' });
    assert.equal(second.session, first.session);
    assert.match(second.text, /42/);
    assert.equal((await listed(two))[0]?.turns, 2);
  } finally {
    await c.stop();
  }
});

test('with every instance down the proxy answers 502, with a short text', async () => {
  const c = await cluster('cluster_all_down');
  try {
    // Set down: not even tried.
    for (const i of [0, 1, 2]) c.proxy.setDown(i, true);
    const skipped = await fetch(`${c.proxy.url}/mcp`);
    assert.equal(skipped.status, 502);
    assert.match(skipped.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await skipped.text(), /no backend is up/);
    assert.deepEqual(c.proxy.hits, [0, 0, 0]);

    // Really gone: every connection is refused, and the answer is the same.
    for (const i of [0, 1, 2]) {
      c.proxy.setDown(i, false);
      c.kill(i, 'SIGKILL');
    }
    const exits = await Promise.all(c.instances.map((inst) => inst.proc.exited));
    assert.deepEqual(exits, ['SIGKILL', 'SIGKILL', 'SIGKILL']);
    const refused = await fetch(`${c.proxy.url}/mcp`);
    assert.equal(refused.status, 502);
    assert.match(await refused.text(), /no backend is up/);
    assert.deepEqual(c.proxy.hits, [0, 0, 0]);
  } finally {
    await c.stop();
  }
});

test('a backend set down or refusing connections is skipped; the others take its turns', async () => {
  const c = await cluster('cluster_skip');
  try {
    const get = async () => {
      const res = await fetch(`${c.proxy.url}/mcp`);
      await res.arrayBuffer();
      assert.equal(res.status, 401, 'Cog answered, not the proxy');
    };
    c.proxy.setDown(1, true);
    for (let k = 0; k < 4; k++) await get();
    assert.deepEqual(c.proxy.hits, [2, 0, 2]);
    c.proxy.setDown(1, false);
    for (let k = 0; k < 3; k++) await get();
    assert.deepEqual(c.proxy.hits, [3, 1, 3]);

    // Pinned to one instance, a whole MCP session works through the proxy: the
    // initialize, its Mcp-Session-Id on every request after it, SSE answers streamed back.
    c.proxy.setDown(1, true);
    c.proxy.setDown(2, true);
    const before = [...c.proxy.hits];
    const pinned = await c.client('proxy');
    const turn = await send(pinned, { text: 'what is 17*23?' });
    assert.match(turn.text, /391/);
    assert.ok((c.proxy.hits[0] ?? 0) >= (before[0] ?? 0) + 3, 'initialize, initialized, call');
    assert.deepEqual(c.proxy.hits.slice(1), before.slice(1));
    await pinned.close();

    // A killed instance refuses the connection: its turn goes to the next one.
    c.proxy.setDown(1, false);
    c.proxy.setDown(2, false);
    c.kill(1, 'SIGKILL');
    assert.equal(await c.instances[1]?.proc.exited, 'SIGKILL');
    const at = [...c.proxy.hits];
    for (let k = 0; k < 4; k++) await get();
    assert.equal(c.proxy.hits[1], at[1], 'nothing reached the dead instance');
    assert.equal((c.proxy.hits[0] ?? 0) + (c.proxy.hits[2] ?? 0), (at[0] ?? 0) + (at[2] ?? 0) + 4);
  } finally {
    await c.stop();
  }
});

test('the proxy streams an open response as it comes, and a client that goes away aborts it upstream', async () => {
  // A backend that holds an SSE stream open, as Cog's GET /mcp does: one event, then nothing.
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
  const backend = createServer((req, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'X-Seen-Event-Id': String(req.headers['last-event-id']),
    });
    res.write('id: 7\ndata: first\n\n');
    res.on('close', () => upstreamClosed());
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const proxy = await startRoundRobinProxy([
    `http://127.0.0.1:${(backend.address() as AddressInfo).port}`,
  ]);
  try {
    const abort = new AbortController();
    const res = await fetch(`${proxy.url}/mcp`, {
      headers: { 'Last-Event-ID': '6' },
      signal: abort.signal,
    });
    assert.equal(res.headers.get('x-seen-event-id'), '6', 'Last-Event-ID went through');
    const reader = res.body?.getReader();
    assert.ok(reader);
    // The first event arrives while the backend's response is still open: nothing buffered.
    const chunk = await reader.read();
    assert.match(new TextDecoder().decode(chunk.value), /data: first/);
    abort.abort();
    // The backend sees its response cut: the abort reached it (a deadline, not a hang, if not).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the backend never saw the abort')), 5000);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await proxy.close();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  }
});

test('an MCP client behind the round-robin proxy: one MCP session, each request on the next instance', async () => {
  const c = await cluster('cluster_proxy_session');
  try {
    const before = [...c.proxy.hits];
    const client = await c.client('proxy');
    const first = await send(client, { text: 'what is 6*7?' });
    assert.match(first.text, /42/);
    const second = await send(client, { session: first.session, text: 'I’m Ada' });
    assert.equal(second.session, first.session);
    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === 'send'));
    assert.equal((await listed(client)).length, 1);
    const spread = c.proxy.hits.map((h, i) => h - (before[i] ?? 0));
    assert.ok(
      spread.every((h) => h > 0),
      `every instance served some of the session's requests: ${spread.join('/')}`,
    );
    await client.close();
  } finally {
    await c.stop();
  }
});

test('a tool call cut off on one instance is resumed with Last-Event-ID on another, answer included', async () => {
  const c = await cluster('cluster_resume');
  try {
    const [zero, one] = c.instances as [CogInstance, CogInstance];
    const headers = {
      Authorization: `Bearer ${c.token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': '2025-11-25',
    };
    const init = await fetch(zero.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(initializeRequest(1, 'resumer')),
    });
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid, 'a session id');
    await init.body?.cancel();
    const withSession = { ...headers, 'Mcp-Session-Id': sid };
    await fetch(zero.url, {
      method: 'POST',
      headers: withSession,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    }).then((r) => r.body?.cancel());
    // The call goes to instance 0; the client reads its first event and goes away.
    const call = new AbortController();
    const res = await fetch(zero.url, {
      method: 'POST',
      headers: withSession,
      signal: call.signal,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'send', arguments: { text: 'what is 6*7?' } },
      }),
    });
    assert.ok(res.body);
    const [firstEvent] = await readSse(res.body, (e) => e.id !== undefined);
    call.abort();
    assert.ok(firstEvent?.id, 'the stream hands out an event id');
    // Instance 1 never saw this MCP session; resuming there still brings the answer.
    const resumed = await fetch(one.url, {
      method: 'GET',
      headers: { ...withSession, Accept: 'text/event-stream', 'Last-Event-ID': firstEvent.id },
    });
    assert.equal(resumed.status, 200);
    assert.ok(resumed.body);
    const replayed = await readSse(resumed.body, (e) => e.data.includes('"id":7'));
    const answer = replayed.map((e) => JSON.parse(e.data || '{}')).find((m) => m.id === 7);
    assert.ok(answer?.result, `the call's answer: ${JSON.stringify(replayed).slice(0, 400)}`);
    assert.match(JSON.stringify(answer.result), /42/);
  } finally {
    await c.stop();
  }
});

test('behind the proxy, a subscription made through one instance is announced by the one holding the GET stream', async () => {
  const c = await cluster('cluster_subscriptions');
  try {
    const client = await c.client('proxy');
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updated.push(n.params.uri);
    });
    const first = await send(client, { text: 'hello' });
    const uri = `cog://sessions/${first.session}/state`;
    await client.subscribeResource({ uri });
    await send(client, { session: first.session, text: 'what is 6*7?' });
    for (let i = 0; !updated.includes(uri); i++) {
      assert.ok(i < 100, `an update of ${uri} arrived (got ${JSON.stringify(updated)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.close();
  } finally {
    await c.stop();
  }
});

test('made on 0, sent on 1 and 2 at once, followed live on 2: turns one at a time, each done once', async () => {
  const c = await cluster('cluster_live');
  try {
    const [zero, one, two] = await Promise.all([c.client(0), c.client(1), c.client(2)]);
    const made = await send(zero, { text: 'hello' });
    const uri = `cog://sessions/${made.session}/trace`;
    const live: string[] = [];
    two.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      live.push(n.params.uri);
    });
    await two.subscribeResource({ uri });
    const [a, b] = await Promise.all([
      send(one, { session: made.session, text: 'what is 2+3?' }),
      send(two, { session: made.session, text: 'what is 4+5?' }),
    ]);
    assert.match(a.text, /5/);
    assert.match(b.text, /9/);
    assert.ok(live.includes(uri), 'instance 2 announced the trace as it grew');
    const r = await zero.callTool({
      name: 'trace',
      arguments: { session: made.session, limit: 1000 },
    });
    const events = (
      r.structuredContent as {
        events: { seq: number; type: string; turn?: string; node: string }[];
      }
    ).events;
    assert.deepEqual(
      events.map((e) => e.seq),
      events.map((_, i) => i + 1),
    );
    const order: string[] = [];
    for (const e of events) {
      if (!e.turn || e.type === 'turn.queued' || e.node === 'memorizer') continue;
      if (order.at(-1) !== e.turn) order.push(e.turn);
    }
    assert.equal(new Set(order).size, order.length, `no interleaving: ${order.join(' ')}`);
    assert.equal(events.filter((e) => e.type === 'turn.done').length, 3);
  } finally {
    await c.stop();
  }
});

test('three cog serve started at once on a new database: one migrates, all serve', async () => {
  const url = await server.createDatabase('cluster_migrate_race');
  const homes = [0, 1, 2].map((i) => tempHome(`cog-migrate-race-${i}-`));
  const procs = homes.map((h) =>
    spawnCog(['serve', '--port', '0', '--database', url], cogEnv(h.home, { COG_OFFLINE: '1' })),
  );
  try {
    const lines = await Promise.all(procs.map((p) => firstJsonLine<{ url: string }>(p, 30_000)));
    for (const p of procs) if (p.child.pid) pids.add(p.child.pid);
    assert.equal(new Set(lines.map((l) => l.url)).size, 3);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT version FROM cog_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => Number(r.version)),
        MIGRATIONS.map((m) => m.version),
        'each step applied once',
      );
    } finally {
      await db.end();
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    for (const h of homes) h.cleanup();
  }
});
