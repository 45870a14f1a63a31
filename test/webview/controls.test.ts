import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Control } from '../../protocol/controls.js';
import { Events, processInfo } from './events.js';
import { useWebview } from './harness.js';

const web = useWebview();

async function open(ev: Events) {
  const host = await web.open();
  await host.load();
  await host.push(ev.snapshot([]));
  return host;
}

/** A turn whose Thinker shows `controls` mid-stream, then repeats them in its final message. */
function turnWithControls(ev: Events, controls: Control[]) {
  const turn = `t${++ev.turns}`;
  return [
    ev.ev({ type: 'user.message', node: 'user', turn, text: 'show me' }),
    ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
    ev.ev({ type: 'controls', node: 'thinker', turn, controls }),
    ev.ev({ type: 'output.delta', node: 'output', turn, text: 'Here you go.' }),
    ev.ev({
      type: 'assistant.message',
      node: 'output',
      turn,
      text: 'Here you go.',
      controls,
      processes: [],
      model: { offline: true, models: { input: 'o', thinker: 'o', output: 'o', memorizer: 'o' } },
    }),
  ];
}

describe('controls', () => {
  it('a button click posts exactly its action and data, once per click', async () => {
    const ev = new Events();
    const host = await open(ev);
    await host.events(
      ev.session,
      turnWithControls(ev, [
        { type: 'button', label: 'Tell me more', action: 'more', data: { about: 'nodes', n: 2 } },
        { type: 'button', label: 'Plain', action: 'plain' },
      ]),
    );
    // Shown by the controls event and repeated by assistant.message: rendered once.
    assert.equal(await host.page.locator('.cog-control-button').count(), 2);
    const since = host.posted.length;
    await host.page.getByRole('button', { name: 'Tell me more' }).click();
    await host.page.getByRole('button', { name: 'Plain' }).click();
    // Both clicks' messages, however the page interleaves anything else with them.
    const actions = () => host.posted.slice(since).filter((m) => m.type === 'action').length;
    while (actions() < 2) await host.waitFor('action');
    assert.deepEqual(host.posted.slice(since), [
      { type: 'action', action: 'more', data: { about: 'nodes', n: 2 } },
      { type: 'action', action: 'plain' },
    ]);
    await host.page.close();
  });

  it('a click shows in the user’s bubble as the button’s words, not its action and data', async () => {
    const ev = new Events();
    const host = await open(ev);
    await host.events(
      ev.session,
      turnWithControls(ev, [
        { type: 'button', label: 'Tell me more', action: 'more', data: { about: 'nodes' } },
      ]),
    );
    const turn = `t${++ev.turns}`;
    await host.events(ev.session, [
      ev.ev({
        type: 'user.message',
        node: 'user',
        turn,
        text: '[action: more] {"about":"nodes"}',
        action: { action: 'more', data: { about: 'nodes' } },
      }),
      // One the page never showed: its action name, as before.
      ev.ev({
        type: 'user.message',
        node: 'user',
        turn: `t${++ev.turns}`,
        text: '[action: unseen]',
        action: { action: 'unseen' },
      }),
    ]);
    const bubbles = host.page.locator('.msg.user .msg-action');
    await bubbles.nth(1).waitFor();
    assert.equal(await bubbles.nth(0).innerText(), '▸ Tell me more');
    assert.match((await bubbles.nth(0).getAttribute('title')) ?? '', /Action: more/);
    assert.equal(await bubbles.nth(1).innerText(), '▸ unseen');
    assert.equal(await host.page.locator('.msg.user', { hasText: '{"about"' }).count(), 0);
    await host.page.close();
  });

  it('a table sorts by a clicked header (numbers numerically) and pages past 50 rows', async () => {
    const ev = new Events();
    const host = await open(ev);
    const rows = Array.from({ length: 230 }, (_, i) => [`item ${i}`, (i * 37) % 230, i % 2 === 0]);
    await host.events(
      ev.session,
      turnWithControls(ev, [
        { type: 'table', title: 'Numbers', columns: ['name', 'value', 'even'], rows },
      ]),
    );
    const { page } = host;
    const table = page.locator('.cog-table');
    const status = table.locator('.pager-status');
    const firstCells = async (col: number) =>
      table.locator(`tbody tr td:nth-child(${col})`).allTextContents();
    assert.equal(await status.textContent(), 'rows 1–50 of 230');
    assert.equal(await table.locator('tbody tr').count(), 50);
    assert.equal(await table.locator('.pager-prev').isDisabled(), true);

    await table.getByRole('button', { name: 'value' }).click();
    assert.equal(await table.locator('th').nth(1).getAttribute('aria-sort'), 'ascending');
    assert.deepEqual((await firstCells(2)).slice(0, 12), [
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
      '11',
    ]);
    await table.locator('.pager-next').click();
    assert.equal(await status.textContent(), 'rows 51–100 of 230');
    assert.equal((await firstCells(2))[0], '50');
    for (let i = 0; i < 3; i++) await table.locator('.pager-next').click();
    assert.equal(await status.textContent(), 'rows 201–230 of 230');
    assert.equal(await table.locator('tbody tr').count(), 30);
    assert.equal(await table.locator('.pager-next').isDisabled(), true);

    await table.getByRole('button', { name: 'value' }).click();
    assert.equal(await table.locator('th').nth(1).getAttribute('aria-sort'), 'descending');
    assert.equal(await status.textContent(), 'rows 1–50 of 230');
    assert.deepEqual((await firstCells(2)).slice(0, 3), ['229', '228', '227']);

    // Text sorts naturally: "item 2" before "item 10".
    await table.getByRole('button', { name: 'name' }).click();
    assert.deepEqual((await firstCells(1)).slice(0, 3), ['item 0', 'item 1', 'item 2']);
    await table.locator('.pager-prev').isDisabled();
    await host.page.close();
  });

  it('a table of 50 rows or fewer has no pager buttons', async () => {
    const ev = new Events();
    const host = await open(ev);
    await host.events(
      ev.session,
      turnWithControls(ev, [{ type: 'table', columns: ['a'], rows: [['x'], ['y']] }]),
    );
    assert.equal(
      await host.page.locator('.cog-table .pager-status').textContent(),
      'rows 1–2 of 2',
    );
    assert.equal(await host.page.locator('.cog-table .pager-next').isVisible(), false);
    await host.page.close();
  });

  it('process cards: pending → approve/deny; running → output and a ticking clock; done', async () => {
    const ev = new Events();
    const host = await open(ev);
    const { page } = host;
    const turn = 't1';
    const upd = (p: ReturnType<typeof processInfo>) =>
      ev.ev({ type: 'process.updated', node: 'process', turn, process: p });
    await host.events(ev.session, [
      ev.ev({ type: 'user.message', node: 'user', turn, text: 'what is 17*23?' }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn, mode: 'fast' }),
      upd(processInfo('p1')),
      ev.ev({
        type: 'controls',
        node: 'thinker',
        turn,
        controls: [{ type: 'process', processId: 'p1' }],
      }),
      // A card may be announced before its process's first event.
      ev.ev({
        type: 'controls',
        node: 'thinker',
        turn,
        controls: [{ type: 'process', processId: 'p2' }],
      }),
      upd(processInfo('p2', { language: 'javascript', code: 'console.log(1)' })),
    ]);
    const card1 = page.locator('.cog-process[data-process="p1"]');
    const card2 = page.locator('.cog-process[data-process="p2"]');
    assert.equal(await card1.locator('.proc-status').textContent(), 'awaiting approval');
    assert.equal(await card1.locator('.proc-lang').textContent(), 'python');
    assert.equal(await card2.locator('.proc-lang').textContent(), 'javascript');
    assert.equal(await card1.locator('.proc-code code').textContent(), 'print(17*23)');

    let since = host.posted.length;
    await card1.getByRole('button', { name: 'Approve' }).click();
    await card2.getByRole('button', { name: 'Deny' }).click();
    await host.waitFor('approve', since + 1);
    // Each decision carries the code and tier its card showed.
    assert.deepEqual(host.posted.slice(since), [
      {
        type: 'approve',
        process: 'p1',
        decision: 'approve',
        code: 'print(17*23)',
        isolation: 'bubblewrap',
      },
      {
        type: 'approve',
        process: 'p2',
        decision: 'deny',
        code: 'console.log(1)',
        isolation: 'bubblewrap',
      },
    ]);
    // A decision is posted once: the buttons wait for the runtime's answer.
    assert.equal(await card1.getByRole('button', { name: 'Approve' }).isDisabled(), true);

    const startedAt = new Date(Date.now() - 1500).toISOString();
    await host.events(ev.session, [
      upd(processInfo('p1', { status: 'running', startedAt })),
      upd(
        processInfo('p2', {
          status: 'denied',
          reason: 'denied by the user',
          endedAt: new Date().toISOString(),
        }),
      ),
      ev.ev({
        type: 'process.output',
        node: 'process',
        turn,
        process: 'p1',
        stream: 'stdout',
        text: 'working…\n',
      }),
      ev.ev({
        type: 'process.output',
        node: 'process',
        turn,
        process: 'p1',
        stream: 'stderr',
        text: 'a warning\n',
      }),
    ]);
    assert.equal(await card1.locator('.proc-status').textContent(), 'running');
    assert.equal(await card1.locator('.proc-output').textContent(), 'working…\na warning\n');
    assert.equal(await card1.locator('.proc-output .stderr').textContent(), 'a warning\n');
    assert.equal(await card2.locator('.proc-status').textContent(), 'denied');
    assert.equal(await card2.locator('.proc-reason').textContent(), 'denied by the user');
    assert.equal(await card2.locator('button').count(), 0);

    const elapsed = card1.locator('.proc-elapsed');
    const t1 = await elapsed.textContent();
    assert.match(t1 ?? '', /^\d+\.\d s$/);
    await page.waitForFunction(
      (before) =>
        (
          globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string } };
          }
        ).document.querySelector('.cog-process[data-process="p1"] .proc-elapsed').textContent !==
        before,
      t1,
      { timeout: 2000 },
    );

    since = host.posted.length;
    await card1.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(await host.waitFor('cancelProcess', since), {
      type: 'cancelProcess',
      process: 'p1',
    });

    await host.events(ev.session, [
      ev.ev({
        type: 'process.output',
        node: 'process',
        turn,
        process: 'p1',
        stream: 'stdout',
        text: '391\n',
      }),
      upd(
        processInfo('p1', {
          status: 'done',
          exitCode: 0,
          startedAt,
          endedAt: new Date(Date.parse(startedAt) + 2345).toISOString(),
          outputBytes: 23,
        }),
      ),
    ]);
    assert.equal(await card1.locator('.proc-status').textContent(), 'done');
    assert.equal(await card1.locator('.proc-exit').textContent(), 'exit 0');
    assert.equal(await card1.locator('.proc-elapsed').textContent(), '2.3 s');
    assert.equal(await card1.locator('button').count(), 0);
    assert.match((await card1.locator('.proc-output').textContent()) ?? '', /391\n$/);
    assert.deepEqual(host.invalid, []);
    await page.close();
  });
});

describe('high contrast', () => {
  /** WCAG contrast of the element's text on its (first opaque) background. */
  const contrastOf = (selector: string) => `(() => {
    const el = document.querySelector(${JSON.stringify(selector)});
    if (!el) return -1;
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    let bg = el;
    while (bg && (rgb(getComputedStyle(bg).backgroundColor)[3] === 0 || getComputedStyle(bg).backgroundColor === 'transparent')) bg = bg.parentElement;
    const back = bg ? rgb(getComputedStyle(bg).backgroundColor) : [255, 255, 255];
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(back)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  })()`;

  // VS Code 1.100's own colours for these themes (statusBarItem.warningBackground is
  // null in high contrast dark, so the badge fell back to white on the warning yellow).
  for (const [name, theme] of [
    [
      'dark',
      {
        '--vscode-foreground': '#ffffff',
        '--vscode-editor-background': '#000000',
        '--vscode-sideBar-background': '#000000',
        '--vscode-contrastBorder': '#6fc3df',
        '--vscode-statusBarItem-warningForeground': '#ffffff',
        '--vscode-editorWarning-foreground': '#ffd370',
      },
    ],
    [
      'light',
      {
        '--vscode-foreground': '#292929',
        '--vscode-editor-background': '#ffffff',
        '--vscode-sideBar-background': '#ffffff',
        '--vscode-contrastBorder': '#0f4a85',
        '--vscode-statusBarItem-warningForeground': '#ffffff',
        '--vscode-statusBarItem-warningBackground': '#895503',
        '--vscode-editorWarning-foreground': '#895503',
      },
    ],
  ] as const) {
    it(`the offline badge reads at 4.5:1 or better in high contrast ${name}`, async () => {
      const ev = new Events();
      const host = await open(ev);
      await host.events(ev.session, ev.turn('hello', ['Hi.']));
      await host.page.locator('.offline-tag').first().waitFor();
      await host.page.evaluate(
        `(() => { const t = ${JSON.stringify(theme)};
          for (const [k, v] of Object.entries(t)) document.documentElement.style.setProperty(k, v);
          if (!('--vscode-statusBarItem-warningBackground' in t)) document.documentElement.style.removeProperty('--vscode-statusBarItem-warningBackground');
          document.body.classList.remove('vscode-dark');
          document.body.classList.add('vscode-high-contrast'${name === 'light' ? ", 'vscode-high-contrast-light'" : ''}); })()`,
      );
      const ratio = await host.page.evaluate<number>(contrastOf('.offline-tag'));
      assert.ok(ratio >= 4.5, `contrast ${ratio.toFixed(2)}:1`);
      await host.page.close();
    });
  }
});
