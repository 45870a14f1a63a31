import { z } from 'zod';
import { ProcessIdSchema, ProcessOut } from '../schemas.js';
import { defineTool } from '../tool-kit.js';

export const processApproveTool = defineTool({
  name: 'process-approve',
  title: 'Approve or deny a code run',
  description:
    'Decides a process waiting for approval (status pending-approval): "approve" runs it, ' +
    '"deny" refuses it. The turn that asked continues either way.',
  input: z.object({
    process: ProcessIdSchema,
    decision: z.enum(['approve', 'deny']),
  }),
  output: z.object({ process: ProcessOut }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async run({ process: id, decision }, ctx) {
    const process = ctx.runtime.approve(id, ctx.principal, decision);
    return { data: { process }, text: `Process ${id} is ${process.status}.` };
  },
});
