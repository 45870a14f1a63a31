import { serviceForKey } from './model-discovery.js';

/*
 * Where an API key may go. The key in SecretStorage is sent with every request to the
 * configured base URL, so a key is bound to an origin: the base URL's it was set for, or
 * (a key alone, no URL) its service's. Choose a Model never sends it anywhere else.
 */

/**
 * The origin a stored key belongs to: the configured base URL's, else (a key alone) its
 * service's; undefined for a key of no known shape stored before any URL was chosen, which
 * is meant for the URL chosen next.
 */
export function keyHome(key: string, current: { baseUrl: string }): string | undefined {
  if (current.baseUrl && URL.canParse(current.baseUrl)) return new URL(current.baseUrl).origin;
  const service = serviceForKey(key);
  return service && new URL(service.baseUrl).origin;
}

/** Whether `key` may be sent to `target`: it is that origin's, that service's, or no URL's yet. */
export function keyBelongsTo(key: string, current: { baseUrl: string }, target: string): boolean {
  const home = keyHome(key, current);
  const service = serviceForKey(key);
  return (
    home === undefined ||
    home === target ||
    (!!service && new URL(service.baseUrl).origin === target)
  );
}
