import {
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeEvent } from '../../../protocol/events.js';
import type { McpContext } from '../context.js';
import { RESOURCE_NOT_FOUND } from '../errors.js';
import { setStrictHandler } from '../requests.js';
import { parseUri, SESSIONS_URI, viewUri } from '../resources/uris.js';
import { createCoalescer } from './coalescer.js';

/** At most one `notifications/resources/updated` per URI per this many ms. */
export const UPDATE_INTERVAL_MS = 100;
const LIST_CHANGED = 'list_changed';

/**
 * The resources an event changes. `lastSeq` moves with every event; it is part of the
 * state and session list but not a reason to announce them (trace subscribers see it).
 */
export function urisFor(e: RuntimeEvent): string[] {
  const id = e.session;
  const uris = [viewUri(id, 'trace')];
  switch (e.type) {
    case 'user.message':
    case 'assistant.message':
      uris.push(viewUri(id, 'history'));
      break;
    case 'session.cleared':
      uris.push(viewUri(id, 'history'), viewUri(id, 'state'), SESSIONS_URI);
      break;
    case 'memory.updated':
    case 'sensor.tick':
      uris.push(viewUri(id, 'state'));
      break;
    case 'turn.queued':
    case 'turn.started':
    case 'turn.done':
      // busy and the turn count change
      uris.push(viewUri(id, 'state'), SESSIONS_URI);
      break;
    case 'process.updated':
      uris.push(viewUri(id, 'processes'));
      break;
    case 'session.created':
      uris.push(SESSIONS_URI);
      break;
    case 'output.delta':
    case 'node.thinking':
    case 'node.context':
    case 'node.perceived':
    case 'node.decided':
    case 'node.streaming':
    case 'node.done':
    case 'node.error':
    case 'controls':
    case 'process.output':
      break;
    default: {
      const unknown: never = e;
      void unknown;
      return uris;
    }
  }
  return uris;
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
