import type { MemoryState } from '../../protocol/events.js';
import { h } from '../dom.js';
import { compact } from '../format.js';

const FIELDS: { key: keyof MemoryState; label: string }[] = [
  { key: 'user_name', label: 'user' },
  { key: 'user_mood', label: 'mood' },
  { key: 'topic', label: 'topic' },
  { key: 'topic_history', label: 'earlier topics' },
  { key: 'situation', label: 'situation' },
  { key: 'language', label: 'language' },
  { key: 'style_hint', label: 'style' },
  { key: 'facts', label: 'facts' },
];

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value))
    return value.length ? value.map((v) => compact(v, 300)).join(' · ') : '—';
  return compact(value, 500);
}

/**
 * The memorizer's shared state. The fields that the last update changed are highlighted
 * and the change itself is spelled out underneath.
 */
export class MemoryPanel {
  readonly el = h('section', { class: 'memory', attrs: { 'aria-label': 'Memorizer state' } });
  private readonly version = h('span', { class: 'version' });
  private readonly list = h('dl', { class: 'kv' });
  private readonly changes = h('ul', { class: 'changes', attrs: { 'aria-label': 'Last change' } });
  private previous: MemoryState | undefined;

  constructor() {
    this.el.append(h('h3', {}, 'Memory ', this.version), this.list, this.changes);
    this.reset();
  }

  update(state: MemoryState, version: number, changes: readonly string[]): void {
    const before = this.previous;
    this.previous = state;
    this.version.textContent = `v${version}`;
    // Changed keys: from the runtime's change list ("key: a -> b"), or by comparing.
    const named = new Set(changes.map((c) => c.split(':', 1)[0]?.trim()));
    this.list.replaceChildren();
    for (const { key, label } of FIELDS) {
      const changed =
        named.has(key) ||
        (before !== undefined && JSON.stringify(before[key]) !== JSON.stringify(state?.[key]));
      this.list.append(
        h('dt', { text: label, class: changed ? 'changed' : '' }),
        h('dd', {
          text: show(state?.[key]),
          class: changed ? 'changed' : '',
          attrs: { 'data-key': key },
        }),
      );
    }
    this.changes.replaceChildren(...changes.map((c) => h('li', { text: compact(c, 300) })));
  }

  reset(): void {
    this.previous = undefined;
    this.version.textContent = '';
    this.list.replaceChildren(h('dd', { class: 'none', text: 'Nothing remembered yet.' }));
    this.changes.replaceChildren();
  }
}
