import { titleProblem, type SessionPrompts } from '../extension/session-prompts.js';

/** The session questions in a browser tab: the page's own prompt and confirm dialogs. */
export const browserSessionPrompts: SessionPrompts = {
  async askTitle(current, session) {
    let value = current;
    for (;;) {
      const answer = window.prompt(
        current ? `A new title for \u201c${current}\u201d:` : `A title for session ${session}:`,
        value,
      );
      if (answer === null) return undefined;
      const problem = titleProblem(answer);
      if (!problem) return answer.trim();
      window.alert(problem);
      value = answer;
    }
  },
  confirmDelete: async (label) =>
    window.confirm(
      `Delete the Cog session ${label}? Its conversation, memory, code runs and workspace are removed for good.`,
    ),
  confirmClear: async (label) =>
    window.confirm(
      `Clear the conversation of ${label}? Its messages and memory are cleared for good.`,
    ),
};
