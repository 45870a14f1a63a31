/** What `GET /auth/me` answers for a signed-in browser (server/web/routes.ts). */
export interface Me {
  principal: string;
  name?: string;
  email?: string;
  /** The server's approval policy for code runs, shown in the panel. */
  approval: 'ask' | 'auto' | 'deny';
}

/** The signed-in identity, or undefined when this browser is signed out. */
export async function fetchMe(): Promise<Me | undefined> {
  const res = await fetch('/auth/me', { headers: { accept: 'application/json' } });
  if (res.status === 401) return undefined;
  if (!res.ok) throw new Error(`the server answered ${res.status} to /auth/me`);
  return (await res.json()) as Me;
}

/** Ends this browser's session on the server, then shows the sign-in page. */
export async function signOut(): Promise<void> {
  await fetch('/auth/logout', { method: 'POST' }).catch(() => undefined);
  location.assign('/');
}
