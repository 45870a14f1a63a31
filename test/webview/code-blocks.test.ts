import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Events } from './events.js';
import { useWebview } from './harness.js';
import { XSS_PAYLOADS } from './xss-payloads.js';

const web = useWebview();

const TS = [
  'interface Point { x: number; y: number }',
  '// the distance from the origin',
  'export function norm(p: Point): number {',
  '  const label = "norm";',
  '  return Math.sqrt(p.x * p.x + p.y * p.y) + 0;',
  '}',
].join('\n');

const PY = [
  'def greet(name):',
  '    """Say hello."""',
  '    return f"hi {name}" if name else None',
].join('\n');

/** A loaded page past its handshake, showing `events`. */
async function open(ev: Events, events = ev.turn('hello', ['Hi.'])) {
  const host = await web.open();
  await host.load();
  await host.push(ev.snapshot(events));
  return host;
}

type El = {
  className: string;
  textContent: string | null;
  attributes: ArrayLike<{ name: string; value: string }>;
  tagName: string;
};
type Doc = { document: { querySelectorAll(s: string): ArrayLike<El> } };

/** Every element in the replies that carries a style attribute, or an on* handler. */
function inlineStylesAndHandlers(host: Awaited<ReturnType<typeof open>>) {
  return host.page.evaluate(() => {
    const all = (globalThis as unknown as Doc).document.querySelectorAll('.msg.assistant *');
    const bad: string[] = [];
    for (let i = 0; i < all.length; i++) {
      for (let j = 0; j < all[i].attributes.length; j++) {
        const name = all[i].attributes[j].name;
        if (name === 'style' || /^on/i.test(name)) bad.push(`${all[i].tagName}[${name}]`);
      }
    }
    return bad;
  });
}

describe('code blocks', () => {
  it('highlights fenced code with highlight.js classes, no inline styles, no CSP violation', async () => {
    const ev = new Events();
    const reply = `Here:\n\n\`\`\`ts\n${TS}\n\`\`\`\n\nand\n\n\`\`\`python\n${PY}\n\`\`\`\n\n\`\`\`\nplain <b>text</b>\n\`\`\``;
    const host = await open(ev, ev.turn('show me code', [reply]));
    const { page } = host;
    const blocks = page.locator('.msg.assistant .code-block');
    assert.equal(await blocks.count(), 3);
    const ts = blocks.nth(0);
    assert.equal(await ts.locator('code').getAttribute('class'), 'language-ts');
    assert.equal(await ts.locator('code').textContent(), TS, 'the text is the code, unchanged');
    assert.deepEqual(await ts.locator('.hljs-keyword').first().textContent(), 'interface');
    assert.ok((await ts.locator('.hljs-comment').textContent())?.includes('the distance'));
    assert.equal(await ts.locator('.hljs-string').first().textContent(), '"norm"');
    assert.equal(await ts.locator('.hljs-number').last().textContent(), '0');
    assert.equal(await ts.locator('.hljs-title.function_').first().textContent(), 'norm');
    assert.equal(await ts.locator('.hljs-title.class_').first().textContent(), 'Point');
    const py = blocks.nth(1);
    assert.equal(await py.locator('.hljs-keyword').first().textContent(), 'def');
    assert.equal(await py.locator('.hljs-string').first().textContent(), '"""Say hello."""');
    assert.equal(await py.locator('.hljs-literal').textContent(), 'None');
    // Unlabelled code is not guessed at: plain, escaped text.
    const plain = blocks.nth(2);
    assert.equal(await plain.locator('span').count(), 0);
    assert.equal(await plain.locator('b').count(), 0);
    assert.equal(await plain.locator('code').textContent(), 'plain <b>text</b>');
    // Coloured by the stylesheet: a keyword and a string differ from the plain text.
    const colour = (sel: string) =>
      ts
        .locator(sel)
        .first()
        .evaluate(
          (el) =>
            (
              globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }
            ).getComputedStyle(el).color,
        );
    const [kw, str, text] = [
      await colour('.hljs-keyword'),
      await colour('.hljs-string'),
      await colour('code'),
    ];
    assert.notEqual(kw, text);
    assert.notEqual(str, text);
    assert.notEqual(kw, str);
    assert.deepEqual(await inlineStylesAndHandlers(host), []);
    const wires = await host.tripwires();
    assert.deepEqual(wires.csp, []);
    assert.deepEqual(host.errors, []);
    await page.close();
  });

  it('highlights while a reply streams; the open fence gets its buttons once it closes', async () => {
    const ev = new Events();
    const host = await open(ev, []);
    const { page } = host;
    await host.events(ev.session, [
      ev.ev({ type: 'user.message', node: 'user', turn: 't1', text: 'code please' }),
      ev.ev({ type: 'turn.started', node: 'runtime', turn: 't1', mode: 'fast' }),
      ev.ev({ type: 'output.delta', node: 'output', turn: 't1', text: 'Sure:\n\n```js\nconst a' }),
    ]);
    const block = page.locator('.msg.assistant .code-block');
    await block.locator('.hljs-keyword', { hasText: 'const' }).waitFor();
    assert.equal(await block.getAttribute('class'), 'code-block code-open');
    assert.equal(await block.locator('.code-actions').count(), 0, 'no buttons on half the code');
    await host.events(ev.session, [
      ev.ev({ type: 'output.delta', node: 'output', turn: 't1', text: ' = 1;\n' }),
      ev.ev({ type: 'output.delta', node: 'output', turn: 't1', text: '```\n\nDone.' }),
    ]);
    await block.locator('.code-actions').waitFor();
    assert.equal(await block.getAttribute('class'), 'code-block');
    assert.equal(await page.locator('.msg.assistant.streaming').count(), 1, 'still streaming');
    assert.deepEqual(await block.locator('.code-actions button').allTextContents(), [
      'Copy',
      'Insert',
      'New File',
    ]);
    assert.equal(await block.locator('.hljs-number').textContent(), '1');
    assert.deepEqual((await host.tripwires()).csp, []);
    await page.close();
  });

  it('Copy, Insert and New File post the block’s exact code and language, validated', async () => {
    const ev = new Events();
    const code = 'for (let i = 0; i < 3; i++) {\n  console.log(`<${i}>`);\n}';
    const host = await open(ev, ev.turn('loop', [`A loop:\n\n\`\`\`javascript\n${code}\n\`\`\``]));
    const bar = host.page.locator('.code-block .code-actions');
    for (const [label, action] of [
      ['Copy', 'copy'],
      ['Insert', 'insert'],
      ['New File', 'newFile'],
    ] as const) {
      const since = host.posted.length;
      await bar.getByRole('button', { name: label, exact: true }).click();
      const msg = await host.waitFor('codeAction', since);
      assert.deepEqual(msg, { type: 'codeAction', action, code, language: 'javascript' });
    }
    await bar.getByRole('button', { name: 'Copied' }).waitFor();
    // A block without a language sends none.
    await host.events(ev.session, ev.turn('bare', ['```\nls -la\n```']));
    const since = host.posted.length;
    await host.page
      .locator('.turn[data-turn="t2"] .code-actions')
      .getByRole('button', { name: 'Insert' })
      .click();
    assert.deepEqual(await host.waitFor('codeAction', since), {
      type: 'codeAction',
      action: 'insert',
      code: 'ls -la',
    });
    assert.deepEqual(host.invalid, []);
    await host.page.close();
  });

  it(`keeps ${XSS_PAYLOADS.length} XSS payloads inert inside highlighted fences`, async () => {
    const ev = new Events();
    const fenced = XSS_PAYLOADS.map((x, i) => {
      assert.ok(!x.includes('``````'), 'a payload must not close the fence');
      const lang = ['html', 'xml', 'js', 'markdown', 'css', 'bash'][i % 6];
      return `\`\`\`\`\`\`${lang}\n${x}\n\`\`\`\`\`\``;
    });
    const host = await open(ev, ev.turn('hostile', [fenced.join('\n\n')]));
    const { page } = host;
    const codes = page.locator('.msg.assistant .code-block pre > code');
    assert.equal(await codes.count(), XSS_PAYLOADS.length);
    const texts = await codes.allTextContents();
    assert.deepEqual(texts, [...XSS_PAYLOADS], 'each payload shows as its own text');
    assert.ok((await page.locator('.msg.assistant .hljs-tag').count()) > 10, 'highlighted');
    // Give it every chance: click every Copy (a handler would fire on the way).
    const copies = page.locator('.code-copy');
    for (let i = 0; i < 6; i++) await copies.nth(i).click();
    const planted = await page.evaluate(() => {
      const all = (globalThis as unknown as Doc).document.querySelectorAll('.msg.assistant .md *');
      const bad: string[] = [];
      for (let i = 0; i < all.length; i++) {
        const el = all[i];
        const tag = el.tagName.toLowerCase();
        if (!/^(div|pre|code|span|p|button)$/.test(tag)) bad.push(`<${tag}>`);
        if (tag === 'span' && !/^(hljs-|language-)/.test(el.className))
          bad.push(`span.${el.className}`);
        for (let j = 0; j < el.attributes.length; j++) {
          const { name, value } = el.attributes[j];
          // A code box scrolls on its own, so the keyboard can reach it (markdown.ts).
          const focusable = name === 'tabindex' && tag === 'pre' && value === '0';
          if (!focusable && !/^(class|type|title|role|aria-label|disabled)$/.test(name))
            bad.push(`${tag}[${name}]`);
        }
      }
      return bad;
    });
    assert.deepEqual(planted, []);
    const wires = await host.tripwires();
    assert.equal(wires.xss, null, 'window.__xss was set');
    assert.equal(wires.dialogs, 0);
    assert.deepEqual(wires.csp, []);
    assert.deepEqual(host.errors, []);
    assert.deepEqual(host.invalid, []);
    await page.close();
  });
});

/**
 * The variables code.css reads, as VS Code 1.100 registers them for its default themes
 * (Dark Modern, Light Modern, Dark High Contrast, Light High Contrast).
 */
const THEMES: Record<string, { body: string[]; vars: Record<string, string> }> = {
  dark: {
    body: ['vscode-dark'],
    vars: {
      '--vscode-editor-background': '#1f1f1f',
      '--vscode-editor-foreground': '#cccccc',
      '--vscode-descriptionForeground': '#9d9d9d',
      '--vscode-textLink-foreground': '#4daafc',
      '--vscode-debugTokenExpression-name': '#c586c0',
      '--vscode-debugTokenExpression-string': '#ce9178',
      '--vscode-debugTokenExpression-number': '#b5cea8',
      '--vscode-debugTokenExpression-boolean': '#4e94ce',
      '--vscode-debugTokenExpression-error': '#f48771',
    },
  },
  light: {
    body: ['vscode-light'],
    vars: {
      '--vscode-foreground': '#3b3b3b',
      '--vscode-sideBar-background': '#f8f8f8',
      '--vscode-editor-background': '#ffffff',
      '--vscode-editor-foreground': '#3b3b3b',
      '--vscode-descriptionForeground': '#3b3b3b',
      '--vscode-textLink-foreground': '#005fb8',
      '--vscode-debugTokenExpression-name': '#9b46b0',
      '--vscode-debugTokenExpression-string': '#a31515',
      '--vscode-debugTokenExpression-number': '#098658',
      '--vscode-debugTokenExpression-boolean': '#0000ff',
      '--vscode-debugTokenExpression-error': '#e51400',
    },
  },
  'high contrast dark': {
    body: ['vscode-high-contrast'],
    vars: {
      '--vscode-foreground': '#ffffff',
      '--vscode-sideBar-background': '#000000',
      '--vscode-editor-background': '#000000',
      '--vscode-editor-foreground': '#ffffff',
      '--vscode-descriptionForeground': '#ffffffb3',
      '--vscode-contrastBorder': '#6fc3df',
      '--vscode-textLink-foreground': '#21a6ff',
      '--vscode-debugTokenExpression-name': '#ffffff',
      '--vscode-debugTokenExpression-string': '#f48771',
      '--vscode-debugTokenExpression-number': '#89d185',
      '--vscode-debugTokenExpression-boolean': '#75bdfe',
      '--vscode-debugTokenExpression-error': '#f48771',
    },
  },
  'high contrast light': {
    body: ['vscode-high-contrast', 'vscode-high-contrast-light'],
    vars: {
      '--vscode-foreground': '#292929',
      '--vscode-sideBar-background': '#ffffff',
      '--vscode-editor-background': '#ffffff',
      '--vscode-editor-foreground': '#292929',
      '--vscode-descriptionForeground': '#292929b3',
      '--vscode-contrastBorder': '#0f4a85',
      '--vscode-textLink-foreground': '#0f4a85',
      '--vscode-debugTokenExpression-name': '#292929',
      '--vscode-debugTokenExpression-string': '#a31515',
      '--vscode-debugTokenExpression-number': '#098658',
      '--vscode-debugTokenExpression-boolean': '#0000ff',
      '--vscode-debugTokenExpression-error': '#b5200d',
    },
  },
};

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('code colours', () => {
  const reply = [
    '```ts',
    TS,
    '```',
    '```python',
    PY,
    '```',
    '```diff',
    '- old line',
    '+ new line',
    '```',
    '```html',
    '<!doctype html>\n<a href="#top" class="x">link</a>',
    '```',
    '```css',
    '.box > p:hover { color: red; margin: 0 4px; }',
    '```',
  ].join('\n');

  for (const [name, theme] of Object.entries(THEMES)) {
    it(`every highlighted token reads at 4.5:1 or better in ${name} (axe-core)`, async () => {
      const ev = new Events();
      const host = await open(ev, ev.turn('colours', [reply]));
      const { page } = host;
      await page.evaluate(
        `(() => { const t = ${JSON.stringify(theme.vars)};
          for (const [k, v] of Object.entries(t)) document.documentElement.style.setProperty(k, v);
          document.body.classList.remove('vscode-dark');
          document.body.classList.add(...${JSON.stringify(theme.body)}); })()`,
      );
      await page.evaluate(AXE);
      const result = await page.evaluate<{
        violations: string[];
        checked: number;
        incomplete: string[];
      }>(`(async () => {
        const r = await axe.run({ include: [['.code-block pre']] }, {
          runOnly: { type: 'rule', values: ['color-contrast'] },
          resultTypes: ['violations', 'passes', 'incomplete'],
        });
        const nodes = (list) => list.flatMap((rule) => rule.nodes.map((n) => n.target.join(' ') + ' ' + (n.any[0]?.message ?? '')));
        return {
          violations: nodes(r.violations),
          incomplete: nodes(r.incomplete),
          checked: r.passes.reduce((n, rule) => n + rule.nodes.length, 0),
        };
      })()`);
      assert.deepEqual(result.violations, []);
      assert.deepEqual(result.incomplete, []);
      const spans = await page.locator('.code-block pre [class^="hljs-"]').count();
      assert.ok(spans > 30, `${spans} tokens highlighted`);
      assert.ok(result.checked >= spans, `axe checked ${result.checked} of ${spans}+ elements`);
      await page.close();
    });
  }
});
