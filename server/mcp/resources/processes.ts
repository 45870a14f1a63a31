import type { McpContext } from '../context.js';
import { JSON_MIME, jsonContents, sessionOf, viewResourceTemplate } from './common.js';

export function registerProcessesResource(ctx: McpContext): void {
  ctx.mcp.registerResource(
    'session-processes',
    viewResourceTemplate(ctx, 'processes'),
    {
      title: 'Session processes',
      description:
        'The session\u2019s code runs, oldest first. Subscribe: updated on every status change.',
      mimeType: JSON_MIME,
    },
    async (uri, vars) => {
      const s = await sessionOf(ctx, uri, vars);
      return jsonContents(uri, {
        session: s.id,
        processes: ctx.runtime.listProcesses(ctx.principal, s.id),
      });
    },
  );
}
