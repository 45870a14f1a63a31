import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Control } from '../../protocol/controls.js';
import type { RuntimeEvent } from '../../protocol/events.js';
import { Events, ONLINE, processInfo } from './events.js';
import { useWebview } from './harness.js';

const web = useWebview();

/** A loaded page past its handshake, showing `events`. */
async function open(ev: Events, events: RuntimeEvent[] = []) {
  const host = await web.open();
  await host.load();
  await host.push(ev.snapshot(events, false, ONLINE));
  return host;
}

const MODEL = 'anthropic/claude-sonnet-4';

/**
 * A turn on a configured model whose calls report usage as OpenRouter does: the Thinker
 * twice (with cost, once with cached tokens), the Input once (no cost), plus the count
 * Cog makes before each call, which carries no usage and must not add up.
 */
function meteredTurn(ev: Events, user: string, answer: string): RuntimeEvent[] {
  const turn = `t${++ev.turns}`;
  const context = (node: 'thinker' | 'input', usage?: Record<string, number>) =>
    ev.ev({
      type: 'node.context',
      node,
      turn,
      tokens: 999,
      budget: 8000,
      fillPct: 12,
      messages: 3,
      trimmed: 0,
      ...(usage ? { usage: usage as never } : {}),
    });
  return [
    ev.ev({ type: 'user.message', node: 'user', turn, text: user }),
    ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
    context('thinker'),
    context('thinker', { promptTokens: 1200, completionTokens: 34, cost: 0.0021 }),
    context('thinker'),
    context('thinker', {
      promptTokens: 1300,
      completionTokens: 250,
      cachedTokens: 1000,
      cost: 0.00475,
    }),
    context('input'),
    context('input', { promptTokens: 300, completionTokens: 20 }),
    ev.ev({ type: 'output.delta', node: 'output', turn, text: answer }),
    ev.ev({ type: 'node.done', node: 'input', turn, ms: 40, model: 'small-model' }),
    ev.ev({ type: 'node.done', node: 'output', turn, ms: 2000, model: MODEL }),
    ev.ev({
      type: 'assistant.message',
      node: 'output',
      turn,
      text: answer,
      controls: [],
      processes: [],
      model: ONLINE,
    }),
    ev.ev({
      type: 'turn.done',
      node: 'runtime',
      turn,
      status: 'ok',
      timing: { firstTokenMs: 400, totalMs: 2345, callsBeforeFirstToken: 1, modelCalls: 3 },
    }),
  ];
}

describe('reply footer', () => {
  it('shows the model, the provider-reported tokens summed over the turn, time and cost', async () => {
    const ev = new Events();
    const host = await open(ev, meteredTurn(ev, 'how much?', 'This much.'));
    const footer = host.page.locator('.msg.assistant .reply-footer');
    await footer.waitFor();
    assert.equal(await footer.locator('.footer-model').textContent(), MODEL);
    // 1200 + 34 + 1300 + 250 + 300 + 20: the counts without usage add nothing.
    assert.equal(await footer.locator('.footer-tokens').textContent(), '3,104 tokens');
    assert.equal(
      await footer.locator('.footer-tokens').getAttribute('title'),
      '2,800 in (1,000 cached) + 304 out, over 3 model calls, as the provider reported',
    );
    assert.equal(await footer.locator('.footer-time').textContent(), '2.3 s');
    // 0.0021 + 0.00475 USD.
    assert.equal(await footer.locator('.footer-cost').textContent(), '$0.00685');
    assert.deepEqual(
      await footer.locator('span').evaluateAll((els) => els.map((el) => el.className)),
      ['footer-model', 'footer-tokens', 'footer-time', 'footer-cost'],
    );
    await host.page.close();
  });

  it('survives a reload and is rebuilt the same from a fresh snapshot', async () => {
    const ev = new Events();
    const events = [
      ...meteredTurn(ev, 'first', 'One.'),
      ...ev.turn('second', ['Two.'], { model: ONLINE }),
    ];
    const host = await open(ev, events);
    const { page } = host;
    const footers = page.locator('.msg.assistant .reply-footer');
    const read = async () =>
      Promise.all([0, 1].map(async (i) => (await footers.nth(i).allInnerTexts()).join('')));
    await footers.nth(1).waitFor();
    const before = await read();
    // The second turn reported no usage: model and time only, no tokens, no cost.
    assert.equal(await footers.nth(1).locator('.footer-model').textContent(), 'big');
    assert.equal(await footers.nth(1).locator('.footer-tokens').count(), 0);
    assert.equal(await footers.nth(1).locator('.footer-cost').count(), 0);
    assert.equal(await footers.nth(1).locator('.footer-time').textContent(), '20 ms');

    await host.reload();
    await footers.nth(1).waitFor();
    assert.deepEqual(await read(), before, 'replayed from the saved log');
    assert.equal(await footers.nth(0).locator('.footer-cost').textContent(), '$0.00685');

    const fresh = await web.open();
    await fresh.load();
    await fresh.push(ev.snapshot(events, false, ONLINE));
    const again = fresh.page.locator('.msg.assistant .reply-footer');
    await again.nth(1).waitFor();
    assert.deepEqual(
      await Promise.all([0, 1].map(async (i) => (await again.nth(i).allInnerTexts()).join(''))),
      before,
      'rebuilt from the snapshot’s events',
    );
    await page.close();
    await fresh.page.close();
  });

  it('names no model for the offline engine, and waits for turn.done', async () => {
    const ev = new Events();
    const host = await open(ev, ev.turn('hi', ['Hello.']));
    const footer = host.page.locator('.msg.assistant .reply-footer');
    await footer.waitFor();
    assert.equal(await footer.locator('.footer-model').count(), 0);
    assert.equal(await footer.locator('.footer-time').textContent(), '20 ms');
    // A turn still running has no footer yet.
    const running = meteredTurn(ev, 'again', 'Streaming…').slice(0, -1);
    await host.events(ev.session, running);
    await host.page
      .locator('.msg.assistant')
      .nth(1)
      .locator('.md', { hasText: 'Streaming' })
      .waitFor();
    assert.equal(
      await host.page.locator('.msg.assistant').nth(1).locator('.reply-footer').isHidden(),
      true,
    );
    await host.page.close();
  });
});

describe('user message actions', () => {
  it('Copy sends the text to the host’s clipboard; Retry sends it again as a new turn', async () => {
    const ev = new Events();
    const text = 'Explain the\nsensor node';
    const host = await open(ev, ev.turn(text, ['It ticks.']));
    const bubble = host.page.locator('.msg.user').first();
    let since = host.posted.length;
    await bubble.getByRole('button', { name: 'Copy' }).click();
    assert.deepEqual(await host.waitFor('codeAction', since), {
      type: 'codeAction',
      action: 'copy',
      code: text,
    });
    await bubble.getByRole('button', { name: 'Copied' }).waitFor();

    since = host.posted.length;
    await bubble.getByRole('button', { name: 'Retry' }).click();
    assert.deepEqual(await host.waitFor('send', since), { type: 'send', text });
    await host.page.locator('.msg.user.pending', { hasText: 'sensor node' }).waitFor();
    // Its echo is a new turn; the first is still there.
    await host.events(ev.session, ev.turn(text, ['It ticks, again.']));
    assert.equal(await host.page.locator('.msg.user.pending').count(), 0);
    assert.equal(await host.page.locator('.turn').count(), 2);
    assert.deepEqual(host.invalid, []);
    await host.page.close();
  });

  it('Edit puts the text back in the composer, focused, to change and send', async () => {
    const ev = new Events();
    const host = await open(ev, ev.turn('what is 17*23?', ['391']));
    const { page } = host;
    const since = host.posted.length;
    await page.locator('.msg.user').first().getByRole('button', { name: 'Edit' }).click();
    const input = page.locator('.composer-input');
    assert.equal(await input.inputValue(), 'what is 17*23?');
    assert.equal(
      await input.evaluate(
        (el) =>
          el ===
          (globalThis as unknown as { document: { activeElement: unknown } }).document
            .activeElement,
      ),
      true,
    );
    assert.equal(host.posted.slice(since).filter((m) => m.type === 'send').length, 0, 'not sent');
    // The cursor is at the end: "3?" goes, "4?" comes.
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.type('4?');
    await page.keyboard.press('Enter');
    assert.deepEqual(await host.waitFor('send', since), { type: 'send', text: 'what is 17*24?' });
    await host.page.close();
  });

  it('a button click’s bubble has no actions and shows words, never the action’s JSON', async () => {
    const ev = new Events();
    const host = await open(ev);
    await host.events(ev.session, [
      ev.ev({
        type: 'user.message',
        node: 'user',
        turn: 't9',
        text: '[action: show_more] {"about":"nodes","page":2}',
        action: { action: 'show_more', data: { about: 'nodes', page: 2 } },
      }),
    ]);
    const bubble = host.page.locator('.msg.user');
    await bubble.waitFor();
    assert.equal(await bubble.locator('.msg-action').innerText(), '▸ show more');
    assert.doesNotMatch(await bubble.innerText(), /[{}"]/);
    assert.match((await bubble.locator('.msg-action').getAttribute('title')) ?? '', /show_more/);
    assert.equal(await bubble.locator('.msg-actions').count(), 0);
    await host.page.close();
  });
});

describe('reply order', () => {
  const card: Control = { type: 'process', processId: 'p1' };
  const more: Control = { type: 'button', label: 'Tell me more', action: 'more' };

  /** Classes of the reply's parts, top to bottom. */
  const parts = (host: Awaited<ReturnType<typeof open>>, turn: string) =>
    host.page
      .locator(`.turn[data-turn="${turn}"] .msg.assistant > *`)
      .evaluateAll((els) => els.map((el) => (el as { className: string }).className));

  it('the card of the code a reply ran comes before the text written from it, live', async () => {
    const ev = new Events();
    const host = await open(ev);
    const turn = 't1';
    await host.events(ev.session, [
      ev.ev({ type: 'user.message', node: 'user', turn, text: 'what is 17*23?' }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
      ev.ev({ type: 'output.delta', node: 'output', turn, text: 'Let me compute. ' }),
      ev.ev({ type: 'controls', node: 'thinker', turn, controls: [card] }),
      ev.ev({
        type: 'process.updated',
        node: 'runtime',
        turn,
        process: processInfo('p1', { status: 'done', exitCode: 0 }),
      }),
      ev.ev({ type: 'output.delta', node: 'output', turn, text: 'It is **391**.' }),
      ev.ev({
        type: 'assistant.message',
        node: 'output',
        turn,
        text: 'Let me compute. It is **391**.',
        controls: [card, more],
        processes: ['p1'],
        model: ONLINE,
      }),
      ev.ev({
        type: 'turn.done',
        node: 'runtime',
        turn,
        status: 'ok',
        timing: { firstTokenMs: 5, totalMs: 900, callsBeforeFirstToken: 1, modelCalls: 2 },
      }),
    ]);
    await host.page.locator('.reply-footer:not([hidden])').waitFor();
    assert.deepEqual(await parts(host, turn), [
      'msg-meta',
      'msg-controls msg-cards',
      'md',
      'msg-controls',
      'reply-footer',
    ]);
    const reply = host.page.locator('.msg.assistant');
    assert.equal(await reply.locator('.msg-cards .cog-process').count(), 1);
    assert.equal(await reply.locator('.md strong').textContent(), '391');
    assert.equal(
      await reply.locator('.msg-controls:not(.msg-cards) .cog-control-button').count(),
      1,
    );
    await host.page.close();
  });

  it('and the same after a reload, from the final message alone', async () => {
    const ev = new Events();
    const turn = 't1';
    const host = await open(ev, [
      ev.ev({ type: 'user.message', node: 'user', turn, text: 'run it' }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
      ev.ev({
        type: 'assistant.message',
        node: 'output',
        turn,
        text: 'The run printed 391.',
        controls: [more, card],
        processes: ['p1'],
        model: ONLINE,
      }),
    ]);
    await host.page.locator('.msg.assistant .cog-process').waitFor();
    assert.deepEqual(await parts(host, turn), [
      'msg-meta',
      'msg-controls msg-cards',
      'md',
      'msg-controls',
      'reply-footer',
    ]);
    await host.page.close();
  });
});
