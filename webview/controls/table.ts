import type { TableControl } from '../../protocol/controls.js';
import { compact, formatCount } from '../format.js';
import { button, clear, h } from '../dom.js';

export const PAGE_SIZE = 50;

type Cell = string | number | boolean | null;

const NUMERIC = /^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?\s*$/i;

function asNumber(c: Cell): number | null {
  if (typeof c === 'number') return Number.isFinite(c) ? c : null;
  if (typeof c === 'string' && NUMERIC.test(c)) return Number(c);
  return null;
}

const isEmpty = (c: Cell) => c === null || c === undefined || c === '';

/** Numbers compare as numbers, text naturally; empty cells sort last either way. */
function compareCells(a: Cell, b: Cell, dir: 1 | -1): number {
  if (isEmpty(a) || isEmpty(b)) return isEmpty(a) === isEmpty(b) ? 0 : isEmpty(a) ? 1 : -1;
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== null && nb !== null) return (na - nb) * dir;
  return String(a).localeCompare(String(b), undefined, { numeric: true }) * dir;
}

function display(c: unknown): string {
  if (c === null || c === undefined) return '';
  if (typeof c === 'string') return c;
  if (typeof c === 'number' || typeof c === 'boolean') return String(c);
  return compact(c);
}

/** Rows normalised to arrays aligned with the columns, whatever shape arrived. */
function normalise(control: TableControl): Cell[][] {
  return control.rows.map((row: unknown) => {
    const r = row as Cell[] | Record<string, Cell>;
    return control.columns.map((col, i) => (Array.isArray(r) ? r[i] : r?.[col]) ?? null);
  });
}

/** A table that sorts by a clicked header (asc, then desc) and pages past 50 rows. */
export function renderTable(control: TableControl): HTMLElement {
  const columns = control.columns;
  const rows = normalise(control);
  const numeric = columns.map((_, i) => {
    const filled = rows.filter((r) => !isEmpty(r[i]));
    return filled.length > 0 && filled.every((r) => asNumber(r[i]) !== null);
  });
  let order = rows.map((_, i) => i);
  let sortCol = -1;
  let dir: 1 | -1 = 1;
  let page = 0;
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));

  const tbody = h('tbody');
  const headers = columns.map((name, i) => {
    const indicator = h('span', { class: 'sort-indicator', attrs: { 'aria-hidden': 'true' } });
    const th = h(
      'th',
      { attrs: { scope: 'col', 'aria-sort': 'none' }, class: numeric[i] ? 'num' : '' },
      button(name, () => sortBy(i), { class: 'sort-button', title: `Sort by ${name}` }),
    );
    th.querySelector('button')?.append(indicator);
    return th;
  });
  const status = h('span', { class: 'pager-status', attrs: { 'aria-live': 'polite' } });
  const prev = button('‹ Prev', () => go(page - 1), { secondary: true, class: 'pager-prev' });
  const next = button('Next ›', () => go(page + 1), { secondary: true, class: 'pager-next' });

  function renderBody(): void {
    clear(tbody);
    const start = page * PAGE_SIZE;
    for (const index of order.slice(start, start + PAGE_SIZE)) {
      const row = rows[index];
      tbody.append(
        h(
          'tr',
          {},
          ...row.map((cell, i) => h('td', { text: display(cell), class: numeric[i] ? 'num' : '' })),
        ),
      );
    }
    const end = Math.min(rows.length, start + PAGE_SIZE);
    status.textContent = rows.length
      ? `rows ${formatCount(start + 1)}–${formatCount(end)} of ${formatCount(rows.length)}`
      : 'no rows';
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function sortBy(col: number): void {
    dir = sortCol === col ? (dir === 1 ? -1 : 1) : 1;
    sortCol = col;
    order = rows
      .map((_, i) => i)
      .sort((a, b) => compareCells(rows[a][col], rows[b][col], dir) || a - b);
    headers.forEach((th, i) => {
      th.setAttribute('aria-sort', i !== col ? 'none' : dir === 1 ? 'ascending' : 'descending');
      const ind = th.querySelector('.sort-indicator');
      if (ind) ind.textContent = i !== col ? '' : dir === 1 ? ' ▲' : ' ▼';
    });
    page = 0;
    renderBody();
  }

  function go(to: number): void {
    page = Math.min(pages - 1, Math.max(0, to));
    renderBody();
  }

  const table = h('table', {}, h('thead', {}, h('tr', {}, ...headers)), tbody);
  const figure = h(
    'figure',
    { class: 'cog-table' },
    control.title ? h('figcaption', { text: control.title }) : null,
    h(
      'div',
      {
        class: 'table-scroll',
        attrs: { tabindex: 0, role: 'region', 'aria-label': control.title ?? 'Table' },
      },
      table,
    ),
  );
  figure.append(h('div', { class: 'cog-pager' }, prev, status, next));
  if (rows.length <= PAGE_SIZE) figure.querySelector('.cog-pager')?.classList.add('single');
  renderBody();
  return figure;
}
