import { z } from 'zod';
import { ClearResultSchema, SessionIdSchema } from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';

export const clearTool = defineTool({
  name: 'clear',
  title: 'Clear a session',
  description:
    'Forgets a session\u2019s conversation and shared memory and cancels its running turn. ' +
    'What came before is deleted from the log too: the trace starts again at the ' +
    'session.cleared event (its `seq` is returned).',
  input: z.object({ session: SessionIdSchema }),
  output: ClearResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async run({ session }, ctx) {
    const seq = await ctx.runtime.clear(session, ctx.principal);
    return {
      data: { session, cleared: true as const, seq },
      text: `Session ${session} cleared.`,
    };
  },
});
