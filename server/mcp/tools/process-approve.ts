import { z } from 'zod';
import { ApproveResultSchema, ProcessIdSchema } from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';
import { continueTurn } from '../turn.js';

export const processApproveTool = defineTool({
  name: 'process-approve',
  title: 'Approve or deny a code run',
  description:
    'Decides a process waiting for approval (status pending-approval): "approve" runs it, ' +
    '"deny" refuses it. The turn that asked continues either way; when a `send` answered ' +
    'awaiting_approval, this call waits for the rest of that turn and returns it as `turn`. ' +
    'Approving needs ' +
    'codeSha256, the hex SHA-256 of the exact code the human was shown (and its isolation ' +
    'tier: "none" means no sandbox), so an approval is for that code and nothing else. ' +
    'A run of a turn that runs as an MCP task is decided here too; the task then goes on. ' +
    'This call can itself run as a task (the rest of the turn can be long).',
  input: z.object({
    process: ProcessIdSchema,
    decision: z.enum(['approve', 'deny']),
    codeSha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a hex SHA-256 (64 hex digits)')
      .optional()
      .describe('SHA-256 of the code shown to the human; required to approve'),
  }),
  output: ApproveResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  taskSupport: 'optional',
  async run({ process: id, decision, codeSha256 }, ctx, extra) {
    let process;
    try {
      process = ctx.runtime.approve(id, ctx.principal, decision, codeSha256);
    } catch (err) {
      // Behind a load balancer: the run is on another instance, which takes the decision.
      const code = (err as { code?: unknown }).code;
      const elsewhere =
        code === 'process_elsewhere' || (code === 'process_not_found' && ctx.runtime.sharedMcp);
      if (!elsewhere) throw err;
      process = await ctx.runtime.forwardApproval(id, ctx.principal, decision, codeSha256);
    }
    const decided = `Process ${id} is ${process.status}.`;
    const rest = await continueTurn(ctx, process, extra);
    if (!rest) return { data: { process }, text: decided };
    return {
      data: { process, turn: rest.data },
      text: `${decided}\n\n${rest.text}`,
      ...(rest.isError ? { isError: true } : {}),
      ...(rest.cancelled ? { cancelled: true } : {}),
    };
  },
});
