import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MemoryState, RuntimeEvent } from '../../protocol/events.js';
import type { HostToWebview } from '../../protocol/webview.js';
import { Events, ONLINE, OFFLINE, TIMING, processInfo } from './events.js';
import { FakeHost, useWebview } from './harness.js';

const web = useWebview();

/** A loaded page past its handshake, showing `events`. */
async function open(ev: Events, events = ev.turn('hello', ['Hi ', 'there.'])) {
  const host = await web.open();
  await host.load();
  await host.push(ev.snapshot(events));
  return host;
}

type Scrollable = { scrollTop: number; scrollHeight: number; clientHeight: number };
type Box = { offsetTop: number; offsetHeight: number; getAttribute(n: string): string | null };

/** The turn at the top of the chat's view and how far it is scrolled into it. */
function firstVisible(host: FakeHost) {
  return host.page
    .locator('.chat')
    .evaluate((el: Scrollable & { querySelectorAll(s: string): ArrayLike<Box> }) => {
      const turns = el.querySelectorAll('.turn');
      for (let i = 0; i < turns.length; i++) {
        const t = turns[i];
        if (t.offsetTop + t.offsetHeight > el.scrollTop)
          return { turn: t.getAttribute('data-turn'), offset: el.scrollTop - t.offsetTop };
      }
      return null;
    });
}

/** Lets the page render two frames (deferred replies near the view render in between). */
async function nextFrames(host: FakeHost) {
  await host.page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const g = globalThis as unknown as { requestAnimationFrame(cb: () => void): void };
        g.requestAnimationFrame(() => g.requestAnimationFrame(resolve));
      }),
  );
}

describe('chat', () => {
  it('streams a reply from output.delta, then assistant.message finalises it', async () => {
    const ev = new Events();
    const host = await open(ev, []);
    const { page } = host;
    await host.events(ev.session, [
      ev.ev({ type: 'user.message', node: 'user', turn: 't1', text: 'Tell me' }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn: 't1', mode: 'fast' }),
    ]);
    const reply = page.locator('.msg.assistant .md');
    const sofar: string[] = [];
    for (const chunk of ['The **answer**', ' is', ' 42', ' and more…']) {
      sofar.push(chunk);
      await host.events(ev.session, [
        ev.ev({ type: 'output.delta', node: 'output', turn: 't1', text: chunk }),
      ]);
      await page.waitForFunction(
        (want) =>
          (
            globalThis as unknown as {
              document: { querySelector(s: string): { textContent: string } | null };
            }
          ).document
            .querySelector('.msg.assistant .md')
            ?.textContent?.includes(want),
        sofar.join('').replace(/\*\*/g, ''),
      );
    }
    assert.equal(await page.locator('.msg.assistant.streaming').count(), 1);
    assert.equal(await reply.locator('strong').textContent(), 'answer');
    await host.events(ev.session, [
      ev.ev({
        type: 'assistant.message',
        node: 'output',
        turn: 't1',
        text: 'The **answer** is 42.',
        controls: [],
        processes: [],
        model: ONLINE,
      }),
      ev.ev({
        type: 'turn.done',
        node: 'runtime',
        turn: 't1',
        status: 'ok',
        timing: { firstTokenMs: 1, totalMs: 2, callsBeforeFirstToken: 1, modelCalls: 1 },
      }),
    ]);
    assert.equal((await reply.textContent())?.trim(), 'The answer is 42.');
    assert.equal(await page.locator('.msg.assistant.streaming').count(), 0);
    assert.equal(await page.locator('.msg.user').count(), 1);
    assert.equal(await page.locator('.msg.user .msg-text').textContent(), 'Tell me');
    // A delta re-sent after the final message changes nothing.
    await host.events(ev.session, [
      ev.ev({ type: 'output.delta', node: 'output', turn: 't1', text: ' late' }),
    ]);
    assert.equal((await reply.textContent())?.trim(), 'The answer is 42.');
    assert.deepEqual(host.errors, []);
    await page.close();
  });

  it('renders markdown code blocks styled, with their language', async () => {
    const ev = new Events();
    const host = await open(
      ev,
      ev.turn('code?', ['Here:\n\n```python\nprint(17 * 23)\n```\n\nand `inline`.']),
    );
    const block = host.page.locator('.msg.assistant .code-block');
    assert.equal(await block.locator('.code-lang').textContent(), 'python');
    assert.equal(await block.locator('pre > code.language-python').textContent(), 'print(17 * 23)');
    const style = await block.locator('pre > code').evaluate((el) => {
      const s = (
        globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }
      ).getComputedStyle(el);
      return { font: s.fontFamily, space: s.whiteSpace };
    });
    assert.match(style.font, /mono|consolas|courier/i);
    assert.equal(style.space, 'pre');
    const bg = await block.evaluate(
      (el) =>
        (
          globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
        ).getComputedStyle(el).backgroundColor,
    );
    assert.notEqual(bg, 'rgba(0, 0, 0, 0)');
    assert.equal(await host.page.locator('.msg.assistant p code').textContent(), 'inline');
    await host.page.close();
  });

  it('shows the offline-engine label only for the offline engine', async () => {
    const ev = new Events();
    const host = await open(ev);
    assert.equal(await host.page.locator('.model-badge.offline').textContent(), 'Offline engine');
    assert.equal(await host.page.locator('.msg.assistant .offline-tag').count(), 1);
    await host.push(
      ev.snapshot(ev.turn('again', ['Online now.'], { model: ONLINE }), false, ONLINE),
    );
    assert.equal(await host.page.locator('.model-badge.offline').count(), 0);
    assert.equal(await host.page.locator('.model-badge').textContent(), 'big');
    await host.page.close();
  });

  it('Enter sends, Shift+Enter adds a line, and the echo replaces the pending bubble', async () => {
    const ev = new Events();
    const host = await open(ev, []);
    const input = host.page.locator('.composer-input');
    await input.click();
    const since = host.posted.length;
    await host.page.keyboard.type('line one');
    await host.page.keyboard.press('Shift+Enter');
    await host.page.keyboard.type('line two');
    assert.equal(host.posted.slice(since).filter((m) => m.type === 'send').length, 0);
    await host.page.keyboard.press('Enter');
    const sent = await host.waitFor('send', since);
    assert.deepEqual(sent, { type: 'send', text: 'line one\nline two' });
    assert.equal(await input.inputValue(), '');
    assert.equal(await host.page.locator('.msg.user.pending').count(), 1);
    // Enter on an empty box sends nothing.
    await host.page.keyboard.press('Enter');
    await host.events(ev.session, ev.turn('line one\nline two', ['ok']));
    assert.equal(await host.page.locator('.msg.user.pending').count(), 0);
    assert.equal(await host.page.locator('.msg.user').count(), 1);
    assert.equal(
      await host.page.locator('.msg.user .msg-text').textContent(),
      'line one\nline two',
    );
    assert.equal(host.posted.slice(since).filter((m) => m.type === 'send').length, 1);
    await host.page.close();
  });

  it('Esc posts cancelTurn only while a turn runs; Stop does the same', async () => {
    const ev = new Events();
    const host = await open(ev, []);
    const since = host.posted.length;
    await host.page.locator('.composer-input').click();
    await host.page.keyboard.press('Escape');
    assert.equal(await host.page.locator('.composer .stop').isVisible(), false);
    await host.events(ev.session, [
      ev.ev({ type: 'user.message', node: 'user', turn: 't1', text: 'long job' }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn: 't1', mode: 'fast' }),
    ]);
    await host.page.keyboard.press('Escape');
    await host.waitFor('cancelTurn', since);
    await host.page.locator('.composer .stop').click();
    await host.events(ev.session, [
      ev.ev({
        type: 'turn.done',
        node: 'runtime',
        turn: 't1',
        status: 'cancelled',
        timing: { firstTokenMs: null, totalMs: 5, callsBeforeFirstToken: 0, modelCalls: 0 },
        error: 'The turn was cancelled.',
      }),
    ]);
    await host.page.keyboard.press('Escape');
    const cancels = host.posted.slice(since).filter((m) => m.type === 'cancelTurn');
    assert.equal(cancels.length, 2);
    assert.equal(await host.page.locator('.msg-status').textContent(), 'Cancelled.');
    assert.equal(await host.page.locator('.composer .stop').isVisible(), false);
    await host.page.close();
  });

  it('reload keeps the draft and scroll, resumes from lastSeq, and never duplicates', async () => {
    const ev = new Events();
    const history = Array.from({ length: 30 }, (_, i) =>
      ev.turn(`question ${i}`, [
        `answer ${i}\n\n`,
        i % 3 ? '- one\n- two\n- three\n\n' : '```js\nconst a = 1;\nconst b = 2;\n```\n',
      ]),
    ).flat();
    const host = await open(ev, history);
    const { page } = host;
    const chat = page.locator('.chat');
    await chat.evaluate((el: Scrollable) => (el.scrollTop = 900));
    await nextFrames(host);
    const before = await firstVisible(host);
    assert.notEqual(before?.turn, 't1');
    await page.locator('.composer-input').fill('half-written thought');
    const lastSeq = ev.seq;

    const ready = await host.reload();
    assert.deepEqual(ready, { type: 'ready', session: ev.session, lastSeq });
    assert.equal(await page.locator('.composer-input').inputValue(), 'half-written thought');
    // Replayed from saved state before the host answers, scrolled to the same turn.
    assert.equal(await page.locator('.msg.user').count(), 30);
    await nextFrames(host);
    await nextFrames(host);
    const after = await firstVisible(host);
    assert.equal(after?.turn, before?.turn);
    assert.ok(
      Math.abs((after?.offset ?? 0) - (before?.offset ?? 0)) < 60,
      JSON.stringify({ before, after }),
    );

    // The host resumes with an overlap (the last two events again) and a new turn.
    const next = ev.turn('after reload', ['fresh']);
    await host.push(ev.snapshot([...history.slice(-2), ...next], true));
    assert.equal(await page.locator('.msg.user').count(), 31);
    assert.equal(await page.locator('.msg.assistant').count(), 31);
    // ...and the same events again.
    await host.events(ev.session, [...history.slice(-3), ...next]);
    assert.equal(await page.locator('.msg.user').count(), 31);
    assert.equal(await page.locator('.msg.assistant .md', { hasText: 'fresh' }).count(), 1);
    assert.equal(await page.locator('body').getAttribute('data-seq'), String(ev.seq));

    // A second reload reports the new last seq.
    const again = await host.reload();
    assert.deepEqual(again, { type: 'ready', session: ev.session, lastSeq: ev.seq });
    // A snapshot that does not resume (a reset runtime) replaces everything.
    const other = new Events('sess-2');
    await host.push(other.snapshot(other.turn('new world', ['hi'])));
    assert.equal(await page.locator('.msg.user').count(), 1);
    assert.deepEqual(host.invalid, []);
    await page.close();
  });

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

  it('events that arrive before the snapshot wait for it', async () => {
    const ev = new Events();
    const first = ev.turn('one', ['1']);
    const second = ev.turn('two', ['2']);
    const host = await web.open();
    await host.load();
    await host.events(ev.session, second);
    assert.equal(await host.page.locator('.msg.user').count(), 0);
    await host.push(ev.snapshot(first));
    assert.deepEqual(await host.page.locator('.msg.user .msg-text').allTextContents(), [
      'one',
      'two',
    ]);
    await host.page.close();
  });
});
