import * as vscode from 'vscode';
import type { Logger } from './emitter.js';
import type { RuntimeConnection } from './runtime-connection.js';

/** The id in package.json's `mcpServerDefinitionProviders`. */
export const MCP_PROVIDER_ID = 'cog.runtime';
/** The server's name in VS Code's MCP list; VS Code's id for it is `<extension id>/<label>`. */
const SERVER_LABEL = 'Cog';

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
 *
 * `extensionId` is this extension's id, the first half of VS Code's id for the server
 * (`<extension id>/Cog`), which its workbench.mcp.* commands take.
 */
export function registerMcpProvider(
  connection: RuntimeConnection,
  log: Logger,
  subscriptions: vscode.Disposable[],
  extensionId = 'cog-dev.cog',
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
  const serverId = `${extensionId.toLowerCase()}/${SERVER_LABEL}`;
  // What VS Code was last handed: kept while the runtime restarts, so that VS Code does not
  // drop the server (and its tool list) in between.
  let shown: { url: URL; token?: string; version: string } | undefined;
  let generation = 0;
  /** VS Code has started the server in this window (it resolves a definition only then). */
  let startedByVscode = false;
  /** VS Code must take the new definition, then be told to start the server again. */
  let restartPending = false;

  const watch = connection.onDidChangeState(() => {
    const ep = connection.endpoint;
    if (!ep || (shown && ep.url.href === shown.url.href && ep.token === shown.token)) return;
    // The runtime moved (Restart Runtime, a crash, a new token). VS Code stops a server
    // whose definition changed and starts it again only on demand (its next chat request),
    // so it would show Cog as Stopped: once it has taken the new definition, start it.
    shown = {
      url: ep.url,
      ...(ep.token ? { token: ep.token } : {}),
      version: `${++generation}-${ep.url.port}-${ep.pid ?? 'remote'}`,
    };
    restartPending = startedByVscode;
    changed.fire();
  });
  const provider: McpServerDefinitionProvider = {
    onDidChangeMcpServerDefinitions: changed.event,
    // No token here: VS Code keeps the definitions it is given in the workspace's storage
    // on disk. The token is added by resolveMcpServerDefinition, each time it starts it.
    provideMcpServerDefinitions: () => {
      if (!shown) return [];
      if (restartPending) {
        restartPending = false;
        // After this call returns VS Code's extension host sends the new definition to the
        // workbench; a command sent after that is handled after it (one ordered channel).
        setTimeout(() => void restartInVscode(), 0);
      }
      return [new Definition(SERVER_LABEL, vscode.Uri.parse(shown.url.href), {}, shown.version)];
    },
    resolveMcpServerDefinition: async () => {
      await connection.whenConnected();
      const ep = connection.endpoint;
      if (!ep) return undefined;
      startedByVscode = true;
      log.info(
        `VS Code's MCP client is starting Cog's server: ${ep.url.href} (definition ${shown?.version ?? 'new'})`,
      );
      return new Definition(
        SERVER_LABEL,
        vscode.Uri.parse(ep.url.href),
        // Without a fixed token (a server that signs people in), VS Code does its own OAuth.
        ep.token ? { Authorization: `Bearer ${ep.token}` } : {},
        shown?.version,
      );
    },
  };
  const restartInVscode = async () => {
    try {
      // VS Code's own MCP commands (workbench.mcp.*), as MCP: List Servers runs them.
      await vscode.commands.executeCommand('workbench.mcp.stopServer', serverId);
      await vscode.commands.executeCommand('workbench.mcp.startServer', serverId);
    } catch (err) {
      log.warn(
        `could not restart Cog's server in VS Code's MCP list (start it from "MCP: List Servers"): ${err instanceof Error ? err.message : String(err)}`,
      );
    }
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
