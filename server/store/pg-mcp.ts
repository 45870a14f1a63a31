import type pg from 'pg';
import type { SharedMcpSessions, SharedSseEvents, StoreChange } from './types.js';

/** Messages kept per MCP session for resumption; older ones go. */
const KEEP_EVENTS = 1000;
/** How long a replay waits for the answer of a request still running on another instance. */
const FOLLOW_MS = 30_000;

/**
 * MCP sessions over HTTP shared by every instance (migration 5): a session made on one
 * instance is carried on by any other (its `initialize` is replayed there), and the SSE
 * messages of its streams are kept in the database, so a client that reconnects with
 * `Last-Event-ID` through a load balancer gets what it missed wherever it lands.
 */
export function createPgMcpSessions(
  pool: pg.Pool,
  onChange: (listener: (change: StoreChange) => void) => () => void,
): SharedMcpSessions {
  return {
    async save(id, principal, init) {
      await pool.query(
        `INSERT INTO cog_mcp_sessions (id, principal, init) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO NOTHING`,
        [id, principal, JSON.stringify(init)],
      );
    },

    async find(id) {
      const { rows } = await pool.query<{ principal: string; init: string }>(
        'SELECT principal, init FROM cog_mcp_sessions WHERE id = $1',
        [id],
      );
      const row = rows[0];
      return row ? { principal: row.principal, init: JSON.parse(row.init) as unknown } : undefined;
    },

    async delete(id) {
      await pool.query('DELETE FROM cog_mcp_sessions WHERE id = $1', [id]);
    },

    events(sessionId) {
      return pgSseEvents(pool, sessionId);
    },

    subscriptions(sessionId) {
      return {
        async list() {
          const { rows } = await pool.query<{ uri: string }>(
            'SELECT uri FROM cog_mcp_subscriptions WHERE session_id = $1',
            [sessionId],
          );
          return rows.map((r) => r.uri);
        },
        async set(uri, subscribed) {
          await pool.query(
            subscribed
              ? `INSERT INTO cog_mcp_subscriptions (session_id, uri) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING`
              : 'DELETE FROM cog_mcp_subscriptions WHERE session_id = $1 AND uri = $2',
            [sessionId, uri],
          );
          await pool.query(`SELECT pg_notify('cog_sessions', 'mcp-subscriptions ' || $1::text)`, [
            sessionId,
          ]);
        },
        onChange(listener) {
          return onChange((c) => {
            if (c.type === 'mcp-subscriptions' && c.key === sessionId) listener();
          });
        },
      };
    },
  };
}

/** Is this message the answer to a request (which ends its stream)? */
function isResponse(message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  return 'id' in message && ('result' in message || 'error' in message);
}

function pgSseEvents(pool: pg.Pool, sessionId: string): SharedSseEvents {
  let stored = 0;
  const after = async (streamId: string, lastId: string) =>
    (
      await pool.query<{ id: string; message: string }>(
        `SELECT id, message FROM cog_mcp_events
          WHERE session_id = $1 AND stream_id = $2 AND id > $3 ORDER BY id`,
        [sessionId, streamId, lastId],
      )
    ).rows;

  return {
    async storeEvent(streamId, message) {
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO cog_mcp_events (session_id, stream_id, message) VALUES ($1, $2, $3)
         RETURNING id`,
        [sessionId, streamId, JSON.stringify(message)],
      );
      if (++stored % 200 === 0) {
        await pool.query(
          `DELETE FROM cog_mcp_events WHERE session_id = $1 AND id <= (
             SELECT id FROM cog_mcp_events WHERE session_id = $1 ORDER BY id DESC
             OFFSET $2 LIMIT 1)`,
          [sessionId, KEEP_EVENTS],
        );
      }
      return String(rows[0]?.id);
    },

    async getStreamIdForEventId(eventId) {
      if (!/^\d{1,18}$/.test(eventId)) return undefined;
      const { rows } = await pool.query<{ stream_id: string }>(
        'SELECT stream_id FROM cog_mcp_events WHERE id = $1 AND session_id = $2',
        [eventId, sessionId],
      );
      return rows[0]?.stream_id;
    },

    async replayEventsAfter(lastEventId, { send }) {
      const streamId = await this.getStreamIdForEventId?.(lastEventId);
      if (!streamId) throw new Error('event id not found (expired or never issued)');
      // The request may still be running, on this instance or another: follow its stream
      // until its answer is there (or for FOLLOW_MS), so a resumed call gets its result.
      const deadline = Date.now() + FOLLOW_MS;
      let last = lastEventId;
      for (;;) {
        let answered = false;
        for (const row of await after(streamId, last)) {
          last = row.id;
          const message = JSON.parse(row.message) as Record<string, unknown>;
          // Priming events (no message) only hand the client an id.
          if (!('jsonrpc' in message)) continue;
          await send(row.id, message as never);
          if (isResponse(message)) answered = true;
        }
        if (answered || Date.now() > deadline || streamId.startsWith('_GET')) return streamId;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
