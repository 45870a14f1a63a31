import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { THEMES, themeInitScript } from '../fixtures/vscode-themes.js';
import { useWebview, type FakeHost } from './harness.js';
import { axeViolations, describeProblems, overflowProblems } from './layout-check.js';
import { richSession } from './rich-session.js';

// Issue 12: at the sidebar's default width (about 300 px) nothing may be cut off or spill out
// of its box, in any of VS Code's four default themes (their real variables, from
// test/fixtures/vscode-themes.json), and text contrast must be at least 4.5:1 (axe-core).

const web = useWebview();
const WIDTHS = [280, 300, 320];
/** Tall enough that every turn is on screen: off-screen turns skip layout (content-visibility). */
const HEIGHT = 2400;

async function richPanel(theme: (typeof THEMES)[number]['id'], width: number): Promise<FakeHost> {
  const host = await web.open();
  await host.page.addInitScript(themeInitScript(theme));
  await host.page.setViewportSize({ width, height: HEIGHT });
  await host.load();
  const { snapshot, after } = richSession();
  await host.push(snapshot);
  for (const m of after) await host.push(m);
  const { page } = host;
  await page.locator('details.hud-state > summary').click();
  await page.locator('details.trace > summary').click();
  await page.locator('.trace-list .fold > summary').first().click();
  await page.locator('.trace-list .fold-row').first().waitFor();
  await page.locator('.msg.assistant .md table').first().waitFor();
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  return host;
}

describe('the panel at 280–320 px in four themes', () => {
  for (const theme of THEMES) {
    for (const width of WIDTHS) {
      it(`${theme.id} at ${width} px: nothing clipped or spilling, contrast ≥ 4.5:1`, async (t) => {
        const host = await richPanel(theme.id, width);
        const { page } = host;
        assert.equal(
          await page.evaluate('document.documentElement.clientWidth'),
          width,
          'the page is as wide as the sidebar',
        );
        assert.ok(
          await page.evaluate(
            `document.body.classList.contains(${JSON.stringify(theme.bodyClass)})`,
          ),
        );

        const overflow = await overflowProblems(page);
        assert.deepEqual(overflow, [], `clipped or spilling:\n${describeProblems(overflow)}`);

        const axe = await axeViolations(page);
        const contrast = axe.filter((v) => v.id === 'color-contrast');
        assert.deepEqual(contrast, [], `contrast below 4.5:1:\n${describeProblems(contrast)}`);
        const serious = axe.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        assert.deepEqual(serious, [], `serious axe findings:\n${describeProblems(serious)}`);
        if (axe.length) t.diagnostic(`other axe findings:\n${describeProblems(axe)}`);
        assert.deepEqual(host.errors, []);
        await page.close();
      });
    }
  }
});

describe('the HUD at 300 px', () => {
  it('shows every node name and count whole, two nodes a row', async () => {
    const host = await richPanel('dark', 300);
    const { page } = host;
    const nodes = page.locator('.pipeline .node');
    assert.deepEqual(await page.locator('.pipeline .node-name').allTextContents(), [
      'Input',
      'Thinker',
      'Output',
      'Memorizer',
    ]);
    const tops = await nodes.evaluateAll((els) =>
      els.map((el) => Math.round((el as unknown as { offsetTop: number }).offsetTop)),
    );
    assert.equal(tops[0], tops[1], 'Input and Thinker share a row');
    assert.equal(tops[2], tops[3], 'Output and Memorizer share a row');
    assert.ok(tops[2]! > tops[0]!, 'two rows');
    assert.equal(
      await page.locator('.pipeline .node[data-node="thinker"] .tokens').textContent(),
      '186,654 / 200,000',
    );
    assert.equal(
      await page.locator('.pipeline .node[data-node="thinker"] .latency').textContent(),
      '2 m 03 s',
    );
    assert.match(
      (await page.locator('.pipeline .node[data-node="thinker"] .latency').getAttribute('title')) ??
        '',
      /not counting 1 m 00 s waiting for approval/,
    );
    await page.close();
  });

  it('bounds the State panel, which scrolls to its last row', async () => {
    const host = await richPanel('dark', 300);
    const { page } = host;
    await page.setViewportSize({ width: 300, height: 700 });
    const panels = page.locator('.hud-panels');
    const box = await panels.evaluate((el) => {
      const e = el as unknown as { clientHeight: number; scrollHeight: number };
      return { client: e.clientHeight, scroll: e.scrollHeight };
    });
    assert.ok(box.client <= 0.3 * 700 + 1, `State panel ${box.client} px of a 700 px panel`);
    assert.ok(box.scroll > box.client, 'its facts scroll inside it');
    // Scrolled to its end, the last row ends inside the panel: nothing is cut off below.
    const inside = await page.evaluate(`(() => {
      const el = document.querySelector('.hud-panels');
      el.scrollTop = el.scrollHeight;
      const panel = el.getBoundingClientRect();
      const row = document.querySelector('.memory dd[data-key="facts"]').getBoundingClientRect();
      return row.bottom <= panel.bottom + 1 && row.bottom > panel.top;
    })()`);
    assert.ok(inside, 'the last row scrolls into view');
    const hud = await page.locator('.hud').evaluate((el) => {
      const e = el as unknown as { clientHeight: number; scrollHeight: number };
      return { client: e.clientHeight, scroll: e.scrollHeight };
    });
    assert.ok(hud.client <= 0.65 * 700 + 1, `HUD ${hud.client} px of 700`);
    await page.close();
  });

  it('folds consecutive sensor ticks into one expandable row with a count', async () => {
    const host = await richPanel('dark', 300);
    const { page } = host;
    const sensorRows = page.locator('.trace-list > li[data-node="sensor"]');
    assert.equal(await sensorRows.count(), 1, 'four ticks in a row: one row');
    assert.equal(await sensorRows.locator('.type').textContent(), 'sensor.tick ×4');
    // richPanel opened it: each tick kept is listed, oldest first.
    const ticks = sensorRows.locator('.fold-row');
    assert.equal(await ticks.count(), 4);
    assert.match((await ticks.first().textContent()) ?? '', /clock=2026-12-03 08:00/);
    assert.match((await ticks.last().textContent()) ?? '', /clock=2026-12-03 08:03/);
    await sensorRows.locator('.fold > summary').click();
    await ticks.first().waitFor({ state: 'detached' });
    assert.equal(await ticks.count(), 0, 'closed again');
    await page.close();
  });

  it('scrolls a wide table inside its own box, not the chat', async () => {
    const host = await richPanel('light', 300);
    const { page } = host;
    const widths = (sel: string) =>
      page
        .locator(sel)
        .first()
        .evaluate((el) => {
          const e = el as unknown as { clientWidth: number; scrollWidth: number };
          return { client: e.clientWidth, scroll: e.scrollWidth };
        });
    const table = await widths('.cog-table .table-scroll');
    assert.ok(
      table.scroll > table.client,
      `the table scrolls (${table.scroll} in ${table.client})`,
    );
    const md = await widths('.md table');
    assert.ok(md.scroll > md.client, `the markdown table scrolls (${md.scroll} in ${md.client})`);
    const chat = await widths('.chat');
    assert.ok(chat.scroll <= chat.client, `the chat does not (${chat.scroll} in ${chat.client})`);
    await page.close();
  });
});
