/** The URIs of Cog's resources: `cog://sessions` and four views of each session. */

export const SESSIONS_URI = 'cog://sessions';
export const SESSION_VIEWS = ['state', 'history', 'trace', 'processes'] as const;
export type SessionView = (typeof SESSION_VIEWS)[number];

export const viewTemplate = (view: SessionView) => `cog://sessions/{id}/${view}`;
export const viewUri = (id: string, view: SessionView) => `cog://sessions/${id}/${view}`;

export type ParsedUri = { kind: 'sessions' } | { kind: 'view'; id: string; view: SessionView };

const VIEW_URI = /^cog:\/\/sessions\/([A-Za-z0-9_-]{1,64})\/([a-z]+)$/;

/** The resource a URI names, or undefined when it is not one of Cog's. */
export function parseUri(uri: string): ParsedUri | undefined {
  if (uri === SESSIONS_URI) return { kind: 'sessions' };
  const m = VIEW_URI.exec(uri);
  const view = SESSION_VIEWS.find((v) => v === m?.[2]);
  return m && view ? { kind: 'view', id: m[1], view } : undefined;
}
