import { z } from 'zod';
import { ProcessIdSchema, ProcessOut } from '../schemas.js';
import { defineTool } from '../tool-kit.js';

export const processApproveTool = defineTool({
  name: 'process-approve',
  title: 'Approve or deny a code run',
  description:
    'Decides a process waiting for approval (status pending-approval): "approve" runs it, ' +
    '"deny" refuses it. The turn that asked continues either way. Approving needs ' +
    'codeSha256, the hex SHA-256 of the exact code the human was shown (and its isolation ' +
    'tier: "none" means no sandbox), so an approval is for that code and nothing else.',
  input: z.object({
    process: ProcessIdSchema,
    decision: z.enum(['approve', 'deny']),
    codeSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a hex SHA-256 (64 hex digits)')
      .optional()
      .describe('SHA-256 of the code shown to the human; required to approve'),
  }),
  output: z.object({ process: ProcessOut }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async run({ process: id, decision, codeSha256 }, ctx) {
    const process = ctx.runtime.approve(id, ctx.principal, decision, codeSha256);
    return { data: { process }, text: `Process ${id} is ${process.status}.` };
  },
});
