import type { McpContext } from '../context.js';
import { stateView } from '../views.js';
import { JSON_MIME, jsonContents, sessionOf, viewResourceTemplate } from './common.js';

export function registerStateResource(ctx: McpContext): void {
  ctx.mcp.registerResource(
    'session-state',
    viewResourceTemplate(ctx, 'state'),
    {
      title: 'Session state',
      description:
        'Shared memory (and its version), latest sensor readings, busy, last seq, models. ' +
        'Subscribe: updated when memory, sensors or busy change, and on clear.',
      mimeType: JSON_MIME,
    },
    async (uri, vars) => jsonContents(uri, stateView(ctx.runtime, await sessionOf(ctx, uri, vars))),
  );
}
