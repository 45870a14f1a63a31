import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { MemoryState } from '../../protocol/events.js';
import { Events, processInfo } from './events.js';
import { ROOT, useWebview } from './harness.js';

const web = useWebview();

const MEMORY: MemoryState = {
  user_name: null,
  user_mood: 'neutral',
  topic: null,
  topic_history: [],
  situation: 'chatting',
  language: 'en',
  style_hint: 'brief',
  facts: [],
};

describe('HUD, banners and sessions', () => {
  it('lights the pipeline from the current turn, with gauges, latency, sensors, memory, trace', async () => {
    const ev = new Events();
    const host = await web.open();
    await host.load();
    await host.push(ev.snapshot(ev.turn('earlier', ['done before'])));
    const { page } = host;
    const node = (n: string) => page.locator(`.pipeline .node[data-node="${n}"]`);
    const turn = 't2';
    await host.events(ev.session, [
      ev.ev({ type: 'user.message', node: 'user', turn, text: "I'm Ada. What is 17*23?" }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
      ev.ev({ type: 'node.thinking', node: 'thinker', turn, detail: 'reasoning about the reply' }),
      ev.ev({
        type: 'node.context',
        node: 'thinker',
        turn,
        tokens: 1500,
        budget: 6000,
        fillPct: 25,
        messages: 4,
        trimmed: 0,
      }),
      ev.ev({
        type: 'node.context',
        node: 'output',
        turn,
        tokens: 5700,
        budget: 6000,
        fillPct: 95,
        messages: 9,
        trimmed: 2,
      }),
      // A straggler from the previous turn does not light the strip.
      ev.ev({ type: 'node.error', node: 'input', turn: 't1', code: 'late', message: 'old' }),
    ]);
    assert.equal(await node('thinker').getAttribute('data-status'), 'thinking');
    assert.equal(await node('input').getAttribute('data-status'), 'idle');
    assert.equal(await node('thinker').locator('.tokens').textContent(), '1,500 / 6,000');
    assert.equal(await node('thinker').locator('.gauge').getAttribute('aria-valuenow'), '25');
    const width = await node('thinker')
      .locator('.gauge-fill')
      .evaluate((el: { style: { width: string } }) => el.style.width);
    assert.equal(width, '25%');
    assert.match((await node('output').locator('.gauge').getAttribute('class')) ?? '', /\bhigh\b/);

    await host.events(ev.session, [
      ev.ev({ type: 'node.streaming', node: 'output', turn }),
      ev.ev({ type: 'output.delta', node: 'output', turn, text: '17*23 = 391' }),
      ev.ev({ type: 'node.done', node: 'thinker', turn, ms: 420, model: 'offline' }),
      ev.ev({
        type: 'node.error',
        node: 'input',
        turn,
        code: 'llm_timeout',
        message: 'Input timed out',
      }),
    ]);
    assert.equal(await node('output').getAttribute('data-status'), 'streaming');
    assert.equal(await node('thinker').getAttribute('data-status'), 'done');
    assert.equal(await node('thinker').locator('.latency').textContent(), '420 ms');
    assert.equal(await node('input').getAttribute('data-status'), 'error');
    assert.match((await node('input').getAttribute('title')) ?? '', /llm_timeout: Input timed out/);

    await host.events(ev.session, [
      ev.ev({ type: 'node.done', node: 'output', turn, ms: 1234, model: 'offline' }),
      ev.ev({
        type: 'assistant.message',
        node: 'output',
        turn,
        text: '17*23 = **391**',
        controls: [{ type: 'process', processId: 'p9' }],
        processes: ['p9'],
        model: { offline: true, models: { input: 'o', thinker: 'o', output: 'o', memorizer: 'o' } },
      }),
      ev.ev({
        type: 'process.updated',
        node: 'process',
        turn,
        process: processInfo('p9', {
          status: 'done',
          exitCode: 0,
          startedAt: new Date(Date.now() - 80).toISOString(),
          endedAt: new Date().toISOString(),
        }),
      }),
      ev.ev({
        type: 'process.output',
        node: 'process',
        turn,
        process: 'p9',
        stream: 'stdout',
        text: '391\n',
      }),
      ev.ev({
        type: 'turn.done',
        node: 'runtime',
        turn,
        status: 'ok',
        timing: { firstTokenMs: 9, totalMs: 30, callsBeforeFirstToken: 1, modelCalls: 2 },
      }),
      ev.ev({ type: 'node.thinking', node: 'memorizer', turn, detail: 'updating shared memory' }),
      ev.ev({
        type: 'sensor.tick',
        node: 'sensor',
        readings: { clock: '14:02', idle: '0 s' },
        deltas: { clock: '14:02' },
      }),
      ev.ev({
        type: 'memory.updated',
        node: 'memorizer',
        turn,
        state: { ...MEMORY, user_name: 'Ada' },
        version: 1,
        changes: ['user_name: null -> "Ada"'],
      }),
    ]);
    assert.equal(await node('output').locator('.latency').textContent(), '1.2 s');
    assert.equal(await node('memorizer').getAttribute('data-status'), 'thinking');
    await page.locator('.hud-state > summary').click();
    assert.equal(await page.locator('.memory dd[data-key="user_name"]').textContent(), 'Ada');
    assert.equal(await page.locator('.memory dd.changed').count(), 1);
    assert.equal(
      await page.locator('.memory .changes li').textContent(),
      'user_name: null -> "Ada"',
    );
    assert.equal(await page.locator('.sensors dd.changed').textContent(), '14:02');
    assert.equal(await page.locator('.sensors dd').count(), 2);

    await host.events(ev.session, [
      ev.ev({ type: 'node.done', node: 'memorizer', turn, ms: 50, model: 'offline' }),
      ev.ev({
        type: 'memory.updated',
        node: 'memorizer',
        turn,
        state: { ...MEMORY, user_name: 'Ada', topic: 'arithmetic' },
        version: 2,
        changes: ['topic: null -> "arithmetic"'],
      }),
    ]);
    assert.equal(await page.locator('.memory .version').textContent(), 'v2');
    assert.deepEqual(await page.locator('.memory dd.changed').allTextContents(), ['arithmetic']);

    // The trace drawer, filtered by node.
    await page.locator('.trace > summary').click();
    const rows = page.locator('.trace-list li');
    await rows.first().waitFor();
    const all = await rows.count();
    assert.ok(all >= 20, `${all} trace rows`);
    await page.locator('.trace select').selectOption('memorizer');
    assert.deepEqual(await page.locator('.trace-list li .type').allTextContents(), [
      'node.thinking',
      'memory.updated',
      'node.done',
      'memory.updated',
    ]);
    await page.locator('.trace select').selectOption('thinker');
    assert.ok(
      (await page.locator('.trace-list li .node').allTextContents()).every((n) => n === 'thinker'),
    );
    // Live rows arrive while open.
    await host.events(ev.session, [
      ev.ev({ type: 'node.thinking', node: 'thinker', turn: 't3', detail: 'live one' }),
    ]);
    assert.equal(await page.locator('.trace-list li .summary').last().textContent(), 'live one');
    await page.locator('.trace select').selectOption('');

    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.setViewportSize({ width: 460, height: 1300 });
    await page.screenshot({ path: join(ROOT, 'test-artifacts', 'webview.png'), fullPage: true });
    assert.deepEqual(host.errors, []);
    await page.close();
  });

  it('shows connection and notice banners; an error notice gives an unsent message back', async () => {
    const ev = new Events();
    const host = await web.open();
    await host.load();
    await host.push(ev.snapshot([]));
    const { page } = host;
    const banner = page.locator('.banner.connection');
    await host.push({
      type: 'connection',
      status: 'reconnecting',
      detail: 'runtime exited (code 1)',
    });
    assert.equal(
      await banner.textContent(),
      'Connection lost: reconnecting… runtime exited (code 1)',
    );
    assert.equal(await banner.isVisible(), true);
    await host.push({ type: 'connection', status: 'connected' });
    assert.equal(await banner.isVisible(), false);

    await page.locator('.composer-input').fill('please work');
    await page.keyboard.press('Enter');
    await host.push({
      type: 'notice',
      level: 'error',
      message: 'Could not send: the runtime is not connected.',
    });
    assert.equal(
      await page.getByRole('alert').locator('.notice-text').textContent(),
      'Could not send: the runtime is not connected.',
    );
    assert.equal(await page.locator('.msg.user.pending').count(), 0);
    assert.equal(await page.locator('.composer-input').inputValue(), 'please work');
    await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await page.getByRole('alert').count(), 0);
    await page.close();
  });

  it('session picker, New and Clear post their intents; a clear empties the chat', async () => {
    const ev = new Events();
    const host = await web.open();
    await host.load();
    await host.push(ev.snapshot(ev.turn('hi', ['hello'])));
    const { page } = host;
    await host.push({
      type: 'sessions',
      sessions: [
        {
          id: ev.session,
          title: 'Test session',
          createdAt: '2025-01-01T00:00:00Z',
          turns: 1,
          lastSeq: 1,
          busy: false,
        },
        { id: 'other_2', createdAt: '2025-01-02T00:00:00Z', turns: 3, lastSeq: 9, busy: false },
      ],
    });
    const select = page.locator('.session-select');
    assert.deepEqual(await select.locator('option').allTextContents(), [
      'Test session · 1 turn',
      'Session other_2 · 3 turns',
    ]);
    assert.equal(await select.inputValue(), ev.session);
    const since = host.posted.length;
    await select.selectOption('other_2');
    await page.getByRole('button', { name: 'New' }).click();
    await page.getByRole('button', { name: 'Clear' }).click();
    await host.waitFor('clear', since);
    assert.deepEqual(host.posted.slice(since), [
      { type: 'switchSession', session: 'other_2' },
      { type: 'newSession' },
      { type: 'clear' },
    ]);
    await host.events(ev.session, [ev.ev({ type: 'session.cleared', node: 'runtime' })]);
    assert.equal(await page.locator('.msg').count(), 0);
    assert.equal(await page.locator('.cleared').count(), 1);
    await page.close();
  });
});
