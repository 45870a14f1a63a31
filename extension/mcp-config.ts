/**
 * MCP client configurations for a running Cog, in the shapes clients read: VS Code's
 * `mcp.json` (`servers`), the `mcpServers` of Claude Desktop, Cursor and Cline, and
 * Claude Code's command line. vscode-free, so that each shape is tested as text.
 */

export interface McpEndpoint {
  url: URL;
  /** The bearer token, when the server takes a fixed one (not with an OAuth sign-in). */
  token?: string | undefined;
}

export interface McpClientConfig {
  id: 'vscode' | 'mcpServers' | 'claude-code';
  label: string;
  detail: string;
  text: string;
}

/** Every shape, VS Code's first (it is what this editor's own agent mode reads). */
export function mcpClientConfigs(ep: McpEndpoint): McpClientConfig[] {
  const headers = ep.token ? { headers: { Authorization: `Bearer ${ep.token}` } } : {};
  const server = { type: 'http', url: ep.url.href, ...headers };
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const header = ep.token ? ` --header ${quote(`Authorization: Bearer ${ep.token}`)}` : '';
  return [
    {
      id: 'vscode',
      label: 'VS Code (mcp.json)',
      detail: '"servers": for .vscode/mcp.json or the user mcp.json of another VS Code',
      text: JSON.stringify({ servers: { cog: server } }, null, 2),
    },
    {
      id: 'mcpServers',
      label: 'Claude Desktop, Cursor, Cline',
      detail: '"mcpServers": their JSON configuration files',
      text: JSON.stringify({ mcpServers: { cog: server } }, null, 2),
    },
    {
      id: 'claude-code',
      label: 'Claude Code',
      detail: 'a command to run in a terminal',
      text: `claude mcp add --transport http cog ${quote(ep.url.href)}${header}`,
    },
  ];
}
