import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { PipelineMode, RuntimeEvent } from '../../protocol/events.js';
import { startTime } from '../../server/processes/leftovers.js';
import { createRuntime } from '../../server/runtime/runtime.js';
import { createFileStore } from '../../server/store/file-store.js';
import { eventsOf, labels, tempHome, testConfig } from '../helpers/runtime.js';

const OWNER = 'local:test';
const homes: { cleanup(): void }[] = [];
after(() => homes.forEach((h) => h.cleanup()));

async function offlineRuntime(mode: PipelineMode, home = tempHome()) {
  homes.push(home);
  const runtime = await createRuntime(testConfig(home.home, { pipeline: mode }), {
    sandbox: 'none',
  });
  const { id } = await runtime.createSession(OWNER);
  const events: RuntimeEvent[] = [];
  await runtime.subscribe(id, OWNER, (e) => events.push(e));
  return { runtime, id, events, home };
}

for (const mode of ['fast', 'faithful'] as const) {
  describe(`offline engine, ${mode} pipeline`, () => {
    test('arithmetic runs a process and answers with its output', async () => {
      const { runtime, id, events } = await offlineRuntime(mode);
      const result = await runtime.send(id, OWNER, 'what is 17*23?');
      assert.equal(result.status, 'ok');
      assert.match(result.text, /391/);
      assert.equal(result.processes.length, 1);
      assert.ok(result.model.offline, 'the reply is labelled offline');
      const done = events.filter((e) => e.type === 'process.updated').at(-1);
      assert.equal(done?.type === 'process.updated' && done.process.status, 'done');
      assert.ok(
        result.controls.some((c) => c.type === 'process'),
        'a process card is shown',
      );
      const out = events
        .filter((e) => e.type === 'process.output')
        .map((e) => (e.type === 'process.output' ? e.text : ''));
      assert.equal(out.join('').trim(), '391');
      await runtime.close();
    });

    test('a table request shows a validated table control, and its button answers', async () => {
      const { runtime, id } = await offlineRuntime(mode);
      const result = await runtime.send(id, OWNER, 'show me a table of your nodes');
      const table = result.controls.find((c) => c.type === 'table');
      assert.ok(table && table.type === 'table' && table.rows.length === 4);
      const button = result.controls.find((c) => c.type === 'button');
      assert.ok(button && button.type === 'button');
      const answer = await runtime.action(id, OWNER, { action: button.action, data: button.data });
      assert.match(answer.text, /Input/);
      await runtime.close();
    });

    test('the memorizer picks up a name, off the critical path', async () => {
      const { runtime, id, events } = await offlineRuntime(mode);
      await runtime.send(id, OWNER, "Hi, I'm Ada");
      await runtime.settled(id);
      const session = await runtime.session(id, OWNER);
      assert.equal(session.memory.user_name, 'Ada');
      assert.equal(session.memoryVersion, 1);
      const first = events.findIndex((e) => e.type === 'turn.done');
      const memo = events.findIndex((e) => e.type === 'memory.updated');
      assert.ok(memo > first, 'memory updates after the turn is done');
      const reply = await runtime.send(id, OWNER, "what's my name?");
      assert.match(reply.text, /Ada/);
      await runtime.close();
    });

    test('a typographic apostrophe, as the offline hint writes it: “I’m Grace”', async () => {
      const { runtime, id } = await offlineRuntime(mode);
      await runtime.send(id, OWNER, 'I’m Grace');
      await runtime.settled(id);
      assert.equal((await runtime.session(id, OWNER)).memory.user_name, 'Grace');
      await runtime.close();
    });
  });
}

test('node order and events: fast streams from the Thinker, faithful goes Input → Thinker → Output', async () => {
  const byNode = (ls: string[], node: string) => ls.filter((l) => l.startsWith(`${node}:`));
  const nodeEvents = {
    input: ['input:node.thinking', 'input:node.perceived', 'input:node.done'],
    thinker: ['thinker:node.thinking', 'thinker:node.decided', 'thinker:node.done'],
    output: ['output:node.streaming', 'output:node.done', 'output:assistant.message'],
  };

  const fast = await offlineRuntime('fast');
  const r1 = await fast.runtime.send(fast.id, OWNER, 'hello');
  const f = withoutMemorizer(labels(fast.events, r1.turn));
  assert.deepEqual(f.slice(0, 4), [
    'user:user.message',
    'runtime:turn.started',
    'thinker:node.thinking',
    'output:node.streaming',
  ]);
  assert.ok(
    f.indexOf('input:node.thinking') > f.indexOf('output:node.streaming'),
    'Input starts after the first token',
  );
  for (const [node, expected] of Object.entries(nodeEvents))
    assert.deepEqual(byNode(f, node), expected, node);
  assert.deepEqual(f.slice(-2), ['output:assistant.message', 'runtime:turn.done']);
  assert.equal(r1.timing.callsBeforeFirstToken, 1);

  const faithful = await offlineRuntime('faithful');
  const r2 = await faithful.runtime.send(faithful.id, OWNER, 'hello');
  assert.deepEqual(withoutMemorizer(labels(faithful.events, r2.turn)), [
    'user:user.message',
    'runtime:turn.started',
    ...nodeEvents.input,
    ...nodeEvents.thinker,
    'output:node.streaming',
    'output:node.done',
    'output:assistant.message',
    'runtime:turn.done',
  ]);
  assert.equal(r2.timing.callsBeforeFirstToken, 3);
  await fast.runtime.close();
  await faithful.runtime.close();
});

function withoutMemorizer(list: string[]): string[] {
  return list.filter((l) => !l.startsWith('memorizer:'));
}

test('a second message while a turn runs is queued, never interleaved', async () => {
  const { runtime, id, events } = await offlineRuntime('fast');
  const [a, b] = await Promise.all([
    runtime.send(id, OWNER, 'what is 6*7?'),
    runtime.send(id, OWNER, 'nice weather today'),
  ]);
  assert.match(a.text, /42/);
  assert.match(b.text, /nice weather today/);
  assert.ok(events.some((e) => e.type === 'turn.queued' && e.turn === b.turn));
  const turnEvents = events
    .filter((e) => e.turn === a.turn || e.turn === b.turn)
    .filter((e) => e.node !== 'memorizer');
  const lastOfA = turnEvents.findLastIndex((e) => e.turn === a.turn);
  const startOfB = turnEvents.findIndex((e) => e.turn === b.turn && e.type === 'turn.started');
  assert.ok(startOfB > lastOfA, 'turn b starts after everything of turn a');
  for (const t of [a.turn, b.turn]) {
    assert.equal(
      events.filter((e) => e.turn === t && e.type === 'turn.done').length,
      1,
      'one done per turn',
    );
  }
  await runtime.close();
});

test('seq strictly increases and a reader can resume from any seq', async () => {
  const { runtime, id, events } = await offlineRuntime('fast');
  await runtime.send(id, OWNER, 'what is 2+2?');
  await runtime.settled(id); // the perception and the memorizer finish after the reply
  const stored = await eventsOf(runtime, id, OWNER);
  stored.forEach((e, i) => assert.equal(e.seq, i + 1));
  const resumed: RuntimeEvent[] = [];
  const mid = events[5]!.seq;
  const stop = await runtime.subscribe(id, OWNER, (e) => resumed.push(e), mid);
  assert.deepEqual(
    resumed.map((e) => e.seq),
    stored.filter((e) => e.seq > mid).map((e) => e.seq),
  );
  stop();
  await runtime.close();
});

test('a restart restores sessions, history, memory and the trace', async () => {
  const first = await offlineRuntime('fast');
  await first.runtime.send(first.id, OWNER, "I'm Grace");
  await first.runtime.send(first.id, OWNER, 'what is 3*5?');
  await first.runtime.settled(first.id);
  const before = await first.runtime.session(first.id, OWNER);
  const snapshot = {
    history: [...before.history],
    memory: before.memory,
    seq: before.seq,
    version: before.memoryVersion,
  };
  await first.runtime.close();

  const second = await createRuntime(testConfig(first.home.home), { sandbox: 'none' });
  const restored = await second.session(first.id, OWNER);
  assert.deepEqual(restored.history, snapshot.history);
  assert.deepEqual(restored.memory, snapshot.memory);
  assert.equal(restored.memoryVersion, snapshot.version);
  assert.equal(restored.seq, snapshot.seq);
  const next = await second.send(first.id, OWNER, "what's my name?");
  assert.match(next.text, /Grace/);
  assert.ok(restored.seq > snapshot.seq);
  await second.close();
});

test('processes and turns cut off by a crash come back interrupted', async () => {
  const home = tempHome();
  homes.push(home);
  const store = createFileStore({ dir: `${home.home}/sessions` });
  const base = { session: 's-crashed', ts: new Date().toISOString() };
  await store.create({ id: 's-crashed', owner: OWNER, createdAt: base.ts });
  store.append({ ...base, seq: 1, node: 'runtime', type: 'session.created', owner: OWNER });
  store.append({ ...base, seq: 2, node: 'user', turn: 't1', type: 'user.message', text: 'run it' });
  store.append({
    ...base,
    seq: 3,
    node: 'runtime',
    turn: 't1',
    type: 'turn.started',
    mode: 'fast',
  });
  store.append({
    ...base,
    seq: 4,
    node: 'process',
    turn: 't1',
    type: 'process.updated',
    process: {
      id: 'p-dead0001',
      session: 's-crashed',
      turn: 't1',
      language: 'python',
      code: 'while True: pass',
      status: 'running',
      isolation: 'none',
      codeSha256: '0'.repeat(64),
      exitCode: null,
      createdAt: base.ts,
      outputBytes: 0,
      truncated: false,
    },
  });
  await store.close();

  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  const s = await runtime.session('s-crashed', OWNER);
  assert.equal(s.processes.get('p-dead0001')?.status, 'interrupted');
  const done = (await eventsOf(runtime, 's-crashed', OWNER)).find((e) => e.type === 'turn.done');
  assert.ok(done && done.type === 'turn.done' && done.status === 'error');
  await runtime.close();
});

test('sessions belong to their principal', async () => {
  const { runtime, id } = await offlineRuntime('fast');
  await assert.rejects(runtime.session(id, 'local:mallory'), { code: 'session_not_found' });
  await assert.rejects(runtime.deleteSession(id, 'local:mallory'), { code: 'session_not_found' });
  await assert.rejects(runtime.clear(id, 'local:mallory'), { code: 'session_not_found' });
  await assert.rejects(runtime.send(id, 'local:mallory', 'hi'), { code: 'session_not_found' });
  assert.deepEqual(runtime.listSessions('local:mallory'), []);
  await assert.rejects(runtime.createSession(OWNER, { id: '../etc' }), {
    code: 'invalid_session_id',
  });
  await assert.rejects(runtime.send(id, OWNER, '   '), { code: 'invalid_input' });
  await runtime.close();
});

test('subscribeAll sees every session of its principal, from creation on, and no other', async () => {
  const home = tempHome();
  homes.push(home);
  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  const mine: RuntimeEvent[] = [];
  runtime.subscribeAll(OWNER, (e) => mine.push(e));
  const a = await runtime.createSession(OWNER);
  const other = await runtime.createSession('local:other');
  await runtime.send(a.id, OWNER, 'what is 1+1?');
  await runtime.send(other.id, 'local:other', 'what is 2+2?');
  assert.equal(mine[0]?.type, 'session.created');
  assert.ok(mine.every((e) => e.session === a.id));
  assert.equal(runtime.listProcesses(OWNER).length, 1);
  assert.equal(runtime.listProcesses(OWNER, a.id)[0]?.status, 'done');
  assert.throws(() => runtime.listProcesses(OWNER, other.id), { code: 'session_not_found' });
  await runtime.close();
});

test('one runtime per COG_HOME: a live holder refuses the second, a stale lock is taken over', async () => {
  const home = tempHome();
  homes.push(home);
  const holder = spawn('sleep', ['30']);
  try {
    // A lock as a runtime writes it (pid and start time): that process still runs.
    const processStart = startTime(holder.pid!);
    writeFileSync(
      join(home.home, 'runtime.lock'),
      JSON.stringify({ pid: holder.pid, processStart }),
    );
    await assert.rejects(createRuntime(testConfig(home.home)), {
      code: 'home_locked',
      message: new RegExp(`pid ${holder.pid}`),
    });
    // The same pid with another start time: pid reuse after a reboot, not the writer.
    writeFileSync(
      join(home.home, 'runtime.lock'),
      JSON.stringify({ pid: holder.pid, processStart: '1' }),
    );
    const reused = await createRuntime(testConfig(home.home), { sandbox: 'none' });
    await reused.close();
  } finally {
    holder.kill('SIGKILL');
    await once(holder, 'exit');
  }
  const runtime = await createRuntime(testConfig(home.home), { sandbox: 'none' });
  assert.equal(JSON.parse(readFileSync(join(home.home, 'runtime.lock'), 'utf8')).pid, process.pid);
  await runtime.close();
  assert.equal(existsSync(join(home.home, 'runtime.lock')), false, 'released on close');
});

test('approval through the runtime: only the owner decides, once', async () => {
  const home = tempHome();
  homes.push(home);
  const runtime = await createRuntime(testConfig(home.home, { approval: 'ask' }), {
    sandbox: 'none',
  });
  const { id } = await runtime.createSession(OWNER);
  const pending = new Promise<string>((resolve) => {
    void runtime.subscribe(id, OWNER, (e) => {
      if (e.type === 'process.updated' && e.process.status === 'pending-approval')
        resolve(e.process.id);
    });
  });
  const turn = runtime.send(id, OWNER, 'what is 9*9?');
  const pid = await pending;
  const sha = runtime.listProcesses(OWNER, id)[0]?.codeSha256;
  assert.throws(() => runtime.approve(pid, 'local:mallory', 'approve', sha), {
    code: 'process_not_found',
  });
  assert.throws(() => runtime.cancelProcess(pid, 'local:mallory'), { code: 'process_not_found' });
  assert.equal(runtime.approve(pid, OWNER, 'approve', sha).status, 'running');
  assert.throws(() => runtime.approve(pid, OWNER, 'deny'), { code: 'process_not_pending' });
  assert.match((await turn).text, /81/);
  await runtime.close();
});
