import type { McpContext } from '../context.js';
import { installTools, type CogTool } from '../tool-kit.js';
import { actionTool } from './action.js';
import { clearTool } from './clear.js';
import { historyTool } from './history.js';
import { processApproveTool } from './process-approve.js';
import { processCancelTool } from './process-cancel.js';
import { processListTool } from './process-list.js';
import { sendTool } from './send.js';
import { sessionsTool } from './sessions.js';
import { stateTool } from './state.js';
import { traceTool } from './trace.js';

/** Cog's tools, in the order tools/list shows them. */
export const TOOLS: CogTool[] = [
  sendTool,
  actionTool,
  stateTool,
  historyTool,
  traceTool,
  clearTool,
  sessionsTool,
  processListTool,
  processCancelTool,
  processApproveTool,
];

export function registerTools(ctx: McpContext): void {
  installTools(ctx, TOOLS);
}
