import {
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { changesOf } from '../../../protocol/event-table.js';
import type { RuntimeEvent } from '../../../protocol/events.js';
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
export function installSubscriptions(ctx: McpContext): {
  onEvent(e: RuntimeEvent): void;
  close(): void;
} {
  const subscribed = new Set<string>();
  const { mcp } = ctx;
  const coalescer = createCoalescer(UPDATE_INTERVAL_MS, (key) => {
    if (!mcp.isConnected()) return;
    if (key === LIST_CHANGED) mcp.sendResourceListChanged();
    else mcp.server.sendResourceUpdated({ uri: key }).catch(() => undefined);
  });

  setStrictHandler(mcp, 'resources/subscribe', SubscribeRequestSchema, ({ params }) => {
    const target = parseUri(params.uri);
    let known = target !== undefined;
    if (target?.kind === 'view') {
      known = ctx.runtime.listSessions(ctx.principal).some((s) => s.id === target.id);
    }
    if (!known) throw new McpError(RESOURCE_NOT_FOUND, `Resource ${params.uri} not found.`);
    subscribed.add(params.uri);
    return {};
  });
  setStrictHandler(mcp, 'resources/unsubscribe', UnsubscribeRequestSchema, ({ params }) => {
    subscribed.delete(params.uri);
    coalescer.forget(params.uri);
    return {};
  });

  return {
    onEvent(e) {
      if (e.type === 'session.created') coalescer.mark(LIST_CHANGED);
      for (const uri of urisFor(e)) if (subscribed.has(uri)) coalescer.mark(uri);
    },
    close() {
      coalescer.close();
      subscribed.clear();
    },
  };
}
