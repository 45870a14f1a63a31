import { z } from 'zod';
import { SessionIdSchema } from '../schemas.js';
import { defineTool } from '../tool-kit.js';

export const clearTool = defineTool({
  name: 'clear',
  title: 'Clear a session',
  description:
    'Forgets a session\u2019s conversation and shared memory and cancels its running turn. ' +
    'The trace keeps the record (a session.cleared event).',
  input: z.object({ session: SessionIdSchema }),
  output: z.object({ session: z.string(), cleared: z.literal(true), seq: z.number() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async run({ session }, ctx) {
    ctx.runtime.clear(session, ctx.principal);
    const seq = ctx.session(session).seq;
    return {
      data: { session, cleared: true as const, seq },
      text: `Session ${session} cleared.`,
    };
  },
});
