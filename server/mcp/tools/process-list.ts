import { z } from 'zod';
import { ProcessListSchema, SessionIdSchema } from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';

export const processListTool = defineTool({
  name: 'process-list',
  title: 'List code runs',
  description:
    'The code runs (processes) of one of your sessions, or of all of them, oldest first: ' +
    'status, exit code, timings, and why each ended.',
  input: z.object({ session: SessionIdSchema.optional().describe('omit for all your sessions') }),
  output: ProcessListSchema,
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run({ session }, ctx) {
    const processes = ctx.runtime.listProcesses(ctx.principal, session);
    const lines = processes.map(
      (p) => `${p.id} ${p.language} ${p.status}${p.reason ? ` (${p.reason})` : ''} in ${p.session}`,
    );
    return { data: { processes }, text: lines.length ? lines.join('\n') : 'No processes.' };
  },
});
