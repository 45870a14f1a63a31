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

/** One page of `trace`: up to TRACE_PAGE events after `sinceSeq`, oldest first. */
export async function readTracePage(
  client: CogClient,
  session: string,
  sinceSeq: number,
): Promise<{ events: RuntimeEvent[]; hasMore: boolean; nextSeq: number }> {
  const page = await client.call(
    'trace',
    { session, since_seq: sinceSeq, limit: TRACE_PAGE },
    TraceResultSchema,
  );
  const events: RuntimeEvent[] = [];
  for (const raw of page.events) {
    const e = asRuntimeEvent(raw);
    if (e && e.seq > sinceSeq) events.push(e);
  }
  return { events, hasMore: page.has_more === true, nextSeq: page.next_seq };
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
    const page = await readTracePage(client, session, since);
    events.push(...page.events);
    if (!page.hasMore || page.nextSeq <= since) break;
    since = page.nextSeq;
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
