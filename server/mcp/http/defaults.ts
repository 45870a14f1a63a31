// Apart from server.ts so that `cog --help` names them without loading the MCP layer.

export const DEFAULT_HTTP_HOST = '127.0.0.1';
/** `cog serve`'s port when none is given: stable, so a pasted client config keeps working. */
export const DEFAULT_HTTP_PORT = 7411;
