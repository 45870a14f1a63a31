import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  StreamableHTTPServerTransport,
  type EventStore,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { WebStandardStreamableHTTPServerTransport as WebTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../../auth/identity.js';
import type { Runtime } from '../../runtime/runtime.js';
import { createMcpServer, type CogMcpServer } from '../server.js';
import { BoundedEventStore, type BoundedEventStoreOptions } from './event-store.js';

/** How long a client waits before reconnecting to a dropped SSE stream (its `retry:`). */
export const SSE_RETRY_MS = 1_000;

/** The version the SDK's `initialize` answers: the one asked for if supported, else the latest. */
function negotiatedVersion(initParams: unknown): string {
  const asked = (initParams as { protocolVersion?: unknown } | undefined)?.protocolVersion;
  return typeof asked === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(asked)
    ? asked
    : LATEST_PROTOCOL_VERSION;
}

/**
 * The SDK primes an SSE stream (an event id with empty data, so a dropped stream can be
 * resumed) only when the request's `MCP-Protocol-Version` header is 2025-11-25 or later,
 * because older clients choke on empty data. A client that negotiated 2025-11-25 handles it
 * whatever version a request names, so the header is raised to the negotiated version;
 * a session that negotiated an older version is left as it is.
 */
export function alignProtocolHeader(req: IncomingMessage, session: HttpSession): void {
  const sent = req.headers['mcp-protocol-version'];
  if (typeof sent !== 'string' || sent >= session.protocolVersion) return;
  req.headers['mcp-protocol-version'] = session.protocolVersion;
  // The SDK's Node adapter builds its Request from rawHeaders, not from headers.
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === 'mcp-protocol-version')
      req.rawHeaders[i + 1] = session.protocolVersion;
  }
}

/** One MCP session over HTTP: its own transport, MCP server and replay buffer. */
export interface HttpSession {
  readonly principal: string;
  readonly transport: StreamableHTTPServerTransport;
  readonly mcp: CogMcpServer;
  readonly events: EventStore;
  /** The protocol version `initialize` negotiated (what the SDK answers for that request). */
  readonly protocolVersion: string;
  /** Set once `initialize` succeeded; the key in the registry. */
  id?: string;
  /** HTTP requests (and SSE streams) open on this session right now. */
  active: number;
  lastSeen: number;
  /** Closes the transport and the MCP server; resolves when both are done. */
  close(): Promise<void>;
}

export interface SessionRegistryOptions {
  runtime: Runtime;
  /** A session with no open request for this long is closed. */
  idleMs: number;
  maxSessions: number;
  events?: BoundedEventStoreOptions;
  keepAliveMs?: number;
  /** The `retry:` (ms) sent in each SSE stream's priming event: how soon a client reconnects. */
  retryMs?: number;
  log: (line: string) => void;
  now?: () => number;
}

/**
 * The MCP sessions of one HTTP server, keyed by `Mcp-Session-Id`. A session belongs to
 * the principal whose request created it: `get` answers undefined to anyone else, so
 * another principal learns nothing, not even that the id exists.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, HttpSession>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly opts: SessionRegistryOptions) {
    this.now = opts.now ?? Date.now;
    const every = Math.max(50, Math.min(opts.idleMs / 2, 60_000));
    this.sweeper = setInterval(() => this.sweep(), every).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  get full(): boolean {
    return this.sessions.size >= this.opts.maxSessions;
  }

  get(id: string, principal: string): HttpSession | undefined {
    const s = this.sessions.get(id);
    return s && s.principal === principal ? s : undefined;
  }

  /**
   * A transport and MCP server for a new session, owned by `identity`'s principal. It joins the registry when the SDK
   * assigns its id during `initialize`; `discardIfUninitialized` cleans up after an
   * `initialize` that failed.
   */
  async open(identity: Identity, init?: unknown): Promise<HttpSession> {
    return this.make(identity, randomUUID(), init);
  }

  /**
   * A session another instance began (a load balancer sent this request here): made
   * again under its id by replaying the `initialize` it began with, whose answer was
   * given there. Undefined when no instance began it, or another principal did.
   */
  async restore(identity: Identity, id: string): Promise<HttpSession | undefined> {
    const shared = this.opts.runtime.sharedMcp;
    const found = shared ? await shared.find(id) : undefined;
    if (!found || found.principal !== identity.principal) return undefined;
    const existing = this.sessions.get(id);
    if (existing) return existing;
    const session = await this.make(identity, id, undefined, found.init);
    const inner = (session.transport as unknown as { _webStandardTransport?: WebTransport })
      ._webStandardTransport;
    if (!inner) throw new Error('this MCP SDK cannot carry on another instance’s session');
    const replayed = await inner.handleRequest(
      new Request('http://cog.internal/mcp', {
        method: 'POST',
        headers: {
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
        },
      }),
      {
        parsedBody: {
          jsonrpc: '2.0',
          id: '_cog_restore',
          method: 'initialize',
          params: found.init,
        },
      },
    );
    await replayed.text();
    if (!session.id) {
      await session.close();
      throw new Error(`could not carry on MCP session ${id}: its initialize was refused here`);
    }
    return session;
  }

  private async make(
    identity: Identity,
    id: string,
    init: unknown,
    initParams = init,
  ): Promise<HttpSession> {
    const principal = identity.principal;
    const shared = this.opts.runtime.sharedMcp;
    const events: EventStore = shared
      ? (shared.events(id) as unknown as EventStore)
      : new BoundedEventStore(this.opts.events);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      eventStore: events,
      retryInterval: this.opts.retryMs ?? SSE_RETRY_MS,
      ...(this.opts.keepAliveMs !== undefined ? { keepAliveMs: this.opts.keepAliveMs } : {}),
      onsessioninitialized: (sid) => {
        session.id = sid;
        this.sessions.set(sid, session);
        // Saved before the answer leaves: the client's next request may land elsewhere.
        if (shared && init !== undefined) return shared.save(sid, principal, init);
        return undefined;
      },
    });
    const mcp = createMcpServer(this.opts.runtime, {
      principal,
      identity,
      channel: 'mcp-http',
      ...(shared ? { sharedSubscriptions: shared.subscriptions(id) } : {}),
    });
    const session: HttpSession = {
      principal,
      transport,
      mcp,
      events,
      protocolVersion: negotiatedVersion(initParams),
      active: 0,
      lastSeen: this.now(),
      close: async () => {
        await transport.close();
        await finished;
      },
    };
    let finished: Promise<void> | undefined;
    // Set before connect(): the SDK chains its own handler after this one. Runs on
    // DELETE, idle expiry and server shutdown alike.
    transport.onclose = () => {
      if (finished) return;
      if (session.id) this.sessions.delete(session.id);

      finished = mcp.close().catch((err: unknown) => {
        this.opts.log(`closing an MCP session failed: ${String(err)}`);
      });
    };
    await mcp.server.connect(transport);
    return session;
  }

  discardIfUninitialized(session: HttpSession): void {
    if (!session.id) void session.close();
  }

  /** Counts an HTTP request as activity on the session until its response closes. */
  track(session: HttpSession, res: ServerResponse): void {
    session.active++;
    session.lastSeen = this.now();
    res.once('close', () => {
      session.active--;
      session.lastSeen = this.now();
    });
  }

  sweep(): void {
    const cutoff = this.now() - this.opts.idleMs;
    for (const s of this.sessions.values()) {
      if (s.active === 0 && s.lastSeen < cutoff) void s.close();
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.sessions.values()].map((s) => s.close()));
  }
}
