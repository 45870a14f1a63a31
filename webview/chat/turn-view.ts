import type { Control } from '../../protocol/controls.js';
import type { EventOf, ModelInfo, TurnStatus } from '../../protocol/events.js';
import { controlKey, renderControl, type ControlContext } from '../controls/index.js';
import { h } from '../dom.js';
import { compact } from '../format.js';
import { addCodeActions } from './code-actions.js';
import { StreamingMarkdown } from './streaming-markdown.js';

/**
 * One turn of the conversation: the user's message, then the assistant's reply with its
 * controls and how the turn ended. Parts are created in place whatever order their events
 * arrive in (a queued turn announces itself before its user message).
 */
export class TurnView {
  readonly el: HTMLElement;
  private user: HTMLElement | undefined;
  private assistant:
    | {
        el: HTMLElement;
        text: StreamingMarkdown;
        controls: HTMLElement | undefined;
        status: HTMLElement | undefined;
      }
    | undefined;
  private readonly userSlot = h('div', { class: 'slot-user' });
  private readonly assistantSlot = h('div', { class: 'slot-assistant' });
  /** Controls already shown, by key and count, so assistant.message does not repeat them. */
  private readonly shown = new Map<string, number>();

  constructor(
    readonly id: string,
    private readonly ctx: ControlContext,
    private readonly changed: () => void,
  ) {
    this.el = h(
      'div',
      { class: 'turn', attrs: { 'data-turn': id } },
      this.userSlot,
      this.assistantSlot,
    );
  }

  /** `label`: the words of the button whose click this is, when it was shown here. */
  userMessage(e: EventOf<'user.message'>, label?: string): void {
    const text = h('div', { class: 'msg-text', text: e.text });
    const data = e.action?.data === undefined ? '' : ` ${compact(e.action.data, 120)}`;
    const action = !e.action
      ? null
      : label
        ? h(
            'div',
            { class: 'msg-action', attrs: { title: `Action: ${e.action.action}${data}` } },
            h('span', { class: 'action-name', text: `▸ ${label}` }),
          )
        : h(
            'div',
            { class: 'msg-action' },
            h('span', { class: 'action-name', text: `▸ ${e.action.action}` }),
            data ? h('span', { class: 'action-data', text: data }) : null,
          );
    this.user = h(
      'div',
      { class: 'msg user' },
      h('div', { class: 'msg-meta', text: 'You' }),
      action ?? text,
    );
    this.userSlot.replaceChildren(this.user);
    this.changed();
  }

  private reply() {
    if (!this.assistant) {
      const text = new StreamingMarkdown(this.changed, (rendered) =>
        addCodeActions(rendered, (msg) => this.ctx.host.post(msg)),
      );
      const el = h(
        'div',
        { class: 'msg assistant' },
        h('div', { class: 'msg-meta' }, h('span', { text: 'Cog' })),
        text.el,
      );
      this.assistant = { el, text, controls: undefined, status: undefined };
      this.assistantSlot.replaceChildren(el);
    }
    return this.assistant;
  }

  /** Built on first use: most replies have neither controls nor a status line. */
  private controlsEl(): HTMLElement {
    const r = this.reply();
    if (!r.controls) {
      r.controls = h('div', { class: 'msg-controls' });
      r.text.el.after(r.controls);
    }
    return r.controls;
  }

  queued(position: number): void {
    this.status(`Queued behind ${position} turn${position === 1 ? '' : 's'}.`, 'info');
  }

  started(): void {
    const r = this.reply();
    r.el.classList.add('streaming');
    // Screen readers hear the reply once it is complete, not token by token.
    r.el.setAttribute('aria-busy', 'true');
    this.status('', 'info');
    this.changed();
  }

  delta(text: string): void {
    this.reply().text.append(text);
  }

  controls(controls: readonly Control[]): void {
    const box = this.controlsEl();
    for (const control of controls) {
      const key = controlKey(control);
      this.shown.set(key, (this.shown.get(key) ?? 0) + 1);
      box.append(h('div', { class: 'control' }, renderControl(control, this.ctx)));
    }
    this.changed();
  }

  /** `defer`: render the markdown later (see LazyRenderer); the text shows meanwhile. */
  final(
    e: EventOf<'assistant.message'>,
    defer?: (target: Element, render: () => void) => void,
  ): void {
    const r = this.reply();
    r.text.finish(e.text, defer && ((render) => defer(this.el, render)));
    this.markOffline(e.model);
    const fresh: Control[] = [];
    for (const control of e.controls ?? []) {
      const key = controlKey(control);
      const n = this.shown.get(key) ?? 0;
      if (n > 0) this.shown.set(key, n - 1);
      else fresh.push(control);
    }
    if (fresh.length) this.controls(fresh);
    this.changed();
  }

  done(status: TurnStatus, error?: string): void {
    const r = this.reply();
    r.el.classList.remove('streaming');
    r.el.removeAttribute('aria-busy');
    if (status === 'cancelled') this.status('Cancelled.', 'info');
    else if (status === 'error')
      this.status(error ? `Error: ${error}` : 'The turn failed.', 'error');
    else this.status('', 'info');
    if (!r.text.value && !r.controls?.childElementCount && status === 'ok')
      r.el.classList.add('empty');
    this.changed();
  }

  private markOffline(model: ModelInfo | undefined): void {
    const meta = this.assistant?.el.querySelector('.msg-meta');
    if (!meta || !model?.offline || meta.querySelector('.offline-tag')) return;
    meta.append(
      h('span', {
        class: 'offline-tag',
        text: 'offline engine',
        title: 'Answered by the offline engine: no model is configured.',
      }),
    );
  }

  private status(text: string, level: 'info' | 'error'): void {
    const r = this.reply();
    if (!r.status) {
      if (!text) return;
      r.status = h('div', { class: 'msg-status' });
      r.el.append(r.status);
    }
    r.status.textContent = text;
    r.status.hidden = !text;
    r.status.dataset.level = level;
  }
}
