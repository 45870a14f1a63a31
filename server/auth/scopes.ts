import type { Identity, Scope } from './identity.js';

/**
 * The scope each tool needs. `sessions` is the one tool whose scope depends on its
 * arguments (see `toolScope`). A tool missing here needs every scope (tool-kit.ts), so a
 * new tool is never open by omission; a test holds this table to the tool list.
 */
export const TOOL_SCOPES: ReadonlyMap<string, Scope> = new Map<string, Scope>([
  ['state', 'cog:read'],
  ['history', 'cog:read'],
  ['trace', 'cog:read'],
  ['process-list', 'cog:read'],
  ['send', 'cog:chat'],
  ['action', 'cog:chat'],
  ['clear', 'cog:chat'],
  ['sessions', 'cog:chat'],
  ['process-approve', 'cog:approve'],
  ['process-cancel', 'cog:approve'],
]);

/**
 * Requests other than tools/call that need a scope. Everything they show is the reading
 * of state: resources (and their list and completions, which name session ids) and the
 * tasks a principal started. Cancelling a task ends a turn, which is chatting. Methods
 * not named here (initialize, ping, tools/list, resources/templates/list, logging,
 * notifications) show nothing of a session and need none.
 */
const METHOD_SCOPES: ReadonlyMap<string, Scope> = new Map<string, Scope>([
  ['resources/read', 'cog:read'],
  ['resources/subscribe', 'cog:read'],
  ['resources/list', 'cog:read'],
  ['completion/complete', 'cog:read'],
  ['tasks/get', 'cog:read'],
  ['tasks/list', 'cog:read'],
  ['tasks/result', 'cog:read'],
  ['tasks/cancel', 'cog:chat'],
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The scope a call of tool `name` with `args` needs, or undefined for a tool Cog does not
 * have (the call then fails as an unknown tool, running nothing). `sessions` with action
 * "list" (its default) only reads, so it needs `cog:read`, as the `cog://sessions`
 * resource does; creating and deleting sessions need `cog:chat`. Any other action value
 * fails the tool's schema, and asks for the stricter scope meanwhile.
 */
export function toolScope(name: string, args: unknown): Scope | undefined {
  if (name === 'sessions') {
    const action = isRecord(args) ? args.action : undefined;
    return action === undefined || action === 'list' ? 'cog:read' : 'cog:chat';
  }
  return TOOL_SCOPES.get(name);
}

/**
 * The scope a JSON-RPC message needs, read from its `method` (and for tools/call its tool
 * and arguments) before the MCP SDK sees it; undefined when it needs none. A tools/call
 * whose params are malformed needs none here: the SDK refuses it without running a tool.
 */
export function messageScope(message: unknown): Scope | undefined {
  if (!isRecord(message) || typeof message.method !== 'string') return undefined;
  if (message.method === 'tools/call') {
    const params = message.params;
    if (!isRecord(params) || typeof params.name !== 'string') return undefined;
    return toolScope(params.name, params.arguments);
  }
  return METHOD_SCOPES.get(message.method);
}

/** True when the identity holds `scope`. */
export function hasScope(identity: Pick<Identity, 'scopes'>, scope: Scope): boolean {
  return identity.scopes.includes(scope);
}
