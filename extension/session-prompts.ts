/**
 * The questions renaming, deleting and clearing a session ask the user, as the chat's host
 * asks them: VS Code's input box and modal warnings (vscode-session-prompts.ts), or the
 * browser's own dialogs (web/). The webview only says which session; the answers come from
 * here, so a page that renders model text can never rename or delete by itself.
 */
export interface SessionPrompts {
  /** The new title, or undefined when the user cancelled. `current` may be empty. */
  askTitle(current: string, session: string): Promise<string | undefined>;
  /** True only when the user confirmed deleting the session called `label`. */
  confirmDelete(label: string): Promise<boolean>;
  /** True only when the user confirmed clearing the session called `label`. */
  confirmClear(label: string): Promise<boolean>;
}

/** The longest title the runtime takes (server/runtime/titles.ts). */
export const MAX_TITLE_CHARS = 200;

/** Why `value` is not a title, or undefined when it is one (an input box's validateInput). */
export function titleProblem(value: string): string | undefined {
  const title = value.trim();
  if (!title) return 'Type a title.';
  if (/[\r\n]/.test(title)) return 'A title is one line.';
  if (title.length > MAX_TITLE_CHARS) return `At most ${MAX_TITLE_CHARS} characters.`;
  return undefined;
}

/** How a session is named in a question: its title in quotes, else its id. */
export function sessionLabel(s: { id: string; title?: string }): string {
  return s.title ? `\u201c${s.title}\u201d` : `session ${s.id}`;
}
