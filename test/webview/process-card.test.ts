import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeIsolation, type Isolation, type ProcessInfo } from '../../protocol/events.js';
import { Events, processInfo } from './events.js';
import { useWebview, type FakeHost } from './harness.js';

// The process card is the approval: what it shows before Approve is what the person agrees
// to, so these check that it is all in plain sight and that nothing decides by accident.

const web = useWebview();

/** What each tier must say, in words a person reads (protocol/events.ts describeIsolation). */
const TIERS: Record<Isolation, RegExp> = {
  bubblewrap: /^sandboxed \(bubblewrap\b/,
  namespaces: /^sandboxed \(Linux namespaces\b/,
  wasm: /^sandboxed \(WebAssembly\b/,
  none: /^NOT sandboxed: .*your full rights$/,
};

/** A turn that shows one card per process, each waiting for approval. */
async function showCards(host: FakeHost, ev: Events, processes: ProcessInfo[]): Promise<void> {
  const turn = `t${++ev.turns}`;
  await host.events(ev.session, [
    ev.ev({ type: 'user.message', node: 'user', turn, text: 'what is 17*23?' }),
    ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
    ...processes.flatMap((p) => [
      ev.ev({ type: 'process.updated', node: 'process', turn, process: p }),
      ev.ev({
        type: 'controls',
        node: 'thinker',
        turn,
        controls: [{ type: 'process', processId: p.id }],
      }),
    ]),
  ]);
}

async function open(ev: Events): Promise<FakeHost> {
  const host = await web.open();
  await host.load();
  await host.push(ev.snapshot([]));
  return host;
}

describe('process card: the approval', () => {
  it('names every isolation tier in words, visibly, and warns when not sandboxed', async () => {
    const ev = new Events();
    const host = await open(ev);
    const ids = Object.keys(TIERS).map((_, i) => `p-${i}a1b2c3d`);
    await showCards(
      host,
      ev,
      (Object.keys(TIERS) as Isolation[]).map((isolation, i) =>
        processInfo(ids[i]!, { isolation, code: `print(${i})` }),
      ),
    );
    const { page } = host;
    for (const [i, [tier, words]] of Object.entries(TIERS).entries()) {
      const card = page.locator(`.cog-process[data-process="${ids[i]}"]`);
      const shown = card.locator('.proc-isolation');
      assert.match((await shown.textContent()) ?? '', words, tier);
      assert.equal(await shown.textContent(), describeIsolation(tier as Isolation));
      assert.ok(await shown.isVisible(), `${tier}: shown, not only a tooltip`);
      assert.equal(
        await shown.evaluate((el) => el.classList.contains('unsandboxed')),
        tier === 'none',
        `${tier}: warning style only when not sandboxed`,
      );
      // The code being approved is on screen too, not folded away.
      assert.ok(await card.locator('.proc-code code').isVisible(), `${tier}: code visible`);
      assert.equal(await card.locator('.proc-code code').textContent(), `print(${i})`);
    }
    // A tier this build does not know is not called sandboxed.
    await showCards(host, ev, [
      processInfo('p-99999999', { isolation: 'process-group' as Isolation }),
    ]);
    const odd = page.locator('.cog-process[data-process="p-99999999"] .proc-isolation');
    assert.match((await odd.textContent()) ?? '', /not known to be sandboxed/);
    assert.ok(await odd.evaluate((el) => el.classList.contains('unsandboxed')));
    assert.deepEqual(host.errors, []);
    await page.close();
  });

  it('shows no internal id: not in its text, labels or tooltips', async () => {
    const ev = new Events();
    const host = await open(ev);
    await showCards(host, ev, [processInfo('p-1234abcd', { isolation: 'wasm' })]);
    const card = host.page.locator('.cog-process[data-process="p-1234abcd"]');
    await card.locator('.proc-approve').waitFor();
    assert.doesNotMatch((await card.innerText()) ?? '', /p-1234abcd/);
    const labels = await card.evaluate((el) =>
      [el, ...el.querySelectorAll('*')].flatMap((n) =>
        ['aria-label', 'title'].map((a) => n.getAttribute(a) ?? ''),
      ),
    );
    for (const label of labels) assert.doesNotMatch(label, /p-1234abcd/);
    await host.page.close();
  });

  it('takes no focus: neither button is focused, and Enter in the composer sends, never approves', async () => {
    const ev = new Events();
    const host = await open(ev);
    const { page } = host;
    const composer = page.locator('textarea.composer-input');
    // The person is typing when the card arrives.
    await composer.click();
    await composer.fill('and also');
    await showCards(host, ev, [processInfo('p-0000feed', { isolation: 'none' })]);
    const card = page.locator('.cog-process[data-process="p-0000feed"]');
    await card.locator('.proc-approve').waitFor();
    assert.equal(await page.locator('.cog-process button:focus').count(), 0, 'no button focused');
    assert.ok(
      await composer.evaluate((el) => el === el.ownerDocument.activeElement),
      'focus stays in the composer',
    );
    const since = host.posted.length;
    await composer.press('Enter');
    const sent = await host.waitFor('send', since);
    assert.equal(sent.text, 'and also');
    // Enter again on an empty composer, and once on the page itself: still no decision.
    await composer.press('Enter');
    await page.keyboard.press('Enter');
    await page.locator('body').press('Enter');
    assert.equal(await card.locator('.proc-status').textContent(), 'awaiting approval');
    assert.deepEqual(
      host.posted.slice(since).filter((m) => m.type === 'approve'),
      [],
      'nothing was approved',
    );
    assert.equal(await card.locator('.proc-approve').isDisabled(), false);
    assert.equal(await page.locator('.cog-process button:focus').count(), 0);

    // A click is the decision, and it names what the card showed.
    await card.locator('.proc-approve').click();
    const approve = await host.waitFor('approve', since);
    assert.deepEqual(approve, {
      type: 'approve',
      process: 'p-0000feed',
      decision: 'approve',
      code: 'print(17*23)',
      isolation: 'none',
    });
    assert.deepEqual(host.invalid, []);
    await page.close();
  });
});
