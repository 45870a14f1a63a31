import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ProcessInfo } from '../../protocol/events.js';
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
): McpContext & { dispose(): void } {
  const owned = new Set<() => void>();
  return {
    runtime,
    principal,
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
