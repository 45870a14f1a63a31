/**
 * The names and numbers of Cog's MCP surface that are not shapes: resource URIs, the
 * logger its events travel on, and the limits of its pages. No validator, so any bundle
 * (the webview's included) may use them.
 */

/** The logger of `notifications/message` that carry runtime events, one event each. */
export const HUD_LOGGER = 'cog.hud';

export const SESSIONS_URI = 'cog://sessions';
export const SESSION_VIEWS = ['state', 'history', 'trace', 'processes'] as const;
export type SessionView = (typeof SESSION_VIEWS)[number];

export const viewTemplate = (view: SessionView) => `cog://sessions/{id}/${view}`;
export const viewUri = (id: string, view: SessionView) => `cog://sessions/${id}/${view}`;

export type ParsedUri = { kind: 'sessions' } | { kind: 'view'; id: string; view: SessionView };

/** Session and process ids: what `sessions create` accepts and what Cog generates. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const VIEW_URI = /^cog:\/\/sessions\/([A-Za-z0-9_-]{1,64})\/([a-z]+)$/;

/** The resource a URI names, or undefined when it is not one of Cog's. */
export function parseUri(uri: string): ParsedUri | undefined {
  if (uri === SESSIONS_URI) return { kind: 'sessions' };
  const m = VIEW_URI.exec(uri);
  const view = SESSION_VIEWS.find((v) => v === m?.[2]);
  return m && view ? { kind: 'view', id: m[1], view } : undefined;
}

export const LIMITS = {
  /** `trace`: events per page, by default and at most. */
  tracePage: 100,
  tracePageMax: 1000,
  /** `history`: messages per page, by default and at most. */
  historyPage: 20,
  historyPageMax: 200,
  /** The most code an approval can carry back; a card shows all of it. */
  approvalCode: 1_000_000,
} as const;
