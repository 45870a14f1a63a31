import { z } from 'zod';
import {
  OUTPUT_TAIL_CHARS,
  type ProcessView,
  ProcessListSchema,
  SessionIdSchema,
} from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';

export const processListTool = defineTool({
  name: 'process-list',
  title: 'List code runs',
  description:
    'The code runs (processes) of one of your sessions, or of all of them, oldest first: ' +
    'status, exit code, timings, why each ended, and the end of its output.',
  input: z.object({ session: SessionIdSchema.optional().describe('omit for all your sessions') }),
  output: ProcessListSchema,
  annotations: { readOnlyHint: true, idempotentHint: true },
  async run({ session }, ctx) {
    const processes = ctx.runtime.listProcesses(ctx.principal, session).map((p): ProcessView => {
      const output = ctx.runtime.processOutput(p.id, ctx.principal);
      return output ? { ...p, output: output.slice(-OUTPUT_TAIL_CHARS) } : p;
    });
    const lines = processes.map((p) => {
      const head = `${p.id} ${p.language} ${p.status}${p.reason ? ` (${p.reason})` : ''} in ${p.session}`;
      const out = p.output?.trimEnd();
      return out ? `${head}; output ends: ${out.slice(-200)}` : head;
    });
    return { data: { processes }, text: lines.length ? lines.join('\n') : 'No processes.' };
  },
});
