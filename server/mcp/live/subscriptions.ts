import {
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { changesOf } from '../../../protocol/event-table.js';
import type { RuntimeEvent } from '../../../protocol/events.js';
import type { SharedSubscriptions } from '../../store/types.js';
import type { McpContext } from '../context.js';
import { RESOURCE_NOT_FOUND } from '../errors.js';
import { setStrictHandler } from '../requests.js';
import { parseUri, SESSIONS_URI, viewUri } from '../../../protocol/mcp.js';
import { createCoalescer } from './coalescer.js';

/** At most one `notifications/resources/updated` per URI per this many ms. */
export const UPDATE_INTERVAL_MS = 100;
const LIST_CHANGED = 'list_changed';

/** The resources an event changes: its session's trace, and what the event table says. */
export function urisFor(e: RuntimeEvent): string[] {
  return [
    viewUri(e.session, 'trace'),
    ...changesOf(e).map((v) => (v === 'sessions' ? SESSIONS_URI : viewUri(e.session, v))),
  ];
}

/**
 * `resources/subscribe` and `unsubscribe` for this connection, and the announcements:
 * `notifications/resources/updated` for subscribed URIs (coalesced per URI) and
 * `notifications/resources/list_changed` when the principal gets a new session.
 */
export function installSubscriptions(
  ctx: McpContext,
  shared?: SharedSubscriptions,
): {
  onEvent(e: RuntimeEvent): void;
  close(): void;
} {
  let subscribed = new Set<string>();
  /**
   * With a shared store the list is the MCP session's, whichever instance took the
   * request; the sessions it names are loaded here, so their events (from any instance)
   * reach this copy, which may hold the client's GET stream.
   */
  const sync = async () => {
    if (!shared) return;
    try {
      subscribed = new Set(await shared.list());
    } catch {
      return; // the database is away: keep what we had
    }
    for (const uri of subscribed) {
      const target = parseUri(uri);
      if (target?.kind === 'view') {
        await ctx.runtime.session(target.id, ctx.principal).catch(() => undefined);
      }
    }
  };
  const stopSync = shared?.onChange(() => void sync());
  void sync();
  const { mcp } = ctx;
  const coalescer = createCoalescer(UPDATE_INTERVAL_MS, (key) => {
    if (!mcp.isConnected()) return;
    if (key === LIST_CHANGED) mcp.sendResourceListChanged();
    else mcp.server.sendResourceUpdated({ uri: key }).catch(() => undefined);
  });

  setStrictHandler(mcp, 'resources/subscribe', SubscribeRequestSchema, async ({ params }) => {
    const target = parseUri(params.uri);
    let known = target !== undefined;
    if (target?.kind === 'view') {
      known = ctx.runtime.listSessions(ctx.principal).some((s) => s.id === target.id);
    }
    if (!known) throw new McpError(RESOURCE_NOT_FOUND, `Resource ${params.uri} not found.`);
    subscribed.add(params.uri);
    await shared?.set(params.uri, true);
    return {};
  });
  setStrictHandler(mcp, 'resources/unsubscribe', UnsubscribeRequestSchema, async ({ params }) => {
    subscribed.delete(params.uri);
    coalescer.forget(params.uri);
    await shared?.set(params.uri, false);
    return {};
  });

  return {
    onEvent(e) {
      // Resource names carry the title.
      if (e.type === 'session.created' || e.type === 'session.titled') coalescer.mark(LIST_CHANGED);
      for (const uri of urisFor(e)) if (subscribed.has(uri)) coalescer.mark(uri);
    },
    close() {
      stopSync?.();
      coalescer.close();
      subscribed.clear();
    },
  };
}
