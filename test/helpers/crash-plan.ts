/**
 * The kill plan of the crash driver (./crash-kill.ts): what each round streams and the
 * moment its process is SIGKILLed, drawn from a seeded PRNG, and the timers that fire it.
 */
import type { WireEvent } from './crash-ledger.js';

/** When a round's kill comes: a time into the turn, the n-th event of a kind, or the result. */
export type Trigger =
  | { kind: 'time'; ms: number }
  | { kind: 'event'; type: string; node?: string; nth: number; jitterMs: number }
  | { kind: 'result'; jitterMs: number };

/** One round: how it is run, how the fixture model streams its reply, and when it is killed. */
export interface RoundPlan {
  via: 'serve' | 'chat';
  trigger: Trigger;
  firstByteMs: number;
  chunkSize: number;
  chunkDelayMs: number;
  memorizerMs: number;
  reply: string;
}

/** A kill that no trigger fired happens anyway this long after the round began. */
const FALLBACK_KILL_MS = 5_000;
const WORDS = 'the log keeps every event a client has seen with the same seq and content'.split(
  ' ',
);

/** mulberry32: small, seedable, good enough to spread kills. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws the next round from `rand`; `chatShare` of the rounds go through `cog chat --json`. */
export function planRound(rand: () => number, chatShare: number): RoundPlan {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const words = Array.from({ length: int(18, 30) }, () => WORDS[int(0, WORDS.length - 1)]);
  const plan = {
    via: rand() < chatShare ? ('chat' as const) : ('serve' as const),
    firstByteMs: int(0, 60),
    chunkSize: int(3, 8),
    chunkDelayMs: int(3, 10),
    memorizerMs: int(10, 80),
    reply: `${words.join(' ')}.`,
  };
  const deltas = Math.ceil(plan.reply.length / plan.chunkSize);
  // A fresh process takes a few hundred ms to its first model call (cold code, session load).
  const turnMs = 300 + plan.firstByteMs + deltas * plan.chunkDelayMs + plan.memorizerMs + 200;
  const jitterMs = rand() < 0.5 ? 0 : int(1, 4);
  const events: Trigger[] = [
    { kind: 'event', type: 'user.message', nth: 1, jitterMs },
    { kind: 'event', type: 'node.thinking', node: 'thinker', nth: 1, jitterMs },
    { kind: 'event', type: 'output.delta', nth: 1, jitterMs },
    { kind: 'event', type: 'output.delta', nth: int(2, deltas), jitterMs },
    { kind: 'event', type: 'output.delta', nth: int(2, deltas), jitterMs },
    { kind: 'event', type: 'assistant.message', nth: 1, jitterMs },
    { kind: 'event', type: 'turn.done', nth: 1, jitterMs },
    { kind: 'event', type: 'node.thinking', node: 'memorizer', nth: 1, jitterMs },
    { kind: 'event', type: 'memory.updated', nth: 1, jitterMs },
    ...(plan.via === 'serve' ? [{ kind: 'result' as const, jitterMs }] : []),
  ];
  const trigger: Trigger =
    rand() < 0.4 ? { kind: 'time', ms: int(0, turnMs) } : events[int(0, events.length - 1)];
  return { ...plan, trigger };
}

/** The trigger in a few characters, for round logs and problem reports. */
export function triggerLabel(t: Trigger): string {
  if (t.kind === 'time') return `${t.ms}ms`;
  const jitter = t.jitterMs ? `+${t.jitterMs}ms` : '';
  if (t.kind === 'result') return `send-result${jitter}`;
  return `${t.node ? `${t.node}:` : ''}${t.type}${t.nth > 1 ? `#${t.nth}` : ''}${jitter}`;
}

/**
 * Fires `kill` when the plan says: `start()` when the turn begins, `onEvent` for every
 * event the client sees, `onResult` when the send result arrives. Events up to `afterSeq`
 * (the restart's own, such as the turn.done that closes an interrupted turn) do not count.
 */
export function armKill(trigger: Trigger, afterSeq: number, kill: () => void) {
  const timers: NodeJS.Timeout[] = [];
  // The same event comes by the HUD and by trace pages: count it once.
  const counted = new Set<number>();
  let started = false;
  const fire = (ms: number) => (ms > 0 ? timers.push(setTimeout(kill, ms)) : kill());
  return {
    start() {
      if (started) return;
      started = true;
      timers.push(setTimeout(kill, FALLBACK_KILL_MS));
      if (trigger.kind === 'time') fire(trigger.ms);
    },
    onEvent(e: WireEvent) {
      if (trigger.kind !== 'event' || e.type !== trigger.type || e.seq <= afterSeq) return;
      if (counted.has(e.seq)) return;
      if (trigger.node && e.node !== trigger.node) return;
      counted.add(e.seq);
      if (counted.size === trigger.nth) fire(trigger.jitterMs);
    },
    onResult() {
      if (trigger.kind === 'result') fire(trigger.jitterMs);
    },
    dispose: () => timers.forEach(clearTimeout),
  };
}
