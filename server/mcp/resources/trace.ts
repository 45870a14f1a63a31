import type { McpContext } from '../context.js';
import { traceView } from '../views.js';
import { JSON_MIME, jsonContents, sessionOf, viewResourceTemplate } from './common.js';

/** Events a read returns; the `trace` tool pages through the rest. */
export const TRACE_RESOURCE_EVENTS = 200;

export function registerTraceResource(ctx: McpContext): void {
  ctx.mcp.registerResource(
    'session-trace',
    viewResourceTemplate(ctx, 'trace'),
    {
      title: 'Session trace',
      description: `The latest ${TRACE_RESOURCE_EVENTS} events of the log. Subscribe: updated on every event (at most every 100 ms).`,
      mimeType: JSON_MIME,
    },
    async (uri, vars) => {
      const s = await sessionOf(ctx, uri, vars);
      const sinceSeq = Math.max(0, s.publishedSeq - TRACE_RESOURCE_EVENTS);
      return jsonContents(uri, await traceView(s, { sinceSeq, limit: TRACE_RESOURCE_EVENTS }));
    },
  );
}
