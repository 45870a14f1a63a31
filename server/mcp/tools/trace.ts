import { z } from 'zod';
import { EVENT_SOURCES, EVENT_TYPES, type RuntimeEventType } from '../../../protocol/events.js';
import { LIMITS } from '../../../protocol/mcp.js';
import { SessionIdSchema, TracePageSchema } from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';
import { traceView } from '../views.js';

export const traceTool = defineTool({
  name: 'trace',
  title: 'Event trace',
  description:
    'The session\u2019s event log: every HUD event, message, delta, process and memory ' +
    'update, in seq order. Page with `since_seq` = the `next_seq` of the previous page.',
  input: z.object({
    session: SessionIdSchema,
    since_seq: z.number().int().min(0).default(0).describe('only events with a greater seq'),
    node: z.enum(EVENT_SOURCES).optional().describe('only events from this node or part'),
    type: z
      .enum(EVENT_TYPES as [RuntimeEventType, ...RuntimeEventType[]])
      .optional()
      .describe('only events of this type'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.tracePageMax)
      .default(LIMITS.tracePage)
      .describe(`page size (max ${LIMITS.tracePageMax})`),
  }),
  output: TracePageSchema,
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run(args, ctx) {
    const data = await traceView(await ctx.session(args.session), {
      sinceSeq: args.since_seq,
      limit: args.limit,
      ...(args.node ? { node: args.node } : {}),
      ...(args.type ? { type: args.type } : {}),
    });
    const text =
      `${data.events.length} event(s)` +
      `${data.events.length ? ` (seq ${data.events[0].seq}-${data.events.at(-1)?.seq})` : ''}` +
      `; next_seq ${data.next_seq}${data.has_more ? ', more to come' : ''}.`;
    return { data, text };
  },
});
