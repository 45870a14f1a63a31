import { z } from 'zod';
import {
  ATTACHED_LIMITS,
  AttachedListSchema,
  attachedProblem,
} from '../../../protocol/attached.js';
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
    'A long turn can run as an MCP task (call with `task`): poll tasks/get, read tasks/result. ' +
    "`context` attaches editor context (selections, files) to the message: the turn's " +
    'prompt holds it as data, trimmed to the budget; the log keeps labels and token counts. ' +
    "A file with `share: true` is also given to this session's code runs, read-only, at " +
    'shared/<label> (sandboxed tiers only).',
  input: z.object({
    text: z.string().describe('the message'),
    session: SessionIdSchema.optional().describe('the session to continue; omit to start one'),
    await_approval: AwaitApprovalSchema,
    if_busy: IfBusySchema,
    context: AttachedListSchema.optional().describe(
      `editor context sent with the message: at most ${ATTACHED_LIMITS.items} items of ` +
        `${ATTACHED_LIMITS.itemChars} characters, ${ATTACHED_LIMITS.totalChars} in all`,
    ),
  }),
  output: TurnResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  taskSupport: 'optional',
  async run({ text, session, await_approval: hold, if_busy: ifBusy, context }, ctx, extra) {
    // Checked before a session is created for it, so a bad call leaves nothing behind.
    if (!text.trim()) throw new ToolFailure('The message is empty: call `send` with some text.');
    const wrong = context ? attachedProblem(context) : undefined;
    if (wrong) throw new ToolFailure(`${wrong} Attach less and call \`send\` again.`);
    const id =
      session ??
      (
        await ctx.runtime.createSession(ctx.principal, {
          title: firstMessageTitle(text),
          titleSource: 'first-message',
        })
      ).id;
    const start = (opts: SendOptions) =>
      ctx.runtime.send(id, ctx.principal, text, {
        ...opts,
        ...(ifBusy ? { ifBusy } : {}),
        ...(context?.length ? { context } : {}),
      });
    return runTurn(ctx, id, extra, start, {
      holdForApproval: hold === true,
    });
  },
});
