import { SetLevelRequestSchema, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeEvent } from '../../../protocol/events.js';
import { hudLevel } from '../../../protocol/event-table.js';
import { HUD_LOGGER } from '../../../protocol/mcp.js';
import type { McpContext } from '../context.js';

const SEVERITY: LoggingLevel[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
];

/** What a client gets before it calls `logging/setLevel`: what went wrong, nothing more. */
export const DEFAULT_HUD_LEVEL: LoggingLevel = 'warning';

/**
 * Sends runtime events as `notifications/message`, filtered by the level the client set
 * with `logging/setLevel`. Until it sets one the threshold is `warning`: a client that did
 * not ask for the HUD (most agents) gets failures only, not a dozen notifications per turn
 * that outweigh the result. The SDK alone would send everything, every delta included.
 */
export function createHud(ctx: McpContext): (e: RuntimeEvent) => void {
  const server = ctx.mcp.server;
  let threshold = SEVERITY.indexOf(DEFAULT_HUD_LEVEL);
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    threshold = SEVERITY.indexOf(request.params.level);
    return {};
  });
  return (e) => {
    const level = hudLevel(e);
    if (SEVERITY.indexOf(level) < threshold || !ctx.mcp.isConnected()) return;
    server.sendLoggingMessage({ level, logger: HUD_LOGGER, data: e }).catch(() => undefined); // the connection went away; close() follows
  };
}
