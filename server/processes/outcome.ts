import { constants } from 'node:os';
import type { ProcessStatus } from '../../protocol/events.js';
import type { ChildOutcome } from './child.js';
import { formatBytes } from './output-buffer.js';
import type { ProcessLimits } from './types.js';

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/** Final status, reason and exit code of a child run, in the user's words. */
export function describeOutcome(
  outcome: ChildOutcome,
  limits: ProcessLimits,
): [ProcessStatus, string | undefined, number | null] {
  switch (outcome.kind) {
    case 'timed-out':
      return ['timed-out', `exceeded ${seconds(limits.timeoutMs)}`, null];
    case 'cancelled':
      return ['cancelled', 'cancelled', null];
    case 'output-limit':
      return ['failed', `stopped after ${formatBytes(outcome.bytes)} of output (a runaway)`, null];
    case 'spawn-error':
      return ['failed', `could not start: ${outcome.error.message}`, null];
    case 'exited': {
      if (outcome.code === 0) return ['done', undefined, 0];
      // A runtime that hits RLIMIT_AS often aborts instead of raising an error, so a
      // signal death mentions the limit: it is the likeliest cause.
      const memory = `the memory limit is ${formatBytes(limits.memoryBytes)}`;
      if (outcome.signal) return ['failed', `killed by ${outcome.signal}; ${memory}`, null];
      // bubblewrap reports a child killed by signal N as exit code 128 + N.
      const signal = signalName((outcome.code ?? 0) - 128);
      const why = signal && `exited with code ${outcome.code} (${signal}); ${memory}`;
      return ['failed', why || `exited with code ${outcome.code}`, outcome.code];
    }
    default: {
      const never: never = outcome;
      return ['failed', String(never), null];
    }
  }
}

function signalName(n: number): string | undefined {
  if (n <= 0) return undefined;
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
}
