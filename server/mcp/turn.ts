import type { SendOptions, TurnResult } from '../runtime/runtime.js';
import type { McpContext, RequestExtra } from './context.js';
import { createApprovals } from './live/approvals.js';
import type { TurnOutput } from './schemas.js';
import type { ToolReply } from './tool-kit.js';
import { turnView } from './views.js';

/**
 * Runs one turn for a tool call (`send` or `action`) and follows it while it runs: output
 * deltas become progress notifications when the request carries a progress token, and
 * runs waiting for approval are put to the client's human when it can be asked. The
 * request's signal is the turn's, so `notifications/cancelled` stops the model stream and
 * any child process, and the trace records the turn as cancelled.
 */
export async function runTurn(
  ctx: McpContext,
  sessionId: string,
  extra: RequestExtra,
  start: (opts: SendOptions) => Promise<TurnResult>,
): Promise<ToolReply<TurnOutput>> {
  const s = await ctx.session(sessionId);
  const progressToken = extra._meta?.progressToken;
  const approvals = createApprovals(ctx, extra);
  let turn: string | undefined;
  let progress = 0;
  const stop = ctx.own(
    await ctx.runtime.subscribe(sessionId, ctx.principal, (e) => {
      if (turn === undefined || e.turn !== turn) return;
      if (e.type === 'output.delta' && progressToken !== undefined) {
        progress += 1;
        extra
          .sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, message: e.text },
          })
          .catch(() => undefined); // the client left; the turn ends with its signal
      } else if (e.type === 'process.updated') {
        approvals.onProcess(e.process);
      }
    }),
  );
  try {
    const result = await start({
      channel: ctx.channel,
      signal: extra.signal,
      onTurn: (id) => (turn = id),
    });
    const data = turnView(result, s);
    const label = result.model.offline ? ' · offline engine' : '';
    const where = `(session ${result.session}, turn ${result.turn}${label})`;
    if (result.status === 'error') {
      return {
        data,
        text: `The turn failed: ${result.error ?? 'unknown error'} ${where}. The session keeps working: try again, or read \`trace\` for details.`,
        isError: true,
      };
    }
    const status = result.status === 'cancelled' ? '[cancelled] ' : '';
    return { data, text: `${status}${result.text}\n\n${where}` };
  } finally {
    approvals.close();
    stop();
  }
}
