import type {
  EventId,
  EventStore,
  StreamId,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface BoundedEventStoreOptions {
  /** Most events kept; the oldest go first. */
  maxEvents?: number;
  /** Most bytes (serialised JSON) kept; the oldest go first, the newest always stays. */
  maxBytes?: number;
}

interface Stored {
  seq: number;
  streamId: StreamId;
  message: JSONRPCMessage;
  bytes: number;
}

/**
 * The SSE messages of one MCP session, kept so that a client reconnecting with
 * `Last-Event-ID` gets what it missed. One store per session, so an event id can only
 * ever replay its own session's messages; memory is bounded by count and by bytes, and
 * an id that has aged out is "not found" (the SDK answers 400) rather than a silent gap.
 *
 * Event ids are the store's sequence numbers; a stream's events replay in that order.
 */
export class BoundedEventStore implements EventStore {
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  /** Insertion order is age order, which is what eviction walks. */
  private readonly events = new Map<EventId, Stored>();
  private seq = 0;
  private bytes = 0;

  constructor(opts: BoundedEventStoreOptions = {}) {
    this.maxEvents = opts.maxEvents ?? 1000;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
  }

  /** Events and bytes held now (for tests and diagnostics). */
  get size(): { events: number; bytes: number } {
    return { events: this.events.size, bytes: this.bytes };
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const seq = ++this.seq;
    const id = String(seq);
    const bytes = JSON.stringify(message).length;
    this.events.set(id, { seq, streamId, message, bytes });
    this.bytes += bytes;
    for (const [oldId, old] of this.events) {
      if (this.events.size <= this.maxEvents && this.bytes <= this.maxBytes) break;
      if (oldId === id) break;
      this.events.delete(oldId);
      this.bytes -= old.bytes;
    }
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) throw new Error('event id not found (expired or never issued)');
    // A live iterator: events stored while replay awaits send() are replayed too (Map
    // iteration visits entries added during it), which the SDK's replay expects — it
    // skips live writes of ids a replay already delivered.
    for (const [id, e] of this.events) {
      if (e.streamId !== last.streamId || e.seq <= last.seq) continue;
      // Priming events (empty data, sent so the client holds an id early) carry no message.
      if (!('jsonrpc' in e.message)) continue;
      await send(id, e.message);
    }
    return last.streamId;
  }
}
