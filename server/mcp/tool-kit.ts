import {
  CallToolRequestSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { SCOPES } from '../auth/identity.js';
import { hasScope, toolScope } from '../auth/scopes.js';
import { requestIdentity, type CallExtra, type McpContext, type RequestExtra } from './context.js';
import { internalError, toolFailureText } from './errors.js';
import { setStrictHandler } from './requests.js';
import { startTask } from './tasks.js';

/** A tool's answer: the structured result and a short text for readers of `content`. */
export interface ToolReply<T> {
  data: T;
  text: string;
  /** A result that is also a failure the caller should notice (a turn that errored). */
  isError?: boolean;
  /** The turn it reports was cancelled: a task that ran it ends `cancelled`. */
  cancelled?: boolean;
}

/** One Cog tool: schemas, honest annotations and the function behind it. */
export interface CogTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /** 'optional': a client may call it as an MCP task (long turns). Default: it may not. */
  taskSupport?: 'optional';
  run(args: z.output<I>, ctx: McpContext, extra: CallExtra): Promise<ToolReply<z.output<O>>>;
}

/** Identity, for type inference of `run`'s arguments from the schemas. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: CogTool<I, O>,
): CogTool<I, O> {
  return tool;
}

/**
 * Registers the tools with the McpServer (for tools/list: schemas, annotations) and
 * answers tools/call itself. McpServer 1.32.2 turns every error in a tool call, unknown
 * tool and invalid arguments included, into an `isError` result, and reports its own
 * output-validation failures as "invalid params"; here an unknown tool is -32602,
 * arguments that fail the input schema and other caller-fixable failures are `isError`
 * results the model can read and correct (as the 2025-11-25 spec asks), and our own
 * faults are -32603. A task-augmented call (`params.task`) to a tool with `taskSupport`
 * becomes an MCP task (tasks.ts); to any other tool it is -32601, as the spec says.
 *
 * Before a tool runs (or its task starts), the request's identity must hold the tool's
 * scope (server/auth/scopes.ts); without it the answer is an `isError` result naming the
 * scope. Over HTTP the same check refused the request already (403); here it holds for
 * every transport alike. A tool with no entry in the scope table needs every scope, so a
 * tool added without one is never open by omission.
 */
export function installTools(ctx: McpContext, tools: CogTool[]): void {
  const byName = new Map(tools.map((t) => [t.name, t]));
  for (const tool of tools) {
    const registered = ctx.mcp.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { openWorldHint: false, ...tool.annotations },
      },
      // Not reached while the handler below is installed (which is also what runs tasks).
      (async (args: unknown, extra: RequestExtra) =>
        (await call(ctx, tool, args, extra)).result) as never,
    );
    // For tools/list only: registerTool always says 'forbidden', and registerToolTask would
    // have the SDK's handler run the task, which ours replaces.
    if (tool.taskSupport) registered.execution = { taskSupport: tool.taskSupport };
  }
  const taskTools = tools.filter((t) => t.taskSupport).map((t) => t.name);
  setStrictHandler(ctx.mcp, 'tools/call', CallToolRequestSchema, async ({ params }, extra) => {
    const tool = byName.get(params.name);
    if (!tool) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool "${params.name}". Cog's tools: ${[...byName.keys()].join(', ')}.`,
      );
    }
    const args = params.arguments ?? {};
    const scope = toolScope(tool.name, args);
    const identity = requestIdentity(ctx, extra);
    const missing = (scope ? [scope] : SCOPES).filter((s) => !hasScope(identity, s));
    if (missing.length) {
      const text =
        `Tool ${tool.name} needs the scope ${missing.join(' ')}, which this connection's token ` +
        `does not grant: authorize again asking for ${missing.join(' ')}.`;
      return { isError: true, content: [{ type: 'text', text }] };
    }
    if (!params.task) return (await call(ctx, tool, args, extra)).result;
    if (!tool.taskSupport) {
      throw new McpError(
        ErrorCode.MethodNotFound,
        `Tool ${tool.name} does not run as a task: call it without "task". ` +
          `Tools that do: ${taskTools.join(', ') || 'none'}.`,
      );
    }
    return startTask(ctx, params.task, extra, (taskExtra) => call(ctx, tool, args, taskExtra));
  });
}

/** A call's result, and whether the turn it reports was cancelled. */
async function call(
  ctx: McpContext,
  tool: CogTool,
  raw: unknown,
  extra: CallExtra,
): Promise<{ result: CallToolResult; cancelled: boolean }> {
  const args = tool.input.safeParse(raw);
  if (!args.success) {
    const text = `Invalid arguments for tool ${tool.name}: ${z.prettifyError(args.error)}`;
    return { result: { isError: true, content: [{ type: 'text', text }] }, cancelled: false };
  }
  let reply: ToolReply<unknown>;
  try {
    reply = await tool.run(args.data, ctx, extra);
  } catch (err) {
    if (err instanceof McpError) throw err;
    const text = toolFailureText(err);
    if (text === undefined) throw internalError(`Tool ${tool.name}`, err);
    return { result: { isError: true, content: [{ type: 'text', text }] }, cancelled: false };
  }
  const out = tool.output.safeParse(reply.data);
  if (!out.success) throw internalError(`Tool ${tool.name}`, out.error);
  // Through JSON so that what the client validates is exactly what a wire would carry.
  const structuredContent = JSON.parse(JSON.stringify(out.data)) as Record<string, unknown>;
  // The spec's SHOULD: the structured result serialized in a text block too, for clients
  // (and agent frameworks) that hand the model only `content`.
  const result: CallToolResult = {
    content: [
      { type: 'text', text: reply.text },
      { type: 'text', text: JSON.stringify(structuredContent) },
    ],
    structuredContent,
    ...(reply.isError ? { isError: true } : {}),
  };
  return { result, cancelled: reply.cancelled === true };
}
