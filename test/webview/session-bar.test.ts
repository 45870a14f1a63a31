import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionSummary } from '../../protocol/results.js';
import { Events, OFFLINE } from './events.js';
import { useWebview } from './harness.js';

// The panel's session bar in real Chromium: sessions by title (an ellipsis when long, the
// whole title in the title attribute), and Rename and Delete that only ask the host.

const web = useWebview();

const LONG = 'Planning the quarterly budget review with the finance team and every regional office';

function listed(id: string, title: string | undefined, turns: number): SessionSummary {
  return {
    id,
    ...(title ? { title } : {}),
    createdAt: '2026-01-02T03:04:05.000Z',
    turns,
    lastSeq: turns * 4,
    busy: false,
  };
}

/** The host's snapshot of `session` (the turn 'hi' → 'hello') with `sessions` listed. */
function snapshot(ev: Events, session: string, sessions: SessionSummary[]) {
  return {
    type: 'snapshot' as const,
    session,
    sessions,
    events: ev.turn('hi', ['hello']),
    resumed: false,
    model: OFFLINE,
    approval: 'ask' as const,
  };
}

describe('session bar', () => {
  it('shows titles, long ones cut with an ellipsis and whole in the title attribute', async () => {
    const ev = new Events();
    const host = await web.open();
    await host.load();
    await host.push(
      snapshot(ev, ev.session, [listed(ev.session, LONG, 2), listed('s-untitled', undefined, 0)]),
    );
    const { page } = host;
    const select = page.locator('.session-select');
    assert.deepEqual(await select.locator('option').allTextContents(), [
      `${LONG} · 2 turns`,
      'Session s-untitled',
    ]);
    const title = await select.getAttribute('title');
    assert.ok(title?.startsWith(`${LONG}\n${ev.session}, started `), String(title));
    assert.equal(
      await select.locator('option').first().getAttribute('title'),
      `${LONG}\n${ev.session}, started 2026-01-02T03:04:05.000Z`,
    );
    const box = await select.evaluate((el) => {
      const g = globalThis as unknown as {
        getComputedStyle(e: unknown): { textOverflow: string; whiteSpace: string };
      };
      const style = g.getComputedStyle(el);
      const bar = el.parentElement!.getBoundingClientRect();
      return {
        overflow: style.textOverflow,
        nowrap: style.whiteSpace,
        width: el.getBoundingClientRect().width,
        bar: bar.width,
        cut: el.scrollWidth > el.clientWidth || el.getBoundingClientRect().width < bar.width / 2,
      };
    });
    assert.equal(box.overflow, 'ellipsis');
    assert.equal(box.nowrap, 'nowrap');
    assert.ok(box.width <= box.bar * 0.45 + 1, `at most 45% of the bar: ${JSON.stringify(box)}`);
    assert.ok(box.cut, 'the long title does not fit: it is cut');

    // A retitle (the host relays the new list) shows at once.
    await host.push({ type: 'sessions', sessions: [listed(ev.session, 'Budget', 3)] });
    assert.deepEqual(await select.locator('option').allTextContents(), ['Budget · 3 turns']);
    assert.match((await select.getAttribute('title')) ?? '', /^Budget\n/);
    await page.close();
  });

  it('Rename and Delete post strict intents naming the shown session, and nothing else', async () => {
    const ev = new Events();
    const host = await web.open();
    await host.load();
    const both = [listed(ev.session, 'Budget', 1), listed('other_2', 'Travel', 3)];
    await host.push(snapshot(ev, ev.session, both));
    const { page } = host;
    const since = host.posted.length;
    await page.getByRole('button', { name: 'Rename' }).click();
    await host.waitFor('renameSession', since);
    await page.getByRole('button', { name: 'Delete' }).click();
    await host.waitFor('deleteSession', since);
    assert.deepEqual(host.posted.slice(since), [
      { type: 'renameSession', session: ev.session },
      { type: 'deleteSession', session: ev.session },
    ]);
    assert.deepEqual(host.invalid, [], 'each passed the host schema');
    assert.equal(
      await page.locator('.msg').count(),
      2,
      'nothing is deleted by the page itself: the chat is still there',
    );
    assert.equal((await host.tripwires()).dialogs, 0, 'the page asks nothing itself');

    // After a switch (the host's snapshot), they name the session now shown.
    await page.locator('.session-select').selectOption('other_2');
    await host.waitFor('switchSession', since);
    await host.push({ ...snapshot(ev, 'other_2', both), events: [] });
    const mark = host.posted.length;
    await page.getByRole('button', { name: 'Rename' }).click();
    assert.deepEqual(await host.waitFor('renameSession', mark), {
      type: 'renameSession',
      session: 'other_2',
    });
    const csp = (await host.tripwires()).csp;
    assert.deepEqual(csp, [], 'no CSP violation');
    await page.close();
  });
});
