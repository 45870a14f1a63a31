import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type ServerResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { RequestExtra } from './context.js';

/**
 * Installs a request handler whose params are checked here, so that malformed params are
 * -32602. The SDK (1.32.2) parses each request against the handler's schema before the
 * handler runs and reports a mismatch as -32603 "internal error"; the envelope given to it
 * is therefore loose, and the real schema is applied below.
 */
export function setStrictHandler<S extends z.ZodType<{ method: string }>>(
  mcp: McpServer,
  method: string,
  schema: S,
  handler: (request: z.output<S>, extra: RequestExtra) => Promise<ServerResult> | ServerResult,
): void {
  const envelope = z.object({ method: z.literal(method), params: z.unknown() });
  mcp.server.setRequestHandler(envelope, async (request, extra) => {
    const parsed = schema.safeParse(request);
    if (!parsed.success) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Invalid params for ${method}: ${z.prettifyError(parsed.error)}`,
      );
    }
    return handler(parsed.data, extra);
  });
}
