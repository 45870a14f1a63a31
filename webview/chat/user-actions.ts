import { button, h } from '../dom.js';

/** What the user can do with a message they sent (ChatView hands these to each turn). */
export interface UserMessageActions {
  /** Puts the text on the clipboard (through the host). */
  copy(text: string): void;
  /** Sends the same text again, as a new turn. */
  retry(text: string): void;
  /** Puts the text back into the composer, to change and send. */
  edit(text: string): void;
}

/** Copy, Retry and Edit under a typed message (a button click has none: it is not text). */
export function renderUserActions(text: string, actions: UserMessageActions): HTMLElement {
  const copy = button(
    'Copy',
    () => {
      actions.copy(text);
      copy.textContent = 'Copied';
      setTimeout(() => (copy.textContent = 'Copy'), 1500);
    },
    { secondary: true, class: 'msg-copy', title: 'Copy this message' },
  );
  return h(
    'div',
    { class: 'msg-actions', attrs: { role: 'toolbar', 'aria-label': 'Message actions' } },
    copy,
    button('Retry', () => actions.retry(text), {
      secondary: true,
      class: 'msg-retry',
      title: 'Send this message again',
    }),
    button('Edit', () => actions.edit(text), {
      secondary: true,
      class: 'msg-edit',
      title: 'Put this message back in the box to change and send it',
    }),
  );
}
