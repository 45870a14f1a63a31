import type { AttachedRef } from '../../protocol/attached.js';
import type { AttachmentView } from '../../protocol/attachment-view.js';
import { h } from '../dom.js';

/**
 * Editor context as chips: above the composer, what the host holds for the next message
 * (removable); in a sent message's bubble, what went with it. Labels and paths are text,
 * never markup.
 */

/** The chips above the composer; each remove button names the chip by the host's id. */
export class AttachmentChips {
  readonly el = h('div', {
    class: 'chips composer-chips',
    attrs: { role: 'list', 'aria-label': 'Attached to the next message', hidden: true },
  });

  constructor(private readonly remove: (id: string) => void) {}

  set(items: readonly AttachmentView[]): void {
    this.el.replaceChildren(
      ...items.map((item) =>
        h(
          'span',
          {
            class: 'chip',
            title: item.title,
            attrs: { role: 'listitem', 'data-id': item.id, 'data-kind': item.kind },
          },
          h('span', { class: 'chip-label', text: item.label }),
          h('button', {
            class: 'chip-remove',
            text: '×',
            title: `Remove ${item.title}`,
            attrs: { type: 'button', 'aria-label': `Remove ${item.label}` },
            onClick: () => this.remove(item.id),
          }),
        ),
      ),
    );
    this.el.hidden = items.length === 0;
  }
}

/** The chips of a sent message: label (the path, with lines) and its size in tokens. */
export function sentChips(context: readonly AttachedRef[] | undefined): HTMLElement | null {
  if (!context?.length) return null;
  return h(
    'div',
    { class: 'chips msg-chips', attrs: { 'aria-label': 'Sent with this message' } },
    ...context.map((c) =>
      h(
        'span',
        {
          class: 'chip',
          title: `${c.label} (${c.kind}, ${c.tokens} tokens)`,
          attrs: { 'data-kind': c.kind },
        },
        h('span', { class: 'chip-label', text: shortLabel(c.label) }),
      ),
    ),
  );
}

/** "src/a/b.ts:10-20" → "b.ts:10-20": the path is in the title. */
function shortLabel(label: string): string {
  return label.split(/[\\/]/).pop() || label;
}
