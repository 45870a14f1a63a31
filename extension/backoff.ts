/**
 * How long to wait before restart attempt `attempt` (0 for the first one after a loss):
 * 1 s, 2 s, 4 s … doubling up to `maxMs`, so a runtime that keeps crashing costs little
 * while one that crashed once comes back at once.
 */
export function restartDelayMs(attempt: number, baseMs = 1000, maxMs = 30_000): number {
  const n = Math.max(0, Math.floor(attempt));
  return Math.min(maxMs, baseMs * 2 ** Math.min(n, 30));
}

/**
 * A wait that ends after `ms`, or early (resolving `false`) when `signal` aborts. Timers
 * are never left behind, so a disposed connection does not keep the host busy.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
