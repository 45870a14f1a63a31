import type { RuntimeEvent } from '../protocol/events.js';
import type { SessionListItem } from '../protocol/webview.js';
import type { CogClient } from './cog-client.js';
import {
  SessionsResultSchema,
  StateResultSchema,
  TraceResultSchema,
  asRuntimeEvent,
  type SessionInfo,
} from './tool-results.js';

/** The runtime's tools the chat reads sessions and events through, typed. */

const TRACE_PAGE = 1000;

export const traceUri = (session: string) => `cog://sessions/${session}/trace`;
export const SESSIONS_URI = 'cog://sessions';

export async function listSessions(client: CogClient): Promise<SessionListItem[]> {
  const result = await client.call('sessions', { action: 'list' }, SessionsResultSchema);
  return result.sessions.map(listItem);
}

/** Creates a session and returns its id. */
export async function createSession(client: CogClient): Promise<string> {
  const result = await client.call('sessions', { action: 'create' }, SessionsResultSchema);
  const created = result.created ?? result.sessions[0];
  if (!created) throw new Error('The runtime did not say which session it created.');
  return created.id;
}

export function sessionState(client: CogClient, session: string) {
  return client.call('state', { session }, StateResultSchema);
}

/** A session's events after `sinceSeq`, oldest first, reading every page of `trace`. */
export async function readTrace(
  client: CogClient,
  session: string,
  sinceSeq = 0,
): Promise<RuntimeEvent[]> {
  const events: RuntimeEvent[] = [];
  let since = sinceSeq;
  for (;;) {
    const page = await client.call(
      'trace',
      { session, since_seq: since, limit: TRACE_PAGE },
      TraceResultSchema,
    );
    for (const raw of page.events) {
      const e = asRuntimeEvent(raw);
      if (e && e.seq > since) events.push(e);
    }
    if (!page.has_more || page.next_seq <= since) break;
    since = page.next_seq;
  }
  return events;
}

function listItem(s: SessionInfo): SessionListItem {
  return {
    id: s.id,
    ...(s.title ? { title: s.title } : {}),
    createdAt: s.createdAt,
    turns: s.turns,
  };
}
