import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ProcessInfo } from '../../protocol/events.js';
import { localIdentity, type Identity } from '../auth/identity.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Session } from '../runtime/session.js';

/** What a request handler gets from the SDK for the request it serves. */
export type RequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * How a tool call that runs as an MCP task reports the runs of its turn that wait for a
 * human: the task is `input_required` while one does.
 */
export interface TaskHooks {
  /** A run of the turn waits for approval. */
  pending(p: ProcessInfo): void;
  /** A run of the turn changed otherwise: decided, withdrawn, running, ended. */
  decided(p: ProcessInfo): void;
}

/**
 * What a tool runs with: the request's extra, or for a task-augmented call one whose signal
 * is the task's (tasks/cancel) and whose notifications are related to the task.
 */
export type CallExtra = RequestExtra & { task?: TaskHooks };

/**
 * One client connection's view of the runtime: everything it does is scoped to its
 * principal, and everything it subscribes to is released by `close()`.
 */
export interface McpContext {
  readonly runtime: Runtime;
  readonly principal: string;
  /**
   * Who opened this connection and what it may do (stdio: the local user, every scope).
   * A request can carry a newer identity of the same principal: see `requestIdentity`.
   */
  readonly identity: Identity;
  /** Passed to the Input node as where messages come from. */
  readonly channel: string;
  readonly mcp: McpServer;
  /** The principal's session, or a `session_not_found` error. */
  session(id: string): Promise<Session>;
  /**
   * Registers a cleanup for `close()`. The returned function runs it early (once) and
   * forgets it, for subscriptions that end with a request.
   */
  own(dispose: () => void): () => void;
}

export function createContext(
  runtime: Runtime,
  mcp: McpServer,
  principal: string,
  channel: string,
  identity: Identity = localIdentity(principal),
): McpContext & { dispose(): void } {
  if (identity.principal !== principal) {
    throw new Error(`identity ${identity.principal} is not principal ${principal}`);
  }
  const owned = new Set<() => void>();
  return {
    runtime,
    principal,
    identity,
    channel,
    mcp,
    session: (id) => runtime.session(id, principal),
    own(dispose) {
      let done = false;
      const once = () => {
        if (done) return;
        done = true;
        owned.delete(once);
        dispose();
      };
      owned.add(once);
      return once;
    },
    dispose() {
      for (const d of [...owned]) d();
    },
  };
}

/** Where in the SDK's per-request `authInfo` the HTTP layer puts the request's identity. */
const IDENTITY_KEY = 'cogIdentity';

/**
 * The SDK's per-request auth channel (`req.auth`, handed to handlers as
 * `extra.authInfo`), carrying the identity the HTTP layer verified for this request. The
 * `token` field is deliberately empty: the bearer token never goes past the code that
 * verified it.
 */
export function identityAuthInfo(identity: Identity): AuthInfo {
  return {
    token: '',
    clientId: identity.principal,
    scopes: [...identity.scopes],
    extra: { [IDENTITY_KEY]: identity },
  };
}

/**
 * The identity a request acts with: the one verified for this very request (over HTTP a
 * client may come back to its MCP session with a token of more or fewer scopes, e.g.
 * after a step-up authorization), else the connection's. One of another principal is
 * never taken: a session belongs to the principal that opened it.
 */
export function requestIdentity(ctx: McpContext, extra: RequestExtra): Identity {
  const carried = extra.authInfo?.extra?.[IDENTITY_KEY] as Identity | undefined;
  return carried && carried.principal === ctx.principal ? carried : ctx.identity;
}
