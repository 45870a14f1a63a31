import { z } from 'zod';
import { SessionOut } from '../schemas.js';
import { defineTool } from '../tool-kit.js';
import { sessionView } from '../views.js';

export const sessionsTool = defineTool({
  name: 'sessions',
  title: 'List or create sessions',
  description:
    'action "list" (the default, read-only): your sessions. action "create": starts a ' +
    'session, optionally with a title and your own id (1-64 letters, digits, _ or -).',
  input: z.object({
    action: z.enum(['list', 'create']).default('list'),
    title: z.string().trim().min(1).max(200).optional().describe('for create'),
    id: z.string().min(1).max(64).optional().describe('for create; generated when left out'),
  }),
  output: z.object({
    sessions: z.array(SessionOut),
    created: SessionOut.optional(),
  }),
  // Not read-only: "create" adds a session. Annotations are per tool, not per action.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async run({ action, title, id }, ctx) {
    if (action === 'create') {
      const created = sessionView(
        ctx.runtime.createSession(ctx.principal, {
          ...(id ? { id } : {}),
          ...(title ? { title } : {}),
        }),
      );
      return {
        data: { sessions: [created], created },
        text: `Created session ${created.id}.`,
      };
    }
    const sessions = ctx.runtime.listSessions(ctx.principal).map(sessionView);
    const lines = sessions.map(
      (s) =>
        `${s.id}${s.title ? ` "${s.title}"` : ''}: ${s.turns} turn(s)${s.busy ? ', busy' : ''}`,
    );
    return { data: { sessions }, text: lines.length ? lines.join('\n') : 'No sessions yet.' };
  },
});
