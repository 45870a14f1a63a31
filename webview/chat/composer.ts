import { button, h } from '../dom.js';

/** The host accepts at most this much in one `send` (protocol/webview.ts). */
export const MAX_MESSAGE = 32_000;

export interface ComposerOptions {
  send(text: string): void;
  cancel(): void;
  draftChanged(): void;
  /** `@` or `#` typed at the start of a word: the host offers workspace files to attach. */
  pick?(trigger: '@' | '#'): void;
}

/**
 * The message box. Enter sends, Shift+Enter (or an IME composition) keeps typing, Esc
 * stops the running turn. The draft is the textarea's value; the app persists it.
 */
export class Composer {
  readonly input = h('textarea', {
    class: 'composer-input',
    attrs: {
      rows: 2,
      placeholder: 'Message Cog (Enter to send, Shift+Enter for a new line)',
      'aria-label': 'Message Cog',
      maxlength: MAX_MESSAGE,
    },
  });
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  readonly el: HTMLElement;

  constructor(private readonly opts: ComposerOptions) {
    this.sendButton = button('Send', () => this.submit(), { class: 'send', title: 'Send (Enter)' });
    this.stopButton = button('Stop', () => opts.cancel(), {
      secondary: true,
      class: 'stop',
      title: 'Stop the reply (Esc)',
    });
    this.stopButton.hidden = true;
    this.el = h(
      'form',
      { class: 'composer', attrs: { 'aria-label': 'Send a message' } },
      this.input,
      h('div', { class: 'composer-actions' }, this.stopButton, this.sendButton),
    );
    this.el.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.isComposing) {
        ev.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', (ev) => {
      this.autosize();
      opts.draftChanged();
      const trigger = triggerTyped(this.input, ev as InputEvent);
      if (trigger) opts.pick?.(trigger);
    });
  }

  get draft(): string {
    return this.input.value;
  }

  set draft(text: string) {
    this.input.value = text;
    this.autosize();
  }

  /** Puts `text` in the box to change and send (a sent message's Edit), cursor at its end. */
  edit(text: string): void {
    this.draft = text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) : text;
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
    this.opts.draftChanged();
  }

  /** Shows Stop while a turn runs. */
  setRunning(running: boolean): void {
    if (this.stopButton.hidden === running) this.stopButton.hidden = !running;
  }

  private submit(): void {
    const text = this.input.value;
    if (!text.trim()) return;
    this.opts.send(text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) : text);
    this.draft = '';
    this.opts.draftChanged();
  }

  private autosize(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 200)}px`;
  }
}

/**
 * `@` or `#` just typed at the start of a word (after a space, a line break, or first):
 * an e-mail address or `a#b` is not a trigger, and neither is a paste.
 */
function triggerTyped(input: HTMLTextAreaElement, ev: InputEvent): '@' | '#' | undefined {
  if (ev.inputType !== 'insertText' || (ev.data !== '@' && ev.data !== '#')) return undefined;
  const at = (input.selectionStart ?? 0) - 1;
  if (input.value[at] !== ev.data) return undefined;
  const before = at > 0 ? input.value[at - 1] : '';
  return before === '' || /\s/.test(before) ? ev.data : undefined;
}
