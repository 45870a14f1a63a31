import type { Control } from '../../protocol/controls.js';
import type { RuntimeEvent } from '../../protocol/events.js';
import type { ControlContext } from '../controls/index.js';
import { h } from '../dom.js';
import { LazyRenderer } from './lazy-render.js';
import { TurnView } from './turn-view.js';
import type { UserMessageActions } from './user-actions.js';

export interface ScrollPosition {
  top: number;
  atBottom: boolean;
  turn?: string;
  offset?: number;
}

/** After a bulk render, this many of the newest replies are rendered before the first frame. */
const EAGER = 12;

/** Within this many pixels of the end counts as "at the bottom": new content follows. */
const STICK_PX = 40;

/**
 * The conversation: turns in the order they began, plus messages sent but not yet
 * echoed by the runtime. Follows new content while scrolled to the bottom.
 */
export class ChatView {
  readonly el = h('div', {
    class: 'chat',
    attrs: { role: 'log', 'aria-label': 'Conversation', 'aria-live': 'polite', tabindex: 0 },
  });
  private readonly list = h('div', { class: 'turns' });
  /** Labels of the buttons shown so far, by what a click on them sends. */
  private readonly labels = new Map<string, string>();
  private readonly empty = h(
    'div',
    { class: 'chat-empty' },
    h('p', { text: 'Ask Cog anything. Enter sends, Shift+Enter adds a line, Esc stops a reply.' }),
  );
  /** Above the first turn when the conversation shown starts partway. */
  private readonly earlier = h('div', {
    class: 'chat-earlier',
    text: 'Earlier messages are not shown.',
    attrs: { hidden: true },
  });
  private turns = new Map<string, TurnView>();
  private runningTurns = new Set<string>();
  private pending: { text: string; el: HTMLElement }[] = [];
  private stick = true;
  private follow: number | undefined;
  private batching = false;
  private readonly lazy: LazyRenderer;

  constructor(
    private readonly ctx: ControlContext,
    private readonly onScroll: () => void,
    private readonly userActions?: UserMessageActions,
  ) {
    this.lazy = new LazyRenderer(this.el);
    this.el.append(this.empty, this.earlier, this.list);
    this.el.addEventListener('scroll', () => {
      this.stick = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - STICK_PX;
      this.onScroll();
    });
  }

  /** A turn runs, or a message waits for its echo (Esc and Stop then cancel). */
  get running(): boolean {
    return this.pending.length > 0 || this.runningTurns.size > 0;
  }

  /** Shows nothing; messages still waiting for their echo stay only for the same session. */
  reset(keepPending = false): void {
    this.lazy.reset();
    this.turns.clear();
    this.runningTurns.clear();
    this.list.replaceChildren();
    this.earlier.hidden = true;
    if (keepPending) for (const p of this.pending) this.list.append(p.el);
    else this.pending = [];
    this.stick = true;
    this.updateEmpty();
  }

  /** Many events at once (a snapshot, a reload): follow the bottom once at the end. */
  batch(work: () => void): void {
    this.batching = true;
    try {
      work();
    } finally {
      this.batching = false;
      this.lazy.renderNewest(EAGER);
      this.changed();
    }
  }

  /**
   * Where the reader is: at the bottom, or which turn is at the top of the view and how
   * far into it. A turn is a better anchor than scrollTop, since replies above it may not
   * be rendered yet after a reload.
   */
  scrollPosition(): ScrollPosition {
    const top = this.el.scrollTop;
    if (this.stick) return { top, atBottom: true };
    for (const t of this.turns.values()) {
      if (t.el.offsetTop + t.el.offsetHeight > top)
        return { top, atBottom: false, turn: t.id, offset: top - t.el.offsetTop };
    }
    return { top, atBottom: false };
  }

  /**
   * Off-screen turns are laid out at an estimated height until first shown, so the anchor's
   * position is only right once the turns around it have been rendered: it is applied
   * again over the next two frames.
   */
  restoreScroll(pos: ScrollPosition): void {
    this.stick = pos.atBottom;
    if (pos.atBottom) {
      this.el.scrollTop = this.el.scrollHeight;
      return;
    }
    const apply = () => {
      if (this.stick) return;
      const anchor = pos.turn === undefined ? undefined : this.turns.get(pos.turn);
      this.el.scrollTop = anchor ? anchor.el.offsetTop + (pos.offset ?? 0) : pos.top;
    };
    apply();
    requestAnimationFrame(() => {
      apply();
      requestAnimationFrame(apply);
    });
  }

  /** Whether older messages exist than the first one shown (a snapshot that was a page). */
  setEarlier(earlier: boolean): void {
    this.earlier.hidden = !earlier;
  }

  addPending(text: string): void {
    const el = h(
      'div',
      { class: 'msg user pending' },
      h('div', { class: 'msg-meta', text: 'You · sending…' }),
      h('div', { class: 'msg-text', text }),
    );
    this.pending.push({ text, el });
    this.list.append(el);
    this.stick = true;
    this.changed();
  }

  /** The host refused or lost what was sent: returns the texts so they are not lost. */
  dropPending(): string[] {
    const texts = this.pending.map((p) => p.text);
    for (const p of this.pending) p.el.remove();
    this.pending = [];
    this.updateEmpty();
    return texts;
  }

  apply(e: RuntimeEvent): void {
    switch (e.type) {
      case 'session.cleared':
        this.lazy.reset();
        this.turns.clear();
        this.runningTurns.clear();
        this.earlier.hidden = true;
        this.list.replaceChildren(h('div', { class: 'cleared', text: 'Conversation cleared' }));
        for (const p of this.pending) this.list.append(p.el);
        this.changed();
        return;
      case 'turn.queued':
        return this.turn(e.turn).queued(e.position);
      case 'turn.started':
        this.runningTurns.add(e.turn ?? '-');
        return this.turn(e.turn).started(e.mode);
      case 'turn.done':
        this.runningTurns.delete(e.turn ?? '-');
        return this.turn(e.turn).done(e.status, e.error, e.timing.totalMs);
      case 'user.message': {
        const i = this.pending.findIndex((p) => p.text.trim() === e.text.trim());
        if (i >= 0) this.pending.splice(i, 1)[0].el.remove();
        const label = e.action
          ? this.labels.get(buttonKey(e.action.action, e.action.data))
          : undefined;
        return this.turn(e.turn).userMessage(e, label);
      }
      case 'output.delta':
        return this.turn(e.turn).delta(e.text);
      case 'assistant.message':
        this.rememberLabels(e.controls);
        return this.turn(e.turn).final(e, this.batching ? this.deferRender : undefined);
      case 'controls':
        this.rememberLabels(e.controls);
        return this.turn(e.turn).controls(e.controls);
      case 'node.context':
        // A turn's usage, for its footer; calls outside a turn (none today) have no footer.
        if (e.usage && e.turn && this.turns.has(e.turn)) this.turn(e.turn).usage(e.usage);
        return;
      case 'node.done':
        if (e.turn && this.turns.has(e.turn)) this.turn(e.turn).nodeDone(e);
        return;
      default:
        // The HUD, the process cards and the trace show the rest.
        return;
    }
  }

  /** A click comes back as its action: the user's bubble shows the button's own words. */
  private rememberLabels(controls: readonly Control[]) {
    for (const c of controls) {
      if (c.type === 'button') this.labels.set(buttonKey(c.action, c.data), c.label);
    }
  }

  private readonly deferRender = (target: Element, render: () => void) =>
    this.lazy.defer(target, render);

  private turn(id: string | undefined): TurnView {
    const key = id ?? '-';
    let t = this.turns.get(key);
    if (!t) {
      t = new TurnView(key, this.ctx, () => this.changed(), this.userActions);
      this.turns.set(key, t);
      // A new turn goes before the messages still waiting for their echo.
      this.list.insertBefore(t.el, this.pending[0]?.el ?? null);
      this.updateEmpty();
    }
    return t;
  }

  private updateEmpty(): void {
    this.empty.hidden = this.list.childElementCount > 0;
  }

  private changed(): void {
    if (this.batching || !this.stick || this.follow !== undefined) return;
    this.follow = requestAnimationFrame(() => {
      this.follow = undefined;
      if (this.stick) this.el.scrollTop = this.el.scrollHeight;
    });
  }
}

/** What a click on a button sends, as one key: its action and its data. */
function buttonKey(action: string, data: unknown): string {
  return `${action}\u0000${data === undefined ? '' : JSON.stringify(data)}`;
}
