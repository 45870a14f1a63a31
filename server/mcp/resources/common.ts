import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Variables } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { McpContext } from '../context.js';
import { RESOURCE_NOT_FOUND } from '../errors.js';
import type { Session } from '../../runtime/session.js';
import { viewTemplate, viewUri, type SessionView } from '../../../protocol/mcp.js';

export const JSON_MIME = 'application/json';

export function jsonContents(uri: URL, data: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: JSON_MIME, text: JSON.stringify(data) }] };
}

/** The principal's session named by a template's `{id}`; another's is "not found" too. */
export async function sessionOf(ctx: McpContext, uri: URL, vars: Variables): Promise<Session> {
  const id = Array.isArray(vars.id) ? vars.id[0] : vars.id;
  try {
    return await ctx.session(id ?? '');
  } catch {
    throw new McpError(RESOURCE_NOT_FOUND, `Resource ${uri.href} not found: no session ${id}.`);
  }
}

/**
 * The template of one per-session view: `list` names the view of each of the principal's
 * sessions, and `id` completes to their ids by prefix.
 */
export function viewResourceTemplate(ctx: McpContext, view: SessionView): ResourceTemplate {
  const ids = () => ctx.runtime.listSessions(ctx.principal);
  return new ResourceTemplate(viewTemplate(view), {
    list: () => ({
      resources: ids().map((s) => ({
        uri: viewUri(s.id, view),
        name: `${s.title ?? s.id} ${view}`,
        mimeType: JSON_MIME,
      })),
    }),
    complete: {
      id: (value) =>
        ids()
          .map((s) => s.id)
          .filter((id) => id.startsWith(value ?? '')),
    },
  });
}
