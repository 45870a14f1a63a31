import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryState, RuntimeEvent } from '../../protocol/events.js';
import type { HostToWebview } from '../../protocol/webview.js';
import { Events, OFFLINE, TIMING, processInfo } from './events.js';
import { useWebview } from './harness.js';

/** The chat shown from a page of a long session: the newest messages and the tail. */
const web = useWebview();

describe('chat, from a page', () => {
  it('a page (the newest messages and the tail): says earlier messages exist, cards and memory start from its base, across a reload', async () => {
    const ev = new Events();
    const memory: MemoryState = {
      user_name: 'Ada',
      user_mood: 'neutral',
      topic: 'arithmetic',
      topic_history: [],
      situation: 'local session',
      language: 'en',
      style_hint: 'casual',
      facts: [],
    };
    // Before the tail, only messages: a reply whose run's own events are long gone.
    const message = (turn: string, text: string, run?: string): RuntimeEvent[] => [
      ev.ev({ type: 'user.message', node: 'user', turn, text: `about ${text}` }),
      ev.ev({
        type: 'assistant.message',
        node: 'output',
        turn,
        text,
        controls: run ? [{ type: 'process', processId: run }] : [],
        processes: [],
        model: OFFLINE,
      }),
    ];
    const older = [...message('t1', 'one'), ...message('t2', 'ran it', 'p-0000old1')];
    ev.seq += 500;
    ev.turns = 3;
    // The tail starts mid-turn: no turn.started, and a run started before it.
    const tail = [
      ev.ev({
        type: 'controls',
        node: 'thinker',
        turn: 't3',
        controls: [{ type: 'process', processId: 'p-0000long' }],
      }),
      ev.ev({
        type: 'process.output',
        node: 'process',
        turn: 't3',
        process: 'p-0000long',
        stream: 'stdout',
        text: 'last line\n',
      }),
      ev.ev({ type: 'output.delta', node: 'output', turn: 't3', text: 'Still ' }),
    ];
    const started = new Date(Date.now() - 60_000).toISOString();
    const page: HostToWebview = {
      ...(ev.snapshot([...older, ...tail]) as Extract<HostToWebview, { type: 'snapshot' }>),
      base: {
        earlier: true,
        processes: [
          processInfo('p-0000old1', {
            status: 'done',
            exitCode: 0,
            startedAt: started,
            endedAt: started,
            outputBytes: 4,
          }),
          processInfo('p-0000long', { status: 'running', startedAt: started, outputBytes: 900 }),
        ],
        memory: { state: memory, version: 3 },
      },
    };
    const host = await web.open();
    await host.load();
    await host.push(page);
    const { page: tab } = host;
    const shows = async () => {
      assert.ok(await tab.locator('.chat-earlier').isVisible(), 'earlier messages are announced');
      assert.ok(await tab.locator('.msg.user', { hasText: 'about one' }).isVisible());
      const old = tab.locator('.cog-process[data-process="p-0000old1"]');
      assert.equal(await old.locator('.proc-status').textContent(), 'done');
      assert.equal(await old.locator('.proc-exit').textContent(), 'exit 0');
      assert.match((await old.locator('.proc-output').textContent()) ?? '', /earlier output/);
      assert.equal(await tab.locator('.memory .version').textContent(), 'v3');
      assert.equal(await tab.locator('.memory dd[data-key="user_name"]').textContent(), 'Ada');
    };
    await shows();
    const long = tab.locator('.cog-process[data-process="p-0000long"]');
    assert.equal(await long.locator('.proc-status').textContent(), 'running');
    assert.ok(await long.locator('.proc-cancel').isVisible(), 'a running card can be cancelled');
    assert.match(
      (await long.locator('.proc-output').textContent()) ?? '',
      /earlier[\s\S]*last line/,
    );

    // The turn and the run end: nothing is left running.
    await host.events(ev.session, [
      ev.ev({
        type: 'process.updated',
        node: 'process',
        turn: 't3',
        process: processInfo('p-0000long', {
          status: 'done',
          exitCode: 0,
          startedAt: started,
          endedAt: new Date().toISOString(),
          outputBytes: 910,
        }),
      }),
      ev.ev({
        type: 'assistant.message',
        node: 'output',
        turn: 't3',
        text: 'Still here.',
        controls: [{ type: 'process', processId: 'p-0000long' }],
        processes: ['p-0000long'],
        model: OFFLINE,
      }),
      ev.ev({ type: 'turn.done', node: 'runtime', turn: 't3', status: 'ok', timing: TIMING }),
    ]);
    assert.equal(await long.locator('.proc-status').textContent(), 'done');
    assert.equal(await tab.locator('.composer .stop').isVisible(), false);
    assert.equal(await tab.locator('.msg.assistant.streaming').count(), 0);

    // A reload replays the page with its base, before the host answers.
    const ready = await host.reload();
    assert.deepEqual(ready, { type: 'ready', session: ev.session, lastSeq: ev.seq });
    await shows();
    await host.push(ev.snapshot(ev.turn('next', ['ok']), true));
    await shows();
    assert.equal(await tab.locator('.msg.user').count(), 3);

    // A clear ends what came before; a snapshot of the whole session has nothing earlier.
    await host.events(ev.session, [ev.ev({ type: 'session.cleared', node: 'runtime' })]);
    assert.equal(await tab.locator('.chat-earlier').isVisible(), false);
    await host.push(page);
    assert.ok(await tab.locator('.chat-earlier').isVisible());
    await host.push(ev.snapshot(ev.turn('whole', ['session'])));
    assert.equal(await tab.locator('.chat-earlier').isVisible(), false);
    assert.deepEqual(host.errors, []);
    await tab.close();
  });
});
