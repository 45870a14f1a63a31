import { describeIsolation, type ProcessInfo } from '../../../protocol/events.js';
import type { McpContext, RequestExtra } from '../context.js';

/** How long a human gets to answer an approval request before the run is denied. */
export const APPROVAL_TIMEOUT_MS = 5 * 60_000;
const MAX_CODE_CHARS = 4000;

/**
 * Asks the client's human, through elicitation, whether a pending run of this request's
 * turn may go ahead. Without form elicitation nothing happens and the run stays pending
 * for `process-approve`. Every path ends in a decision: decline, cancel, a failed or
 * timed-out request all deny, so the turn never hangs on a question nobody will answer.
 */
export function createApprovals(ctx: McpContext, extra: RequestExtra) {
  const canAsk = Boolean(ctx.mcp.server.getClientCapabilities()?.elicitation?.form);
  /** Open questions by process id; aborted when the run is decided some other way. */
  const open = new Map<string, AbortController>();

  async function ask(p: ProcessInfo, asked: AbortController): Promise<void> {
    let decision: 'approve' | 'deny';
    let failure: string | undefined;
    const code =
      p.code.length > MAX_CODE_CHARS ? `${p.code.slice(0, MAX_CODE_CHARS)}\n… (truncated)` : p.code;
    try {
      const answer = await ctx.mcp.server.elicitInput(
        {
          mode: 'form',
          message: `Cog wants to run ${p.language} code, ${describeIsolation(p.isolation)}:\n\n${code}`,
          requestedSchema: {
            type: 'object',
            properties: { approve: { type: 'boolean', title: 'Run this code?' } },
            required: ['approve'],
          },
        },
        {
          // On the request's own stream: over HTTP a client need not hold a GET stream open.
          relatedRequestId: extra.requestId,
          signal: AbortSignal.any([extra.signal, asked.signal]),
          timeout: APPROVAL_TIMEOUT_MS,
        },
      );
      decision =
        answer.action === 'accept' && answer.content?.approve === true ? 'approve' : 'deny';
    } catch (err) {
      // Decided elsewhere, or the turn is over (its cancel reaches the process itself).
      if (asked.signal.aborted || extra.signal.aborted) return;
      decision = 'deny';
      failure = err instanceof Error ? err.message : String(err);
    } finally {
      open.delete(p.id);
    }
    try {
      // The human saw exactly p.code (or its head, when it is longer than the message holds).
      const why = failure === undefined ? undefined : `could not ask for approval (${failure})`;
      ctx.runtime.approve(p.id, ctx.principal, decision, p.codeSha256, why);
    } catch {
      return; // decided in the meantime (process-approve, cancel, clear): that stands
    }
  }

  return {
    /** Feed every `process.updated` of the turn. */
    onProcess(p: ProcessInfo): void {
      if (p.status !== 'pending-approval') {
        open.get(p.id)?.abort();
        return;
      }
      if (!canAsk || open.has(p.id)) return;
      const asked = new AbortController();
      open.set(p.id, asked);
      void ask(p, asked);
    },
    /** Withdraws open questions (the turn has ended). */
    close(): void {
      for (const c of open.values()) c.abort();
    },
  };
}
