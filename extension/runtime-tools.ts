import type { RuntimeEvent } from '../protocol/events.js';
import { LIMITS } from '../protocol/mcp.js';
import {
  SessionsResultSchema,
  StateViewSchema,
  TracePageSchema,
  type SessionSummary,
} from '../protocol/results.js';
import type { CogClient } from './cog-client.js';

/** The runtime's tools the chat reads sessions and events through, typed. */

const TRACE_PAGE = LIMITS.tracePageMax;

export async function listSessions(client: CogClient): Promise<SessionSummary[]> {
  const result = await client.call('sessions', { action: 'list' }, SessionsResultSchema);
  return result.sessions;
}

/** Creates a session and returns its id. */
export async function createSession(client: CogClient): Promise<string> {
  const result = await client.call('sessions', { action: 'create' }, SessionsResultSchema);
  const created = result.created ?? result.sessions[0];
  if (!created) throw new Error('The runtime did not say which session it created.');
  return created.id;
}

export function sessionState(client: CogClient, session: string) {
  return client.call('state', { session }, StateViewSchema);
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
    TracePageSchema,
  );
  const events = page.events.filter((e) => e.seq > sinceSeq);
  return { events, hasMore: page.has_more, nextSeq: page.next_seq };
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
