import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Events, ONLINE } from './events.js';
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
