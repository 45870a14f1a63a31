import { z } from 'zod';
import { ToolFailure } from '../errors.js';
import {
  AwaitApprovalSchema,
  IfBusySchema,
  SessionIdSchema,
  TurnResultSchema,
} from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';
import type { SendOptions } from '../../runtime/runtime.js';
import { runTurn } from '../turn.js';
import { firstMessageTitle } from '../../runtime/titles.js';

export const sendTool = defineTool({
  name: 'send',
  title: 'Send a message',
  description:
    'Sends a message to Cog and waits for the reply. Without `session` a new session is ' +
    'started; its id comes back in the result. Call with a progress token to receive the ' +
    'reply as it streams (notifications/progress, `message` = the next piece of text). ' +
    'A long turn can run as an MCP task (call with `task`): poll tasks/get, read tasks/result.',
  input: z.object({
    text: z.string().describe('the message'),
    session: SessionIdSchema.optional().describe('the session to continue; omit to start one'),
    await_approval: AwaitApprovalSchema,
    if_busy: IfBusySchema,
  }),
  output: TurnResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  taskSupport: 'optional',
  async run({ text, session, await_approval: hold, if_busy: ifBusy }, ctx, extra) {
    // Checked before a session is created for it, so a bad call leaves nothing behind.
    if (!text.trim()) throw new ToolFailure('The message is empty: call `send` with some text.');
    const id =
      session ??
      (
        await ctx.runtime.createSession(ctx.principal, {
          title: firstMessageTitle(text),
          titleSource: 'first-message',
        })
      ).id;
    const start = (opts: SendOptions) =>
      ctx.runtime.send(id, ctx.principal, text, { ...opts, ...(ifBusy ? { ifBusy } : {}) });
    return runTurn(ctx, id, extra, start, {
      holdForApproval: hold === true,
    });
  },
});
