import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Events } from './events.js';
import { useWebview } from './harness.js';

const web = useWebview();

async function open() {
  const ev = new Events();
  const host = await web.open();
  await host.load();
  await host.push(ev.snapshot([]));
  return { host, ev };
}

describe('editor context', () => {
  it('shows what the host holds as removable chips; remove names the chip by its id only', async () => {
    const { host } = await open();
    const { page } = host;
    const chips = page.locator('.composer .composer-chips');
    assert.equal(await chips.isHidden(), true, 'no chips, no strip');
    await host.push({
      type: 'attachments',
      items: [
        { id: 'a1', label: 'a.ts:10-20', title: 'src/a.ts:10-20', kind: 'selection' },
        {
          id: 'a2',
          label: '<img src=x onerror=alert(1)>.md',
          title: 'docs/<b>x</b>.md',
          kind: 'file',
        },
      ],
    });
    await chips.waitFor();
    const chip = chips.locator('.chip');
    assert.equal(await chip.count(), 2);
    assert.equal(await chip.nth(0).locator('.chip-label').textContent(), 'a.ts:10-20');
    assert.equal(await chip.nth(0).getAttribute('title'), 'src/a.ts:10-20');
    // Labels and paths are text, never markup.
    assert.equal(
      await chip.nth(1).locator('.chip-label').textContent(),
      '<img src=x onerror=alert(1)>.md',
    );
    assert.equal(await chips.locator('img, b').count(), 0);
    // The chips sit above the message box.
    const [chipsBox, inputBox] = await Promise.all([
      chips.boundingBox(),
      page.locator('textarea.composer-input').boundingBox(),
    ]);
    assert.ok(chipsBox && inputBox && chipsBox.y + chipsBox.height <= inputBox.y + 1);

    const since = host.posted.length;
    await chip.nth(0).locator('.chip-remove').click();
    const removed = await host.waitFor('attachRemove', since);
    assert.deepEqual(removed, { type: 'attachRemove', id: 'a1' });
    // The host owns the list: the chip goes when it says so.
    assert.equal(await chip.count(), 2);
    await host.push({
      type: 'attachments',
      items: [{ id: 'a2', label: 'x.md', title: 'docs/x.md', kind: 'file' }],
    });
    await chips.locator('.chip[data-id="a1"]').waitFor({ state: 'detached' });
    assert.equal(await chip.count(), 1);
    await host.push({ type: 'attachments', items: [] });
    await chips.waitFor({ state: 'hidden' });
    assert.deepEqual(host.invalid, []);
    assert.equal((await host.tripwires()).xss, null);
  });

  it('@ or # typed at a word start asks the host for a file pick; elsewhere it is just text', async () => {
    const { host } = await open();
    const input = host.page.locator('textarea.composer-input');
    await input.click();
    let since = host.posted.length;
    await input.pressSequentially('look at @');
    assert.deepEqual(await host.waitFor('attachPick', since), { type: 'attachPick', trigger: '@' });
    since = host.posted.length;
    await input.pressSequentially(' and #');
    assert.deepEqual(await host.waitFor('attachPick', since), { type: 'attachPick', trigger: '#' });
    await input.fill('');
    since = host.posted.length;
    await input.pressSequentially('#');
    assert.deepEqual(await host.waitFor('attachPick', since), { type: 'attachPick', trigger: '#' });
    // Inside a word (an address, a#b) and pasted text do not trigger it.
    await input.fill('');
    since = host.posted.length;
    await input.pressSequentially('me@example.com a#b');
    await input.fill('@ pasted');
    await host.page.evaluate(() => new Promise((r) => setTimeout(r, 200)));
    assert.deepEqual(
      host.posted.slice(since).filter((m) => m.type === 'attachPick'),
      [],
    );
    assert.equal(await input.inputValue(), '@ pasted', 'the text is left as typed');
  });

  it('a sent message shows the chips it went with, from user.message.context', async () => {
    const { host, ev } = await open();
    await host.events(ev.session, [
      ev.ev({
        type: 'user.message',
        node: 'user',
        turn: 't1',
        text: 'what does this do?',
        context: [
          { label: 'src/lib/a.ts:3-9', kind: 'selection', tokens: 42 },
          { label: 'README.md', kind: 'file', tokens: 120 },
        ],
      }),
    ]);
    const chips = host.page.locator('.msg.user .msg-chips .chip');
    await chips.first().waitFor();
    assert.deepEqual(await chips.locator('.chip-label').allTextContents(), [
      'a.ts:3-9',
      'README.md',
    ]);
    assert.match(
      (await chips.first().getAttribute('title')) ?? '',
      /src\/lib\/a\.ts:3-9 \(selection, 42 tokens\)/,
    );
    // A message without context has none.
    await host.events(ev.session, [
      ev.ev({ type: 'user.message', node: 'user', turn: 't2', text: 'plain' }),
    ]);
    await host.page.locator('.msg.user', { hasText: 'plain' }).waitFor();
    assert.equal(
      await host.page.locator('.msg.user', { hasText: 'plain' }).locator('.chip').count(),
      0,
    );
  });

  it('the HUD shows the Thinker’s attached tokens beside its fill', async () => {
    const { host, ev } = await open();
    await host.events(ev.session, [
      ev.ev({
        type: 'node.context',
        node: 'thinker',
        turn: 't1',
        tokens: 3000,
        budget: 8000,
        fillPct: 38,
        messages: 3,
        trimmed: 0,
        attachedTokens: 1200,
      }),
    ]);
    const node = host.page.locator('.pipeline .node[data-node="thinker"]');
    await node.locator('.tokens', { hasText: 'attached' }).waitFor();
    assert.match((await node.locator('.tokens').textContent()) ?? '', /1,200 attached/);
    assert.equal(await node.locator('[data-attached]').getAttribute('data-attached'), '1200');
    assert.match(
      (await node.locator('[data-attached]').getAttribute('title')) ?? '',
      /of them attached from the editor/,
    );
  });
});
