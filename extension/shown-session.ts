import type { CogClient } from './cog-client.js';
import type { Logger } from './emitter.js';
import { errorMessage, type RuntimeConnection } from './runtime-connection.js';
import { createSession, sessionState } from './runtime-tools.js';

/** Where the shown session id is kept between window reloads (workspaceState in VS Code). */
export interface SessionMemory {
  get(): string | undefined;
  set(session: string | undefined): void;
}

interface ShownSessionDeps {
  memory: SessionMemory;
  log: Logger;
  connection: RuntimeConnection;
}

/** Creates a session and shows it from now on. */
export async function startSession(client: CogClient, deps: ShownSessionDeps): Promise<string> {
  const id = await createSession(client);
  deps.memory.set(id);
  deps.log.info(`new session ${id}`);
  return id;
}

/** The shown session, created (and remembered) if there is none or it is gone. */
export async function ensureSession(client: CogClient, deps: ShownSessionDeps): Promise<string> {
  const known = deps.memory.get();
  if (known) {
    try {
      const state = await sessionState(client, known);
      deps.connection.setModel(state.model);
      return known;
    } catch (err) {
      // Only "the runtime answered no" (an isError result) means the session is gone.
      if ((err as { code?: unknown }).code !== 'tool_error') throw err;
      deps.log.info(`session ${known} is not available (${errorMessage(err)}); starting one`);
    }
  }
  return startSession(client, deps);
}
