/**
 * Checks a rendered chat panel for what issue 12 found at the sidebar's width: content cut
 * off or spilling out of its box, and text without enough contrast (axe-core). Both run in
 * the page or frame given (a harness page, or the webview frame inside real VS Code).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Frame, Page } from 'playwright-core';

type Target = Page | Frame;

/** One element whose content does not fit, named by a short selector path. */
export interface OverflowProblem {
  path: string;
  what: 'scrolls' | 'spills';
  detail: string;
}

/**
 * Every visible element in `root` (and the page itself): none may be wider inside than its
 * box (`scrollWidth > clientWidth`) unless it is a designated scroll container
 * (`overflow-x: auto | scroll`), and none may reach outside its parent's box unless that
 * parent scrolls. Text cut with `text-overflow: ellipsis` passes when a `title` on it (or
 * on an ancestor) holds the whole text. Closed `<details>` and hidden elements have no
 * boxes and are not looked at: open what should be checked.
 */
export function overflowProblems(target: Target, root = '#app'): Promise<OverflowProblem[]> {
  return target.evaluate(`(${OVERFLOW})(${JSON.stringify(root)})`) as Promise<OverflowProblem[]>;
}

/** The page side of overflowProblems, as source: the tests' tsconfig has no DOM types. */
const OVERFLOW = String.raw`(rootSelector) => {
  const SLACK = 1;
  const problems = [];
  const style = (el) => getComputedStyle(el);
  const name = (el) => {
    const cls = [...el.classList].slice(0, 3).join('.');
    const data = el.getAttribute('data-node') ?? el.getAttribute('data-key');
    return el.tagName.toLowerCase() + (cls ? '.' + cls : '') + (data ? '[' + data + ']' : '');
  };
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 5; e = e.parentElement)
      parts.unshift(name(e));
    return parts.join(' > ');
  };
  const scrolls = (el) => /auto|scroll/.test(style(el).overflowX);
  const titled = (el) => {
    const text = (el.textContent ?? '').trim();
    for (let e = el; e; e = e.parentElement) {
      const title = e.getAttribute('title');
      if (title && title.includes(text)) return true;
    }
    return false;
  };
  const ellipsed = (el) =>
    style(el).textOverflow === 'ellipsis' && style(el).overflowX !== 'visible' && titled(el);
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + SLACK)
    problems.push({
      path: 'html',
      what: 'scrolls',
      detail: 'page ' + doc.scrollWidth + ' px wide in a ' + doc.clientWidth + ' px view',
    });
  const app = document.querySelector(rootSelector);
  if (!app) throw new Error('no ' + rootSelector + ' in the page');
  for (const el of [app, ...app.querySelectorAll('*')]) {
    const rect = el.getBoundingClientRect();
    if (!el.getClientRects().length || rect.width === 0 || rect.height === 0) continue;
    if (style(el).visibility === 'hidden') continue;
    // Inside a scroll container anything may reach past its box: it scrolls into view.
    let scrolled = false;
    for (let e = el.parentElement; e && e !== app.parentElement; e = e.parentElement)
      if (scrolls(e)) scrolled = true;
    const spillsInto = scrolled && style(el).overflowX === 'visible';
    if (
      el instanceof HTMLElement &&
      el.scrollWidth > el.clientWidth + SLACK &&
      style(el).display !== 'inline' &&
      !scrolls(el) &&
      !ellipsed(el) &&
      !spillsInto
    )
      problems.push({
        path: path(el),
        what: 'scrolls',
        detail: 'content ' + el.scrollWidth + ' px in ' + el.clientWidth + ' px',
      });
    const parent = el.parentElement;
    if (!parent || el === app || scrolled || style(el).position === 'fixed') continue;
    const box = parent.getBoundingClientRect();
    const over = Math.max(rect.right - box.right, box.left - rect.left);
    if (over > SLACK && !ellipsed(parent))
      problems.push({
        path: path(el),
        what: 'spills',
        detail: Math.round(over) + ' px outside ' + name(parent) + ' (' + Math.round(rect.left) +
          '–' + Math.round(rect.right) + ' in ' + Math.round(box.left) + '–' + Math.round(box.right) + ')',
      });
  }
  return problems;
}`;

/** An axe-core rule the page breaks, with where (selector paths) and why. */
export interface AxeProblem {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

/**
 * Runs axe-core 4 in the page. Its source goes in through the DevTools protocol (Playwright's
 * evaluate), which the page's Content Security Policy does not govern: the CSP the product
 * ships stays as strict as it is, and nothing is loaded from anywhere.
 */
export async function axeViolations(target: Target, root = '#app'): Promise<AxeProblem[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const loaded = await target.evaluate(`'axe' in globalThis`);
  if (!loaded) await target.evaluate(axeSource);
  return target.evaluate(`(${AXE_RUN})(${JSON.stringify(root)})`) as Promise<AxeProblem[]>;
}

const AXE_RUN = String.raw`async (rootSelector) => {
  const result = await axe.run(
    { include: [rootSelector] },
    {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
    },
  );
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact ?? null,
    help: v.help,
    nodes: v.nodes.slice(0, 8).map((n) => ({
      target: n.target.map(String).join(' '),
      summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 300),
    })),
  }));
}`;

/** A readable list for an assertion message. */
export function describeProblems(problems: (OverflowProblem | AxeProblem)[]): string {
  return problems
    .map((p) =>
      'what' in p
        ? `${p.what}: ${p.path}: ${p.detail}`
        : `${p.id} (${p.impact}): ${p.help}\n${p.nodes.map((n) => `    ${n.target}: ${n.summary}`).join('\n')}`,
    )
    .join('\n');
}
