import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { ProcessInfo } from '../../protocol/events.js';
import type { HostToWebview } from '../../protocol/webview.js';
import type { CogClient } from '../../extension/cog-client.js';
import { RESTRICTED_TEXT } from '../../extension/run-approvals.js';
import type { RuntimeConnection } from '../../extension/runtime-connection.js';
import { fakeWebview, localConnection, newChat, recordingLog, useHomes } from './harness.js';

// The card's Approve against a real `cog serve` (policy "ask", no elicitation offered, so a
// run waits for process-approve): the host approves only the code it sent the webview, names
// its SHA-256, and approves nothing in Restricted Mode.

const home = useHomes('cog-ext-approve-');
const { log } = recordingLog();
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Records every tool call the chat makes on the current client. */
async function spyCalls(conn: RuntimeConnection) {
  const client: CogClient = await conn.whenConnected();
  const calls: { tool: string; args: Record<string, unknown> }[] = [];
  const call = client.call.bind(client);
  client.call = ((tool, args, schema, opts) => {
    calls.push({ tool, args });
    return call(tool, args, schema, opts);
  }) as CogClient['call'];
  return calls;
}

function latestProcess(view: ReturnType<typeof fakeWebview>): ProcessInfo | undefined {
  const e = view.applied.filter((x) => x.type === 'process.updated').at(-1);
  return e?.type === 'process.updated' ? e.process : undefined;
}

const notices = (messages: HostToWebview[]) =>
  messages.flatMap((m) => (m.type === 'notice' ? [m.message] : []));

test('the card approves exactly the code the host sent it, by that code’s SHA-256', async () => {
  const conn = localConnection(home(), log, { COG_APPROVAL: 'ask' });
  const { chat } = newChat(conn, log, 'ask');
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const calls = await spyCalls(conn);

  const turn = chat.sendText('what is 17*23?');
  const p = await eventually('a run waiting for approval', () => {
    const last = latestProcess(view);
    return last?.status === 'pending-approval' ? last : undefined;
  });

  // A card that showed other code, or another tier, approves nothing.
  const before = view.messages.length;
  await chat.handle({
    type: 'approve',
    process: p.id,
    decision: 'approve',
    code: `${p.code}\nprocess.exit(3)`,
    isolation: p.isolation,
  });
  await chat.handle({
    type: 'approve',
    process: p.id,
    decision: 'approve',
    code: p.code,
    isolation: p.isolation === 'none' ? 'wasm' : 'none',
  });
  const refused = notices(view.messages.slice(before));
  assert.equal(refused.length, 2);
  for (const n of refused) assert.match(n, /did not show the code Cog holds/);
  assert.deepEqual(
    calls.filter((c) => c.tool === 'process-approve'),
    [],
    'nothing reached the runtime',
  );
  assert.equal(latestProcess(view)?.status, 'pending-approval');

  // What the card showed: approved by the SHA-256 the host computed from its own copy.
  await chat.handle({
    type: 'approve',
    process: p.id,
    decision: 'approve',
    code: p.code,
    isolation: p.isolation,
  });
  const approve = calls.filter((c) => c.tool === 'process-approve');
  assert.deepEqual(approve, [
    {
      tool: 'process-approve',
      args: { process: p.id, decision: 'approve', codeSha256: sha256(p.code) },
    },
  ]);
  if (p.codeSha256) assert.equal(sha256(p.code), p.codeSha256, 'the runtime hashes the same way');
  const done = await turn;
  assert.match(done.text, /391/);
  await chat.settled();
  assert.equal(latestProcess(view)?.status, 'done');
  assert.deepEqual(view.problems, []);
  chat.dispose();
  await conn.dispose();
});

test('Restricted Mode: the panel says why, the card cannot approve, Deny still works', async () => {
  // A runtime that would ask (a remote server's own policy): the host still approves nothing.
  const conn = localConnection(home(), log, { COG_APPROVAL: 'ask' });
  const { chat } = newChat(conn, log, 'deny', undefined, { restricted: () => true });
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const snapshotAt = view.messages.findIndex((m) => m.type === 'snapshot');
  assert.ok(snapshotAt >= 0);
  const snap = view.messages[snapshotAt];
  assert.equal(snap?.type === 'snapshot' && snap.approval, 'deny');
  assert.deepEqual(notices(view.messages.slice(snapshotAt)), [RESTRICTED_TEXT]);
  const calls = await spyCalls(conn);

  const turn = chat.sendText('what is 17*23?');
  const p = await eventually('a run waiting for approval', () => {
    const last = latestProcess(view);
    return last?.status === 'pending-approval' ? last : undefined;
  });
  const before = view.messages.length;
  await chat.handle({
    type: 'approve',
    process: p.id,
    decision: 'approve',
    code: p.code,
    isolation: p.isolation,
  });
  assert.deepEqual(notices(view.messages.slice(before)), [RESTRICTED_TEXT]);
  assert.deepEqual(
    calls.filter((c) => c.tool === 'process-approve'),
    [],
  );

  await chat.handle({
    type: 'approve',
    process: p.id,
    decision: 'deny',
    code: p.code,
    isolation: p.isolation,
  });
  assert.deepEqual(
    calls.filter((c) => c.tool === 'process-approve'),
    [{ tool: 'process-approve', args: { process: p.id, decision: 'deny' } }],
  );
  const done = await turn;
  assert.equal(done.status, 'ok');
  await chat.settled();
  assert.equal(latestProcess(view)?.status, 'denied');
  chat.dispose();
  await conn.dispose();
});

test('Restricted Mode as the launcher starts it (policy deny): a refused run says why', async () => {
  const conn = localConnection(home(), log, { COG_APPROVAL: 'deny' });
  const { chat } = newChat(conn, log, 'deny', undefined, { restricted: () => true });
  conn.start();
  const view = fakeWebview();
  chat.attach(view.post);
  await chat.handle({ type: 'ready' });
  const before = view.messages.length;
  const turn = await chat.sendText('what is 17*23?');
  assert.equal(turn.status, 'ok');
  await chat.settled();
  const statuses = view.applied.flatMap((e) =>
    e.type === 'process.updated' ? [e.process.status] : [],
  );
  assert.ok(statuses.includes('denied'), statuses.join(' '));
  assert.ok(!statuses.includes('running'), 'nothing ran');
  assert.ok(notices(view.messages.slice(before)).includes(RESTRICTED_TEXT));
  chat.dispose();
  await conn.dispose();
});
