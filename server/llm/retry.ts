import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Trying a model call again. The `openai` package has retries of its own, but its waits
 * ignore the AbortSignal, follow `Retry-After` to the millisecond with no jitter and no
 * cap, and know nothing of the call's overall deadline; so its retries are off and this
 * loop decides instead.
 */

export interface RetryPolicy {
  /** Attempts in all, counting the first. */
  maxAttempts: number;
  /** First backoff, doubled for each attempt after. */
  baseMs: number;
  /** Longest single wait; a server asking for more is not retried. */
  maxDelayMs: number;
}

/** What a failed attempt says about another: `retry` false for never. */
export interface Verdict {
  retry: boolean;
  /** The wait the server asked for (`Retry-After`), if it asked. */
  retryAfterMs?: number | undefined;
}

/** How the retries ended: the last failure and the attempts made. */
export interface GiveUp {
  error: unknown;
  attempts: number;
  /** The wait the server asked for, when it was too long to honour. */
  refusedWaitMs?: number;
}

/**
 * Runs `attempt` until it succeeds, `judge` calls a failure final, the attempts run out,
 * or the next wait would not fit before `deadline`; then throws what `giveUp` returns. A wait
 * cut short by `signal` ends in one more attempt, which fails at once on the aborted signal.
 */
export async function withRetries<T>(
  policy: RetryPolicy & { deadline: number; signal: AbortSignal },
  attempt: () => Promise<T>,
  judge: (err: unknown) => Verdict,
  giveUp: (end: GiveUp) => unknown,
): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      const { retry, retryAfterMs: asked } = judge(error);
      if (!retry || attempts >= policy.maxAttempts) throw giveUp({ error, attempts });
      const wait = retryDelayMs(attempts, policy, asked);
      if ((asked ?? 0) > policy.maxDelayMs || wait >= policy.deadline - Date.now()) {
        throw giveUp({ error, attempts, ...(asked === undefined ? {} : { refusedWaitMs: asked }) });
      }
      await sleep(wait, undefined, { signal: policy.signal }).catch(() => {});
    }
  }
}

/**
 * The wait before attempt `attempt + 1`. A server's wait is kept and stretched by up to a
 * quarter, never shortened, so clients told the same instant do not all return at it;
 * without one, exponential backoff from `baseMs`, capped, scaled into [½, 1) of the step.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs * (1 + random() / 4);
  const step = Math.min(policy.maxDelayMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return step * (0.5 + random() / 2);
}

/**
 * The wait a response asked for, in ms: `retry-after-ms` (OpenAI's extension), else
 * `Retry-After` as seconds or an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms);
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
