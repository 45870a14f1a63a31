import type { McpContext } from '../context.js';
import { registerHistoryResource } from './history.js';
import { registerProcessesResource } from './processes.js';
import { registerSessionsResource } from './sessions.js';
import { registerStateResource } from './state.js';
import { registerTraceResource } from './trace.js';

/** `cog://sessions` and the per-session templates (state, history, trace, processes). */
export function registerResources(ctx: McpContext): void {
  registerSessionsResource(ctx);
  registerStateResource(ctx);
  registerHistoryResource(ctx);
  registerTraceResource(ctx);
  registerProcessesResource(ctx);
}
