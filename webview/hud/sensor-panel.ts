import { h } from '../dom.js';

/** The latest sensor readings; those that changed on the last tick are marked. */
export class SensorPanel {
  readonly el = h('section', { class: 'sensors', attrs: { 'aria-label': 'Sensors' } });
  private readonly list = h('dl', { class: 'kv' });

  constructor() {
    this.el.append(h('h3', { text: 'Sensors' }), this.list);
    this.reset();
  }

  update(readings: Record<string, string>, deltas: Record<string, string>): void {
    this.list.replaceChildren();
    for (const [name, value] of Object.entries(readings ?? {})) {
      const changed = Object.hasOwn(deltas ?? {}, name);
      this.list.append(
        h('dt', { text: name, class: changed ? 'changed' : '' }),
        h('dd', { text: String(value), class: changed ? 'changed' : '' }),
      );
    }
    if (!this.list.childElementCount) this.reset();
  }

  reset(): void {
    this.list.replaceChildren(h('dd', { class: 'none', text: 'No readings yet.' }));
  }
}
