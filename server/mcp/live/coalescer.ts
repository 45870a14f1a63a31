/**
 * Throttles announcements per key: the first one goes out at once, later ones within
 * `intervalMs` fold into a single trailing one. The last change is never dropped: a key
 * marked after its latest announcement always gets another.
 */
export interface Coalescer {
  mark(key: string): void;
  /** Forgets a key, dropping its pending announcement. */
  forget(key: string): void;
  close(): void;
}

export function createCoalescer(
  intervalMs: number,
  announce: (key: string) => void,
  now: () => number = Date.now,
): Coalescer {
  const sentAt = new Map<string, number>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  let closed = false;

  const fire = (key: string) => {
    timers.delete(key);
    sentAt.set(key, now());
    announce(key);
  };

  return {
    mark(key) {
      if (closed || timers.has(key)) return;
      const wait = (sentAt.get(key) ?? -Infinity) + intervalMs - now();
      if (wait <= 0) fire(key);
      else
        timers.set(
          key,
          setTimeout(() => fire(key), wait),
        );
    },
    forget(key) {
      clearTimeout(timers.get(key));
      timers.delete(key);
      sentAt.delete(key);
    },
    close() {
      closed = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      sentAt.clear();
    },
  };
}
