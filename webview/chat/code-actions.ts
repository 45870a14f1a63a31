import { CODE_LANGUAGE, MAX_CODE_ACTION } from '../../protocol/code-actions.js';
import type { WebviewToHost } from '../../protocol/webview.js';
import { button, h } from '../dom.js';

type CodeAction = Extract<WebviewToHost, { type: 'codeAction' }>['action'];

const ACTIONS: { action: CodeAction; label: string; title: string; done?: string }[] = [
  { action: 'copy', label: 'Copy', title: 'Copy the code', done: 'Copied' },
  { action: 'insert', label: 'Insert', title: 'Insert at the cursor in the editor' },
  { action: 'newFile', label: 'New File', title: 'Open the code in a new untitled file' },
];

/**
 * Adds Copy, Insert (at cursor) and New File to each finished code block of a rendered
 * reply. The code they send is the block's own text (the highlighted spans hold exactly
 * it); the host acts on it (extension/code-actions.ts). A block whose fence is still
 * streaming (`code-open`) gets none until it closes.
 */
export function addCodeActions(root: ParentNode, post: (msg: WebviewToHost) => void): void {
  for (const block of root.querySelectorAll<HTMLElement>('.code-block:not(.code-open)')) {
    const code = block.querySelector('pre > code');
    if (!code) continue;
    const text = code.textContent ?? '';
    const language = /^language-(.+)$/.exec(code.className)?.[1];
    const tooLong = text.length > MAX_CODE_ACTION;
    const bar = h('div', {
      class: 'code-actions',
      attrs: { role: 'toolbar', 'aria-label': 'Code block actions' },
    });
    for (const { action, label, title, done } of ACTIONS) {
      const b = button(
        label,
        () => {
          post({
            type: 'codeAction',
            action,
            code: text,
            ...(language && CODE_LANGUAGE.test(language) ? { language } : {}),
          });
          if (!done) return;
          b.textContent = done;
          setTimeout(() => (b.textContent = label), 1500);
        },
        { secondary: true, class: `code-action code-${action}`, title },
      );
      if (tooLong || !text.trim()) {
        b.disabled = true;
        b.title = tooLong ? 'This code block is too long to send' : 'This code block is empty';
      }
      bar.append(b);
    }
    block.prepend(bar);
  }
}
