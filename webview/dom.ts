/**
 * The one way the webview builds DOM. Text always goes in as text nodes and attribute
 * values through `setAttribute` with names chosen here, never by the model: the only HTML
 * parsed from strings is sanitised markdown (markdown.ts).
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  text?: string;
  title?: string;
  /** Attribute names are ours; values may be untrusted text. */
  attrs?: Record<string, string | number | boolean | undefined>;
  /** A click handler for buttons and the like. */
  onClick?: (ev: MouseEvent) => void;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  if (props.attrs) {
    for (const [name, value] of Object.entries(props.attrs)) {
      if (value === undefined || value === false) continue;
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  if (props.onClick) (el as HTMLElement).addEventListener('click', props.onClick);
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** A themed `<button type="button">`; `secondary` uses VS Code's secondary button colours. */
export function button(
  label: string,
  onClick: (ev: MouseEvent) => void,
  opts: { secondary?: boolean; title?: string; class?: string } = {},
): HTMLButtonElement {
  const classes = ['cog-btn', opts.secondary ? 'secondary' : '', opts.class ?? ''];
  return h('button', {
    class: classes.filter(Boolean).join(' '),
    text: label,
    ...(opts.title ? { title: opts.title } : {}),
    attrs: { type: 'button' },
    onClick,
  });
}

export function clear(el: Element): void {
  el.replaceChildren();
}
