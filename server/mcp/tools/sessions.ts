import { z } from 'zod';
import { ToolFailure } from '../errors.js';
import { SessionsResultSchema } from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';
import { sessionView } from '../views.js';

export const sessionsTool = defineTool({
  name: 'sessions',
  title: 'List, create, rename or delete sessions',
  description:
    'action "list" (the default, read-only): your sessions. action "create": starts a ' +
    'session, optionally with a title and your own id (1-64 letters, digits, _ or -). ' +
    'action "rename" (needs `id` and `title`): sets its title; Cog no longer retitles it ' +
    'from its topic. ' +
    'action "delete" (needs `id`): ends its turn and code runs and removes its log, ' +
    'snapshot and workspace for good.',
  input: z.object({
    action: z.enum(['list', 'create', 'rename', 'delete']).default('list'),
    title: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .regex(/^[^\r\n]*$/, 'one line')
      .optional()
      .describe('for create and rename (required): one line'),
    id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('for create (generated when left out), rename and delete (required)'),
  }),
  output: SessionsResultSchema,
  // Annotations are per tool, not per action: "delete" makes the whole tool destructive.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async run({ action, title, id }, ctx) {
    if (action === 'delete') {
      if (!id) throw new ToolFailure('action "delete" needs `id`: the session to delete.');
      await ctx.runtime.deleteSession(id, ctx.principal);
      ctx.mcp.sendResourceListChanged();
      const sessions = ctx.runtime.listSessions(ctx.principal).map(sessionView);
      return { data: { sessions, deleted: id }, text: `Deleted session ${id}.` };
    }
    if (action === 'rename') {
      if (!id) throw new ToolFailure('action "rename" needs `id`: the session to rename.');
      if (!title) throw new ToolFailure('action "rename" needs `title`: its new title.');
      const renamed = sessionView(await ctx.runtime.renameSession(id, ctx.principal, title));
      const sessions = ctx.runtime.listSessions(ctx.principal).map(sessionView);
      return { data: { sessions, renamed }, text: `Renamed session ${id} to "${title}".` };
    }
    if (action === 'create') {
      const created = sessionView(
        await ctx.runtime.createSession(ctx.principal, {
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
