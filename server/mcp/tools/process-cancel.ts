import { z } from 'zod';
import {
  FINAL_PROCESS_STATUSES,
  type ProcessInfo,
  type RuntimeEvent,
} from '../../../protocol/events.js';
import type { McpContext } from '../context.js';
import { ProcessIdSchema, ProcessResultSchema } from '../../../protocol/results.js';
import { defineTool } from '../tool-kit.js';

/** How long the tool waits for a killed process to be reported gone. */
const SETTLE_MS = 3000;

const isFinal = (p: ProcessInfo) => FINAL_PROCESS_STATUSES.includes(p.status);

/** Resolves with the process once it is final, or as it is after SETTLE_MS. */
async function settled(ctx: McpContext, p: ProcessInfo): Promise<ProcessInfo> {
  if (isFinal(p)) return p;
  const subscribe = (listener: (e: RuntimeEvent) => void) =>
    ctx.runtime.subscribe(p.session, ctx.principal, listener);
  let onEvent: (e: RuntimeEvent) => void = () => undefined;
  const unsubscribe = await subscribe((e) => onEvent(e));
  return new Promise((resolve) => {
    let latest = p;
    const done = () => {
      clearTimeout(timer);
      stop();
      resolve(latest);
    };
    const stop = ctx.own(unsubscribe);
    onEvent = (e) => {
      if (e.type !== 'process.updated' || e.process.id !== p.id) return;
      latest = e.process;
      if (isFinal(latest)) done();
    };
    const timer = setTimeout(done, SETTLE_MS);
    // Re-read: it may have ended between the cancel and the subscription.
    latest = ctx.runtime.listProcesses(ctx.principal, p.session).find((q) => q.id === p.id) ?? p;
    if (isFinal(latest)) done();
  });
}

export const processCancelTool = defineTool({
  name: 'process-cancel',
  title: 'Cancel a code run',
  description:
    'Stops a running process (its whole process group) or withdraws one waiting for ' +
    'approval. Cancelling a process that has ended changes nothing.',
  input: z.object({ process: ProcessIdSchema }),
  output: ProcessResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async run({ process: id }, ctx) {
    const process = await settled(ctx, ctx.runtime.cancelProcess(id, ctx.principal));
    return {
      data: { process },
      text: `Process ${id} is ${process.status}${process.reason ? ` (${process.reason})` : ''}.`,
    };
  },
});
