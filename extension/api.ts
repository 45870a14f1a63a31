import type { ChatController } from './chat-controller.js';
import type { McpProviderStatus } from './mcp-provider.js';
import type { RuntimeConnection } from './runtime-connection.js';
import type { SignInState } from './sign-in.js';

/**
 * What `activate` returns (`vscode.extensions.getExtension('cog-dev.cog').exports`): the
 * extension's own parts, for its tests and for other extensions that want the runtime.
 */
export interface CogExtensionApi {
  readonly connection: RuntimeConnection;
  readonly chat: ChatController;
  readonly mcpProvider: McpProviderStatus;
  /** From the bundle starting to load to the end of `activate`, in ms. */
  readonly activationMs: number;
  /** The status bar item's text as shown now. */
  statusBarText(): string;
  /** The sign-in to `cog.serverUrl` (with a server that asks for OAuth); never its tokens. */
  readonly signIn: {
    readonly state: SignInState;
    /** Whether the sign-in's tokens are in SecretStorage. */
    stored(): Promise<boolean>;
  };
}
