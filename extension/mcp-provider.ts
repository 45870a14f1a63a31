import * as vscode from 'vscode';
import type { Logger } from './emitter.js';
import type { RuntimeConnection } from './runtime-connection.js';

/** The id in package.json's `mcpServerDefinitionProviders`. */
export const MCP_PROVIDER_ID = 'cog.runtime';

/**
 * The parts of VS Code's MCP API (final in 1.101) this extension uses. @types/vscode is
 * pinned to 1.100 (the oldest VS Code it supports), which does not declare them, so they
 * are described here and looked up at run time.
 */
interface McpHttpServerDefinition {
  label: string;
  uri: vscode.Uri;
  headers: Record<string, string>;
  version?: string;
}
type McpHttpServerDefinitionCtor = new (
  label: string,
  uri: vscode.Uri,
  headers?: Record<string, string>,
  version?: string,
) => McpHttpServerDefinition;
interface McpServerDefinitionProvider {
  onDidChangeMcpServerDefinitions: vscode.Event<void>;
  provideMcpServerDefinitions(token: vscode.CancellationToken): McpHttpServerDefinition[];
  resolveMcpServerDefinition(
    server: McpHttpServerDefinition,
    token: vscode.CancellationToken,
  ): Promise<McpHttpServerDefinition | undefined>;
}
interface LmWithMcp {
  registerMcpServerDefinitionProvider?: (
    id: string,
    provider: McpServerDefinitionProvider,
  ) => vscode.Disposable;
}

export type McpProviderStatus = { registered: true } | { registered: false; reason: string };

/**
 * Registers the extension's runtime with VS Code's MCP support so agent mode sees Cog's
 * tools, where the API exists (final from VS Code 1.101; 1.100 has it as a proposal that
 * refuses extensions which did not enable it). Absence and refusal are both handled: the
 * reason is logged and returned, and everything else works without it.
 */
export function registerMcpProvider(
  connection: RuntimeConnection,
  log: Logger,
  subscriptions: vscode.Disposable[],
): McpProviderStatus {
  const api = vscode as unknown as {
    lm?: LmWithMcp;
    McpHttpServerDefinition?: McpHttpServerDefinitionCtor;
  };
  const register = api.lm?.registerMcpServerDefinitionProvider;
  const Definition = api.McpHttpServerDefinition;
  const skip = (reason: string): McpProviderStatus => {
    log.info(`MCP server definition provider skipped: ${reason}`);
    return { registered: false, reason };
  };
  const [major = 0, minor = 0] = vscode.version.split('.').map((n) => Number.parseInt(n, 10));
  const final = major > 1 || (major === 1 && minor >= 101);
  if (!final || typeof register !== 'function' || typeof Definition !== 'function') {
    // 1.100 has the function, but as a proposal that refuses extensions from the
    // Marketplace: do not call it there.
    return skip(
      `VS Code ${vscode.version} has no final lm.registerMcpServerDefinitionProvider (it is final from 1.101); other MCP clients can still use Cog through "Cog: Copy MCP Client Config"`,
    );
  }

  const changed = new vscode.EventEmitter<void>();
  const definition = (): McpHttpServerDefinition | undefined => {
    const ep = connection.endpoint;
    if (!ep) return undefined;
    // A new version tells VS Code to reconnect: the port and token change with a restart.
    const version = `${ep.url.port}-${ep.pid ?? 'remote'}`;
    return new Definition(
      'Cog',
      vscode.Uri.parse(ep.url.href),
      // Without a fixed token (a server that signs people in), VS Code does its own OAuth.
      ep.token ? { Authorization: `Bearer ${ep.token}` } : {},
      version,
    );
  };
  let lastUrl: string | undefined;
  const watch = connection.onDidChangeState(() => {
    const url = connection.endpoint?.url.href;
    if (url !== lastUrl) {
      lastUrl = url;
      changed.fire();
    }
  });
  const provider: McpServerDefinitionProvider = {
    onDidChangeMcpServerDefinitions: changed.event,
    provideMcpServerDefinitions: () => {
      const d = definition();
      return d ? [d] : [];
    },
    resolveMcpServerDefinition: async () => {
      await connection.whenConnected();
      return definition();
    },
  };
  let registration: vscode.Disposable;
  try {
    registration = register.call(api.lm, MCP_PROVIDER_ID, provider);
  } catch (err) {
    watch.dispose();
    changed.dispose();
    const message = err instanceof Error ? err.message : String(err);
    return skip(`VS Code ${vscode.version} refused it (${message})`);
  }
  subscriptions.push(registration, { dispose: () => watch.dispose() }, changed);
  log.info(`registered the MCP server definition provider "${MCP_PROVIDER_ID}"`);
  return { registered: true };
}
