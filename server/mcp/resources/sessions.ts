import type { McpContext } from '../context.js';
import { sessionView } from '../views.js';
import { JSON_MIME, jsonContents } from './common.js';
import { SESSIONS_URI } from '../../../protocol/mcp.js';

export function registerSessionsResource(ctx: McpContext): void {
  ctx.mcp.registerResource(
    'sessions',
    SESSIONS_URI,
    {
      title: 'Your sessions',
      description: 'Your sessions: id, title, turns, last seq, whether a turn is running.',
      mimeType: JSON_MIME,
    },
    (uri) =>
      jsonContents(uri, { sessions: ctx.runtime.listSessions(ctx.principal).map(sessionView) }),
  );
}
