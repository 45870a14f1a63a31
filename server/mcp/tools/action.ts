import { z } from 'zod';
import { ActionSchema } from '../../../protocol/controls.js';
import { ToolFailure } from '../errors.js';
import {
  AwaitApprovalSchema,
  IfBusySchema,
  SessionIdSchema,
  TurnResultSchema,
} from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';
import { runTurn } from '../turn.js';

export const actionTool = defineTool({
  name: 'action',
  title: 'Click a control',
  description:
    'Sends a click on a control (a button from an earlier reply) back into its session and ' +
    'waits for the reply. `action` and `data` are the control\u2019s own. Can run as an MCP task.',
  input: z.object({
    session: SessionIdSchema,
    action: z.string().describe('the control\u2019s action name, e.g. "more"'),
    data: z.record(z.string(), z.unknown()).optional().describe('the control\u2019s data, if any'),
    await_approval: AwaitApprovalSchema,
    if_busy: IfBusySchema,
  }),
  output: TurnResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  taskSupport: 'optional',
  async run({ session, action, data, await_approval: hold, if_busy: ifBusy }, ctx, extra) {
    const parsed = ActionSchema.safeParse({ action, ...(data ? { data } : {}) });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ToolFailure(
        `That is not a control action: ${issue?.message ?? 'invalid'}. Use the \`action\` and \`data\` of a control from a reply.`,
      );
    }
    return runTurn(
      ctx,
      session,
      extra,
      (opts) =>
        ctx.runtime.action(session, ctx.principal, parsed.data, {
          ...opts,
          ...(ifBusy ? { ifBusy } : {}),
        }),
      { holdForApproval: hold === true },
    );
  },
});
