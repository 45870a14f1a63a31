import { z } from 'zod';
import { HistoryPageSchema, SessionIdSchema } from '../../../protocol/results.js';
import { LIMITS } from '../../../protocol/mcp.js';
import { defineTool } from '../tool-kit.js';
import { historyView } from '../views.js';

const Seq = z.number().int().min(0);

export const historyTool = defineTool({
  name: 'history',
  title: 'Conversation history',
  description:
    'Messages of a session since it was last cleared, oldest first: the newest `last` of ' +
    'those with seq before `before_seq` and after `after_seq`.',
  input: z.object({
    session: SessionIdSchema,
    last: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.historyPageMax)
      .default(LIMITS.historyPage)
      .describe(`how many messages (max ${LIMITS.historyPageMax})`),
    before_seq: Seq.optional().describe('only messages with a smaller seq (page backwards)'),
    after_seq: Seq.optional().describe('only messages with a greater seq (catch up)'),
  }),
  output: HistoryPageSchema,
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(args, ctx) {
    const data = await historyView(await ctx.session(args.session), {
      last: args.last,
      ...(args.before_seq !== undefined ? { beforeSeq: args.before_seq } : {}),
      ...(args.after_seq !== undefined ? { afterSeq: args.after_seq } : {}),
    });
    const lines = data.messages.map((m) => `${m.role} #${m.seq}: ${m.text.slice(0, 200)}`);
    const text = lines.length ? lines.join('\n') : 'No messages.';
    return { data, text };
  },
});
