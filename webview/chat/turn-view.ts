import { sentChips } from './chips.js';
import type { Control } from '../../protocol/controls.js';
import type { EventOf, ModelInfo, TurnStatus } from '../../protocol/events.js';
import { controlKey, renderControl, type ControlContext } from '../controls/index.js';
import { h } from '../dom.js';
import { compact } from '../format.js';
import { addCodeActions } from './code-actions.js';
import { ReplyFooter } from './reply-footer.js';
import { StreamingMarkdown } from './streaming-markdown.js';
import { renderUserActions, type UserMessageActions } from './user-actions.js';

/**
 * One turn of the conversation: the user's message, then the assistant's reply with its
 * controls and how the turn ended. Parts are created in place whatever order their events
 * arrive in (a queued turn announces itself before its user message).
 *
 * A reply reads top to bottom in the order it was made: the cards of the code it ran come
 * before the text, which is written from their results; buttons and tables the text
 * offers come after it; the footer (model, tokens, time, cost) is last.
 */
export class TurnView {
  readonly el: HTMLElement;
  private user: HTMLElement | undefined;
  private assistant:
    | {
        el: HTMLElement;
        text: StreamingMarkdown;
        cards: HTMLElement | undefined;
        controls: HTMLElement | undefined;
        status: HTMLElement | undefined;
        footer: ReplyFooter;
      }
    | undefined;
  private readonly userSlot = h('div', { class: 'slot-user' });
  private readonly assistantSlot = h('div', { class: 'slot-assistant' });
  /** Controls already shown, by key and count, so assistant.message does not repeat them. */
  private readonly shown = new Map<string, number>();
  /** The pipeline mode, from turn.started: which node's model wrote the reply. */
  private mode: EventOf<'turn.started'>['mode'] | undefined;

  constructor(
    readonly id: string,
    private readonly ctx: ControlContext,
    private readonly changed: () => void,
    private readonly userActions?: UserMessageActions,
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
    // A click shows as words: the button's label, or (a button this page never showed)
    // its action's name; what it sent is in the tooltip, never raw JSON in the bubble.
    const action = e.action
      ? h(
          'div',
          { class: 'msg-action', attrs: { title: `Action: ${e.action.action}${data}` } },
          h('span', { class: 'action-name', text: `▸ ${label ?? actionWords(e.action.action)}` }),
        )
      : null;
    this.user = h(
      'div',
      { class: 'msg user' },
      h('div', { class: 'msg-meta', text: 'You' }),
      action ?? text,
      sentChips(e.context),
      !action && this.userActions ? renderUserActions(e.text, this.userActions) : null,
    );
    this.userSlot.replaceChildren(this.user);
    this.changed();
  }

  private reply() {
    if (!this.assistant) {
      const text = new StreamingMarkdown(this.changed, (rendered) =>
        addCodeActions(rendered, (msg) => this.ctx.host.post(msg)),
      );
      const footer = new ReplyFooter();
      const el = h(
        'div',
        { class: 'msg assistant' },
        h('div', { class: 'msg-meta' }, h('span', { text: 'Cog' })),
        text.el,
        footer.el,
      );
      this.assistant = {
        el,
        text,
        cards: undefined,
        controls: undefined,
        status: undefined,
        footer,
      };
      this.assistantSlot.replaceChildren(el);
    }
    return this.assistant;
  }

  /**
   * Built on first use: most replies have neither controls nor a status line. Process
   * cards go above the text, the rest below it.
   */
  private controlsEl(control: Control): HTMLElement {
    const r = this.reply();
    if (control.type === 'process') {
      if (!r.cards) {
        r.cards = h('div', { class: 'msg-controls msg-cards' });
        r.text.el.before(r.cards);
      }
      return r.cards;
    }
    if (!r.controls) {
      r.controls = h('div', { class: 'msg-controls' });
      r.text.el.after(r.controls);
    }
    return r.controls;
  }

  queued(position: number): void {
    this.status(`Queued behind ${position} turn${position === 1 ? '' : 's'}.`, 'info');
  }

  started(mode?: EventOf<'turn.started'>['mode']): void {
    this.mode = mode;
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
    for (const control of controls) {
      const key = controlKey(control);
      this.shown.set(key, (this.shown.get(key) ?? 0) + 1);
      this.controlsEl(control).append(
        h('div', { class: 'control' }, renderControl(control, this.ctx)),
      );
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
    // The runtime's configured model, until (or unless) node.done names the one that answered.
    if (!r.footer.hasModel)
      r.footer.setModel(this.mode === 'faithful' ? e.model.models.output : e.model.models.thinker);
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

  /** A model call's usage, as the provider reported it (node.context after the call). */
  usage(u: NonNullable<EventOf<'node.context'>['usage']>): void {
    this.reply().footer.usage(u);
    this.changed();
  }

  /** The Output stage's node.done names the model that wrote the reply. */
  nodeDone(e: EventOf<'node.done'>): void {
    if (e.node === 'output') this.reply().footer.setModel(e.model);
  }

  done(status: TurnStatus, error?: string, totalMs?: number): void {
    const r = this.reply();
    if (totalMs !== undefined) r.footer.done(totalMs);
    r.el.classList.remove('streaming');
    r.el.removeAttribute('aria-busy');
    if (status === 'cancelled') this.status('Cancelled.', 'info');
    else if (status === 'error')
      this.status(error ? `Error: ${error}` : 'The turn failed.', 'error');
    else this.status('', 'info');
    if (
      !r.text.value &&
      !r.controls?.childElementCount &&
      !r.cards?.childElementCount &&
      status === 'ok'
    )
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

/** An action's name as words (`show_more` → "show more"), for a click whose button is gone. */
function actionWords(action: string): string {
  return action.replace(/[_-]+/g, ' ').trim() || action;
}
