import {
  CallToolRequestSchema,
  ErrorCode,
  McpError,
  type CallToolResult,
  type ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { McpContext, RequestExtra } from './context.js';
import { internalError, toolFailureText } from './errors.js';
import { setStrictHandler } from './requests.js';

/** A tool's answer: the structured result and a short text for readers of `content`. */
export interface ToolReply<T> {
  data: T;
  text: string;
  /** A result that is also a failure the caller should notice (a turn that errored). */
  isError?: boolean;
}

/** One Cog tool: schemas, honest annotations and the function behind it. */
export interface CogTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  run(args: z.output<I>, ctx: McpContext, extra: RequestExtra): Promise<ToolReply<z.output<O>>>;
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
 * faults are -32603.
 */
export function installTools(ctx: McpContext, tools: CogTool[]): void {
  const byName = new Map(tools.map((t) => [t.name, t]));
  for (const tool of tools) {
    ctx.mcp.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { openWorldHint: false, ...tool.annotations },
      },
      // Not reached while the handler below is installed; kept equivalent regardless.
      ((args: unknown, extra: RequestExtra) => call(ctx, tool, args, extra)) as never,
    );
  }
  setStrictHandler(ctx.mcp, 'tools/call', CallToolRequestSchema, async ({ params }, extra) => {
    const tool = byName.get(params.name);
    if (!tool) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool "${params.name}". Cog's tools: ${[...byName.keys()].join(', ')}.`,
      );
    }
    return call(ctx, tool, params.arguments ?? {}, extra);
  });
}

async function call(
  ctx: McpContext,
  tool: CogTool,
  raw: unknown,
  extra: RequestExtra,
): Promise<CallToolResult> {
  const args = tool.input.safeParse(raw);
  if (!args.success) {
    const text = `Invalid arguments for tool ${tool.name}: ${z.prettifyError(args.error)}`;
    return { isError: true, content: [{ type: 'text', text }] };
  }
  let reply: ToolReply<unknown>;
  try {
    reply = await tool.run(args.data, ctx, extra);
  } catch (err) {
    if (err instanceof McpError) throw err;
    const text = toolFailureText(err);
    if (text === undefined) throw internalError(`Tool ${tool.name}`, err);
    return { isError: true, content: [{ type: 'text', text }] };
  }
  const out = tool.output.safeParse(reply.data);
  if (!out.success) throw internalError(`Tool ${tool.name}`, out.error);
  // Through JSON so that what the client validates is exactly what a wire would carry.
  const structuredContent = JSON.parse(JSON.stringify(out.data)) as Record<string, unknown>;
  // The spec's SHOULD: the structured result serialized in a text block too, for clients
  // (and agent frameworks) that hand the model only `content`.
  return {
    content: [
      { type: 'text', text: reply.text },
      { type: 'text', text: JSON.stringify(structuredContent) },
    ],
    structuredContent,
    ...(reply.isError ? { isError: true } : {}),
  };
}
