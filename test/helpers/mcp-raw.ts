/** Hand-written MCP messages for tests that speak the wire protocol without the SDK client. */

/** An `initialize` request as a client sends it first. */
export function initializeRequest(
  id: number | string = 1,
  clientName = 't',
  protocolVersion = '2025-11-25',
) {
  return {
    jsonrpc: '2.0' as const,
    id,
    method: 'initialize' as const,
    params: { protocolVersion, capabilities: {}, clientInfo: { name: clientName, version: '0' } },
  };
}
