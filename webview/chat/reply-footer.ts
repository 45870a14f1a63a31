import type { EventOf } from '../../protocol/events.js';
import { h } from '../dom.js';
import { formatCount, formatMs } from '../format.js';

type Usage = NonNullable<EventOf<'node.context'>['usage']>;

/** USD to a few significant digits: cents when it is dollars, else what shows the size. */
export function formatCost(usd: number): string {
  if (usd === 0) return '$0';
  if (usd < 0.0001) return '<$0.0001';
  return `$${usd >= 1 ? usd.toFixed(2) : Number(usd.toPrecision(3)).toString()}`;
}

/**
 * The line under a finished reply: the model that wrote it, the tokens the provider says
 * the turn's calls used (summed over every call that reported usage), how long the turn
 * took, and what it cost when the provider reports a cost. Everything comes from the
 * turn's own events (node.context, node.done, turn.done), so a reload rebuilds it the same.
 */
export class ReplyFooter {
  readonly el = h('div', { class: 'reply-footer', attrs: { hidden: true } });
  private prompt = 0;
  private completion = 0;
  private cached = 0;
  private calls = 0;
  private cost: number | undefined;
  private model: string | undefined;
  private totalMs: number | undefined;

  /** One call's usage, as the provider reported it after the call. */
  usage(u: Usage): void {
    this.prompt += u.promptTokens;
    this.completion += u.completionTokens;
    this.cached += u.cachedTokens ?? 0;
    this.calls++;
    if (u.cost !== undefined) this.cost = (this.cost ?? 0) + u.cost;
    this.render();
  }

  /** The model that wrote the reply (the Output stage's, which the fast pipeline names too). */
  setModel(model: string | undefined): void {
    if (!model || model === 'offline') return;
    this.model = model;
    this.render();
  }

  get hasModel(): boolean {
    return this.model !== undefined;
  }

  done(totalMs: number): void {
    this.totalMs = totalMs;
    this.render();
  }

  private render(): void {
    // Shown once the turn is over; usage reported later (the Memorizer's) still adds up.
    if (this.totalMs === undefined) return;
    const parts: HTMLElement[] = [];
    if (this.model) parts.push(h('span', { class: 'footer-model', text: this.model }));
    if (this.calls > 0) {
      const cached = this.cached ? ` (${formatCount(this.cached)} cached)` : '';
      parts.push(
        h('span', {
          class: 'footer-tokens',
          text: `${formatCount(this.prompt + this.completion)} tokens`,
          title: `${formatCount(this.prompt)} in${cached} + ${formatCount(this.completion)} out, over ${this.calls} model call${this.calls === 1 ? '' : 's'}, as the provider reported`,
        }),
      );
    }
    parts.push(h('span', { class: 'footer-time', text: formatMs(this.totalMs) }));
    if (this.cost !== undefined)
      parts.push(
        h('span', {
          class: 'footer-cost',
          text: formatCost(this.cost),
          title: `Cost the provider reported: $${this.cost}`,
        }),
      );
    this.el.replaceChildren(...parts);
    this.el.hidden = false;
  }
}
