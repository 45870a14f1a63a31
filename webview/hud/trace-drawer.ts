import type { RuntimeEvent } from '../../protocol/events.js';
import { h } from '../dom.js';
import { compact, formatClock } from '../format.js';
import { summarize } from '../../protocol/event-table.js';

const KEEP = 3000;
const SHOW = 500;
const SUMMARY = 300;
const SOURCES = ['input', 'thinker', 'output', 'memorizer', 'sensor', 'process', 'runtime', 'user'];

/** Sensor ticks kept in one folded row, newest last: its expanded view lists these. */
const TICKS_KEPT = 100;

interface Entry {
  event: RuntimeEvent;
  seq: number;
  /** Folded output deltas: their text so far (up to the shown length). */
  folded?: string;
  /** Folded sensor ticks, oldest first (`event` is the newest). */
  ticks?: RuntimeEvent[];
  count: number;
  row?: HTMLElement;
}

/**
 * The session's events, newest last, filtered by node. Rows are built only while the
 * drawer is open; consecutive output deltas of a turn fold into one row, and consecutive
 * sensor ticks into one expandable row with their count (the clock ticks every minute).
 */
export class TraceDrawer {
  readonly el = h('details', { class: 'trace' });
  private readonly filter = h('select', { attrs: { 'aria-label': 'Show events of node' } });
  /** It scrolls: focusable, so the keyboard scrolls it too. */
  private readonly list = h('ol', {
    class: 'trace-list',
    attrs: { tabindex: 0, 'aria-label': 'Trace events' },
  });
  private entries: Entry[] = [];

  constructor() {
    this.filter.append(h('option', { text: 'All nodes', attrs: { value: '' } }));
    for (const s of SOURCES) this.filter.append(h('option', { text: s, attrs: { value: s } }));
    this.el.append(
      h('summary', { text: 'Trace' }),
      h('label', { class: 'trace-filter' }, 'Node ', this.filter),
      this.list,
    );
    this.filter.addEventListener('change', () => this.render());
    this.el.addEventListener('toggle', () => this.render());
  }

  reset(): void {
    this.entries = [];
    this.list.replaceChildren();
  }

  /** Cheap: the summary is only worked out when a row is shown. */
  add(e: RuntimeEvent): void {
    const last = this.entries.at(-1);
    if (e.type === 'output.delta' && last?.event.type === e.type && last.event.turn === e.turn) {
      last.count++;
      last.seq = e.seq;
      if ((last.folded ??= last.event.text).length < SUMMARY) last.folded += e.text;
      if (last.row) this.fill(last.row, last);
      return;
    }
    if (e.type === 'sensor.tick' && last?.event.type === e.type) {
      last.count++;
      last.seq = e.seq;
      (last.ticks ??= [last.event]).push(e);
      if (last.ticks.length > TICKS_KEPT) last.ticks.shift();
      last.event = e;
      if (last.row) this.fill(last.row, last);
      return;
    }
    const entry: Entry = { event: e, seq: e.seq, count: 1 };
    this.entries.push(entry);
    if (this.entries.length > KEEP * 1.5) this.entries.splice(0, this.entries.length - KEEP);
    if (this.el.open && this.matches(entry)) {
      this.list.querySelector(':scope > .none')?.remove();
      this.list.append(this.row(entry));
      while (this.list.childElementCount > SHOW) this.list.firstElementChild?.remove();
    }
  }

  private matches(entry: Entry): boolean {
    return !this.filter.value || String(entry.event.node) === this.filter.value;
  }

  private render(): void {
    for (const entry of this.entries) delete entry.row;
    if (!this.el.open) {
      this.list.replaceChildren();
      return;
    }
    const shown = this.entries
      .slice(-KEEP)
      .filter((e) => this.matches(e))
      .slice(-SHOW);
    this.list.replaceChildren(...shown.map((e) => this.row(e)));
    if (!shown.length) this.list.append(h('li', { class: 'none', text: 'No events.' }));
  }

  private row(entry: Entry): HTMLElement {
    const row = h('li', { attrs: { 'data-node': String(entry.event.node) } });
    entry.row = row;
    this.fill(row, entry);
    return row;
  }

  private fill(row: HTMLElement, entry: Entry): void {
    const e = entry.event;
    const type = entry.count > 1 ? `${e.type} ×${entry.count}` : String(e.type);
    const summary = compact(entry.folded ?? summarize(e), SUMMARY);
    const cells = [
      h('span', { class: 'seq', text: `#${entry.seq}` }),
      h('span', { class: 'time', text: formatClock(e.ts) }),
      h('span', { class: 'node', text: String(e.node) }),
      h('span', { class: 'type', text: type }),
      h('span', { class: 'summary', text: summary, title: summary }),
    ];
    if (!entry.ticks) {
      row.replaceChildren(...cells);
      return;
    }
    // Folded ticks: the newest is the row; opening it lists each one kept.
    const ticks = entry.ticks;
    const wasOpen = row.querySelector(':scope > details')?.hasAttribute('open') ?? false;
    const body = h('div', { class: 'fold-body' });
    const folded = h(
      'details',
      { class: 'fold', attrs: { open: wasOpen } },
      h('summary', { class: 'fold-head' }, ...cells),
      body,
    );
    const list = () =>
      body.replaceChildren(
        ...ticks.map((t) =>
          h('div', {
            class: 'fold-row',
            text: `#${t.seq} ${formatClock(t.ts)} ${compact(summarize(t), SUMMARY)}`,
          }),
        ),
      );
    if (wasOpen) list();
    folded.addEventListener('toggle', () => (folded.open ? list() : body.replaceChildren()));
    row.replaceChildren(folded);
  }
}
