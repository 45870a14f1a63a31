import type { McpContext } from '../context.js';
import { historyView } from '../views.js';
import { JSON_MIME, jsonContents, sessionOf, viewResourceTemplate } from './common.js';

/** Messages a read returns; the `history` tool pages further back. */
export const HISTORY_RESOURCE_MESSAGES = 50;

export function registerHistoryResource(ctx: McpContext): void {
  ctx.mcp.registerResource(
    'session-history',
    viewResourceTemplate(ctx, 'history'),
    {
      title: 'Session history',
      description: `The latest ${HISTORY_RESOURCE_MESSAGES} messages since the last clear. Subscribe: updated on every message and on clear.`,
      mimeType: JSON_MIME,
    },
    async (uri, vars) =>
      jsonContents(
        uri,
        await historyView(await sessionOf(ctx, uri, vars), { last: HISTORY_RESOURCE_MESSAGES }),
      ),
  );
}
