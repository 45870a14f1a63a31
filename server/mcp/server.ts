import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Identity } from '../auth/identity.js';
import type { Runtime } from '../runtime/runtime.js';
import { createContext } from './context.js';
import { createHud } from './live/hud.js';
import type { SharedSubscriptions } from '../store/types.js';
import { installSubscriptions } from './live/subscriptions.js';
import { registerResources } from './resources/index.js';
import { registerTasks, TASKS_CAPABILITY } from './tasks.js';
import { registerTools } from './tools/index.js';

/** Cog's version as MCP clients see it in `serverInfo`. */
export const MCP_SERVER_VERSION = '0.1.0';

export interface McpServerOptions {
  /** Who this connection acts as; every session and process it sees is this principal's. */
  principal: string;
  /**
   * What it may do, verified: the HTTP session registry passes the identity that opened
   * the session. Its principal must be `principal`. Default: the local user's, every scope
   * (stdio).
   */
  identity?: Identity;
  /** Where messages come from, as the Input node sees it. Default 'mcp'. */
  channel?: string;
  /** Subscriptions kept with the MCP session, for every instance that carries it. */
  sharedSubscriptions?: SharedSubscriptions;
}

export interface CogMcpServer {
  readonly server: McpServer;
  /** Closes the MCP server (and so its transport) and drops every runtime subscription. */
  close(): Promise<void>;
}

const INSTRUCTIONS = `Cog is a cognitive agent runtime. Call \`send\` to talk to it (without \`session\` a new one starts; pass the returned id to continue). Replies can carry controls: click one with \`action\`. Read \`state\`, \`history\` and \`trace\` (or the cog://sessions resources) to see what it remembers and did. Code it runs is a process: see \`process-list\`; when approval is required, decide with \`process-approve\`. \`send\`, \`action\` and \`process-approve\` can run as MCP tasks (poll tasks/get, read tasks/result; a task waiting for approval is input_required). HUD events arrive as logging notifications from logger "cog.hud".`;

/**
 * One MCP server for one client connection. All connections share the runtime; each is
 * scoped to its principal (another principal's sessions are "not found") and owns the
 * runtime subscriptions it makes, which `close()` (or the transport closing) releases.
 */
export function createMcpServer(runtime: Runtime, opts: McpServerOptions): CogMcpServer {
  const server = new McpServer(
    { name: 'cog', title: 'Cog', version: MCP_SERVER_VERSION },
    {
      capabilities: {
        resources: { subscribe: true, listChanged: true },
        logging: {},
        completions: {},
        tasks: TASKS_CAPABILITY,
      },
      instructions: INSTRUCTIONS,
    },
  );
  const ctx = createContext(runtime, server, opts.principal, opts.channel ?? 'mcp', opts.identity);
  registerTools(ctx);
  registerTasks(ctx);
  registerResources(ctx);

  const hud = createHud(ctx);
  const subscriptions = installSubscriptions(ctx, opts.sharedSubscriptions);
  ctx.own(() => subscriptions.close());
  ctx.own(
    runtime.subscribeAll(opts.principal, (e) => {
      hud(e);
      subscriptions.onEvent(e);
    }),
  );

  // A transport that goes away on its own (client disconnect) releases the subscriptions
  // too; transports that set their own onclose still call close().
  const previous = server.server.onclose;
  server.server.onclose = () => {
    previous?.();
    ctx.dispose();
  };

  let closing: Promise<void> | undefined;
  return {
    server,
    close() {
      closing ??= (async () => {
        ctx.dispose();
        await server.close();
      })();
      return closing;
    },
  };
}
