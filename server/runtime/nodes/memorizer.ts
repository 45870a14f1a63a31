import { z } from 'zod';
import type { MemoryState } from '../../../protocol/events.js';
import type { NodeEnv, Turn } from './node-env.js';
import { callModel, lastTurns } from './node-env.js';

export const INITIAL_MEMORY: MemoryState = {
  user_name: null,
  user_mood: 'neutral',
  topic: null,
  topic_history: [],
  situation: 'local session',
  language: 'en',
  style_hint: 'casual, concise',
  facts: [],
};

const MAX_FACTS = 20;
const MAX_TOPICS = 5;

/** What the model may send back; anything it leaves out keeps its previous value. */
const MemoryReplySchema = z
  .object({
    user_name: z.string().max(120).nullable(),
    user_mood: z.string().max(120),
    topic: z.string().max(200).nullable(),
    topic_history: z.array(z.string().max(200)),
    situation: z.string().max(300),
    language: z.string().max(40),
    style_hint: z.string().max(200),
    facts: z.array(z.string().max(300)),
  })
  .partial();

const SYSTEM = `You are the Memorizer node of Cog, a cognitive runtime: its shared memory.
After each exchange, update the state the other nodes read. Reply with ONE JSON object and
nothing else, with these keys:
user_name (string or null), user_mood, topic (string or null), topic_history (strings),
situation, language (e.g. en, de), style_hint (how to talk to this user), facts (short
strings: what was learned about the user; keep earlier facts that still hold).`;

export class MemoryParseError extends Error {
  override readonly name = 'MemoryParseError';
  readonly code = 'memory_unparseable';
}

/** Parses a memorizer reply: bare JSON, or JSON inside a fence or surrounding prose. */
export function parseMemoryReply(raw: string): z.infer<typeof MemoryReplySchema> {
  const text = raw.trim();
  const candidates = [text];
  const fenced = /```(?:json)?\s*\n([\s\S]*?)```/.exec(text);
  if (fenced?.[1]) candidates.push(fenced[1]);
  const brace = text.indexOf('{');
  if (brace >= 0) candidates.push(text.slice(brace, text.lastIndexOf('}') + 1));
  for (const c of candidates) {
    try {
      const parsed = MemoryReplySchema.safeParse(JSON.parse(c));
      if (parsed.success) return parsed.data;
    } catch {
      // try the next reading
    }
  }
  throw new MemoryParseError(`memorizer reply is not a state object: ${text.slice(0, 120)}`);
}

/** Merges a reply into the state: facts accumulate, a replaced topic goes to the history. */
export function mergeMemory(
  prev: MemoryState,
  reply: z.infer<typeof MemoryReplySchema>,
): MemoryState {
  const next: MemoryState = {
    ...prev,
    ...reply,
    facts: prev.facts,
    topic_history: prev.topic_history,
  };
  next.facts = [...new Set([...prev.facts, ...(reply.facts ?? [])])].slice(-MAX_FACTS);
  const topics = [...(reply.topic_history ?? prev.topic_history)];
  if (prev.topic && prev.topic !== next.topic && !topics.includes(prev.topic))
    topics.push(prev.topic);
  next.topic_history = topics.slice(-MAX_TOPICS);
  return next;
}

/** Keys whose value changed, as "key: old -> new" lines. */
export function diffMemory(prev: MemoryState, next: MemoryState): string[] {
  const changes: string[] = [];
  for (const key of Object.keys(next) as (keyof MemoryState)[]) {
    const a = JSON.stringify(prev[key]);
    const b = JSON.stringify(next[key]);
    if (a !== b) changes.push(`${key}: ${a} -> ${b}`);
  }
  return changes;
}

/**
 * The Memorizer node: distils the conversation into the shared state. Throws
 * MemoryParseError when the reply cannot be read; the caller keeps the previous state.
 */
export async function distill(
  env: NodeEnv,
  input: { history: readonly Turn[]; state: MemoryState },
): Promise<MemoryState> {
  const started = env.now();
  env.emit({ type: 'node.thinking', detail: 'updating shared memory' });
  const result = await callModel(
    env,
    [
      { role: 'system', content: SYSTEM },
      { role: 'system', content: `Current state: ${JSON.stringify(input.state)}` },
      ...lastTurns(input.history, 10),
      { role: 'user', content: 'Update the shared state from this conversation. JSON only.' },
    ],
    { json: true },
  );
  const next = mergeMemory(input.state, parseMemoryReply(result.text));
  env.emit({ type: 'node.done', ms: env.now() - started, model: result.model });
  return next;
}

/** The memory block that goes into every node's prompt. */
export function renderMemory(state: MemoryState): string {
  const lines = ['Shared memory:'];
  for (const [key, value] of Object.entries(state)) {
    if (value === null || (Array.isArray(value) && !value.length)) continue;
    lines.push(`- ${key}: ${Array.isArray(value) ? value.join('; ') : value}`);
  }
  return lines.join('\n');
}
