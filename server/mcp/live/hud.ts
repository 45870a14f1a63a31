import { SetLevelRequestSchema, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { RuntimeEvent } from '../../../protocol/events.js';
import type { McpContext } from '../context.js';

export const HUD_LOGGER = 'cog.hud';

/**
 * The logging level a runtime event goes out at. Every event of the principal's sessions
 * is on this logger, so a client at `debug` (the VS Code panel) can mirror the whole log,
 * seq by seq. Messages, deltas and controls also travel as tool results and progress, and
 * high-volume events are `debug` too, so a client at `info` sees a readable HUD.
 */
export function hudLevel(e: RuntimeEvent): LoggingLevel {
  switch (e.type) {
    case 'node.error':
      return 'error';
    case 'turn.done':
      return e.status === 'error' ? 'error' : 'info';
    case 'process.updated':
      return e.process.status === 'failed' || e.process.status === 'timed-out' ? 'warning' : 'info';
    case 'turn.queued':
    case 'turn.started':
    case 'node.thinking':
    case 'node.perceived':
    case 'node.decided':
    case 'node.streaming':
    case 'node.done':
    case 'memory.updated':
      return 'info';
    case 'node.context':
    case 'process.output':
    case 'sensor.tick':
    case 'session.created':
    case 'session.cleared':
    case 'user.message':
    case 'assistant.message':
    case 'output.delta':
    case 'controls':
      return 'debug';
    default: {
      const unknown: never = e;
      throw new Error(`no HUD level for ${(unknown as RuntimeEvent).type}`);
    }
  }
}

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
